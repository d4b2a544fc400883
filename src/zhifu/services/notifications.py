"""The notification pipeline, one for every provider: store raw → the provider verifies and
parses → lock → compare → apply → record the outcome → the provider's acknowledgement.

:func:`record_notification` commits the request (the body once, a bounded set of headers) in its
own write before anything is verified, so nothing is ever silently dropped; a body too large to be
a notification is recorded with its size and digest. :func:`process_notification` then asks the
provider for a neutral event, locks the order and the attempt, checks the event against them
(:mod:`zhifu.services.matching`) and applies it — in one transaction with the recorded outcome.
:func:`replay_notification` runs it again (admin).
"""

from __future__ import annotations

import hashlib
import logging
import traceback
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, connections, router, transaction
from django.utils import timezone

from ..conf import zhifu_settings
from ..exceptions import ConfigurationError
from ..logs import ctx
from ..models import Notification, Order, PaymentAttempt
from ..providers import registry
from ..providers.base import (
    Acknowledgement,
    Event,
    PaymentEvent,
    PaymentState,
    RefundEvent,
    Rejected,
)
from .matching import check_event
from .payments import APPLIED, DUPLICATE, IGNORED, apply_payment_event
from .refunds import apply_refund_event
from .transitions import fetch_rows, insert_row, select_sql, write_fields

__all__ = [
    "ACKNOWLEDGED",
    "MAX_BODY",
    "is_acknowledged",
    "process_notification",
    "receive_notification",
    "record_notification",
    "replay_notification",
    "sweep_received",
]

log = logging.getLogger("zhifu.notifications")

# Outcomes after which the gateway is told to stop sending.
ACKNOWLEDGED = frozenset({APPLIED, DUPLICATE, IGNORED})
MAX_BODY = 64 * 1024  # real notifications are a few KiB; larger bodies keep size and digest only
# What is kept of the headers: enough to verify again on replay (WeChat signs with headers) and
# to audit, never credentials, and bounded whatever a client sends.
SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-csrftoken"})
MAX_HEADERS, MAX_HEADER_VALUE, MAX_HEADER_BYTES = 32, 512, 8 * 1024


def _safe_headers(headers: Mapping[str, Any]) -> dict[str, str]:
    kept: dict[str, str] = {}
    size = 0
    for name, value in headers.items():
        key = _no_nul(str(name))[:64]
        if key.lower() in SECRET_HEADERS:
            continue
        text = _no_nul(str(value))[:MAX_HEADER_VALUE]
        size += len(key) + len(text)
        if len(kept) >= MAX_HEADERS or size > MAX_HEADER_BYTES:
            kept["x-zhifu-headers-dropped"] = "more headers than are kept"
            break
        kept[key] = text
    return kept


def _no_nul(value: str) -> str:
    """PostgreSQL ``text`` and ``jsonb`` cannot hold NUL: a body carrying one (never a genuine
    notification) is stored with U+FFFD instead, rather than not stored at all."""
    return value.replace("\x00", "\ufffd")


def record_notification(
    *,
    body: bytes | str,
    headers: Mapping[str, Any] | None = None,
    remote_addr: str = "",
    provider: str,
) -> Notification:
    """Store a notification as received, committed, before it is verified."""
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    too_large = len(data) > MAX_BODY
    # One INSERT, committed on its own (autocommit): no BEGIN/COMMIT round trips around it.
    return insert_row(
        Notification(
            provider=provider[:16],
            body="" if too_large else _no_nul(data.decode("utf-8", "replace")),
            body_size=len(data),
            body_sha256=hashlib.sha256(data).hexdigest(),
            headers=_safe_headers(headers or {}),
            remote_addr=str(remote_addr or "")[:64],
        )
    )


def receive_notification(
    provider_name: str, *, body: bytes, headers: Mapping[str, Any], remote_addr: str
) -> Acknowledgement:
    """Everything a notify view does: record, process, and the provider's answer."""
    provider = registry.get(provider_name)  # ConfigurationError for an unknown name
    try:
        notification = record_notification(
            provider=provider.name, body=body, headers=headers, remote_addr=remote_addr
        )
    except DatabaseError:
        log.exception("cannot store a %s notification; asking for a retry", provider.name)
        return provider.acknowledge(accepted=False, retry=True)
    process_notification(notification)
    return provider.acknowledge(
        accepted=is_acknowledged(notification),
        retry=notification.outcome == Notification.Outcome.ERROR,
    )


