"""Starting payments and applying what providers say about them.

:func:`apply_payment_event` is the single place where an attempt becomes paid or closed. Its
caller holds the row locks (order first, then attempt) in the current transaction: the first
success pays the order (and fulfils it, once); any other success (a second tab, a payment after
expiry or cancellation) is a surplus, settled by :mod:`zhifu.services.surplus`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connections, router, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import wallet
from ..conf import zhifu_settings
from ..exceptions import OrderError, PaymentError
from ..logs import ctx
from ..models import LedgerEntry, Order, OrderLine, PaymentAttempt
from ..providers import registry
from ..providers.base import Payer, PayForm, PaymentEvent, PaymentState, Provider, Rejected
from ..signals import order_paid, order_settling
from .matching import check_event
from .orders import attempt_out_trade_no, create_order_from_skus, remember_related
from .surplus import settle_surplus
from .transitions import (
    fetch_rows,
    insert_row,
    lock,
    save_flags,
    select_sql,
    transition,
    transition_locked_quietly,
)

__all__ = [
    "APPLIED",
    "DUPLICATE",
    "IGNORED",
    "PaymentStart",
    "apply_payment_event",
    "create_order_to_pay",
    "pay_with_balance",
    "start_payment",
    "sync_attempt",
]

log = logging.getLogger("zhifu.payments")

APPLIED, DUPLICATE, IGNORED = "applied", "duplicate", "ignored"


@dataclass
class PaymentStart:
    """What the buyer needs to pay: a URL / auto-submitting form (cashier pages), a QR code text,
    parameters for a JavaScript bridge, or ``paid=True`` when it settled at once (wallet)."""

    attempt: PaymentAttempt
    channel: str
    pay_url: str = ""
    form: PayForm | None = None
    qr_code: str = ""
    js_params: dict[str, str] = field(default_factory=dict)
    paid: bool = False

    @property
    def order(self) -> Order:
        return self.attempt.order

    @property
    def form_html(self) -> str:
        """The self-submitting form, for clients that embed it (a page of the site renders
        ``form.html(nonce=...)`` with its CSP nonce: the ``zhifu_pay_form`` template tag)."""
        return self.form.html() if self.form is not None else ""


def _check_owner(order: Order, user: Any) -> None:
    if getattr(user, "pk", None) is None or user.pk != order.user_id:
        raise OrderError("order_not_found", _("no such order"))


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
    return attempt_out_trade_no(order, PaymentAttempt.objects.filter(order=order).count() + 1)


def first_check(now: datetime) -> datetime:
    return now + timedelta(seconds=zhifu_settings.RECONCILE_SCHEDULE[0])


def close_attempts(attempts: list[PaymentAttempt], now: datetime) -> None:
    """Close ``attempts`` (locked by the caller) here now, and at their gateways after commit
    (best effort: the reconcile job keeps querying them until a gateway confirms)."""
    for attempt in attempts:
        transition(
            attempt,
            PaymentAttempt.Status.CLOSED,
            locked=True,
            closed_at=now,
            next_check_at=first_check(now),
        )
    remote = [a for a in attempts if registry.get(a.provider).remote]
    if remote:
        transaction.on_commit(lambda: _close_at_gateways(remote))


def _close_at_gateways(attempts: list[PaymentAttempt]) -> None:
    for attempt in attempts:
        try:
            outcome = registry.get(attempt.provider).close(attempt)
        except Exception as exc:  # noqa: BLE001 - best effort; reconcile keeps watching
            log.warning(
                "closing replaced trade out_trade_no=%s failed: %s",
                attempt.out_trade_no,
                exc,
                extra=ctx("close_failed", payment=attempt),
            )
            continue
        if outcome == "closed":
            mark_closed_at_gateway(attempt)


def mark_closed_at_gateway(attempt: PaymentAttempt) -> None:
    """The gateway confirmed that ``attempt``'s trade can no longer be paid: stop watching it."""
    with transaction.atomic():
        row = lock(attempt)
        if row.status == PaymentAttempt.Status.CLOSED and not row.closed_at_gateway:
            save_flags(row, closed_at_gateway=True, next_check_at=None)


