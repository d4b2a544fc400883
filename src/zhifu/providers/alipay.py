"""Alipay behind the provider contract (:mod:`zhifu.providers.base`).

Everything that knows Alipay's wire words lives here: trade statuses, refund notifications
(``out_biz_no``, ``refund_fee``, ``gmt_refund``), ``ACQ.*`` sub-codes, ``success``. The service layer
sees only neutral events and the core's exceptions.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from django.core.checks import CheckMessage
from django.utils.translation import gettext_lazy as _

from ..alipay import (
    AlipayBusinessError,
    AlipayClient,
    AlipayError,
    InvalidRequestError,
    PagePayRequest,
    SignatureError,
    parse_time,
)
from ..conf import zhifu_settings
from ..exceptions import GatewayUnavailable, PaymentError
from ..money import AmountError, parse_money
from .alipay_config import build_client, check_settings
from .base import (
    Acknowledgement,
    CloseOutcome,
    Event,
    Identity,
    Payer,
    PayForm,
    PaymentAction,
    PaymentEvent,
    PaymentState,
    PayoutResult,
    PayoutState,
    RefundEvent,
    RefundResult,
    RefundState,
    Rejected,
)
from .lazy import Lazy

if TYPE_CHECKING:
    from datetime import date

    from ..bills.lines import Bill
    from ..models import Order, PaymentAttempt, Refund

__all__ = ["AlipayProvider", "parse_body"]

log = logging.getLogger("zhifu.providers.alipay")

STATES = {
    "WAIT_BUYER_PAY": PaymentState.PENDING,
    "TRADE_SUCCESS": PaymentState.PAID,
    "TRADE_FINISHED": PaymentState.PAID,  # paid, and no refund possible any more
    "TRADE_CLOSED": PaymentState.CLOSED,  # unpaid and timed out/closed, or fully refunded
}
NOT_CLOSABLE = frozenset({"ACQ.TRADE_STATUS_ERROR", "ACQ.TRADE_HAS_SUCCESS", "ACQ.TRADE_HAS_CLOSE"})
MAX_BODY = 32 * 1024  # a real notification is a few KiB


def _amount(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return parse_money(str(value))
    except AmountError:
        return None


def parse_body(body: bytes | str) -> dict[str, Any]:
    """A form-urlencoded notification as ``{key: value}`` in its declared charset (a key given
    twice keeps both values, as a list, so that verification refuses it)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if len(text) > MAX_BODY:
        raise Rejected("too_large", f"body of {len(text)} bytes is larger than {MAX_BODY}")
    charset = "utf-8"
    for part in text.split("&"):
        if part.startswith("charset="):
            candidate = part[len("charset=") :].lower()
            if candidate in ("utf-8", "gbk", "gb2312"):
                charset = candidate
    raw = parse_qs(text, keep_blank_values=True, encoding=charset, errors="replace")
    return {k: v[0] if len(v) == 1 else v for k, v in raw.items()}


def _unavailable(exc: AlipayError, request: str) -> GatewayUnavailable:
    return GatewayUnavailable(
        "gateway_unavailable",
        _("Alipay did not answer %(request)s (%(reason)s); try again later"),
        request=request,
        reason=exc.sub_code or exc.code or type(exc).__name__,
    )


def _form(page: PagePayRequest) -> PayForm:
    return PayForm(page.form_action, page.form_fields, page.charset)


