"""Alipay behind neutral types: the service layer never sees an ``AlipayClient`` directly.

Errors are mapped here: a call whose outcome is unknown raises
:class:`~zhifu.exceptions.GatewayUnavailable`; Alipay's definite answers come back as values.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from django.utils.translation import gettext_lazy as _

from ..alipay import (
    BEIJING,
    AlipayBusinessError,
    AlipayError,
)
from ..conf import get_alipay_client, zhifu_settings
from ..exceptions import GatewayUnavailable, PaymentError
from ..money import AmountError, parse_money

if TYPE_CHECKING:
    from ..models import Order, PaymentAttempt

__all__ = [
    "CloseOutcome",
    "PayRequest",
    "RefundOutcome",
    "TradeState",
    "close",
    "query",
    "refund",
    "refund_query",
    "start",
    "verify",
]

log = logging.getLogger("zhifu.providers.alipay")

PROVIDER = "alipay"
PAID_STATUSES = frozenset({"TRADE_SUCCESS", "TRADE_FINISHED"})


@dataclass(frozen=True)
class TradeState:
    """What Alipay says about one trade (from a notification or ``alipay.trade.query``)."""

    out_trade_no: str
    trade_no: str
    status: str  # WAIT_BUYER_PAY | TRADE_SUCCESS | TRADE_FINISHED | TRADE_CLOSED
    total_amount: Decimal | None
    buyer_id: str = ""
    paid_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_paid(self) -> bool:
        return self.status in PAID_STATUSES

    @classmethod
    def from_params(cls, data: dict[str, Any]) -> TradeState:
        return cls(
            out_trade_no=str(data.get("out_trade_no", "")),
            trade_no=str(data.get("trade_no", "")),
            status=str(data.get("trade_status", "")),
            total_amount=_amount(data.get("total_amount")),
            buyer_id=str(data.get("buyer_id") or data.get("buyer_user_id") or ""),
            paid_at=parse_time(data.get("gmt_payment") or data.get("send_pay_date")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class PayRequest:
    pay_url: str = ""
    form_html: str = ""
    qr_code: str = ""


CloseOutcome = Literal["closed", "not_exist", "not_closable"]


@dataclass(frozen=True)
class RefundOutcome:
    status: Literal["succeeded", "failed", "unknown"]
    code: str = ""
    message: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


def _amount(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return parse_money(str(value))
    except AmountError:
        return None


def parse_time(value: Any) -> datetime | None:
    """Alipay's ``yyyy-MM-dd HH:mm:ss`` (Beijing time) as an aware datetime, or None."""
    if not value:
        return None
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    except ValueError:
        return None


def _unavailable(exc: AlipayError, what: str) -> GatewayUnavailable:
    return GatewayUnavailable(
        "gateway_unavailable",
        _("Alipay did not answer %(request)s (%(reason)s); try again later"),
        request=what,
        reason=exc.sub_code or exc.code or type(exc).__name__,
    )


def verify(params: Any) -> dict[str, str]:
    """Check the signature of a notification or return; raises ``zhifu.alipay.SignatureError``."""
    return get_alipay_client().verify_notification(params)  # type: ignore[no-any-return]


