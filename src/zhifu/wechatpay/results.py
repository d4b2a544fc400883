"""Typed results of the API v3 calls and notifications: yuan as ``Decimal``, times aware.

WeChat's wire amounts are integer fen; here they are ``Decimal`` yuan (``zhifu.money``). ``raw``
keeps WeChat's whole JSON object for anything not lifted into a field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from ..money import AmountError, from_fen
from .times import parse_time

__all__ = [
    "H5_URL_LIFETIME",
    "PAID_STATES",
    "BillDownload",
    "H5Prepay",
    "JsapiPrepay",
    "NativePrepay",
    "Refund",
    "Transaction",
]

# Trade states in which the buyer's money reached the merchant (REFUND: paid, then refunded).
PAID_STATES = frozenset({"SUCCESS", "REFUND"})
H5_URL_LIFETIME = timedelta(minutes=5)


def _str(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    return "" if value is None else str(value)


def _object(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, dict) else {}


def _yuan(raw: dict[str, Any], key: str) -> Decimal | None:
    """A fen amount as yuan; ``None`` if absent or not a non-negative integer."""
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    try:
        return from_fen(value)
    except AmountError:
        return None


@dataclass(frozen=True)
class NativePrepay:
    """Native (QR code) order: the buyer scans ``code_url`` with WeChat."""

    out_trade_no: str
    code_url: str
    raw: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class H5Prepay:
    """H5 order: the phone browser opens :meth:`url` within five minutes of ``created_at``."""

    out_trade_no: str
    h5_url: str
    created_at: datetime
    raw: dict[str, Any] = field(repr=False)

    @property
    def expires_at(self) -> datetime:
        return self.created_at + H5_URL_LIFETIME

    def url(self, redirect_url: str | None = None) -> str:
        """``h5_url``, with ``&redirect_url=<url-encoded>`` to bring the buyer back after the
        cashier (whether or not they paid: the landing page must query the order)."""
        if not redirect_url:
            return self.h5_url
        separator = "&" if "?" in self.h5_url else "?"
        return f"{self.h5_url}{separator}redirect_url={quote(redirect_url, safe='')}"


@dataclass(frozen=True)
class JsapiPrepay:
    """JSAPI order: ``pay_params`` go to ``WeixinJSBridge.invoke('getBrandWCPayRequest', …)``."""

    out_trade_no: str
    prepay_id: str
    pay_params: dict[str, str]
    raw: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Transaction:
    """An order as a query answers it, or the resource of a ``TRANSACTION.*`` notification."""

    appid: str
    mchid: str
    out_trade_no: str
    transaction_id: str
    trade_type: str
    trade_state: str
    trade_state_desc: str
    bank_type: str
    attach: str
    success_time: datetime | None
    payer_openid: str
    total: Decimal | None  # amount.total, yuan
    payer_total: Decimal | None  # what the buyer paid after discounts, yuan
    currency: str
    raw: dict[str, Any] = field(repr=False)

    @property
    def is_paid(self) -> bool:
        return self.trade_state in PAID_STATES

    @property
    def is_closed(self) -> bool:
        return self.trade_state in ("CLOSED", "REVOKED", "PAYERROR")

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> Transaction:
        amount = _object(raw, "amount")
        return cls(
            appid=_str(raw, "appid"),
            mchid=_str(raw, "mchid"),
            out_trade_no=_str(raw, "out_trade_no"),
            transaction_id=_str(raw, "transaction_id"),
            trade_type=_str(raw, "trade_type"),
            trade_state=_str(raw, "trade_state"),
            trade_state_desc=_str(raw, "trade_state_desc"),
            bank_type=_str(raw, "bank_type"),
            attach=_str(raw, "attach"),
            success_time=parse_time(raw.get("success_time")),
            payer_openid=_str(_object(raw, "payer"), "openid"),
            total=_yuan(amount, "total"),
            payer_total=_yuan(amount, "payer_total"),
            currency=_str(amount, "currency"),
            raw=raw,
        )


@dataclass(frozen=True)
class Refund:
    """A refund as the refund and refund-query APIs answer it, or a ``REFUND.*`` resource.

    ``status`` is PROCESSING, SUCCESS, CLOSED or ABNORMAL (the notification calls the field
    ``refund_status``; both spellings are read).
    """

    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    status: str
    channel: str
    user_received_account: str
    success_time: datetime | None
    create_time: datetime | None
    refund: Decimal | None  # amount.refund, yuan
    total: Decimal | None  # amount.total: the original order's total, yuan
    payer_refund: Decimal | None
    currency: str
    raw: dict[str, Any] = field(repr=False)

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCESS"

    @property
    def is_final(self) -> bool:
        """SUCCESS and CLOSED are final; PROCESSING and ABNORMAL (handled by hand) are not."""
        return self.status in ("SUCCESS", "CLOSED")

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> Refund:
        amount = _object(raw, "amount")
        return cls(
            out_refund_no=_str(raw, "out_refund_no"),
            refund_id=_str(raw, "refund_id"),
            out_trade_no=_str(raw, "out_trade_no"),
            transaction_id=_str(raw, "transaction_id"),
            status=_str(raw, "status") or _str(raw, "refund_status"),
            channel=_str(raw, "channel"),
            user_received_account=_str(raw, "user_received_account"),
            success_time=parse_time(raw.get("success_time")),
            create_time=parse_time(raw.get("create_time")),
            refund=_yuan(amount, "refund"),
            total=_yuan(amount, "total"),
            payer_refund=_yuan(amount, "payer_refund"),
            currency=_str(amount, "currency"),
            raw=raw,
        )


@dataclass(frozen=True)
class BillDownload:
    """``GET /v3/bill/tradebill`` or ``/v3/bill/fundflowbill``: where to fetch the bill and the
    digest of its plain text (``hash_type`` SHA1; a gzip download is unpacked before hashing).
    Fetch it with :meth:`WechatPayClient.download_bill` while the URL lives."""

    download_url: str
    hash_type: str
    hash_value: str
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> BillDownload:
        return cls(_str(raw, "download_url"), _str(raw, "hash_type"), _str(raw, "hash_value"), raw)