class AlipayProvider:
    name = "alipay"
    label = _("Alipay")
    channels: Mapping[str, Any] = {
        "alipay_page": _("Alipay (PC web)"),
        "alipay_wap": _("Alipay (mobile web)"),
        "alipay_qr": _("Alipay (QR code)"),
    }
    remote = True

    def __init__(self) -> None:
        self._client: Lazy[AlipayClient] = Lazy(build_client)

    @property
    def client(self) -> AlipayClient:
        """Built on first use from ``ZHIFU`` (keys load once per process, not per request)."""
        return self._client.get()

    def close_connections(self) -> None:
        client = self._client.peek()
        if client is not None:
            client.close_connections()

    def identity(self) -> Identity:
        return Identity(
            merchant_id=str(zhifu_settings.SELLER_ID or ""), app_id=str(zhifu_settings.APP_ID)
        )

    def check(self) -> list[CheckMessage]:
        return check_settings(zhifu_settings.as_dict())

    # -- paying -------------------------------------------------------------------------------

    def start(
        self,
        order: Order,
        attempt: PaymentAttempt,
        *,
        return_url: str | None = None,
        payer: Payer | None = None,
    ) -> PaymentAction:
        if attempt.channel == "alipay_qr" and attempt.qr_code:
            return PaymentAction(qr_code=attempt.qr_code)  # one precreate per trade
        options: dict[str, Any] = {
            "out_trade_no": attempt.out_trade_no,
            "total_amount": attempt.amount,
            "subject": order.subject[:256],
        }
        if zhifu_settings.SEND_TIME_EXPIRE:
            options["time_expire"] = order.expires_at
        client = self.client
        try:
            if attempt.channel == "alipay_page":
                page = client.page_pay(return_url=return_url, **options)
                return PaymentAction(url=page.url, form=_form(page))
            if attempt.channel == "alipay_wap":
                page = client.wap_pay(
                    return_url=return_url, quit_url=zhifu_settings.QUIT_URL or None, **options
                )
                return PaymentAction(url=page.url, form=_form(page))
            if attempt.channel == "alipay_qr":
                return PaymentAction(qr_code=client.precreate(**options).qr_code)
        except AlipayBusinessError as exc:
            if exc.retryable:
                raise _unavailable(exc, "alipay.trade.precreate") from None
            raise PaymentError(
                "gateway_refused",
                _("Alipay refused the payment: %(reason)s"),
                reason=exc.sub_code or exc.code,
            ) from None
        except InvalidRequestError as exc:  # our own data is wrong
            raise PaymentError(
                "invalid_payment_request",
                _("Alipay cannot accept this payment request: %(reason)s"),
                reason=str(exc.message),
            ) from None
        except AlipayError as exc:
            raise _unavailable(exc, "alipay.trade.precreate") from None
        raise PaymentError(
            "invalid_channel",
            _("%(channel)s is not an Alipay payment method"),
            channel=attempt.channel,
        )

    def query(self, attempt: PaymentAttempt) -> PaymentEvent | None:
        try:
            result = self.client.query(out_trade_no=attempt.out_trade_no)
        except AlipayBusinessError as exc:
            if exc.sub_code == "ACQ.TRADE_NOT_EXIST":
                return None  # the cashier was never opened
            raise _unavailable(exc, "alipay.trade.query") from None
        except AlipayError as exc:
            raise _unavailable(exc, "alipay.trade.query") from None
        event = self._payment_event(
            {**result.raw, "out_trade_no": result.out_trade_no or attempt.out_trade_no},
            payer=result.buyer_user_id,
            paid_at=result.send_pay_date,
        )
        # The answer to our own signed request, verified with Alipay's key, names no app or
        # seller: it is about the app and merchant that asked.
        return replace(event, identity=self.identity())

    def close(self, attempt: PaymentAttempt) -> CloseOutcome:
        try:
            self.client.close(out_trade_no=attempt.out_trade_no)
        except AlipayBusinessError as exc:
            if exc.sub_code == "ACQ.TRADE_NOT_EXIST":
                return "not_exist"
            if exc.sub_code in NOT_CLOSABLE:
                return "not_closable"
            raise _unavailable(exc, "alipay.trade.close") from None
        except AlipayError as exc:
            raise _unavailable(exc, "alipay.trade.close") from None
        return "closed"

    # -- refunds ------------------------------------------------------------------------------

    def refund(self, refund: Refund) -> RefundResult:
        """``alipay.trade.refund`` answers at once: the money moved, or it did not."""
        try:
            result = self.client.refund(
                out_trade_no=refund.attempt.out_trade_no,
                out_request_no=refund.out_request_no,
                refund_amount=refund.amount,
                refund_reason=refund.reason or None,
            )
        except AlipayBusinessError as exc:
            state = RefundState.UNKNOWN if exc.retryable else RefundState.FAILED
            return RefundResult(state, exc.sub_code or exc.code or "", exc.sub_msg or exc.message)
        except InvalidRequestError as exc:
            return RefundResult(RefundState.FAILED, "invalid_request", exc.message)
        except AlipayError as exc:
            return RefundResult(RefundState.UNKNOWN, type(exc).__name__, exc.message)
        return RefundResult(RefundState.SUCCEEDED, raw=dict(result.raw))

    def query_refund(self, refund: Refund) -> RefundResult:
        """``alipay.trade.fastpay.refund.query``: no refund data means it never happened."""
        try:
            result = self.client.refund_query(
                out_trade_no=refund.attempt.out_trade_no, out_request_no=refund.out_request_no
            )
        except AlipayError as exc:
            return RefundResult(RefundState.UNKNOWN, type(exc).__name__, exc.message)
        if result.succeeded:
            return RefundResult(RefundState.SUCCEEDED, raw=dict(result.raw))
        return RefundResult(RefundState.FAILED, "not_refunded", "Alipay has no such refund")

    # -- what Alipay sends --------------------------------------------------------------------

    def _verify(self, params: Mapping[str, Any]) -> dict[str, str]:
        if not params:
            raise Rejected("malformed", "empty or unparsable body")
        multi = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
        try:
            return self.client.verify_notification(multi)
        except SignatureError as exc:
            claimed = params.get("out_trade_no")
            raise Rejected(
                "bad_signature", exc.message, claimed=claimed if isinstance(claimed, str) else ""
            ) from None

    @staticmethod
    def _identity(data: Mapping[str, str]) -> Identity:
        return Identity(merchant_id=data.get("seller_id", ""), app_id=data.get("app_id", ""))

    def _payment_event(
        self, data: Mapping[str, Any], *, payer: str = "", paid_at: str = ""
    ) -> PaymentEvent:
        status = str(data.get("trade_status", ""))
        state = STATES.get(status)
        if state is None:
            raise Rejected("unknown_status", f"unknown trade_status {status!r}")
        return PaymentEvent(
            provider=self.name,
            out_trade_no=str(data.get("out_trade_no", "")),
            state=state,
            amount=_amount(data.get("total_amount")),
            identity=self._identity(data),
            trade_no=str(data.get("trade_no", "")),
            payer_id=payer or str(data.get("buyer_id") or data.get("buyer_user_id") or ""),
            paid_at=parse_time(paid_at or data.get("gmt_payment") or data.get("send_pay_date")),
            final=status == "TRADE_FINISHED",
            event_id=str(data.get("notify_id", "")),
            raw=dict(data),
        )

    def parse_notification(
        self, body: bytes, headers: Mapping[str, str], *, received_at: datetime | None = None
    ) -> Event:
        data = self._verify(parse_body(body))
        if data.get("out_biz_no") and (data.get("refund_fee") or data.get("gmt_refund")):
            # A refund notification. Alipay sends it only for a refund that happened; the trade
            # was therefore paid (its status says TRADE_SUCCESS, or TRADE_CLOSED once all is
            # refunded).
            payment = PaymentEvent(
                provider=self.name,
                out_trade_no=data.get("out_trade_no", ""),
                state=PaymentState.PAID,
                amount=_amount(data.get("total_amount")),
                identity=self._identity(data),
                trade_no=data.get("trade_no", ""),
                payer_id=data.get("buyer_id", ""),
                paid_at=parse_time(data.get("gmt_payment")),
                raw=dict(data),
            )
            return RefundEvent(
                provider=self.name,
                out_trade_no=data.get("out_trade_no", ""),
                out_refund_no=data["out_biz_no"],
                state=RefundState.SUCCEEDED,
                amount=None,  # refund_fee is the trade's refunded total, not this refund's
                trade_amount=payment.amount,
                identity=payment.identity,
                trade_no=payment.trade_no,
                refunded_at=parse_time(data.get("gmt_refund")),
                payment=payment,
                event_id=data.get("notify_id", ""),
                raw=dict(data),
            )
        return self._payment_event(data)

    def parse_return(self, params: Mapping[str, Any]) -> PaymentEvent:
        """The return carries no trade status: the event is ``pending`` (a hint to query)."""
        lists = getattr(params, "lists", None)  # a QueryDict keeps repeated keys
        data = self._verify(dict(lists()) if callable(lists) else dict(params))
        return PaymentEvent(
            provider=self.name,
            out_trade_no=data.get("out_trade_no", ""),
            state=PaymentState.PENDING,
            amount=_amount(data.get("total_amount")),
            identity=self._identity(data),
            trade_no=data.get("trade_no", ""),
            raw=dict(data),
        )

    def acknowledge(self, *, accepted: bool, retry: bool) -> Acknowledgement:
        """Alipay stops retrying only on a body of exactly ``success``."""
        if accepted:
            return Acknowledgement(200, "success")
        return Acknowledgement(503 if retry else 400, "fail")

    # -- bills (zhifu.bills) --------------------------------------------------------------------

    def daily_bill(self, day: date) -> Bill:
        """Alipay's ``trade`` and ``signcustomer`` bills of ``day`` (zips of GBK CSV files whose
        URLs live 30 seconds: each is fetched as soon as it is given)."""
        from ..bills.alipay_bill import read_bill

        client = self.client
        try:
            trade = client.download_bill(client.bill_download_url(bill_type="trade", bill_date=day))
            account = client.download_bill(
                client.bill_download_url(bill_type="signcustomer", bill_date=day)
            )
        except AlipayError as exc:
            raise _unavailable(exc, "alipay.data.dataservice.bill.downloadurl.query") from None
        return read_bill(day, trade, account)

    # -- payouts (zhifu.withdrawals): transfers to an Alipay account ----------------------------

    def payout(
        self,
        *,
        number: str,
        amount: Decimal,
        payee_type: str,
        payee: str,
        payee_name: str,
        title: str,
    ) -> PayoutResult:
        """``alipay.fund.trans.uni.transfer`` (certificate mode only). SUCCESS is paid; FAIL and
        definite business refusals are failed (nothing moved); DEALING, SYSTEM_ERROR and
        transport failures are unknown (query, or send the same out_biz_no again)."""
        identity_type = PAYEE_TYPES.get(payee_type)
        if identity_type is None:
            return PayoutResult(PayoutState.FAILED, "invalid_payee", f"payee type {payee_type!r}")
        try:
            result = self.client.transfer(
                out_biz_no=number,
                trans_amount=amount,
                payee_identity=payee,
                payee_identity_type=identity_type,
                payee_name=payee_name or None,
                order_title=title,
            )
        except InvalidRequestError as exc:  # refused before sending (e.g. not certificate mode)
            return PayoutResult(PayoutState.FAILED, "invalid_request", exc.message)
        except AlipayBusinessError as exc:
            state = PayoutState.UNKNOWN if exc.retryable else PayoutState.FAILED
            return PayoutResult(state, exc.sub_code or exc.code or "", exc.sub_msg or exc.message)
        except AlipayError as exc:
            return PayoutResult(PayoutState.UNKNOWN, type(exc).__name__, exc.message)
        return self._payout_result(result.status, result.order_id, dict(result.raw))

    def query_payout(self, number: str) -> PayoutResult:
        """``alipay.fund.trans.common.query``; ``ORDER_NOT_EXIST`` is "never received"."""
        try:
            result = self.client.transfer_query(out_biz_no=number)
        except AlipayBusinessError as exc:
            if exc.sub_code == "ORDER_NOT_EXIST":
                return PayoutResult(PayoutState.NOT_FOUND, exc.sub_code, exc.sub_msg or "")
            return PayoutResult(
                PayoutState.UNKNOWN, exc.sub_code or exc.code or "", exc.sub_msg or exc.message
            )
        except AlipayError as exc:
            return PayoutResult(PayoutState.UNKNOWN, type(exc).__name__, exc.message)
        code = result.error_code
        reason = result.fail_reason
        return self._payout_result(result.status, result.order_id, dict(result.raw), code, reason)

    @staticmethod
    def _payout_result(
        status: str, order_id: str, raw: dict[str, Any], code: str = "", message: str = ""
    ) -> PayoutResult:
        if status == "SUCCESS":
            return PayoutResult(PayoutState.SUCCEEDED, gateway_no=order_id, raw=raw)
        if status in ("FAIL", "REFUND", "CLOSED"):
            return PayoutResult(
                PayoutState.FAILED, code or status, message, gateway_no=order_id, raw=raw
            )
        return PayoutResult(
            PayoutState.UNKNOWN, status or "no_status", message, gateway_no=order_id, raw=raw
        )


PAYEE_TYPES = {"login": "ALIPAY_LOGON_ID", "user_id": "ALIPAY_USER_ID"}