def process_notification(notification: Notification) -> Notification:
    """Verify and apply ``notification``; record its outcome. Never raises: the outcome says
    what happened (``error`` if the database or another transient part failed)."""
    try:
        _process(notification)
    except DatabaseError as exc:
        _record_error(notification, f"database error: {type(exc).__name__}: {exc}")
    except Exception:  # noqa: BLE001 - recorded with its traceback; the gateway retries
        _record_error(notification, traceback.format_exc())
    return notification


def replay_notification(notification: Notification) -> Notification:
    """Run a stored notification through the pipeline again (from the admin, or after a fix).
    Applying is idempotent: an already-applied payment comes back ``duplicate``."""
    notification.refresh_from_db()
    log.info(
        "replaying notification id=%s out_trade_no=%s",
        notification.pk,
        notification.out_trade_no,
        extra=ctx("notification_replayed", payment=notification.out_trade_no),
    )
    return process_notification(notification)


def sweep_received(*, now: datetime | None = None, limit: int = 200) -> int:
    """Process again notifications left ``received`` (the process that stored them died before
    it could process them; the gateway may have given up retrying). Returns how many."""
    before = (now or timezone.now()) - timedelta(seconds=zhifu_settings.NOTIFICATION_SWEEP_AFTER)
    stuck = Notification.objects.filter(
        outcome=Notification.Outcome.RECEIVED, received_at__lte=before
    ).order_by("received_at")[:limit]
    count = 0
    for notification in stuck:
        log.warning(
            "notification id=%s was never processed; processing it now",
            notification.pk,
            extra=ctx("notification_swept"),
        )
        process_notification(notification)
        count += 1
    return count


def is_acknowledged(notification: Notification) -> bool:
    return notification.outcome in ACKNOWLEDGED


_FINISHED = [
    "outcome",
    "reason",
    "detail",
    "processed_at",
    "process_count",
    "order",
    "attempt",
    "out_trade_no",
    "event_id",
    "state",
]


def _finish(notification: Notification, outcome: str, reason: str = "", detail: str = "") -> None:
    notification.outcome = outcome
    notification.reason = reason[:64]
    notification.detail = detail
    notification.processed_at = timezone.now()
    notification.process_count += 1
    write_fields(notification, _FINISHED)


def _record_error(notification: Notification, detail: str) -> None:
    log.error(
        "notification failed id=%s out_trade_no=%s; not acknowledged, the gateway will retry",
        notification.pk,
        notification.out_trade_no,
        extra=ctx("notification_error", payment=notification.out_trade_no),
    )
    try:
        Notification.objects.filter(pk=notification.pk).update(
            outcome=Notification.Outcome.ERROR,
            reason="error",
            detail=detail[:20000],
            processed_at=timezone.now(),
            # what the verified event said, if it got that far: the admin finds it by trade
            out_trade_no=notification.out_trade_no,
            event_id=notification.event_id,
            state=notification.state,
        )
    except DatabaseError:
        pass  # the database is what failed; the raw row is there, the gateway retries anyway
    notification.outcome = Notification.Outcome.ERROR
    notification.reason = "error"
    notification.detail = detail


def _reject(notification: Notification, rejected: Rejected) -> None:
    about = notification.out_trade_no or rejected.claimed[:64]
    log.warning(
        "notification rejected id=%s reason=%s out_trade_no=%s remote=%s: %s",
        notification.pk,
        rejected.reason,
        about,
        notification.remote_addr,
        rejected.detail,
        extra=ctx("notification_rejected", payment=about),
    )
    _finish(notification, Notification.Outcome.REJECTED, rejected.reason, rejected.detail)


