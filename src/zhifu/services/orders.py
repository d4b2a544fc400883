"""Creating, cancelling and expiring orders. Prices come from the server: lines built by the site,
or SKUs resolved through ``ZHIFU["CATALOG"]``."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..catalog import resolve
from ..conf import zhifu_settings
from ..exceptions import ConfigurationError, GatewayUnavailable, OrderError, PaymentError
from ..logs import ctx
from ..models import Order, OrderAdjustment, OrderLine, PaymentAttempt
from ..money import MAX_AMOUNT, AmountError, parse_amount, parse_money
from ..providers import registry
from ..signals import order_cancelled, order_expired
from ..timezones import BEIJING
from .transitions import insert_row, lock, transition

__all__ = [
    "AdjustmentSpec",
    "LineSpec",
    "attempt_out_trade_no",
    "cancel_order",
    "create_order",
    "create_order_from_skus",
    "expire_order",
    "expire_orders",
    "get_order",
    "new_out_trade_no",
    "remember_related",
]

log = logging.getLogger("zhifu.orders")
MAX_LINES = 100
MAX_QUANTITY = 9999


@dataclass(frozen=True)
class LineSpec:
    title: str
    unit_price: Decimal
    quantity: int = 1
    item: models.Model | None = None
    sku: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AdjustmentSpec:
    kind: str
    label: str
    amount: Decimal  # positive = discount
    metadata: Mapping[str, Any] = field(default_factory=dict)


# Order numbers fit every gateway once an attempt appends ``_<n>`` (n <= MAX_ATTEMPTS): WeChat
# takes 6-32 characters, Alipay 64. prefix (<= 8) + stamp (12) + random (8) = 28, + "_999" = 32.
MAX_PREFIX = 8
MAX_ATTEMPTS = 999


def new_out_trade_no() -> str:
    """``<prefix><Beijing yymmddHHMMSS><8 hex>``: sortable, unguessable, at most 28 characters so
    that ``<order>_<n>`` fits WeChat's 32 as well as Alipay's 64."""
    prefix = str(zhifu_settings.ORDER_NO_PREFIX)
    if not (prefix == "" or (prefix.isascii() and prefix.isalnum())) or len(prefix) > MAX_PREFIX:
        raise ConfigurationError(
            "configuration_error",
            f'ZHIFU["ORDER_NO_PREFIX"] {prefix!r} must be at most {MAX_PREFIX} ASCII letters '
            "and digits, so that payment numbers fit WeChat Pay's 32 characters",
        )
    stamp = datetime.now(BEIJING).strftime("%y%m%d%H%M%S")
    return f"{prefix}{stamp}{secrets.token_hex(4)}"


def attempt_out_trade_no(order: Order, number: int) -> str:
    """The ``out_trade_no`` of ``order``'s ``number``-th payment attempt: ``<order>_<n>``."""
    if number > MAX_ATTEMPTS:
        raise PaymentError(
            "payment_error",
            _("this order has been tried too many times; create a new order"),
        )
    return f"{order.out_trade_no}_{number}"


def _require_user(user: Any) -> None:
    if getattr(user, "pk", None) is None or not getattr(user, "is_authenticated", False):
        raise OrderError("login_required", _("please sign in to place an order"))