def start_payment(
    order: Order,
    channel: str,
    *,
    user: Any,
    return_url: str | None = None,
    payer: Payer | None = None,
) -> PaymentStart:
    """Start (or resume) paying a pending order through ``channel``.

    An open attempt of the same channel is reused (same out_trade_no, so the gateway sees one
    trade); open attempts of other channels are closed (locally now, at the gateway after
    commit). A provider that settles locally (the wallet) pays the order at once. ``payer``
    is what the site knows of the buyer now (IP address, gateway user id) for channels that
    need it.
    """
    provider = registry.for_channel(channel)
    _check_owner(order, user)
    if not provider.remote:
        return _settle_locally(order, provider, channel)
    now = timezone.now()
    fresh = order.__dict__.pop(_FIRST_ATTEMPT, None)
    if fresh is not None and fresh.channel == channel:
        # made with the order in create_order_to_pay's transaction: nothing to lock or read
        _check_payable(order, now)
        return _start_at_gateway(order, fresh, provider, channel, return_url, payer, False)
    with transaction.atomic():
        order = lock(order)
        _check_payable(order, now)
        attempts = list(order.attempts.select_for_update().order_by("-id"))
        pending = [a for a in attempts if a.status == PaymentAttempt.Status.PENDING]
        reuse = next(
            (a for a in pending if a.channel == channel and a.amount == order.total_amount), None
        )
        close_attempts([a for a in pending if a is not reuse], now)
        attempt = reuse or PaymentAttempt.objects.create(
            order=order,
            provider=provider.name,
            channel=channel,
            out_trade_no=attempt_out_trade_no(order, len(attempts) + 1),
            amount=order.total_amount,
            next_check_at=first_check(now),
        )
    return _start_at_gateway(
        order, attempt, provider, channel, return_url, payer, reuse is not None
    )


def _start_at_gateway(
    order: Order,
    attempt: PaymentAttempt,
    provider: Provider,
    channel: str,
    return_url: str | None,
    payer: Payer | None,
    reused: bool,
) -> PaymentStart:
    """The provider's part of starting ``attempt`` (a signed URL, or a call to the gateway),
    with no transaction open and no row locked."""
    attempt.order = order
    action = provider.start(order, attempt, return_url=return_url, payer=payer)
    if action.qr_code and action.qr_code != attempt.qr_code:
        attempt.qr_code = action.qr_code
        PaymentAttempt.objects.filter(pk=attempt.pk).update(qr_code=action.qr_code)
    log.info(
        "payment started order=%s out_trade_no=%s channel=%s reused=%s",
        order.out_trade_no,
        attempt.out_trade_no,
        channel,
        reused,
        extra=ctx("payment_started", order=order, payment=attempt),
    )
    return PaymentStart(
        attempt=attempt,
        channel=channel,
        pay_url=action.url,
        form=action.form,
        qr_code=action.qr_code,
        js_params=dict(action.js_params),
    )


_FIRST_ATTEMPT = "_zhifu_first_attempt"


def create_order_to_pay(user: Any, items: Sequence[Mapping[str, Any]], channel: str) -> Order:
    """:func:`~zhifu.services.orders.create_order_from_skus` and, for a channel paid at a
    gateway, the order's first payment attempt, in ONE transaction (a savepoint in the caller's,
    if one is open: a refused SKU raised here must not leave the caller's transaction unusable).
    Nothing is locked or read back: no other transaction can see the new order yet. :func:`start_payment` with the same order instance and channel then starts
    that attempt at the gateway without a transaction of its own (and, like any call of it,
    after this transaction has committed: no lock is held over the network)."""
    provider = registry.for_channel(channel)
    with transaction.atomic():
        order = create_order_from_skus(user, items)
        if provider.remote:
            attempt = insert_row(
                PaymentAttempt(
                    order=order,
                    provider=provider.name,
                    channel=channel,
                    out_trade_no=attempt_out_trade_no(order, 1),
                    amount=order.total_amount,
                    next_check_at=first_check(timezone.now()),
                )
            )
            attempt.order = order
            remember_related(order, "attempts", [attempt])
            order.__dict__[_FIRST_ATTEMPT] = attempt
    return order


