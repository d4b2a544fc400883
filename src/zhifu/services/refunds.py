"""Refunds: full or partial, each with its own ``out_request_no``; never more than was paid.

A refund is created ``pending`` under the order's row lock (so two concurrent refunds cannot
together exceed what was paid), then sent to the provider outside the transaction. Alipay's
answer makes it ``succeeded`` or ``failed``; no answer makes it ``unknown``, and the retry job
sends it again with the same ``out_request_no`` (Alipay treats that as the same refund).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..conf import zhifu_settings
from ..exceptions import InsufficientBalance, RefundError
from ..logs import ctx
from ..models import LedgerEntry, Order, PaymentAttempt, Refund
from ..money import MAX_AMOUNT, MIN_AMOUNT, AmountError, parse_amount
from ..providers import alipay as alipay_provider
from ..providers import balance as balance_provider
from ..signals import order_refunded
from .transitions import lock, transition

__all__ = [
    "apply_refund_notification",
    "complete_refund",
    "create_automatic_refund",
    "execute_refund",
    "execute_refund_later",
    "refund_order",
    "refundable_amount",
    "retry_refunds",
]

log = logging.getLogger("zhifu.refunds")
ZERO = Decimal("0.00")
OPEN_OR_DONE = (Refund.Status.PENDING, Refund.Status.UNKNOWN, Refund.Status.SUCCEEDED)


def refundable_amount(attempt: PaymentAttempt) -> Decimal:
    """What can still be refunded of ``attempt``: paid minus refunds pending, unknown or done."""
    taken = attempt.refunds.filter(status__in=OPEN_OR_DONE).aggregate(s=Sum("amount"))["s"]
    # quantized: SQLite sums decimals in floating point
    return attempt.amount - Decimal(taken or 0).quantize(Decimal("0.01"))


def _out_request_no(attempt: PaymentAttempt) -> str:
    count = Refund.objects.filter(attempt=attempt).count()
    return f"{attempt.out_trade_no}R{count + 1}"[:64]


def create_automatic_refund(order: Order, attempt: PaymentAttempt, *, reason: str) -> Refund:
    """A refund of an extra payment (call under the order's lock, inside the transaction)."""
    return Refund.objects.create(
        order=order,
        attempt=attempt,
        out_request_no=_out_request_no(attempt),
        amount=attempt.amount,
        reason=reason[:256],
        automatic=True,
    )


def refund_order(
    order: Order, *, amount: Decimal | str | None = None, reason: str = "", by: Any = None
) -> Refund:
    """Refund ``amount`` (default: everything still refundable) of a paid order.

    Returns the refund after the provider answered (``succeeded``, ``failed`` or ``unknown``);
    inside an outer transaction it is sent after commit and comes back ``pending``.
    """
    with transaction.atomic():
        order = lock(order)
        if order.status not in (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED):
            raise RefundError(
                "order_not_refundable",
                _("the order is %(status)s and cannot be refunded"),
                status=Order.Status(order.status).label,
            )
        attempt = order.attempts.filter(status=PaymentAttempt.Status.SUCCEEDED).first()
        if attempt is None:
            raise RefundError("order_not_refundable", _("the order has no successful payment"))
        available = refundable_amount(attempt)
        if amount is None or amount == "":
            value = available
        else:
            try:
                value = parse_amount(amount, field="amount")
            except AmountError:
                raise RefundError(
                    "invalid_amount",
                    _(
                        "the amount must be from %(minimum)s to %(maximum)s with at most two "
                        "decimal places, such as 12.30"
                    ),
                    minimum=MIN_AMOUNT,
                    maximum=MAX_AMOUNT,
                ) from None
        if value <= ZERO:
            raise RefundError("refund_exceeds_paid", _("nothing is left to refund"))
        if value > available:
            raise RefundError(
                "refund_exceeds_paid",
                _("at most %(available)s can be refunded, not %(amount)s"),
                available=available,
                amount=value,
            )
        refund = Refund.objects.create(
            order=order,
            attempt=attempt,
            out_request_no=_out_request_no(attempt),
            amount=value,
            reason=str(reason or "")[:256],
            requested_by=by if getattr(by, "pk", None) is not None else None,
        )
        if order.kind == Order.Kind.TOPUP:
            # The money goes back out of the wallet it was credited to.
            from .wallet import post_entry

            try:
                post_entry(
                    order.user,
                    -value,
                    LedgerEntry.Kind.REFUND,
                    order=order,
                    refund=refund,
                    memo=f"top-up refund {refund.out_request_no}",
                )
            except InsufficientBalance:
                raise RefundError(
                    "insufficient_balance", _("the wallet no longer holds the amount to refund")
                ) from None
        log.info(
            "refund created order=%s out_request_no=%s amount=%s",
            order.out_trade_no,
            refund.out_request_no,
            value,
            extra=ctx("refund_created", order=order, refund=refund),
        )
    if transaction.get_connection().in_atomic_block:
        execute_refund_later(refund)
        return refund
    return execute_refund(refund)


def execute_refund_later(refund: Refund) -> None:
    """Send ``refund`` after the current transaction commits (errors are logged; the retry job
    picks it up)."""
    pk = refund.pk

    def run() -> None:
        try:
            execute_refund(Refund.objects.get(pk=pk))
        except Exception:
            log.exception("sending refund id=%s failed; the retry job will try again", pk)

    transaction.on_commit(run)


def execute_refund(refund: Refund) -> Refund:
    """Send a pending or unknown refund to its provider and record the answer."""
    refund = Refund.objects.select_related("order", "attempt").get(pk=refund.pk)
    if refund.status not in (Refund.Status.PENDING, Refund.Status.UNKNOWN):
        return refund
    Refund.objects.filter(pk=refund.pk).update(tries=refund.tries + 1)
    if refund.attempt.provider == balance_provider.PROVIDER:
        with transaction.atomic():
            lock(refund.order)
            row = lock(refund)
            if row.status in (Refund.Status.PENDING, Refund.Status.UNKNOWN):
                balance_provider.credit_refund(row)
                complete_refund(row)
        refund.refresh_from_db()
        return refund
    outcome = alipay_provider.refund(
        out_trade_no=refund.attempt.out_trade_no,
        out_request_no=refund.out_request_no,
        amount=refund.amount,
        reason=refund.reason,
    )
    if outcome.status == "succeeded":
        complete_refund(refund, raw=outcome.raw)
    elif outcome.status == "failed":
        fail_refund(refund, outcome.code, outcome.message)
    else:
        with transaction.atomic():
            row = lock(refund)
            if row.status == Refund.Status.PENDING:
                transition(
                    row,
                    Refund.Status.UNKNOWN,
                    error_code=outcome.code[:128],
                    error_message=outcome.message,
                )
            else:
                Refund.objects.filter(pk=row.pk).update(
                    error_code=outcome.code[:128], error_message=outcome.message
                )
        log.warning(
            "refund outcome unknown order=%s out_request_no=%s code=%s; will retry",
            refund.order.out_trade_no,
            refund.out_request_no,
            outcome.code,
            extra=ctx("refund_unknown", order=refund.order, refund=refund),
        )
    refund.refresh_from_db()
    return refund


def complete_refund(refund: Refund, *, raw: dict[str, Any] | None = None) -> bool:
    """Mark ``refund`` succeeded and update its order (once). True if this call changed it."""
    with transaction.atomic():
        order = lock(Order(pk=refund.order_id))
        row = lock(refund)
        changes: dict[str, Any] = {"succeeded_at": timezone.now()}
        if raw:
            changes["raw"] = raw
        if not transition(row, Refund.Status.SUCCEEDED, **changes):
            return False
        refund.status = row.status
        if row.automatic:
            log.info(
                "extra payment refunded order=%s out_request_no=%s amount=%s",
                order.out_trade_no,
                row.out_request_no,
                row.amount,
                extra=ctx("extra_payment_refunded", order=order, refund=row),
            )
            return True
        order.refunded_amount += row.amount
        order.save(update_fields=["refunded_amount", "updated_at"])
        target = (
            Order.Status.REFUNDED
            if order.refunded_amount >= order.total_amount
            else Order.Status.PARTIALLY_REFUNDED
        )
        transition(order, target)
        order_refunded.send(sender=Order, order=order, refund=row)
        log.info(
            "refund succeeded order=%s out_request_no=%s amount=%s refunded=%s status=%s",
            order.out_trade_no,
            row.out_request_no,
            row.amount,
            order.refunded_amount,
            order.status,
            extra=ctx("refunded", order=order, refund=row),
        )
        return True


def fail_refund(refund: Refund, code: str, message: str) -> bool:
    with transaction.atomic():
        order = lock(Order(pk=refund.order_id))
        row = lock(refund)
        changed = transition(
            row, Refund.Status.FAILED, error_code=code[:128], error_message=message
        )
        if changed and order.kind == Order.Kind.TOPUP and not row.automatic:
            from .wallet import post_entry

            post_entry(
                order.user,
                row.amount,
                LedgerEntry.Kind.ADJUSTMENT,
                order=order,
                memo=f"refund {row.out_request_no} failed; amount returned",
            )
    log.error(
        "refund failed order=%s out_request_no=%s code=%s",
        refund.order.out_trade_no if hasattr(refund, "order") else refund.order_id,
        refund.out_request_no,
        code,
        extra=ctx("refund_failed", order=order, refund=refund),
    )
    return changed


def apply_refund_notification(attempt: PaymentAttempt, data: dict[str, str]) -> tuple[str, str]:
    """A refund notification (``out_biz_no`` = our ``out_request_no``). Returns (outcome, note)."""
    from .payments import APPLIED, DUPLICATE, IGNORED, apply_payment

    if attempt.status in (PaymentAttempt.Status.PENDING, PaymentAttempt.Status.CLOSED):
        # A refunded trade was paid first: make sure we know that.
        apply_payment(
            attempt,
            trade_no=data.get("trade_no", ""),
            paid_at=alipay_provider.parse_time(data.get("gmt_payment")),
            buyer_id=data.get("buyer_id", ""),
            raw=dict(data),
            source="refund-notify",
        )
    out_biz_no = data.get("out_biz_no", "")
    refund = Refund.objects.filter(attempt=attempt, out_request_no=out_biz_no).first()
    if refund is None:
        Order.objects.filter(pk=attempt.order_id).update(
            needs_attention=True,
            attention_reason=f"refund {out_biz_no or '?'} not made through Zhifu",
        )
        return IGNORED, f"refund {out_biz_no!r} is not one of ours; order flagged"
    if refund.status == Refund.Status.FAILED:
        return IGNORED, "refund already marked failed; a person should check"
    changed = complete_refund(refund, raw=dict(data))
    return (APPLIED if changed else DUPLICATE), f"refund {refund.out_request_no}"


def retry_refunds(*, now: datetime | None = None, limit: int = 200) -> int:
    """Send again (same ``out_request_no``) refunds whose outcome is unknown, and pending ones
    that were never sent. Returns how many succeeded now."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=zhifu_settings.REFUND_RETRY_AFTER)
    done = 0
    qs = Refund.objects.filter(status=Refund.Status.UNKNOWN) | Refund.objects.filter(
        status=Refund.Status.PENDING, updated_at__lte=stale
    )
    for refund in qs.order_by("created_at")[:limit]:
        try:
            if execute_refund(refund).status == Refund.Status.SUCCEEDED:
                done += 1
        except Exception:
            log.exception(
                "retrying refund out_request_no=%s failed",
                refund.out_request_no,
                extra=ctx("refund_retry_failed", refund=refund),
            )
    return done
