"""Starting payments and applying what the gateway says about them.

:func:`apply_payment` is the single place where an attempt becomes paid: the order row is
locked first, then the attempt; the first success pays the order (and fulfils it, once); any
other success (a second tab, a payment after expiry or cancellation) is recorded as ``extra`` and
refunded automatically (or flagged, for late payments, if ``LATE_PAYMENT_POLICY`` is ``"flag"``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..conf import zhifu_settings
from ..exceptions import OrderError, PaymentError
from ..logs import ctx
from ..models import Order, PaymentAttempt
from ..providers import alipay as alipay_provider
from ..providers.alipay import TradeState
from ..signals import order_paid
from .transitions import lock, transition

__all__ = [
    "APPLIED",
    "DUPLICATE",
    "IGNORED",
    "PaymentStart",
    "apply_payment",
    "apply_trade_state",
    "pay_with_balance",
    "start_payment",
    "sync_attempt",
]

log = logging.getLogger("zhifu.payments")

APPLIED, DUPLICATE, IGNORED = "applied", "duplicate", "ignored"
CHANNELS = frozenset(PaymentAttempt.Channel.values)
ALIPAY_CHANNELS = frozenset({"alipay_page", "alipay_wap", "alipay_qr"})


@dataclass
class PaymentStart:
    """What the buyer needs to pay: a URL / auto-submitting form (page, wap), a QR code text
    (qr), or, for balance, ``paid=True``."""

    attempt: PaymentAttempt
    channel: str
    pay_url: str = ""
    form_html: str = ""
    qr_code: str = ""
    paid: bool = False

    @property
    def order(self) -> Order:
        return self.attempt.order


def _check_payable(order: Order, now: datetime) -> None:
    if order.status != Order.Status.PENDING:
        raise PaymentError(
            "order_not_payable",
            _("the order is %(status)s, no longer waiting for payment"),
            status=Order.Status(order.status).label,
        )
    if order.expires_at <= now:
        raise PaymentError("order_expired", _("the order has expired; create a new one"))


def _next_attempt_no(order: Order) -> str:
    count = PaymentAttempt.objects.filter(order=order).count()
    return f"{order.out_trade_no}_{count + 1}"


def _first_check(now: datetime) -> datetime:
    return now + timedelta(seconds=zhifu_settings.RECONCILE_SCHEDULE[0])


def _close_later(attempts: list[PaymentAttempt]) -> None:
    """After commit, close replaced trades at Alipay (best effort: reconcile keeps watching)."""

    def run() -> None:
        for attempt in attempts:
            try:
                outcome = alipay_provider.close(attempt.out_trade_no)
            except Exception as exc:  # noqa: BLE001 - best effort; reconcile keeps watching
                log.warning(
                    "closing replaced trade out_trade_no=%s failed: %s",
                    attempt.out_trade_no,
                    exc,
                    extra=ctx("close_failed", payment=attempt),
                )
                continue
            if outcome == "closed":
                PaymentAttempt.objects.filter(pk=attempt.pk).update(
                    closed_at_gateway=True, next_check_at=None
                )

    if attempts:
        transaction.on_commit(run)


def start_payment(
    order: Order, channel: str, *, user: Any, return_url: str | None = None
) -> PaymentStart:
    """Start (or resume) paying a pending order through ``channel``.

    An open attempt of the same channel is reused (same out_trade_no, so Alipay sees one
    trade); open attempts of other channels are closed (locally now, at Alipay after commit).
    """
    if not isinstance(channel, str) or channel not in CHANNELS:
        raise PaymentError(
            "invalid_channel",
            _("the payment method must be one of %(channels)s"),
            channels=", ".join(sorted(CHANNELS)),
        )
    if getattr(user, "pk", None) is None or user.pk != order.user_id:
        raise OrderError("order_not_found", _("no such order"))
    if channel == PaymentAttempt.Channel.BALANCE:
        return pay_with_balance(order, user=user)
    now = timezone.now()
    with transaction.atomic():
        order = lock(order)
        _check_payable(order, now)
        pending = list(
            order.attempts.select_for_update()
            .filter(status=PaymentAttempt.Status.PENDING)
            .order_by("-id")
        )
        reuse = next(
            (a for a in pending if a.channel == channel and a.amount == order.total_amount), None
        )
        replaced = [a for a in pending if a is not reuse]
        for old in replaced:
            transition(
                old,
                PaymentAttempt.Status.CLOSED,
                closed_at=now,
                next_check_at=_first_check(now),
            )
        _close_later([a for a in replaced if a.provider == alipay_provider.PROVIDER])
        attempt = reuse or PaymentAttempt.objects.create(
            order=order,
            provider=alipay_provider.PROVIDER,
            channel=channel,
            out_trade_no=_next_attempt_no(order),
            amount=order.total_amount,
            next_check_at=_first_check(now),
        )
    attempt.order = order
    if channel == PaymentAttempt.Channel.ALIPAY_QR and attempt.qr_code:
        request = alipay_provider.PayRequest(qr_code=attempt.qr_code)
    else:
        request = alipay_provider.start(order, attempt, return_url=return_url)
        if request.qr_code:
            attempt.qr_code = request.qr_code
            PaymentAttempt.objects.filter(pk=attempt.pk).update(qr_code=request.qr_code)
    log.info(
        "payment started order=%s out_trade_no=%s channel=%s reused=%s",
        order.out_trade_no,
        attempt.out_trade_no,
        channel,
        reuse is not None,
        extra=ctx("payment_started", order=order, payment=attempt),
    )
    return PaymentStart(
        attempt=attempt,
        channel=channel,
        pay_url=request.pay_url,
        form_html=request.form_html,
        qr_code=request.qr_code,
    )


def pay_with_balance(order: Order, *, user: Any) -> PaymentStart:
    """Pay from the buyer's wallet: debit, attempt, order paid and fulfilled in one
    transaction, exactly once (a second call finds the order paid and changes nothing)."""
    from ..providers import balance as balance_provider

    if getattr(user, "pk", None) is None or user.pk != order.user_id:
        raise OrderError("order_not_found", _("no such order"))
    if order.kind == Order.Kind.TOPUP:
        raise PaymentError("invalid_channel", _("a wallet top-up cannot be paid from the wallet"))
    now = timezone.now()
    with transaction.atomic():
        order = lock(order)
        _check_payable(order, now)
        attempt = PaymentAttempt.objects.create(
            order=order,
            provider=balance_provider.PROVIDER,
            channel=PaymentAttempt.Channel.BALANCE,
            out_trade_no=_next_attempt_no(order),
            amount=order.total_amount,
        )
        balance_provider.debit(order, attempt)  # raises InsufficientBalance: all rolled back
        apply_payment(
            attempt, trade_no="", paid_at=now, raw={"provider": "balance"}, source="balance"
        )
        attempt.refresh_from_db()
        order.refresh_from_db()
    attempt.order = order
    return PaymentStart(attempt=attempt, channel=PaymentAttempt.Channel.BALANCE, paid=True)


def apply_payment(
    attempt: PaymentAttempt,
    *,
    trade_no: str,
    paid_at: datetime | None = None,
    buyer_id: str = "",
    raw: dict[str, Any] | None = None,
    source: str,
) -> str:
    """Record that ``attempt`` was paid. Returns ``"applied"`` or ``"duplicate"``.

    The caller has checked that the amount and the trade belong to this attempt.
    """
    from .refunds import create_automatic_refund, execute_refund_later

    paid_at = paid_at or timezone.now()
    with transaction.atomic():
        order = lock(Order(pk=attempt.order_id))
        row = lock(attempt)
        if row.status in (PaymentAttempt.Status.SUCCEEDED, PaymentAttempt.Status.EXTRA):
            if raw and raw.get("trade_status") == "TRADE_FINISHED":
                PaymentAttempt.objects.filter(pk=row.pk).update(raw=raw)
            log.info(
                "payment already applied order=%s out_trade_no=%s trade_no=%s source=%s",
                order.out_trade_no,
                row.out_trade_no,
                trade_no or row.trade_no,
                source,
                extra=ctx("duplicate", order=order, payment=row, trade=trade_no or row.trade_no),
            )
            attempt.status = row.status
            return DUPLICATE
        fields = {
            "trade_no": trade_no or row.trade_no,
            "buyer_id": buyer_id[:64],
            "paid_at": paid_at,
            "raw": raw or {},
            "next_check_at": None,
        }
        if order.status == Order.Status.PENDING:
            transition(row, PaymentAttempt.Status.SUCCEEDED, **fields)
            others = list(
                order.attempts.select_for_update()
                .filter(status=PaymentAttempt.Status.PENDING)
                .exclude(pk=row.pk)
            )
            for other in others:
                transition(
                    other,
                    PaymentAttempt.Status.CLOSED,
                    closed_at=timezone.now(),
                    next_check_at=_first_check(timezone.now()),
                )
            _close_later([a for a in others if a.provider == alipay_provider.PROVIDER])
            transition(order, Order.Status.PAID, paid_at=paid_at)
            if order.kind == Order.Kind.TOPUP:
                from .wallet import post_entry

                post_entry(
                    order.user,
                    order.total_amount,
                    "topup",
                    order=order,
                    memo=f"top-up {order.out_trade_no}",
                )
            order_paid.send(sender=Order, order=order)
            log.info(
                "order paid order=%s out_trade_no=%s trade_no=%s amount=%s source=%s",
                order.out_trade_no,
                row.out_trade_no,
                fields["trade_no"],
                row.amount,
                source,
                extra=ctx("paid", order=order, payment=row, trade=str(fields["trade_no"])),
            )
        else:
            transition(row, PaymentAttempt.Status.EXTRA, **fields)
            late = order.status in (Order.Status.CANCELLED, Order.Status.EXPIRED)
            why = (
                f"payment {row.out_trade_no} arrived after the order was {order.status}"
                if late
                else f"second payment {row.out_trade_no} of an order already paid"
            )
            if late and zhifu_settings.LATE_PAYMENT_POLICY == "flag":
                Order.objects.filter(pk=order.pk).update(
                    needs_attention=True, attention_reason=why[:255]
                )
                log.warning(
                    "late payment flagged order=%s out_trade_no=%s trade_no=%s",
                    order.out_trade_no,
                    row.out_trade_no,
                    fields["trade_no"],
                    extra=ctx(
                        "late_payment_flagged",
                        order=order,
                        payment=row,
                        trade=str(fields["trade_no"]),
                    ),
                )
            else:
                refund = create_automatic_refund(order, row, reason=why)
                execute_refund_later(refund)
                log.warning(
                    "extra payment refunded order=%s out_trade_no=%s trade_no=%s refund=%s",
                    order.out_trade_no,
                    row.out_trade_no,
                    fields["trade_no"],
                    refund.out_request_no,
                    extra=ctx(
                        "extra_payment",
                        order=order,
                        payment=row,
                        trade=str(fields["trade_no"]),
                        refund=refund,
                    ),
                )
        attempt.status = row.status
        return APPLIED


def apply_trade_state(attempt: PaymentAttempt, state: TradeState, *, source: str) -> str:
    """Apply what Alipay says about a trade (notification or query). Amount already checked."""
    if state.is_paid:
        return apply_payment(
            attempt,
            trade_no=state.trade_no,
            paid_at=state.paid_at,
            buyer_id=state.buyer_id,
            raw=state.raw,
            source=source,
        )
    if state.status == "TRADE_CLOSED":
        with transaction.atomic():
            lock(Order(pk=attempt.order_id))
            row = lock(attempt)
            if row.status == PaymentAttempt.Status.PENDING:
                transition(
                    row,
                    PaymentAttempt.Status.CLOSED,
                    closed_at=timezone.now(),
                    closed_at_gateway=True,
                    next_check_at=None,
                    raw=state.raw,
                )
                return APPLIED
            if row.status == PaymentAttempt.Status.CLOSED and not row.closed_at_gateway:
                PaymentAttempt.objects.filter(pk=row.pk).update(
                    closed_at_gateway=True, next_check_at=None
                )
                return APPLIED
            return DUPLICATE if row.status == PaymentAttempt.Status.CLOSED else IGNORED
    return IGNORED


def sync_attempt(attempt: PaymentAttempt) -> Order:
    """Ask Alipay about ``attempt`` (``alipay.trade.query``) and apply the answer through the same
    path as a notification. Raises ``GatewayUnavailable`` if Alipay cannot be asked."""
    order = Order.objects.get(pk=attempt.order_id)
    if attempt.provider != alipay_provider.PROVIDER:
        return order
    state = alipay_provider.query(attempt.out_trade_no)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(last_checked_at=timezone.now())
    if state is None:
        return order
    if state.total_amount is not None and state.total_amount != attempt.amount:
        log.error(
            "amount mismatch on query order=%s out_trade_no=%s alipay=%s ours=%s",
            order.out_trade_no,
            attempt.out_trade_no,
            state.total_amount,
            attempt.amount,
            extra=ctx("amount_mismatch", order=order, payment=attempt),
        )
        Order.objects.filter(pk=order.pk).update(
            needs_attention=True, attention_reason="Alipay reports a different amount"
        )
        return order
    apply_trade_state(attempt, state, source="query")
    order.refresh_from_db()
    return order


def amount_matches(attempt: PaymentAttempt, value: Decimal | None) -> bool:
    return value is not None and value == attempt.amount
