"""Refunds: full or partial, each with its own ``out_request_no``; never more than was paid.

A refund is created ``pending`` under the order's row lock (so two concurrent refunds cannot
together exceed what was paid), then sent to the provider outside the transaction (a provider
that settles locally, the wallet, is called under the lock instead). The answer makes it
``succeeded`` or ``failed``, or leaves it ``pending`` until the gateway notifies (WeChat Pay
answers ``PROCESSING``); no answer makes it ``unknown``, and the retry job asks the gateway, then
sends it again with the same ``out_request_no`` (gateways treat that as the same refund). A
gateway that answers "still processing" makes an unknown refund ``pending`` again; the retry
job keeps asking about pending refunds older than ``REFUND_RETRY_AFTER``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import wallet
from ..conf import zhifu_settings
from ..exceptions import InsufficientBalance, RefundError, invalid_amount
from ..logs import ctx
from ..models import LedgerEntry, Order, PaymentAttempt, Refund
from ..money import AmountError, parse_amount
from ..providers import registry
from ..providers.base import RefundEvent, RefundResult, RefundState
from ..signals import order_refunded, order_settling
from .transitions import lock, save_flags, transition

__all__ = [
    "apply_refund_event",
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
            except AmountError as exc:
                raise invalid_amount(exc) from None
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
            try:
                wallet.post_entry(
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
    Refund.objects.filter(pk=refund.pk).update(tries=F("tries") + 1)
    provider = registry.get(refund.attempt.provider)
    if not provider.remote:
        with transaction.atomic():
            order = lock(refund.order)
            row = lock(refund)
            if row.status in (Refund.Status.PENDING, Refund.Status.UNKNOWN):
                row.order, row.attempt = order, refund.attempt
                order_settling.send(sender=Order, order=order)  # other wallets first, by id
                _record_result(order, row, provider.refund(row))
    else:
        _record(refund, provider.refund(refund))
    refund.refresh_from_db()
    return refund


def _record(refund: Refund, result: RefundResult) -> None:
    """Apply a provider's answer about ``refund`` (taking the order's and the refund's locks)."""
    with transaction.atomic():
        order = lock(Order(pk=refund.order_id))
        row = lock(refund)
        _record_result(order, row, result)


def _record_result(order: Order, row: Refund, result: RefundResult) -> None:
    if result.state == RefundState.SUCCEEDED:
        _complete(order, row, raw=dict(result.raw))
    elif result.state == RefundState.FAILED:
        _fail(order, row, result.code, result.message)
    elif result.state == RefundState.UNKNOWN:
        changes = {"error_code": result.code[:128], "error_message": result.message}
        if row.status == Refund.Status.PENDING:
            transition(row, Refund.Status.UNKNOWN, locked=True, **changes)
        elif row.status == Refund.Status.UNKNOWN:
            save_flags(row, **changes)
        log.warning(
            "refund outcome unknown order=%s out_request_no=%s code=%s; will retry",
            order.out_trade_no,
            row.out_request_no,
            result.code,
            extra=ctx("refund_unknown", order=order, refund=row),
        )
    else:
        _record_pending(order, row, result)


def _record_pending(order: Order, row: Refund, result: RefundResult) -> None:
    """The gateway has the refund and has not finished it: accepted, still processing (WeChat
    PROCESSING), or held up by a problem only a person can settle at the gateway (a ``code``,
    e.g. WeChat ABNORMAL: the buyer's card refused the money). It stays pending — its amount
    stays taken — and the notification or the retry job's query says how it ends."""
    changes = {
        "error_code": result.code[:128],
        "error_message": result.message if result.code else "",
    }
    if row.status == Refund.Status.UNKNOWN:
        transition(row, Refund.Status.PENDING, locked=True, **changes)
    elif row.status == Refund.Status.PENDING and (row.error_code, row.error_message) != (
        changes["error_code"],
        changes["error_message"],
    ):
        save_flags(row, **changes)
    if result.code and row.status == Refund.Status.PENDING:
        reason = f"refund {row.out_request_no} held up at the gateway ({result.code}): act there"
        if not order.needs_attention:
            save_flags(order, needs_attention=True, attention_reason=reason[:255])
        log.warning(
            "refund held up order=%s out_request_no=%s code=%s; a person must act at the gateway",
            order.out_trade_no,
            row.out_request_no,
            result.code,
            extra=ctx("refund_held_up", order=order, refund=row),
        )


def complete_refund(refund: Refund, *, raw: dict[str, Any] | None = None) -> bool:
    """Mark ``refund`` succeeded and update its order (once). True if this call changed it."""
    with transaction.atomic():
        order = lock(Order(pk=refund.order_id))
        row = lock(refund)
        changed = _complete(order, row, raw=raw)
        refund.status = row.status
        return changed


