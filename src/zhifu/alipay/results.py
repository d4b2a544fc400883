"""Typed results of the gateway APIs. ``raw`` keeps Alipay's whole response node."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from ..money import AmountError, parse_money

__all__ = [
    "BillDownloadUrlResult",
    "CancelResult",
    "CloseResult",
    "PagePayRequest",
    "PrecreateResult",
    "RefundQueryResult",
    "RefundResult",
    "TradeQueryResult",
    "TransferQueryResult",
    "TransferResult",
]


def _money(raw: dict[str, Any], key: str) -> Decimal | None:
    value = raw.get(key)
    if value in (None, ""):
        return None
    try:
        return parse_money(str(value), field=key)
    except AmountError:
        return None


def _str(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    return "" if value is None else str(value)


@dataclass(frozen=True)
class PagePayRequest:
    """A signed page-pay or wap-pay request for the buyer's browser."""

    method: str
    gateway_url: str
    params: dict[str, str]
    out_trade_no: str
    charset: str = "utf-8"

    def _join(self, query: dict[str, str]) -> str:
        separator = "&" if "?" in self.gateway_url else "?"
        codec = "gb18030" if self.charset.lower() in ("gbk", "gb2312") else self.charset
        return self.gateway_url + separator + urlencode(query, encoding=codec)

    @property
    def url(self) -> str:
        """A GET URL carrying every parameter, ``sign`` included."""
        return self._join(self.params)

    @property
    def form_action(self) -> str:
        """The POST form's action, as the official SDKs' ``pageExecute`` builds it: system
        parameters and ``sign`` in the URL ..."""
        return self._join({k: v for k, v in self.params.items() if k != "biz_content"})

    @property
    def form_fields(self) -> dict[str, str]:
        """... and ``biz_content`` in the body."""
        return {"biz_content": self.params.get("biz_content", "")}

    def form_html(self, nonce: str | None = None) -> str:
        """An auto-submitting POST form. ``nonce``: the page's Content-Security-Policy nonce,
        without which a CSP that forbids inline scripts stops the form from submitting itself."""
        action = html.escape(self.form_action, quote=True)
        biz = html.escape(self.form_fields["biz_content"], quote=True)
        nonce_attr = f' nonce="{html.escape(nonce, quote=True)}"' if nonce else ""
        return (
            f'<form id="alipaysubmit" name="alipaysubmit" action="{action}" method="POST"'
            f' accept-charset="{html.escape(self.charset, quote=True)}">'
            f'<input type="hidden" name="biz_content" value="{biz}">'
            '<input type="submit" value="ok" style="display:none"></form>'
            f"<script{nonce_attr}>document.forms['alipaysubmit'].submit();</script>"
        )


@dataclass(frozen=True)
class PrecreateResult:
    out_trade_no: str
    qr_code: str
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> PrecreateResult:
        return cls(_str(raw, "out_trade_no"), _str(raw, "qr_code"), raw)


@dataclass(frozen=True)
class TradeQueryResult:
    out_trade_no: str
    trade_no: str
    trade_status: str
    total_amount: Decimal | None
    buyer_pay_amount: Decimal | None
    receipt_amount: Decimal | None
    buyer_user_id: str
    buyer_logon_id: str
    send_pay_date: str
    raw: dict[str, Any] = field(repr=False)

    @property
    def is_paid(self) -> bool:
        return self.trade_status in ("TRADE_SUCCESS", "TRADE_FINISHED")

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> TradeQueryResult:
        return cls(
            out_trade_no=_str(raw, "out_trade_no"),
            trade_no=_str(raw, "trade_no"),
            trade_status=_str(raw, "trade_status"),
            total_amount=_money(raw, "total_amount"),
            buyer_pay_amount=_money(raw, "buyer_pay_amount"),
            receipt_amount=_money(raw, "receipt_amount"),
            buyer_user_id=_str(raw, "buyer_user_id"),
            buyer_logon_id=_str(raw, "buyer_logon_id"),
            send_pay_date=_str(raw, "send_pay_date"),
            raw=raw,
        )


@dataclass(frozen=True)
class CloseResult:
    out_trade_no: str
    trade_no: str
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> CloseResult:
        return cls(_str(raw, "out_trade_no"), _str(raw, "trade_no"), raw)


@dataclass(frozen=True)
class CancelResult:
    out_trade_no: str
    trade_no: str
    action: str  # "close" (unpaid trade closed) or "refund" (paid trade refunded)
    retry_flag: bool
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> CancelResult:
        return cls(
            _str(raw, "out_trade_no"),
            _str(raw, "trade_no"),
            _str(raw, "action"),
            _str(raw, "retry_flag") == "Y",
            raw,
        )