def _process(notification: Notification) -> None:
    try:
        provider = registry.get(notification.provider)
    except ConfigurationError as exc:
        _reject(notification, Rejected("unknown_provider", exc.english_message))
        return
    if notification.body_size > MAX_BODY:
        _reject(
            notification,
            Rejected(
                "too_large",
                f"body of {notification.body_size} bytes (sha256 {notification.body_sha256}) "
                f"is larger than {MAX_BODY}; not stored",
            ),
        )
        return
    try:
        event = provider.parse_notification(
            notification.body.encode("utf-8"),
            notification.headers or {},
            received_at=notification.received_at,
        )
        notification.out_trade_no = event.out_trade_no[:64]
        notification.event_id = event.event_id[:128]
        notification.state = event.note[:32]
        with transaction.atomic():
            outcome, note = _apply(notification, event)
            _finish(notification, outcome, "", note)
    except Rejected as rejected:
        _reject(notification, rejected)
        return
    # An applied payment was just logged at INFO ("payment applied … source=notify", with the
    # order, the attempt and the trade): this line would repeat it, so it is DEBUG then.
    log.log(
        logging.DEBUG if outcome == APPLIED and isinstance(event, PaymentEvent) else logging.INFO,
        "notification %s id=%s out_trade_no=%s trade_no=%s: %s",
        outcome,
        notification.pk,
        event.out_trade_no,
        event.trade_no,
        note,
        extra=ctx("notification_" + outcome, payment=event.out_trade_no, trade=event.trade_no),
    )


# The two lock statements of a notification, by database alias, built once per process from the
# models' metadata (names only; every value is a parameter): compiling the equivalent querysets
# cost more CPU per notification than the statements' round trips.
_LOCKS: dict[str, tuple[str, str, str]] = {}


def _lock_sql(alias: str) -> tuple[str, str, str]:
    """(the order by its attempt's number; that attempt; it and the order's pending attempts)"""
    built = _LOCKS.get(alias)
    if built is None:
        connection = connections[alias]
        qn = connection.ops.quote_name
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        order, attempt = Order._meta, PaymentAttempt._meta

        def col(meta: Any, name: str) -> str:
            return qn(meta.get_field(name).column)

        at = qn(attempt.db_table)
        number = f"{col(attempt, 'out_trade_no')} = %s AND {col(attempt, 'provider')} = %s"
        order_id = col(attempt, "order")
        by_order = f"{select_sql(PaymentAttempt, alias)} WHERE {order_id} = %s AND "
        built = _LOCKS[alias] = (
            # names from the models' metadata only: every value is a parameter
            f"{select_sql(Order, alias)} WHERE {col(order, 'id')} = "  # noqa: S608
            f"(SELECT {order_id} FROM {at} WHERE {number}){lock}",
            f"{by_order}({number}){lock}",
            f"{by_order}(({number}) OR {col(attempt, 'status')} = %s){lock}",
        )
    return built


def _apply(notification: Notification, event: Event) -> tuple[str, str]:
    # Two lock statements: the order, found by its attempt's number; then, in a new statement
    # (a snapshot taken after the order's lock, so it sees an attempt added meanwhile), the
    # attempt together with the order's other pending attempts that a first success closes.
    if not event.out_trade_no:
        raise Rejected("unknown_order", f"no {event.provider} payment {event.out_trade_no!r}")
    alias = router.db_for_write(Order)
    by_number, attempt_only, with_pending = _lock_sql(alias)
    number = [event.out_trade_no, event.provider]
    order = next(iter(fetch_rows(Order, alias, by_number, number)), None)
    if order is None:
        raise Rejected("unknown_order", f"no {event.provider} payment {event.out_trade_no!r}")
    paying = isinstance(event, PaymentEvent) and event.state == PaymentState.PAID
    rows = fetch_rows(
        PaymentAttempt,
        alias,
        with_pending if paying else attempt_only,
        [order.pk, *number, PaymentAttempt.Status.PENDING.value] if paying else [order.pk, *number],
    )
    attempt = next(
        (a for a in rows if a.out_trade_no == event.out_trade_no and a.provider == event.provider),
        None,
    )
    if attempt is None:  # pragma: no cover - attempts are never deleted while their order lives
        raise Rejected("unknown_order", f"no {event.provider} payment {event.out_trade_no!r}")
    attempt.order = order
    notification.order, notification.attempt = order, attempt
    check_event(registry.get(event.provider), attempt, event)
    if isinstance(event, RefundEvent):
        return apply_refund_event(order, attempt, event, source="notify")
    pending = [a for a in rows if a is not attempt and a.status == PaymentAttempt.Status.PENDING]
    return apply_payment_event(order, attempt, event, source="notify", pending=pending), event.note
