"""What a course order's events do, keyed by the order's ``course:`` lines and its adjustments.

Run from ``common.fulfilment`` inside Zhifu's transaction, once per event. Paid: enrollments
with expiry dates, student counts, the coupon marked used, the held credits spent, and (after
commit) the courses removed from the cart. Cancelled or expired: the coupon and the credits
released. Refunded: each refund returns its share of the credits (all of them on a full refund);
a full refund takes back what that order granted (its days, or its permanent access) and
the enrollment is recomputed from the purchases left. Coupons are not returned on refund.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR
from typing import Any

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from zhifu.models import Order

from .cart import Cart
from .models import Course, CreditAccount, CreditEntry, Enrollment, EnrollmentGrant, UserCoupon


def course_lines(order: Any) -> list[Any]:
    """The order's course lines by course id: enrollments and ``students`` counters are locked in
    the same order by every payment and refund, so two of them sharing courses wait for each
    other instead of deadlocking."""
    lines = [line for line in order.lines.all() if line.sku.startswith("course:")]
    return sorted(lines, key=_course_id)


def _adjustment(order: Any, kind: str) -> Any:
    for adjustment in order.adjustments.all():
        if adjustment.kind == kind:
            return adjustment
    return None


def _credits_of(order: Any) -> int:
    adjustment = _adjustment(order, "credits")
    return int((adjustment.metadata or {}).get("credits", 0)) if adjustment else 0


def _coupon_of(order: Any) -> UserCoupon | None:
    adjustment = _adjustment(order, "coupon")
    if adjustment is None:
        return None
    pk = (adjustment.metadata or {}).get("user_coupon_id")
    if pk is None:  # no row has a null pk: the query below would find nothing
        return None
    return UserCoupon.objects.select_for_update().filter(pk=pk, order_no=order.out_trade_no).first()


def _course_id(line: Any) -> int:
    return int((line.metadata or {}).get("course_id") or line.sku.split(":")[1])


def _locked_enrollment(order: Any, course_id: int, now: Any) -> Enrollment:
    """The buyer's enrollment in the course, locked; created first if missing. A row that does
    not exist cannot be locked, so two payments of one buyer for one course would both create it
    (one failing on the unique constraint): ``INSERT … ON CONFLICT DO NOTHING`` makes the second
    wait for the first and then lock the row it committed. A new enrollment starts revoked (no
    purchase yet); ``recompute`` opens it from the grant added next."""
    Enrollment.objects.bulk_create(
        [
            Enrollment(
                user=order.user,
                course_id=course_id,
                order_no=order.out_trade_no,
                enrolled_at=now,
                revoked=True,
            )
        ],
        ignore_conflicts=True,
    )
    return Enrollment.objects.select_for_update().get(user=order.user, course_id=course_id)


def on_paid(order: Any) -> None:
    now = order.paid_at or timezone.now()
    course_ids = []
    for line in course_lines(order):
        days = (line.metadata or {}).get("days")
        course_id = _course_id(line)
        course_ids.append(course_id)
        enrollment = _locked_enrollment(order, course_id, now)
        was_student = not enrollment.revoked
        EnrollmentGrant.objects.create(
            enrollment=enrollment,
            order_no=order.out_trade_no,
            days=int(days) if days is not None else None,
            granted_at=now,
        )
        enrollment.recompute()
        enrollment.save()
        if not was_student:  # students are people, not purchases
            Course.objects.filter(pk=course_id).update(students=F("students") + 1)

    user_coupon = _coupon_of(order)
    if user_coupon is not None:
        user_coupon.status = UserCoupon.Status.USED
        user_coupon.used_at = now
        user_coupon.save(update_fields=["status", "used_at"])

    credits = _credits_of(order)
    if credits:
        account = CreditAccount.objects.select_for_update().get(user=order.user)
        account.held -= credits
        account.balance -= credits
        account.save(update_fields=["held", "balance"])
        CreditEntry.objects.create(
            user=order.user,
            kind=CreditEntry.Kind.SPEND,
            amount=-credits,
            order_no=order.out_trade_no,
            memo=order.subject,
        )

    if course_ids:
        user = order.user
        transaction.on_commit(lambda: Cart(user).remove_many(course_ids))


def on_closed(order: Any) -> None:
    """Cancelled or expired unpaid: release the coupon and the held credits."""
    user_coupon = _coupon_of(order)
    if user_coupon is not None and user_coupon.status == UserCoupon.Status.RESERVED:
        user_coupon.status = UserCoupon.Status.AVAILABLE
        user_coupon.order_no = ""
        user_coupon.save(update_fields=["status", "order_no"])
    credits = _credits_of(order)
    if credits:
        account = CreditAccount.objects.select_for_update().get(user=order.user)
        account.held -= credits
        account.save(update_fields=["held"])
        CreditEntry.objects.create(
            user=order.user,
            kind=CreditEntry.Kind.RELEASE,
            amount=credits,
            order_no=order.out_trade_no,
            memo=order.subject,
        )


def credits_due_back(order: Any) -> int:
    """Credits an order's refunds have earned back so far, in proportion to the money refunded:
    ``floor(credits × refunded / paid)``, and all of them once the order is fully refunded."""
    credits = _credits_of(order)
    if not credits:
        return 0
    if order.status == Order.Status.REFUNDED or order.refunded_amount >= order.total_amount:
        return credits
    share = credits * order.refunded_amount / order.total_amount
    return min(credits, int(share.to_integral_value(rounding=ROUND_FLOOR)))


def on_refunded(order: Any, refund: Any) -> None:
    """Every refund returns its share of the credits (see ``credits_due_back``); only a full
    refund revokes access to the courses. A coupon is not given back: it was used."""
    due = credits_due_back(order)
    returned = (
        CreditEntry.objects.filter(
            user=order.user, order_no=order.out_trade_no, kind=CreditEntry.Kind.RETURN
        ).aggregate(total=Sum("amount"))["total"]
        or 0
    )
    if due > returned:
        account = CreditAccount.objects.select_for_update().get(user=order.user)
        account.balance += due - returned
        account.save(update_fields=["balance"])
        CreditEntry.objects.create(
            user=order.user,
            kind=CreditEntry.Kind.RETURN,
            amount=due - returned,
            order_no=order.out_trade_no,
            memo=order.subject,
        )
    if order.status != Order.Status.REFUNDED:
        return
    for line in course_lines(order):
        course_id = _course_id(line)
        enrollment = (
            Enrollment.objects.select_for_update()
            .filter(user=order.user, course_id=course_id)
            .first()
        )
        if enrollment is None:
            continue
        if not enrollment.grants.filter(order_no=order.out_trade_no, revoked=False).update(
            revoked=True
        ):
            continue
        was_student = not enrollment.revoked
        enrollment.recompute()
        enrollment.save()
        if was_student and enrollment.revoked:
            Course.objects.filter(pk=course_id, students__gt=0).update(students=F("students") - 1)


def grants_of(order: Any) -> list[EnrollmentGrant]:
    """The course access ``order`` bought and still gives (none once it is fully refunded)."""
    return list(
        EnrollmentGrant.objects.filter(
            enrollment__user_id=order.user_id, order_no=order.out_trade_no, revoked=False
        ).select_related("enrollment__course")
    )