def _complete(order: Order, row: Refund, *, raw: dict[str, Any] | None = None) -> bool:
    changes: dict[str, Any] = {"succeeded_at": timezone.now()}
    if raw:
        changes["raw"] = raw
    if row.status not in (Refund.Status.PENDING, Refund.Status.UNKNOWN):
        return False  # already succeeded (a repeat) or failed (a person should look)
    transition(row, Refund.Status.SUCCEEDED, locked=True, **changes)
    if row.automatic:
        log.info(
            "surplus payment refunded order=%s out_request_no=%s amount=%s",
            order.out_trade_no,
            row.out_request_no,
            row.amount,
            extra=ctx("extra_payment_refunded", order=order, refund=row),
        )
        return True
    save_flags(order, refunded_amount=order.refunded_amount + row.amount)
    target = (
        Order.Status.REFUNDED
        if order.refunded_amount >= order.total_amount
        else Order.Status.PARTIALLY_REFUNDED
    )
    transition(order, target, locked=True)
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
        return _fail(order, row, code, message)


def _fail(order: Order, row: Refund, code: str, message: str) -> bool:
    changed = transition(
        row, Refund.Status.FAILED, locked=True, error_code=code[:128], error_message=message
    )
    if changed and order.kind == Order.Kind.TOPUP and not row.automatic:
        wallet.post_entry(
            order.user,
            row.amount,
            LedgerEntry.Kind.ADJUSTMENT,
            order=order,
            memo=f"refund {row.out_request_no} failed; amount returned",
        )
    log.error(
        "refund failed order=%s out_request_no=%s code=%s",
        order.out_trade_no,
        row.out_request_no,
        code,
        extra=ctx("refund_failed", order=order, refund=row),
    )
    return changed


def apply_refund_event(
    order: Order, attempt: PaymentAttempt, event: RefundEvent, *, source: str
) -> tuple[str, str]:
    """What a gateway says about one refund of ``attempt`` (order and attempt locked by the
    caller, event checked). Returns ``(outcome, note)``."""
    from .payments import APPLIED, DUPLICATE, IGNORED, apply_payment_event

    if event.payment is not None and attempt.status in (
        PaymentAttempt.Status.PENDING,
        PaymentAttempt.Status.CLOSED,
    ):
        # A refunded trade was paid first: make sure we know that.
        apply_payment_event(order, attempt, event.payment, source=f"{source} (refund)")
    refund = (
        Refund.objects.select_for_update()
        .filter(attempt=attempt, out_request_no=event.out_refund_no)
        .first()
    )
    if refund is None:
        save_flags(
            order,
            needs_attention=True,
            attention_reason=f"refund {event.out_refund_no or '?'} not made through Zhifu"[:255],
        )
        return IGNORED, f"refund {event.out_refund_no!r} is not one of ours; order flagged"
    if event.state == RefundState.SUCCEEDED:
        changed = _complete(order, refund, raw=dict(event.raw))
        if not changed and refund.status == Refund.Status.FAILED:
            return IGNORED, "refund already marked failed; a person should check"
        return (APPLIED if changed else DUPLICATE), event.note
    if event.state == RefundState.FAILED:
        return (APPLIED if _fail(order, refund, "refund_failed", event.note) else DUPLICATE), (
            event.note
        )
    return IGNORED, event.note


def retry_refunds(*, now: datetime | None = None, limit: int = 200) -> int:
    """Settle refunds whose outcome is unknown, and pending ones that were never sent or are still
    being processed: ask the gateway first, then send again with the same ``out_request_no``.
    Returns how many succeeded now."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=zhifu_settings.REFUND_RETRY_AFTER)
    done = 0
    qs = Refund.objects.filter(status=Refund.Status.UNKNOWN) | Refund.objects.filter(
        status=Refund.Status.PENDING, updated_at__lte=stale
    )
    for refund in qs.select_related("attempt").order_by("created_at")[:limit]:
        try:
            if _retry(refund).status == Refund.Status.SUCCEEDED:
                done += 1
        except Exception:
            log.exception(
                "retrying refund out_request_no=%s failed",
                refund.out_request_no,
                extra=ctx("refund_retry_failed", refund=refund),
            )
    return done


def _retry(refund: Refund) -> Refund:
    provider = registry.get(refund.attempt.provider)
    if provider.remote and refund.tries:
        answer = provider.query_refund(refund)
        if answer.state in (RefundState.SUCCEEDED, RefundState.PENDING):
            _record(refund, answer)  # succeeded; or pending, no longer unknown
            refund.refresh_from_db()
            return refund
    return execute_refund(refund)
