"""The notification pipeline: store raw → verify → lock → check → act → record the outcome.

:func:`record_notification` commits the raw request in its own write before anything is
verified, so nothing is ever silently dropped. :func:`process_notification` then verifies the
signature, locks the order, checks app_id, seller_id, out_trade_no and total_amount, and applies
the trade status through :mod:`zhifu.services.payments` / :mod:`zhifu.services.refunds` — in one
transaction with the recorded outcome. :func:`replay_notification` runs it again (admin).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from django.db import DatabaseError, transaction
from django.utils import timezone

from ..alipay import SignatureError
from ..conf import zhifu_settings
from ..logs import ctx
from ..models import Notification, Order, PaymentAttempt
from ..providers import alipay as alipay_provider
from ..providers.alipay import TradeState
from .payments import APPLIED, DUPLICATE, IGNORED, apply_trade_state
from .refunds import apply_refund_notification
from .transitions import lock

__all__ = [
    "ACKNOWLEDGED",
    "parse_body",
    "process_notification",
    "record_notification",
    "replay_notification",
]

log = logging.getLogger("zhifu.notifications")

# Outcomes after which Alipay is told "success" (it must stop retrying).
ACKNOWLEDGED = frozenset({APPLIED, DUPLICATE, IGNORED})
SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-csrftoken"})
MAX_BODY = 64 * 1024


class Rejected(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _safe_headers(headers: Mapping[str, Any]) -> dict[str, str]:
    return {
        _no_nul(str(k)): _no_nul(str(v))[:1024]
        for k, v in headers.items()
        if str(k).lower() not in SECRET_HEADERS
    }


def _no_nul(value: Any) -> Any:
    """PostgreSQL ``text`` and ``jsonb`` cannot hold NUL: a body carrying one (never a genuine
    notification) is stored with U+FFFD instead, rather than not stored at all."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_no_nul(v) for v in value]
    if isinstance(value, dict):
        return {_no_nul(k): _no_nul(v) for k, v in value.items()}
    return value