def _quantity(value: Any, limit: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise OrderError(
            "invalid_quantity", _("the quantity %(quantity)s is not a whole number"), quantity=value
        )
    maximum = min(limit or MAX_QUANTITY, MAX_QUANTITY)
    if maximum <= 1 and value != 1:
        raise OrderError("invalid_quantity", _("only one of this item can be bought"))
    if value < 1 or value > maximum:
        raise OrderError(
            "invalid_quantity",
            _("the quantity must be between 1 and %(maximum)s"),
            maximum=maximum,
        )
    return value


_MONEY_FIELDS = {"unit_price": _("the unit price"), "adjustment": _("a discount")}


def _money(value: Any, what: str) -> Decimal:
    try:
        return parse_money(value, field=what)
    except AmountError:
        raise OrderError(
            "invalid_amount",
            _(
                "%(field)s must be an amount from 0.00 to %(maximum)s with at most two decimal "
                "places, such as 12.30"
            ),
            field=_MONEY_FIELDS.get(what, what),
            maximum=MAX_AMOUNT,
        ) from None


def create_order(
    user: Any,
    *,
    lines: Sequence[LineSpec],
    adjustments: Iterable[AdjustmentSpec] = (),
    subject: str | None = None,
    kind: str = Order.Kind.PURCHASE,
    expires_in: timedelta | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Order:
    """A pending order: total = sum of lines − adjustments, at least 0.01."""
    _require_user(user)
    lines = list(lines)
    adjustments = list(adjustments)
    if not lines:
        raise OrderError("empty_order", _("an order needs at least one item"))
    if len(lines) > MAX_LINES:
        raise OrderError(
            "too_many_lines", _("an order holds at most %(count)s items"), count=MAX_LINES
        )
    subtotal = Decimal("0.00")
    for spec in lines:
        if not str(spec.title).strip():
            raise OrderError("invalid_line", _("every item needs a title"))
        price = _money(spec.unit_price, "unit_price")
        quantity = _quantity(spec.quantity, None)
        subtotal += price * quantity
    discount = Decimal("0.00")
    for adj in adjustments:
        if adj.kind not in OrderAdjustment.Kind.values:
            raise OrderError(
                "invalid_adjustment",
                _("the discount kind %(kind)s is unknown"),
                kind=repr(adj.kind),
            )
        discount += _money(adj.amount, "adjustment")
    total = subtotal - discount
    if total < Decimal("0.01"):
        raise OrderError(
            "invalid_amount", _("the order total %(total)s is below 0.01"), total=total
        )
    if total > MAX_AMOUNT:
        raise OrderError(
            "invalid_amount",
            _("the order total %(total)s is above %(maximum)s"),
            total=total,
            maximum=MAX_AMOUNT,
        )
    total = parse_amount(total)
    expiry = expires_in if expires_in is not None else zhifu_settings.ORDER_EXPIRY
    if not isinstance(expiry, timedelta) or expiry <= timedelta(0):
        raise OrderError("invalid_expiry", _("the expiry must be a positive timedelta"))
    title = (subject or lines[0].title if len(lines) == 1 else subject or "").strip()
    if not title:
        # several lines, none chosen as the subject: "Python 入门 等 3 件" in Chinese
        title = gettext("%(title)s and others, %(count)s items") % {
            "title": lines[0].title,
            "count": len(lines),
        }
    # No savepoint when a caller's transaction is open (its create_order_to_pay, run_once...):
    # everything that can be refused was checked above, so only a database error (which spoils
    # the caller's transaction on PostgreSQL anyway) can leave this block; a savepoint would
    # cost two round trips on every checkout.
    with transaction.atomic(savepoint=False):
        order = insert_row(
            Order(
                user=user,
                out_trade_no=new_out_trade_no(),
                kind=kind,
                subject=title[:256],
                total_amount=total,
                expires_at=timezone.now() + expiry,
                metadata=dict(metadata or {}),
            )
        )
        created_lines = OrderLine.objects.bulk_create(
            [
                OrderLine(
                    order=order,
                    content_type=(
                        ContentType.objects.get_for_model(spec.item)
                        if spec.item is not None
                        else None
                    ),
                    object_id=str(spec.item.pk) if spec.item is not None else "",
                    sku=str(spec.sku)[:128],
                    title=str(spec.title)[:256],
                    unit_price=parse_money(spec.unit_price),
                    quantity=spec.quantity,
                    amount=parse_money(spec.unit_price) * spec.quantity,
                    metadata=dict(spec.metadata),
                )
                for spec in lines
            ]
        )
        created_adjustments = []
        if adjustments:
            created_adjustments = OrderAdjustment.objects.bulk_create(
                [
                    OrderAdjustment(
                        order=order,
                        kind=adj.kind,
                        label=str(adj.label)[:256],
                        amount=parse_money(adj.amount),
                        metadata=dict(adj.metadata),
                    )
                    for adj in adjustments
                ]
            )
    # What was just written is what a caller shows next: no need to read it back.
    remember_related(order, "lines", created_lines)
    remember_related(order, "adjustments", created_adjustments)
    log.info(
        "order created out_trade_no=%s kind=%s total=%s user=%s",
        order.out_trade_no,
        order.kind,
        order.total_amount,
        order.user_id,
        extra=ctx("order_created", order=order),
    )
    return order


def remember_related(order: Order, name: str, rows: list[Any]) -> None:
    """Hold ``rows`` as ``order.<name>.all()``, as ``prefetch_related`` would."""
    queryset = getattr(order, name).all()
    queryset._result_cache = list(rows)
    queryset._prefetch_done = True
    cache = order.__dict__.setdefault("_prefetched_objects_cache", {})
    cache[name] = queryset


def create_order_from_skus(
    user: Any,
    items: Sequence[Mapping[str, Any]],
    *,
    subject: str | None = None,
    kind: str = Order.Kind.PURCHASE,
    adjustments: Iterable[AdjustmentSpec] = (),
    expires_in: timedelta | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Order:
    """An order from ``[{"sku": ..., "quantity": n}]``, priced by the site's catalog. Any price
    or amount the client sent alongside is ignored."""
    _require_user(user)
    if not isinstance(items, list | tuple) or not items:
        raise OrderError("empty_order", _("an order needs at least one item"))
    if len(items) > MAX_LINES:
        raise OrderError(
            "too_many_lines", _("an order holds at most %(count)s items"), count=MAX_LINES
        )
    lines = []
    for entry in items:
        if not isinstance(entry, Mapping):
            raise OrderError("invalid_item", _('each item is {"sku": ..., "quantity": n}'))
        sku = entry.get("sku")
        if not isinstance(sku, str) or not sku.strip() or len(sku) > 128:
            raise OrderError(
                "invalid_item", _("each item needs a sku (text, at most 128 characters)")
            )
        item = resolve(sku.strip(), user)
        quantity = _quantity(entry.get("quantity", 1), item.max_quantity)
        lines.append(
            LineSpec(
                title=item.title,
                unit_price=item.unit_price,
                quantity=quantity,
                item=item.item,
                sku=item.sku,
                metadata=item.metadata,
            )
        )
    return create_order(
        user,
        lines=lines,
        adjustments=adjustments,
        subject=subject,
        kind=kind,
        expires_in=expires_in,
        metadata=metadata,
    )


def get_order(user: Any, out_trade_no: str) -> Order:
    """The user's order; another user's order is reported as not found."""
    pk = getattr(user, "pk", None)
    order = (
        Order.objects.filter(user_id=pk, out_trade_no=out_trade_no).first()
        if pk is not None and isinstance(out_trade_no, str)
        else None
    )
    if order is None:
        raise OrderError("order_not_found", _("no such order"))
    return order


def _close_open_attempts(order: Order) -> list[tuple[PaymentAttempt, bool]]:
    """Ask the gateways to close the order's open trades, before the order is closed locally.

    Returns ``(attempt, closed_at_gateway)`` pairs. If a gateway says a trade is already paid, it
    is synced (the order becomes paid) and that attempt is left out.
    """
    from .payments import sync_attempt

    results = []
    for attempt in order.attempts.filter(status=PaymentAttempt.Status.PENDING):
        provider = registry.get(attempt.provider)
        if not provider.remote:
            results.append((attempt, True))
            continue
        try:
            outcome = provider.close(attempt)
        except GatewayUnavailable as exc:
            log.warning(
                "cannot close trade out_trade_no=%s order=%s: %s",
                attempt.out_trade_no,
                order.out_trade_no,
                exc.english_message,
                extra=ctx("close_failed", order=order, payment=attempt),
            )
            results.append((attempt, False))
            continue
        if outcome == "not_closable":
            try:
                sync_attempt(attempt)
            except GatewayUnavailable:
                results.append((attempt, False))
                continue
            attempt.refresh_from_db()
            if attempt.status != PaymentAttempt.Status.PENDING:
                continue
        results.append((attempt, outcome == "closed"))
    return results


def _finish(order: Order, target: str, closed: list[tuple[PaymentAttempt, bool]]) -> bool:
    now = timezone.now()
    schedule = zhifu_settings.RECONCILE_SCHEDULE
    with transaction.atomic():
        order = lock(order)
        if order.status != Order.Status.PENDING:
            return False
        gateway_closed = {a.pk: ok for a, ok in closed}
        for attempt in order.attempts.select_for_update().filter(
            status=PaymentAttempt.Status.PENDING
        ):
            # an attempt opened since the gateways were asked is not confirmed closed
            ok = gateway_closed.get(attempt.pk, not registry.get(attempt.provider).remote)
            transition(
                attempt,
                PaymentAttempt.Status.CLOSED,
                locked=True,
                closed_at=now,
                closed_at_gateway=ok,
                # not confirmed closed at the gateway: keep querying it, a payment may still come
                next_check_at=None if ok else now + timedelta(seconds=schedule[0]),
            )
        changed = transition(order, target, locked=True, closed_at=now)
        if changed:
            signal = order_cancelled if target == Order.Status.CANCELLED else order_expired
            signal.send(sender=Order, order=order)
            log.info(
                "order %s out_trade_no=%s",
                target,
                order.out_trade_no,
                extra=ctx(str(target), order=order),
            )
        return changed


def cancel_order(order: Order, *, user: Any) -> Order:
    """The buyer cancels a pending order; its open trades are closed at their gateways first."""
    if getattr(user, "pk", None) != order.user_id and not getattr(user, "is_staff", False):
        raise OrderError("order_not_found", _("no such order"))
    if order.status != Order.Status.PENDING:
        raise OrderError(
            "order_not_pending",
            _("the order is %(status)s, no longer waiting for payment"),
            status=Order.Status(order.status).label,
        )
    closed = _close_open_attempts(order)
    _finish(order, Order.Status.CANCELLED, closed)
    order.refresh_from_db()
    if order.status != Order.Status.CANCELLED:
        raise OrderError(
            "order_not_pending",
            _("the order is %(status)s, no longer waiting for payment"),
            status=Order.Status(order.status).label,
        )
    return order


def expire_order(order: Order, *, now: datetime | None = None) -> bool:
    """Expire one pending order past its expiry (closing its trades at their gateways first)."""
    if order.status != Order.Status.PENDING or order.expires_at > (now or timezone.now()):
        return False
    closed = _close_open_attempts(order)
    return _finish(order, Order.Status.EXPIRED, closed)


def expire_orders(*, now: datetime | None = None, limit: int = 500) -> int:
    """Expire every pending order past its expiry. Returns how many were expired."""
    now = now or timezone.now()
    count = 0
    for order in Order.objects.filter(status=Order.Status.PENDING, expires_at__lte=now).order_by(
        "expires_at"
    )[:limit]:
        try:
            if expire_order(order, now=now):
                count += 1
        except Exception:  # one bad order must not stop the job
            log.exception(
                "expiring order out_trade_no=%s failed",
                order.out_trade_no,
                extra=ctx("expire_failed", order=order),
            )
    return count