def pay_with_balance(order: Order, *, user: Any) -> PaymentStart:
    """Pay from the buyer's wallet (see :func:`start_payment`)."""
    return start_payment(order, wallet.CHANNEL, user=user)


def _settle_locally(order: Order, provider: Provider, channel: str) -> PaymentStart:
    """Debit, attempt, order paid and fulfilled in one transaction, exactly once (a second call
    finds the order paid and changes nothing)."""
    now = timezone.now()
    with transaction.atomic():
        order = lock(order)
        _check_payable(order, now)
        attempt = PaymentAttempt.objects.create(
            order=order,
            provider=provider.name,
            channel=channel,
            out_trade_no=_next_attempt_no(order),
            amount=order.total_amount,
        )
        attempt.order = order
        order_settling.send(sender=Order, order=order)  # lock other wallets first, in id order
        settled = provider.start(order, attempt, return_url=None).settled
        if settled is None or settled.state != PaymentState.PAID:
            raise PaymentError("payment_error", _("the payment could not be settled"))
        apply_payment_event(order, attempt, settled, source=provider.name)
    return PaymentStart(attempt=attempt, channel=channel, paid=True)


def apply_payment_event(
    order: Order,
    attempt: PaymentAttempt,
    event: PaymentEvent,
    *,
    source: str,
    pending: list[PaymentAttempt] | None = None,
) -> str:
    """Apply what a provider says about ``attempt``'s trade. The caller locked ``order`` then
    ``attempt`` in this transaction and checked that the event belongs to them. ``pending``:
    the order's other pending attempts, if the caller locked them with ``attempt`` (a first
    success closes them; otherwise they are locked here). Returns ``"applied"``,
    ``"duplicate"`` or ``"ignored"``."""
    if event.state == PaymentState.PAID:
        return _record_paid(order, attempt, event, source, pending)
    if event.state == PaymentState.CLOSED:
        return _record_closed(attempt, event)
    return IGNORED


def _record_paid(
    order: Order,
    attempt: PaymentAttempt,
    event: PaymentEvent,
    source: str,
    pending: list[PaymentAttempt] | None,
) -> str:
    if attempt.status in (PaymentAttempt.Status.SUCCEEDED, PaymentAttempt.Status.EXTRA):
        if event.final:
            save_flags(attempt, raw=dict(event.raw))
        log.info(
            "payment already applied order=%s out_trade_no=%s trade_no=%s source=%s",
            order.out_trade_no,
            attempt.out_trade_no,
            event.trade_no or attempt.trade_no,
            source,
            extra=ctx("duplicate", order=order, payment=attempt, trade=event.trade_no),
        )
        return DUPLICATE
    paid = {
        "trade_no": event.trade_no or attempt.trade_no,
        "buyer_id": event.payer_id[:64],
        "paid_at": event.paid_at or timezone.now(),
        "raw": dict(event.raw),
        "next_check_at": None,
    }
    if order.status == Order.Status.PENDING:
        _first_success(order, attempt, paid, pending)
    else:
        transition(attempt, PaymentAttempt.Status.EXTRA, locked=True, **paid)
        settle_surplus(order, attempt)
    log.info(
        "payment applied order=%s out_trade_no=%s trade_no=%s amount=%s source=%s as=%s",
        order.out_trade_no,
        attempt.out_trade_no,
        paid["trade_no"],
        attempt.amount,
        source,
        attempt.status,
        extra=ctx("paid", order=order, payment=attempt, trade=str(paid["trade_no"])),
    )
    return APPLIED


