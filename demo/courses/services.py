"""Course checkout: the server computes every price, reserves the coupon and the credits, and
creates the Zhifu order. Fulfilment (enrollments, coupon used, credits spent) is in
``courses.fulfilment``, run by Zhifu's signals."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from common.errors import DemoError
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from zhifu.services.orders import AdjustmentSpec, LineSpec, create_order

from .models import CENT, CreditAccount, CreditEntry, UserCoupon, ValidityOption

MIN_TOTAL = CENT


def credits_to_yuan(credits: int) -> Decimal:
    return (Decimal(credits) / Decimal(settings.DEMO_CREDITS_PER_YUAN)).quantize(CENT)


def yuan_to_credits(amount: Decimal) -> int:
    """How many whole credits it takes to cover at most ``amount``."""
    return int((amount * settings.DEMO_CREDITS_PER_YUAN).to_integral_value(rounding=ROUND_FLOOR))


@dataclass
class Breakdown:
    options: list[ValidityOption]
    subtotal: Decimal
    coupon: UserCoupon | None = None
    coupon_discount: Decimal = Decimal("0.00")
    credits: int = 0
    credits_discount: Decimal = Decimal("0.00")
    max_credits: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return (self.subtotal - self.coupon_discount - self.credits_discount).quantize(CENT)


def credit_account(user: Any, *, lock: bool = False) -> CreditAccount:
    CreditAccount.objects.get_or_create(user=user)
    qs = CreditAccount.objects.select_for_update() if lock else CreditAccount.objects
    return qs.get(user=user)


def check_coupon(user_coupon: UserCoupon, user: Any, subtotal: Decimal) -> None:
    """Raise ``DemoError`` if this coupon cannot be used by ``user`` on ``subtotal`` now."""
    now = timezone.now()
    coupon = user_coupon.coupon
    if user_coupon.user_id != user.pk:
        raise DemoError("coupon_not_yours", _("This coupon is not yours."))
    if user_coupon.status == UserCoupon.Status.USED:
        raise DemoError("coupon_used", _("This coupon has already been used."))
    if user_coupon.status == UserCoupon.Status.RESERVED:
        raise DemoError(
            "coupon_reserved",
            _("This coupon is reserved by your unpaid order %(order)s; pay or cancel it first.")
            % {"order": user_coupon.order_no},
        )
    if now > coupon.valid_until:
        raise DemoError(
            "coupon_expired", _("The coupon “%(name)s” has expired.") % {"name": coupon.name}
        )
    if now < coupon.valid_from:
        raise DemoError(
            "coupon_not_started",
            _("The coupon “%(name)s” is not valid yet.") % {"name": coupon.name},
        )
    if subtotal < coupon.min_spend:
        raise DemoError(
            "coupon_min_spend",
            _("The coupon “%(name)s” needs a minimum spend of ¥%(min)s.")
            % {"name": coupon.name, "min": coupon.min_spend},
        )


def price(
    user: Any,
    options: list[ValidityOption],
    *,
    user_coupon: UserCoupon | None = None,
    credits: int = 0,
) -> Breakdown:
    """Compute the checkout breakdown; problems go to ``errors`` (nothing is reserved here)."""
    subtotal = sum((o.price for o in options), Decimal("0.00")).quantize(CENT)
    bd = Breakdown(options=options, subtotal=subtotal)
    if not options:
        bd.errors.append(_("Select at least one course."))
        return bd
    if user_coupon is not None:
        try:
            check_coupon(user_coupon, user, subtotal)
        except DemoError as exc:
            bd.errors.append(exc.message)
        else:
            bd.coupon = user_coupon
            bd.coupon_discount = min(
                user_coupon.coupon.discount_for(subtotal), subtotal - MIN_TOTAL
            ).quantize(CENT)
    after_coupon = subtotal - bd.coupon_discount
    available = credit_account(user).available
    bd.max_credits = max(0, min(available, yuan_to_credits(after_coupon - MIN_TOTAL)))
    if credits < 0:
        bd.errors.append(_("Credits cannot be negative."))
    elif credits > available:
        bd.errors.append(
            _("You have only %(available)d credits available.") % {"available": available}
        )
    elif credits > bd.max_credits:
        bd.errors.append(
            _("At most %(max)d credits can be used on this order.") % {"max": bd.max_credits}
        )
    else:
        bd.credits = credits
        bd.credits_discount = credits_to_yuan(credits)
    return bd


def checkout(
    user: Any, option_ids: list[int], *, user_coupon_id: int | None = None, credits: int = 0
) -> Any:
    """Create the order for these course options, reserving the coupon and holding the credits.

    Everything is recomputed here under row locks, whatever the page showed before.
    """
    with transaction.atomic():
        options = list(
            ValidityOption.objects.select_related("course").filter(
                pk__in=option_ids, course__is_active=True
            )
        )
        if len(options) != len(set(option_ids)) or len({o.course_id for o in options}) != len(
            options
        ):
            raise DemoError("course_unavailable", _("A selected course is no longer on sale."))
        user_coupon = None
        if user_coupon_id:
            user_coupon = (
                UserCoupon.objects.select_for_update()
                .select_related("coupon")
                .filter(pk=user_coupon_id, user=user)
                .first()
            )
            if user_coupon is None:
                raise DemoError("coupon_not_yours", _("This coupon is not yours."))
        account = credit_account(user, lock=True)
        bd = price(user, options, user_coupon=user_coupon, credits=credits)
        if bd.errors:
            raise DemoError("checkout_invalid", " ".join(bd.errors))
        lines = [
            LineSpec(
                title=f"{o.course.title} ({o.label})",
                unit_price=o.price,
                quantity=1,
                item=o,
                sku=o.sku,
                metadata={"course_id": o.course_id, "days": o.days, "validity": o.label},
            )
            for o in options
        ]
        adjustments = []
        if bd.coupon is not None:
            adjustments.append(
                AdjustmentSpec(
                    kind="coupon",
                    label=str(bd.coupon.coupon),
                    amount=bd.coupon_discount,
                    metadata={"user_coupon_id": bd.coupon.pk, "code": bd.coupon.coupon.code},
                )
            )
        if bd.credits:
            adjustments.append(
                AdjustmentSpec(
                    kind="credits",
                    label=_("%(credits)d credits") % {"credits": bd.credits},
                    amount=bd.credits_discount,
                    metadata={"credits": bd.credits},
                )
            )
        if len(options) == 1:
            subject = options[0].course.title
        else:
            # "Python 入门 等 2 门课程": the count is every course of the order, the first included.
            subject = _("%(first)s and others, %(count)d courses") % {
                "first": options[0].course.title,
                "count": len(options),
            }
        order = create_order(
            user,
            lines=lines,
            adjustments=adjustments,
            subject=subject,
            kind="purchase",
            metadata={"site": "courses"},
        )
        if bd.coupon is not None:
            bd.coupon.status = UserCoupon.Status.RESERVED
            bd.coupon.order_no = order.out_trade_no
            bd.coupon.save(update_fields=["status", "order_no"])
        if bd.credits:
            account.held += bd.credits
            account.save(update_fields=["held"])
            CreditEntry.objects.create(
                user=user,
                kind=CreditEntry.Kind.HOLD,
                amount=bd.credits,
                order_no=order.out_trade_no,
                memo=order.subject,
            )
        return order


def grant_credits(user: Any, credits: int, memo: str) -> None:
    with transaction.atomic():
        account = credit_account(user, lock=True)
        account.balance += credits
        account.save(update_fields=["balance"])
        CreditEntry.objects.create(
            user=user, kind=CreditEntry.Kind.GRANT, amount=credits, memo=memo
        )