def start(order: Order, attempt: PaymentAttempt, *, return_url: str | None = None) -> PayRequest:
    client = get_alipay_client()
    options: dict[str, Any] = {
        "out_trade_no": attempt.out_trade_no,
        "total_amount": attempt.amount,
        "subject": order.subject[:256],
    }
    if zhifu_settings.SEND_TIME_EXPIRE:
        options["time_expire"] = order.expires_at
    try:
        if attempt.channel == "alipay_page":
            req = client.page_pay(return_url=return_url, **options)
            return PayRequest(pay_url=req.url, form_html=req.form_html())
        if attempt.channel == "alipay_wap":
            req = client.wap_pay(
                return_url=return_url, quit_url=zhifu_settings.QUIT_URL or None, **options
            )
            return PayRequest(pay_url=req.url, form_html=req.form_html())
        if attempt.channel == "alipay_qr":
            result = client.precreate(**options)
            return PayRequest(qr_code=result.qr_code)
    except AlipayBusinessError as exc:
        if exc.retryable:
            raise _unavailable(exc, "precreate") from None
        raise PaymentError(
            "gateway_refused",
            _("Alipay refused the payment: %(reason)s"),
            reason=exc.sub_code or exc.code,
        ) from None
    except AlipayError as exc:
        if isinstance(exc, ValueError):  # InvalidRequestError: our own data is wrong
            raise PaymentError(
                "invalid_payment_request",
                _("Alipay cannot accept this payment request: %(reason)s"),
                reason=str(exc.message),
            ) from None
        raise _unavailable(exc, "precreate") from None
    raise PaymentError(
        "invalid_channel",
        _("%(channel)s is not an Alipay payment method"),
        channel=attempt.channel,
    )


def query(out_trade_no: str) -> TradeState | None:
    """``alipay.trade.query``; ``None`` if Alipay has no such trade (page pay never opened)."""
    try:
        result = get_alipay_client().query(out_trade_no=out_trade_no)
    except AlipayBusinessError as exc:
        if exc.sub_code == "ACQ.TRADE_NOT_EXIST":
            return None
        raise _unavailable(exc, "alipay.trade.query") from None
    except AlipayError as exc:
        raise _unavailable(exc, "alipay.trade.query") from None
    raw = dict(result.raw)
    return TradeState(
        out_trade_no=result.out_trade_no or out_trade_no,
        trade_no=result.trade_no,
        status=result.trade_status,
        total_amount=result.total_amount,
        buyer_id=result.buyer_user_id,
        paid_at=parse_time(result.send_pay_date),
        raw=raw,
    )


def close(out_trade_no: str) -> CloseOutcome:
    """``alipay.trade.close``. ``not_exist`` (never opened) is a normal answer; ``not_closable``
    means the trade is paid or already closed: query it."""
    try:
        get_alipay_client().close(out_trade_no=out_trade_no)
    except AlipayBusinessError as exc:
        if exc.sub_code == "ACQ.TRADE_NOT_EXIST":
            return "not_exist"
        if exc.sub_code in (
            "ACQ.TRADE_STATUS_ERROR",
            "ACQ.TRADE_HAS_SUCCESS",
            "ACQ.TRADE_HAS_CLOSE",
        ):
            return "not_closable"
        raise _unavailable(exc, "alipay.trade.close") from None
    except AlipayError as exc:
        raise _unavailable(exc, "alipay.trade.close") from None
    return "closed"


def refund(
    *, out_trade_no: str, out_request_no: str, amount: Decimal, reason: str = ""
) -> RefundOutcome:
    """``alipay.trade.refund``, idempotent per ``out_request_no``."""
    try:
        result = get_alipay_client().refund(
            out_trade_no=out_trade_no,
            out_request_no=out_request_no,
            refund_amount=amount,
            refund_reason=reason or None,
        )
    except AlipayBusinessError as exc:
        status: Literal["failed", "unknown"] = "unknown" if exc.retryable else "failed"
        return RefundOutcome(status, exc.sub_code or exc.code or "", exc.sub_msg or exc.message)
    except AlipayError as exc:
        if isinstance(exc, ValueError):
            return RefundOutcome("failed", "invalid_request", exc.message)
        return RefundOutcome("unknown", type(exc).__name__, exc.message)
    return RefundOutcome("succeeded", raw=dict(result.raw))


def refund_query(*, out_trade_no: str, out_request_no: str) -> bool | None:
    """True if Alipay says the refund happened, False if it did not, None if unknown."""
    try:
        result = get_alipay_client().refund_query(
            out_trade_no=out_trade_no, out_request_no=out_request_no
        )
    except AlipayError:
        return None
    return bool(result.succeeded)