@dataclass(frozen=True)
class RefundResult:
    out_trade_no: str
    trade_no: str
    fund_change: bool  # money moved by this very call (False for an idempotent repeat)
    refund_fee: Decimal | None  # total refunded on the trade so far
    gmt_refund_pay: str
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> RefundResult:
        return cls(
            _str(raw, "out_trade_no"),
            _str(raw, "trade_no"),
            _str(raw, "fund_change") == "Y",
            _money(raw, "refund_fee"),
            _str(raw, "gmt_refund_pay"),
            raw,
        )


@dataclass(frozen=True)
class RefundQueryResult:
    """The answer of ``alipay.trade.fastpay.refund.query``.

    For a refund Alipay never made, the answer is ``10000`` with no refund data at all (not
    even ``trade_no``): :attr:`found` and :attr:`succeeded` are then False.
    """

    out_trade_no: str
    trade_no: str
    out_request_no: str
    refund_amount: Decimal | None
    total_amount: Decimal | None
    refund_status: str
    gmt_refund_pay: str = ""  # only when asked for in query_options
    send_back_fee: Decimal | None = None  # only with query_options ["refund_detail_item_list"]
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def found(self) -> bool:
        """Alipay returned data about this refund request."""
        return bool(self.out_request_no) or self.refund_amount is not None

    @property
    def succeeded(self) -> bool:
        """Alipay's rule: the refund happened iff data came back and the status is empty or
        REFUND_SUCCESS. Otherwise retry the refund with the same ``out_request_no``."""
        return self.refund_amount is not None and self.refund_status in ("", "REFUND_SUCCESS")

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> RefundQueryResult:
        return cls(
            out_trade_no=_str(raw, "out_trade_no"),
            trade_no=_str(raw, "trade_no"),
            out_request_no=_str(raw, "out_request_no"),
            refund_amount=_money(raw, "refund_amount"),
            total_amount=_money(raw, "total_amount"),
            refund_status=_str(raw, "refund_status"),
            gmt_refund_pay=_str(raw, "gmt_refund_pay"),
            send_back_fee=_money(raw, "send_back_fee"),
            raw=raw,
        )


@dataclass(frozen=True)
class BillDownloadUrlResult:
    """``alipay.data.dataservice.bill.downloadurl.query``: where to fetch the bill zip (the URL
    lives 30 seconds: download it at once with :meth:`AlipayClient.download_bill`)."""

    bill_download_url: str
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> BillDownloadUrlResult:
        return cls(_str(raw, "bill_download_url"), raw)


@dataclass(frozen=True)
class TransferResult:
    """``alipay.fund.trans.uni.transfer``: ``status`` is ``SUCCESS`` (the money reached the
    payee), ``DEALING`` (accepted, not final: query later) or ``FAIL``."""

    out_biz_no: str
    order_id: str
    pay_fund_order_id: str
    status: str
    trans_amount: Decimal | None
    pay_date: str
    raw: dict[str, Any] = field(repr=False)

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCESS"

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> TransferResult:
        return cls(
            _str(raw, "out_biz_no"),
            _str(raw, "order_id"),
            _str(raw, "pay_fund_order_id"),
            _str(raw, "status"),
            _money(raw, "trans_amount"),
            _str(raw, "pay_date") or _str(raw, "trans_date"),
            raw,
        )


@dataclass(frozen=True)
class TransferQueryResult:
    """``alipay.fund.trans.common.query``: ``status`` ``SUCCESS``, ``FAIL`` (see ``error_code``
    and ``fail_reason``), ``INIT``/``DEALING`` (not final), ``REFUND`` (bank transfers: returned)
    or ``UNKNOWN``. A transfer Alipay never received raises ``ORDER_NOT_EXIST``."""

    out_biz_no: str
    order_id: str
    pay_fund_order_id: str
    status: str
    trans_amount: Decimal | None
    pay_date: str
    error_code: str
    fail_reason: str
    raw: dict[str, Any] = field(repr=False)

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCESS"

    @property
    def failed(self) -> bool:
        """Definitely not paid: the money stayed with the merchant (or came back)."""
        return self.status in ("FAIL", "REFUND", "CLOSED")

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> TransferQueryResult:
        return cls(
            _str(raw, "out_biz_no"),
            _str(raw, "order_id"),
            _str(raw, "pay_fund_order_id"),
            _str(raw, "status"),
            _money(raw, "trans_amount"),
            _str(raw, "pay_date"),
            _str(raw, "error_code"),
            _str(raw, "fail_reason"),
            raw,
        )
