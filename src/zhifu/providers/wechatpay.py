"""WeChat Pay (API v3) behind the provider contract (:mod:`zhifu.providers.base`).

Everything that knows WeChat's wire words lives here: ``trade_state`` (``SUCCESS``, ``NOTPAY``…),
refund statuses, ``TRANSACTION.SUCCESS`` / ``REFUND.*`` events, error codes, the 204 answer.
The service layer sees only neutral events and the core's exceptions.

Channels: ``wechat_native`` (a QR code the buyer scans), ``wechat_h5`` (phone browsers outside
WeChat) and ``wechat_jsapi`` (inside WeChat's browser). What WeChat needs of the buyer comes from
the order's ``metadata``, which the site fills when it creates the order:

- ``wechat_jsapi``: ``metadata["wechat_openid"]``, the buyer's openid for ``APPID`` (from
  WeChat's ``snsapi_base`` OAuth);
- ``wechat_h5``: ``metadata["client_ip"]``, the buyer's IP address (WeChat compares it with the
  browser that opens the cashier).

WeChat's browser return (H5 ``redirect_url``) is not signed: :meth:`parse_return` turns it into
a hint naming only the trade number, and the pipeline then *queries* WeChat before believing
anything.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.core.checks import CheckMessage
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..conf import zhifu_settings
from ..exceptions import ConfigurationError, GatewayUnavailable, PaymentError
from ..wechatpay import (
    DecryptionError,
    InvalidRequestError,
    SignatureError,
    Transaction,
    WechatPayAPIError,
    WechatPayClient,
    WechatPayError,
    WechatPayResponseError,
    failure_body,
)
from ..wechatpay import Refund as WechatRefund
from .base import (
    Acknowledgement,
    CloseOutcome,
    Event,
    Identity,
    Payer,
    PaymentAction,
    PaymentEvent,
    PaymentState,
    RefundEvent,
    RefundResult,
    RefundState,
    Rejected,
)
from .lazy import Lazy
from .wechatpay_config import build_client, check_settings, wechatpay_conf

if TYPE_CHECKING:
    from datetime import date

    from ..bills.lines import Bill
    from ..models import Order, PaymentAttempt, Refund

__all__ = ["WechatPayProvider"]

log = logging.getLogger("zhifu.providers.wechatpay")

# WeChat's code_url lives 2 hours. An open Native attempt shows its stored code for 90 minutes
# after it was made; later it places the order again (same out_trade_no and parameters, so the
# same trade at WeChat), which gives a live code_url — on every later start, one cheap call.
CODE_URL_REUSE = timedelta(minutes=90)

STATES = {
    "NOTPAY": PaymentState.PENDING,
    "USERPAYING": PaymentState.PENDING,
    "ACCEPT": PaymentState.PENDING,
    "SUCCESS": PaymentState.PAID,
    "REFUND": PaymentState.PAID,  # paid, then (partly) refunded
    "CLOSED": PaymentState.CLOSED,
    "REVOKED": PaymentState.CLOSED,
    "PAYERROR": PaymentState.CLOSED,
}
REFUND_STATES = {
    "PROCESSING": RefundState.PENDING,
    "SUCCESS": RefundState.SUCCEEDED,
    # The money could not reach the buyer (a closed card...): not final. The merchant settles
    # it at WeChat (the abnormal-refund API or the portal), after which WeChat says SUCCESS; until
    # then the amount stays taken at WeChat, so here too (pending, with the code: the core flags
    # the order for a person). Failed would free the amount, and return a top-up to the wallet.
    "ABNORMAL": RefundState.PENDING,
    "CLOSED": RefundState.FAILED,
}
# Pending states that need a person: their status is kept as the result's code.
REFUND_PROBLEMS = frozenset({"ABNORMAL"})
NOT_CLOSABLE = frozenset({"ORDERPAID", "TRADE_ERROR"})
ALREADY_CLOSED = frozenset({"ORDER_CLOSED"})
NOT_FOUND = frozenset({"ORDER_NOT_EXIST", "ORDERNOTEXIST", "RESOURCE_NOT_EXISTS"})
_RETURN_NUMBER = re.compile(r"[A-Za-z0-9_\-|*]{6,32}", re.ASCII)


def _bmp(text: str, limit: int) -> str:
    """WeChat refuses characters beyond U+FFFF (emoji): leave them out of free text."""
    return "".join(ch for ch in text if ord(ch) <= 0xFFFF).strip()[:limit]


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


def _unavailable(exc: WechatPayError, request: str) -> GatewayUnavailable:
    return GatewayUnavailable(
        "gateway_unavailable",
        _("WeChat Pay did not answer %(request)s (%(reason)s); try again later"),
        request=request,
        reason=exc.code or type(exc).__name__,
    )


def _code(exc: WechatPayError) -> str:
    return exc.code or ""


class WechatPayProvider:
    name = "wechatpay"
    label = _("WeChat Pay")
    channels: Mapping[str, Any] = {
        "wechat_native": _("WeChat Pay (QR code)"),
        "wechat_h5": _("WeChat Pay (mobile browser)"),
        "wechat_jsapi": _("WeChat Pay (in WeChat)"),
    }
    # JSAPI pays inside WeChat as the buyer known by their openid (from WeChat's OAuth).
    payer_id_channels = frozenset({"wechat_jsapi"})
    remote = True

    def __init__(self) -> None:
        self._client: Lazy[WechatPayClient] = Lazy(build_client)

    @property
    def client(self) -> WechatPayClient:
        """Built on first use from ``ZHIFU["WECHATPAY"]`` (keys load once per process)."""
        return self._client.get()

    def use_client(self, client: WechatPayClient) -> None:
        """Use ``client`` from now on (a test's transport, a sandbox mounted in-process)."""
        self._client.set(client)

    def close_connections(self) -> None:
        client = self._client.peek()
        if client is not None:
            client.close_connections()

    def identity(self) -> Identity:
        wx = wechatpay_conf()
        return Identity(merchant_id=str(wx["MCHID"]).strip(), app_id=str(wx["APPID"]).strip())

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
        if (
            attempt.channel == "wechat_native"
            and attempt.qr_code
            and timezone.now() - attempt.created_at < CODE_URL_REUSE
        ):
            return PaymentAction(qr_code=attempt.qr_code)
        if attempt.channel not in self.channels:
            raise PaymentError(
                "invalid_channel",
                _("%(channel)s is not a WeChat Pay payment method"),
                channel=attempt.channel,
            )
        metadata = order.metadata if isinstance(order.metadata, dict) else {}
        options: dict[str, Any] = {
            "out_trade_no": attempt.out_trade_no,
            "total": attempt.amount,
            "description": _bmp(order.subject, 127) or order.out_trade_no,
        }
        if zhifu_settings.SEND_TIME_EXPIRE:
            options["time_expire"] = order.expires_at
        client = self.client
        try:
            if attempt.channel == "wechat_native":
                return PaymentAction(qr_code=client.native(**options).code_url)
            if attempt.channel == "wechat_h5":
                ip = (payer.ip if payer else "") or str(metadata.get("client_ip") or "")
                if not ip:
                    raise self._needs("client_ip", "the buyer's IP address")
                wx = wechatpay_conf()
                h5 = client.h5(payer_client_ip=ip, h5_type=wx["H5_TYPE"], **options)
                back = return_url or wx["RETURN_URL"]  # the caller's, as for Alipay
                redirect = _with_query(back, out_trade_no=attempt.out_trade_no) if back else None
                return PaymentAction(url=h5.url(redirect))
            openid = (payer.openid if payer else "") or str(metadata.get("wechat_openid") or "")
            if not openid:
                raise self._needs("wechat_openid", "the buyer's WeChat openid")
            return PaymentAction(js_params=client.jsapi(openid=openid, **options).pay_params)
        except InvalidRequestError as exc:  # our own data is wrong (e.g. a number too long)
            raise PaymentError(
                "invalid_payment_request",
                _("WeChat Pay cannot accept this payment request: %(reason)s"),
                reason=exc.message,
            ) from None
        except WechatPayAPIError as exc:
            if exc.retryable:
                raise _unavailable(exc, "placing the order") from None
            raise PaymentError(
                "gateway_refused",
                _("WeChat Pay refused the payment: %(reason)s"),
                reason=_code(exc) or str(exc.status),
            ) from None
        except WechatPayError as exc:  # no answer, or one that does not verify
            raise _unavailable(exc, "placing the order") from None

    @staticmethod
    def _needs(key: str, what: str) -> PaymentError:
        return PaymentError(
            "invalid_payment_request",
            _(
                "WeChat Pay needs %(what)s for this payment method: create the order with "
                'metadata={"%(key)s": ...}'
            ),
            what=what,
            key=key,
        )

    def _payment_event(self, tx: Transaction, *, event_id: str = "") -> PaymentEvent:
        state = STATES.get(tx.trade_state)
        if state is None:
            raise Rejected("unknown_status", f"unknown trade_state {tx.trade_state!r}")
        return PaymentEvent(
            provider=self.name,
            out_trade_no=tx.out_trade_no,
            state=state,
            amount=tx.total,
            identity=Identity(merchant_id=tx.mchid, app_id=tx.appid),
            trade_no=tx.transaction_id,
            payer_id=tx.payer_openid,
            paid_at=tx.success_time,
            event_id=event_id,
            raw=dict(tx.raw),
        )

    def query(self, attempt: PaymentAttempt) -> PaymentEvent | None:
        try:
            tx = self.client.query(out_trade_no=attempt.out_trade_no)
        except WechatPayAPIError as exc:
            if exc.code in NOT_FOUND:
                return None  # never placed (or placed under another merchant)
            raise _unavailable(exc, "the order query") from None
        except InvalidRequestError:
            return None  # a number WeChat cannot hold was never placed there
        except WechatPayError as exc:
            raise _unavailable(exc, "the order query") from None
        if tx.trade_state not in STATES:
            # A state this code does not know yet: nothing to apply, ask again later.
            log.warning(
                "unknown trade_state %r for out_trade_no=%s", tx.trade_state, attempt.out_trade_no
            )
            tx = Transaction.from_raw({**tx.raw, "trade_state": "NOTPAY"})
        event = self._payment_event(tx)
        if event.state != PaymentState.PAID and event.amount is None:
            # An unpaid order's answer may leave out the amount; it claims no money, so the
            # comparison is made with what we placed.
            event = replace(event, amount=attempt.amount)
        return event

    def close(self, attempt: PaymentAttempt) -> CloseOutcome:
        try:
            self.client.close(attempt.out_trade_no)
        except WechatPayAPIError as exc:
            if exc.code in NOT_FOUND:
                return "not_exist"
            if exc.code in NOT_CLOSABLE:
                return "not_closable"
            if exc.code in ALREADY_CLOSED:
                return "closed"
            raise _unavailable(exc, "closing the order") from None
        except InvalidRequestError:
            return "not_exist"
        except WechatPayError as exc:
            raise _unavailable(exc, "closing the order") from None
        return "closed"

    # -- refunds ------------------------------------------------------------------------------

    @staticmethod
    def _refund_result(refund: WechatRefund) -> RefundResult:
        state = REFUND_STATES.get(refund.status, RefundState.UNKNOWN)
        ok = state == RefundState.SUCCEEDED or (
            state == RefundState.PENDING and refund.status not in REFUND_PROBLEMS
        )
        code = "" if ok else refund.status
        return RefundResult(state, code, refund.status, raw=dict(refund.raw))

    def refund(self, refund: Refund) -> RefundResult:
        """``POST /v3/refund/domestic/refunds``: usually PROCESSING, confirmed by a REFUND.*
        notification or by :meth:`query_refund`. Idempotent per ``out_request_no``."""
        reason = _bmp(refund.reason or "", 80) or None
        try:
            result = self.client.refund(
                out_trade_no=refund.attempt.out_trade_no,
                out_refund_no=refund.out_request_no,
                refund=refund.amount,
                total=refund.attempt.amount,
                reason=reason,
            )
        except InvalidRequestError as exc:
            return RefundResult(RefundState.FAILED, "invalid_request", exc.message)
        except WechatPayAPIError as exc:
            state = RefundState.UNKNOWN if exc.retryable else RefundState.FAILED
            return RefundResult(state, _code(exc) or str(exc.status), exc.message)
        except WechatPayError as exc:  # no answer, or one that does not verify: ask again
            return RefundResult(RefundState.UNKNOWN, type(exc).__name__, exc.message)
        return self._refund_result(result)

    def query_refund(self, refund: Refund) -> RefundResult:
        try:
            result = self.client.refund_query(refund.out_request_no)
        except WechatPayAPIError as exc:
            if exc.code in NOT_FOUND:
                return RefundResult(
                    RefundState.FAILED, "not_refunded", "WeChat Pay has no such refund"
                )
            return RefundResult(RefundState.UNKNOWN, _code(exc) or str(exc.status), exc.message)
        except WechatPayError as exc:
            return RefundResult(RefundState.UNKNOWN, type(exc).__name__, exc.message)
        return self._refund_result(result)

    # -- what WeChat sends --------------------------------------------------------------------

    def parse_notification(
        self, body: bytes, headers: Mapping[str, str], *, received_at: datetime | None = None
    ) -> Event:
        try:
            notification = self.client.verify_notification(
                headers, body, now=received_at.timestamp() if received_at else None
            )
        except SignatureError as exc:
            if exc.retryable:  # platform certificates could not be downloaded: ours to retry
                raise _unavailable(exc, "the platform certificates") from None
            detail = ("signature probe: " if exc.probe else "") + exc.message
            raise Rejected("bad_signature", detail) from None
        except DecryptionError as exc:
            # The signature held, so WeChat sent it: our APIv3 key is wrong. Not a rejection —
            # answered with a retry, so it is applied once the key is fixed.
            raise ConfigurationError(
                "configuration_error",
                f'a signed notification does not decrypt with ZHIFU["WECHATPAY"]["APIV3_KEY"]: '
                f"{exc.message}",
            ) from None
        except WechatPayResponseError as exc:
            raise Rejected("malformed", exc.message) from None
        if notification.payment is not None:
            if notification.event_type != "TRANSACTION.SUCCESS":
                raise Rejected("unsupported", f"event_type {notification.event_type!r}")
            return self._payment_event(notification.payment, event_id=notification.id)
        if notification.refund is not None:
            return self._refund_event(notification.refund, notification.id)
        raise Rejected("unsupported", f"event_type {notification.event_type!r}")

    def _refund_event(self, refund: WechatRefund, event_id: str) -> RefundEvent:
        state = REFUND_STATES.get(refund.status)
        if state is None:
            raise Rejected("unknown_status", f"unknown refund_status {refund.status!r}")
        mchid = str(refund.raw.get("mchid") or "")
        # A refund resource names the merchant, not the app: the app is the one the refunded
        # trade was placed for (the trade number and the amount are compared).
        identity = Identity(merchant_id=mchid, app_id=self.identity().app_id)
        # Only a paid trade can be refunded: a site that missed the payment learns of it here.
        payment = PaymentEvent(
            provider=self.name,
            out_trade_no=refund.out_trade_no,
            state=PaymentState.PAID,
            amount=refund.total,
            identity=identity,
            trade_no=refund.transaction_id,
            raw=dict(refund.raw),
        )
        return RefundEvent(
            provider=self.name,
            out_trade_no=refund.out_trade_no,
            out_refund_no=refund.out_refund_no,
            state=state,
            amount=refund.refund,
            trade_amount=refund.total,
            identity=identity,
            trade_no=refund.transaction_id,
            refunded_at=refund.success_time,
            payment=payment,
            event_id=event_id,
            raw=dict(refund.raw),
        )

    def parse_return(self, params: Mapping[str, Any]) -> PaymentEvent:
        """WeChat's redirect back from the H5 cashier carries nothing signed (the buyer comes
        back whether or not they paid): only the trade number Zhifu put in ``redirect_url``.
        The hint claims no state, amount or merchant of its own; the pipeline queries WeChat."""
        number = params.get("out_trade_no")
        if not isinstance(number, str) or not _RETURN_NUMBER.fullmatch(number):
            raise Rejected("malformed", "the return names no WeChat Pay trade (out_trade_no)")
        return PaymentEvent(
            provider=self.name,
            out_trade_no=number,
            state=PaymentState.PENDING,
            amount=None,
            identity=self.identity(),  # ours: nothing else is claimed
        )

    def acknowledge(self, *, accepted: bool, retry: bool) -> Acknowledgement:
        """WeChat stops on any 2xx (204, no body); 4xx/5xx with ``{"code": "FAIL"}`` retries."""
        if accepted:
            return Acknowledgement(204, "", "application/json")
        reason = "temporary failure, retry" if retry else "rejected"
        return Acknowledgement(
            500 if retry else 400, failure_body(reason).decode("utf-8"), "application/json"
        )

    # -- bills (zhifu.bills) --------------------------------------------------------------------

    def daily_bill(self, day: date) -> Bill:
        """WeChat's trade bill (``ALL``) and basic account's fund flow bill of ``day``, gzipped,
        each checked against the SHA1 WeChat gives with its URL."""
        from ..bills.wechat_bill import read_bill

        client = self.client
        try:
            trade = client.download_bill(client.trade_bill(bill_date=day, tar_type="GZIP"))
            flow = client.download_bill(client.fundflow_bill(bill_date=day, tar_type="GZIP"))
        except WechatPayError as exc:
            raise _unavailable(exc, "GET /v3/bill/tradebill") from None
        return read_bill(day, trade, flow)