def record_notification(
    *,
    body: bytes | str,
    headers: Mapping[str, Any] | None = None,
    remote_addr: str = "",
    provider: str = "alipay",
) -> Notification:
    """Store a notification exactly as received, committed, before it is verified."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    text = _no_nul(text)
    params: dict[str, Any] = {}
    try:
        params = _no_nul(parse_body(text))
    except ValueError:
        pass
    with transaction.atomic():
        return Notification.objects.create(
            provider=provider,
            body=text[:MAX_BODY],
            headers=_safe_headers(headers or {}),
            remote_addr=str(remote_addr or "")[:64],
            params=params,
            notify_id=str(params.get("notify_id", ""))[:128],
            out_trade_no=str(params.get("out_trade_no", ""))[:64],
            trade_status=str(params.get("trade_status", ""))[:32],
        )


def parse_body(text: str) -> dict[str, Any]:
    """A form-urlencoded body as ``{key: value}`` (a key given twice keeps both, as a list, so
    that verification refuses it)."""
    if len(text) > MAX_BODY:
        raise ValueError("body too large")
    charset = "utf-8"
    for part in text.split("&"):
        if part.startswith("charset="):
            candidate = part[len("charset=") :].lower()
            if candidate in ("utf-8", "gbk", "gb2312"):
                charset = candidate
    raw = parse_qs(text, keep_blank_values=True, encoding=charset, errors="replace")
    return {k: v[0] if len(v) == 1 else v for k, v in raw.items()}


def process_notification(notification: Notification) -> Notification:
    """Verify and apply ``notification``; record its outcome. Never raises: the outcome says
    what happened (``error`` if the database or another transient part failed)."""
    try:
        _process(notification)
    except DatabaseError as exc:
        _record_error(notification, f"database error: {type(exc).__name__}: {exc}")
    except Exception:  # noqa: BLE001 - recorded with its traceback; Alipay retries
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


def _finish(notification: Notification, outcome: str, reason: str = "", detail: str = "") -> None:
    notification.outcome = outcome
    notification.reason = reason[:64]
    notification.detail = detail
    notification.processed_at = timezone.now()
    notification.process_count += 1
    notification.save(
        update_fields=[
            "outcome",
            "reason",
            "detail",
            "processed_at",
            "process_count",
            "order",
            "attempt",
            "params",
        ]
    )


def _record_error(notification: Notification, detail: str) -> None:
    log.error(
        "notification failed id=%s out_trade_no=%s; not acknowledged, Alipay will retry",
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
        )
    except DatabaseError:
        pass  # the database is what failed; the raw row is there, Alipay retries anyway
    notification.outcome = Notification.Outcome.ERROR
    notification.reason = "error"
    notification.detail = detail


def _reject(notification: Notification, reason: str, detail: str) -> None:
    log.warning(
        "notification rejected id=%s reason=%s out_trade_no=%s remote=%s: %s",
        notification.pk,
        reason,
        notification.out_trade_no,
        notification.remote_addr,
        detail,
        extra=ctx("notification_rejected", payment=notification.out_trade_no),
    )
    _finish(notification, Notification.Outcome.REJECTED, reason, detail)


def _process(notification: Notification) -> None:
    params = notification.params or {}
    if not params:
        try:
            params = parse_body(notification.body)
        except ValueError as exc:
            _reject(notification, "malformed", str(exc))
            return
        notification.params = params
    if not params:
        _reject(notification, "malformed", "empty or unparsable body")
        return
    try:
        data = alipay_provider.verify(
            {k: v if isinstance(v, list) else [v] for k, v in params.items()}
        )
    except SignatureError as exc:
        _reject(notification, "bad_signature", exc.message)
        return
    try:
        with transaction.atomic():
            _apply(notification, data)
    except Rejected as rej:
        _reject(notification, rej.reason, rej.detail)


def _apply(notification: Notification, data: dict[str, str]) -> None:
    app_id = str(zhifu_settings.APP_ID)
    if data.get("app_id") != app_id:
        raise Rejected("app_id", f"app_id {data.get('app_id')!r} is not ours")
    out_trade_no = data.get("out_trade_no", "")
    attempt = (
        PaymentAttempt.objects.filter(out_trade_no=out_trade_no).first() if out_trade_no else None
    )
    if attempt is None:
        raise Rejected("unknown_order", f"no payment attempt {out_trade_no!r}")
    if attempt.provider != alipay_provider.PROVIDER:
        raise Rejected("unknown_order", f"{out_trade_no!r} is not an Alipay trade")
    order = lock(Order(pk=attempt.order_id))
    attempt = lock(attempt)
    notification.order = order
    notification.attempt = attempt
    seller = str(zhifu_settings.SELLER_ID or "")
    if seller and data.get("seller_id") != seller:
        raise Rejected("seller", f"seller_id {data.get('seller_id')!r} is not ours")
    state = TradeState.from_params(data)
    if state.total_amount is None or state.total_amount != attempt.amount:
        raise Rejected(
            "amount", f"total_amount {data.get('total_amount')!r} != {attempt.amount} expected"
        )
    if data.get("out_biz_no") and (data.get("refund_fee") or data.get("gmt_refund")):
        outcome, note = apply_refund_notification(attempt, data)
    elif state.status in ("TRADE_SUCCESS", "TRADE_FINISHED", "TRADE_CLOSED", "WAIT_BUYER_PAY"):
        outcome = apply_trade_state(attempt, state, source="notify")
        note = state.status
    else:
        raise Rejected("trade_status", f"unknown trade_status {state.status!r}")
    _finish(notification, outcome, "", note)
    log.info(
        "notification %s id=%s order=%s out_trade_no=%s trade_no=%s status=%s",
        outcome,
        notification.pk,
        order.out_trade_no,
        attempt.out_trade_no,
        state.trade_no,
        state.status,
        extra=ctx("notification_" + outcome, order=order, payment=attempt, trade=state.trade_no),
    )


def is_acknowledged(notification: Notification) -> bool:
    return notification.outcome in ACKNOWLEDGED


__all__ += ["is_acknowledged"]