def _first_success(
    order: Order,
    attempt: PaymentAttempt,
    paid: dict[str, Any],
    pending: list[PaymentAttempt] | None,
) -> None:
    """The payment that counts: the order becomes paid and is fulfilled, once. The two status
    changes are logged at DEBUG: the caller's INFO line ("payment applied … as=succeeded")
    names the order, the attempt and the trade."""
    transition_locked_quietly(attempt, PaymentAttempt.Status.SUCCEEDED, **paid)
    if pending is None:
        pending = list(
            order.attempts.select_for_update()
            .filter(status=PaymentAttempt.Status.PENDING)
            .exclude(pk=attempt.pk)
        )
    close_attempts(pending, timezone.now())
    transition_locked_quietly(order, Order.Status.PAID, paid_at=paid["paid_at"])
    if order_paid.has_listeners(Order):
        _load_lines(order)
    if order.kind == Order.Kind.TOPUP:
        wallet.post_entry(
            order.user,
            order.total_amount,
            LedgerEntry.Kind.TOPUP,
            order=order,
            memo=f"top-up {order.out_trade_no}",
        )
    order_paid.send(sender=Order, order=order)


_LINES: dict[str, str] = {}


def _load_lines(order: Order) -> None:
    """Read ``order``'s lines once for the ``order_paid`` receivers (fulfilment nearly always
    needs them: ``order.lines.all()`` then sends no query), with SQL built once per process."""
    if "lines" in getattr(order, "_prefetched_objects_cache", {}):
        return
    alias = order._state.db or router.db_for_read(OrderLine)
    sql = _LINES.get(alias)
    if sql is None:
        qn = connections[alias].ops.quote_name
        meta = OrderLine._meta
        order_id, pk = str(meta.get_field("order").column), str(meta.get_field("id").column)
        sql = _LINES[alias] = (
            f"{select_sql(OrderLine, alias)} WHERE {qn(order_id)} = %s ORDER BY {qn(pk)}"
        )
    remember_related(order, "lines", fetch_rows(OrderLine, alias, sql, [order.pk]))


def _record_closed(attempt: PaymentAttempt, event: PaymentEvent) -> str:
    if attempt.status == PaymentAttempt.Status.PENDING:
        transition(
            attempt,
            PaymentAttempt.Status.CLOSED,
            locked=True,
            closed_at=timezone.now(),
            closed_at_gateway=True,
            next_check_at=None,
            raw=dict(event.raw),
        )
        return APPLIED
    if attempt.status == PaymentAttempt.Status.CLOSED:
        if attempt.closed_at_gateway:
            return DUPLICATE
        save_flags(attempt, closed_at_gateway=True, next_check_at=None)
        return APPLIED
    return IGNORED  # paid trades close at the gateway when fully refunded


def sync_attempt(attempt: PaymentAttempt) -> Order:
    """Ask the gateway about ``attempt`` and apply the answer through the same path as a
    notification. Raises ``GatewayUnavailable`` if the gateway cannot be asked."""
    provider = registry.get(attempt.provider)
    if not provider.remote:
        return Order.objects.get(pk=attempt.order_id)
    event = provider.query(attempt)  # outside any transaction: no lock is held over the network
    with transaction.atomic():
        order = lock(Order(pk=attempt.order_id))
        row = lock(attempt)
        save_flags(row, last_checked_at=timezone.now())
        if event is None:
            return order
        try:
            check_event(provider, row, event)
        except Rejected as problem:
            log.error(
                "gateway answer does not match order=%s out_trade_no=%s: %s",
                order.out_trade_no,
                row.out_trade_no,
                problem.detail,
                extra=ctx("query_mismatch", order=order, payment=row),
            )
            save_flags(order, needs_attention=True, attention_reason=problem.detail[:255])
            return order
        apply_payment_event(order, row, event, source="query")
    order.refresh_from_db()
    return order
