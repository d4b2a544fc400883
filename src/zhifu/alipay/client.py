"""The Alipay gateway client: one instance per app, keys loaded once, no globals, no I/O at init.

Layering (after stripe-python): public API methods build ``biz_content`` and validate it, then
:meth:`AlipayClient.execute` signs, POSTs, verifies the response and maps failures to
:mod:`zhifu.alipay.errors`; the ``httpx`` transport underneath is injectable.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from ..money import AmountError, format_amount, parse_amount
from .certs import cert_sn, root_cert_sn
from .errors import (
    RETRYABLE_SUB_CODES,
    AlipayBusinessError,
    AlipayResponseError,
    AlipayTimeoutError,
    AlipayTransportError,
    InvalidRequestError,
)
from .keys import KeySource, load_public_key
from .results import (
    BillDownloadUrlResult,
    CancelResult,
    CloseResult,
    PagePayRequest,
    PrecreateResult,
    RefundQueryResult,
    RefundResult,
    TradeQueryResult,
    TransferQueryResult,
    TransferResult,
)
from .signing import Signer, SignType, Verifier, _codec, _MultiValue, request_content
from .times import BEIJING, TIMESTAMP_FORMAT, beijing_now

__all__ = [
    "BEIJING",
    "PRODUCTION_GATEWAY",
    "SANDBOX_GATEWAY",
    "AlipayClient",
    "beijing_now",
    "validate_out_trade_no",
]

PRODUCTION_GATEWAY = "https://openapi.alipay.com/gateway.do"
SANDBOX_GATEWAY = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"

# Alipay accepts letters, digits, "_" and "-" (UUIDs, "SO-2022-..."), up to 64 characters.
_OUT_TRADE_NO = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
# Parameters the client sets itself; ``extra`` may not override them.
_RESERVED = frozenset(
    {
        "app_id",
        "method",
        "format",
        "charset",
        "sign_type",
        "sign",
        "timestamp",
        "version",
        "biz_content",
        "app_cert_sn",
        "alipay_root_cert_sn",
    }
)
_TIMEOUT_EXPRESS = re.compile(r"([1-9][0-9]*[mhd]|1c)")

R = TypeVar("R")


def validate_out_trade_no(value: object, field: str = "out_trade_no") -> str:
    """``out_trade_no``/``out_request_no``: 1-64 letters, digits, underscores or hyphens."""
    if not isinstance(value, str) or not _OUT_TRADE_NO.fullmatch(value):
        raise InvalidRequestError(
            f"{field} {value!r} is invalid: use 1-64 letters, digits, '_' or '-'"
        )
    return value


def _amount(value: object, field: str) -> str:
    try:
        return format_amount(parse_amount(value, field=field))
    except AmountError as exc:
        raise InvalidRequestError(str(exc)) from None


def _expiry(timeout_express: str | None, time_expire: datetime | str | None) -> dict[str, str]:
    biz: dict[str, str] = {}
    if timeout_express is not None:
        if not _TIMEOUT_EXPRESS.fullmatch(timeout_express):
            raise InvalidRequestError(
                f"timeout_express {timeout_express!r} is invalid: use e.g. '90m', '2h', '15d' or '1c'"
            )
        biz["timeout_express"] = timeout_express
    if time_expire is not None:
        if isinstance(time_expire, datetime):
            if time_expire.tzinfo is None:
                raise InvalidRequestError("time_expire must be an aware datetime")
            biz["time_expire"] = time_expire.astimezone(BEIJING).strftime(TIMESTAMP_FORMAT)
        else:
            try:
                datetime.strptime(time_expire, TIMESTAMP_FORMAT)
            except ValueError:
                raise InvalidRequestError(
                    f"time_expire {time_expire!r} is invalid: use 'YYYY-MM-DD HH:MM:SS'"
                ) from None
            biz["time_expire"] = time_expire
    return biz


def _trade_ref(out_trade_no: str | None, trade_no: str | None) -> dict[str, str]:
    if not out_trade_no and not trade_no:
        raise InvalidRequestError("give out_trade_no or trade_no")
    ref: dict[str, str] = {}
    if out_trade_no:
        ref["out_trade_no"] = validate_out_trade_no(out_trade_no)
    if trade_no:
        if not re.fullmatch(r"[0-9A-Za-z_]{1,64}", trade_no):
            raise InvalidRequestError(f"trade_no {trade_no!r} is invalid")
        ref["trade_no"] = trade_no
    return ref


class AlipayClient:
    """Client for one Alipay app against one gateway (production, sandbox or ``zhifu sandbox``)."""

    def __init__(
        self,
        *,
        app_id: str,
        app_private_key: KeySource | rsa.RSAPrivateKey,
        alipay_public_key: KeySource | rsa.RSAPublicKey,
        gateway_url: str = PRODUCTION_GATEWAY,
        seller_id: str | None = None,
        sign_type: SignType = "RSA2",
        charset: str = "utf-8",
        notify_url: str | None = None,
        return_url: str | None = None,
        timeout: float | httpx.Timeout = 15.0,
        transport: httpx.BaseTransport | None = None,
        app_cert_sn: str | None = None,
        alipay_root_cert_sn: str | None = None,
        alipay_cert_sn: str | None = None,
    ) -> None:
        if not isinstance(app_id, str) or not app_id.strip():
            raise InvalidRequestError("app_id must be a non-empty string")
        if not gateway_url.startswith(("http://", "https://")):
            raise InvalidRequestError(f"gateway_url {gateway_url!r} is not an http(s) URL")
        if not isinstance(charset, str) or charset.lower() not in ("utf-8", "gbk", "gb2312"):
            raise InvalidRequestError(f"charset {charset!r}: use utf-8, gbk or gb2312")
        self.app_id = app_id.strip()
        self.gateway_url = gateway_url
        self.seller_id = seller_id
        self.charset = charset
        self.notify_url = notify_url
        self.return_url = return_url
        self.app_cert_sn = app_cert_sn
        self.alipay_root_cert_sn = alipay_root_cert_sn
        self.alipay_cert_sn = alipay_cert_sn
        self._signer = Signer(app_private_key, sign_type)
        self._verifier = Verifier(alipay_public_key)
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._transport = transport
        self._http: httpx.Client | None = None
        self._http_lock = threading.Lock()

    @classmethod
    def from_certificates(
        cls,
        *,
        app_id: str,
        app_private_key: KeySource | rsa.RSAPrivateKey,
        app_cert: KeySource,
        alipay_public_cert: KeySource,
        alipay_root_cert: KeySource,
        **options: Any,
    ) -> AlipayClient:
        """Certificate mode: sends ``app_cert_sn`` and ``alipay_root_cert_sn`` with every call
        and verifies with the public key inside Alipay's public-key certificate."""
        return cls(
            app_id=app_id,
            app_private_key=app_private_key,
            alipay_public_key=load_public_key(alipay_public_cert),
            app_cert_sn=cert_sn(app_cert),
            alipay_root_cert_sn=root_cert_sn(alipay_root_cert),
            alipay_cert_sn=cert_sn(alipay_public_cert),
            **options,
        )

    # -- plumbing -----------------------------------------------------------------------------

    @property
    def sign_type(self) -> SignType:
        return self._signer.sign_type

    def _client(self) -> httpx.Client:
        with self._http_lock:
            if self._http is None:
                self._http = httpx.Client(timeout=self._timeout, transport=self._transport)
            return self._http

    def close_connections(self) -> None:
        with self._http_lock:
            if self._http is not None:
                self._http.close()
                self._http = None

    def _system_params(self, method: str, extra: Mapping[str, str | None]) -> dict[str, str]:
        params = {
            "app_id": self.app_id,
            "method": method,
            "format": "JSON",
            "charset": self.charset,
            "sign_type": self.sign_type,
            "timestamp": beijing_now().strftime(TIMESTAMP_FORMAT),
            "version": "1.0",
        }
        if self.app_cert_sn:
            params["app_cert_sn"] = self.app_cert_sn
        if self.alipay_root_cert_sn:
            params["alipay_root_cert_sn"] = self.alipay_root_cert_sn
        for key, value in extra.items():
            if key in _RESERVED:
                raise InvalidRequestError(f"{key!r} is set by the client and cannot be overridden")
            if value:
                params[key] = value
        return params

    def sign_request(
        self, method: str, biz_content: Mapping[str, Any], **extra: str | None
    ) -> dict[str, str]:
        """All parameters of a request, ``sign`` included. ``biz_content`` is not changed."""
        params = self._system_params(method, extra)
        params["biz_content"] = json.dumps(biz_content, ensure_ascii=False, separators=(",", ":"))
        params["sign"] = self._signer.sign(request_content(params), self.charset)
        return params

    def execute(
        self, method: str, biz_content: Mapping[str, Any], **extra: str | None
    ) -> dict[str, Any]:
        """Call a server API; return the verified response node of a successful call.

        Raises :class:`AlipayTransportError` if the call did not complete,
        :class:`SignatureError` if the response signature fails, and
        :class:`AlipayBusinessError` for any code other than ``10000``.
        """
        params = self.sign_request(method, biz_content, **extra)
        biz = params.pop("biz_content")
        separator = "&" if "?" in self.gateway_url else "?"
        url = self.gateway_url + separator + urlencode(params, encoding=_codec(self.charset))
        body = urlencode({"biz_content": biz}, encoding=_codec(self.charset))
        headers = {"Content-Type": f"application/x-www-form-urlencoded;charset={self.charset}"}
        try:
            response = self._client().post(url, content=body.encode("ascii"), headers=headers)
        except httpx.TimeoutException as exc:
            raise AlipayTimeoutError(
                f"timed out calling the gateway ({exc})", method=method
            ) from None
        except httpx.TransportError as exc:
            raise AlipayTransportError(f"cannot reach the gateway ({exc})", method=method) from None
        if response.status_code != 200:
            raise AlipayResponseError(
                f"gateway answered HTTP {response.status_code}",
                method=method,
                retryable=response.status_code >= 500,
            )
        verified = self._verifier.verify_response(
            response.content,
            method,
            sign_type=self.sign_type,
            charset=self.charset,
            expected_cert_sn=self.alipay_cert_sn,
        )
        data = verified.data
        code = str(data.get("code", ""))
        if code != "10000":
            sub_code = str(data.get("sub_code", "")) or None
            retryable = code == "20000" or sub_code in RETRYABLE_SUB_CODES
            if method == "alipay.trade.precreate" and sub_code != "isp.unknow-error":
                retryable = False  # Alipay: after SYSTEM_ERROR, precreate with a new out_trade_no
            raise AlipayBusinessError(
                "Alipay refused the request" if verified.signed else "Alipay refused (unsigned)",
                method=method,
                code=code or None,
                msg=str(data.get("msg", "")) or None,
                sub_code=sub_code,
                sub_msg=str(data.get("sub_msg", "")) or None,
                retryable=retryable,
            )
        return data

    # -- notifications and returns ------------------------------------------------------------

    def verify_notification(self, params: Mapping[str, Any] | _MultiValue) -> dict[str, str]:
        """Verify an asynchronous notification (or a return redirect's query parameters) and
        return a fresh ``{str: str}``. Raises :class:`SignatureError`; never mutates ``params``.

        This checks the signature only: the caller still checks app_id, seller_id,
        out_trade_no and total_amount against its own order.
        """
        return self._verifier.verify_notification(params)

    verify_return = verify_notification

    # -- page payments ------------------------------------------------------------------------

    def _page(
        self,
        method: str,
        product_code: str,
        *,
        out_trade_no: str,
        total_amount: Decimal | str,
        subject: str,
        return_url: str | None,
        notify_url: str | None,
        timeout_express: str | None,
        time_expire: datetime | str | None,
        body: str | None,
        passback_params: str | None,
        extra: Mapping[str, Any],
    ) -> PagePayRequest:
        biz: dict[str, Any] = {
            "out_trade_no": validate_out_trade_no(out_trade_no),
            "total_amount": _amount(total_amount, "total_amount"),
            "subject": _subject(subject),
            "product_code": product_code,
        }
        if body:
            biz["body"] = body
        if passback_params:
            biz["passback_params"] = passback_params
        biz.update(_expiry(timeout_express, time_expire))
        biz.update(extra)
        params = self.sign_request(
            method,
            biz,
            notify_url=notify_url or self.notify_url,
            return_url=return_url or self.return_url,
        )
        return PagePayRequest(
            method, self.gateway_url, params, biz["out_trade_no"], charset=self.charset
        )

    def page_pay(
        self,
        *,
        out_trade_no: str,
        total_amount: Decimal | str,
        subject: str,
        return_url: str | None = None,
        notify_url: str | None = None,
        timeout_express: str | None = None,
        time_expire: datetime | str | None = None,
        body: str | None = None,
        passback_params: str | None = None,
        **extra: Any,
    ) -> PagePayRequest:
        """电脑网站支付 (``alipay.trade.page.pay``): a signed URL / form for the browser."""
        return self._page(
            "alipay.trade.page.pay",
            "FAST_INSTANT_TRADE_PAY",
            out_trade_no=out_trade_no,
            total_amount=total_amount,
            subject=subject,
            return_url=return_url,
            notify_url=notify_url,
            timeout_express=timeout_express,
            time_expire=time_expire,
            body=body,
            passback_params=passback_params,
            extra=extra,
        )

    def wap_pay(
        self,
        *,
        out_trade_no: str,
        total_amount: Decimal | str,
        subject: str,
        quit_url: str | None = None,
        return_url: str | None = None,
        notify_url: str | None = None,
        timeout_express: str | None = None,
        time_expire: datetime | str | None = None,
        body: str | None = None,
        passback_params: str | None = None,
        **extra: Any,
    ) -> PagePayRequest:
        """手机网站支付 (``alipay.trade.wap.pay``, product ``QUICK_WAP_WAY``)."""
        if quit_url:
            extra["quit_url"] = quit_url
        return self._page(
            "alipay.trade.wap.pay",
            "QUICK_WAP_WAY",
            out_trade_no=out_trade_no,
            total_amount=total_amount,
            subject=subject,
            return_url=return_url,
            notify_url=notify_url,
            timeout_express=timeout_express,
            time_expire=time_expire,
            body=body,
            passback_params=passback_params,
            extra=extra,
        )

    # -- server APIs --------------------------------------------------------------------------

    def precreate(
        self,
        *,
        out_trade_no: str,
        total_amount: Decimal | str,
        subject: str,
        notify_url: str | None = None,
        timeout_express: str | None = None,
        time_expire: datetime | str | None = None,
        body: str | None = None,
        **extra: Any,
    ) -> PrecreateResult:
        """当面付 (``alipay.trade.precreate``): a QR code for the buyer to scan."""
        biz: dict[str, Any] = {
            "out_trade_no": validate_out_trade_no(out_trade_no),
            "total_amount": _amount(total_amount, "total_amount"),
            "subject": _subject(subject),
        }
        if body:
            biz["body"] = body
        if self.seller_id:
            biz["seller_id"] = self.seller_id
        biz.update(_expiry(timeout_express, time_expire))
        biz.update(extra)
        raw = self.execute("alipay.trade.precreate", biz, notify_url=notify_url or self.notify_url)
        return PrecreateResult.from_raw(raw)

    def query(
        self, *, out_trade_no: str | None = None, trade_no: str | None = None
    ) -> TradeQueryResult:
        """``alipay.trade.query``. ``ACQ.TRADE_NOT_EXIST`` raises :class:`AlipayBusinessError`."""
        raw = self.execute("alipay.trade.query", _trade_ref(out_trade_no, trade_no))
        return TradeQueryResult.from_raw(raw)

    def close(self, *, out_trade_no: str | None = None, trade_no: str | None = None) -> CloseResult:
        """``alipay.trade.close``: close an unpaid trade."""
        raw = self.execute("alipay.trade.close", _trade_ref(out_trade_no, trade_no))
        return CloseResult.from_raw(raw)

    def cancel(
        self, *, out_trade_no: str | None = None, trade_no: str | None = None
    ) -> CancelResult:
        """``alipay.trade.cancel``: close if unpaid, refund if paid (face-to-face payments)."""
        raw = self.execute("alipay.trade.cancel", _trade_ref(out_trade_no, trade_no))
        return CancelResult.from_raw(raw)

    def refund(
        self,
        *,
        refund_amount: Decimal | str,
        out_request_no: str,
        out_trade_no: str | None = None,
        trade_no: str | None = None,
        refund_reason: str | None = None,
    ) -> RefundResult:
        """``alipay.trade.refund``. Idempotent per ``out_request_no``: retry a refund whose
        outcome is unknown with the same number (``fund_change`` tells whether money moved)."""
        biz: dict[str, Any] = _trade_ref(out_trade_no, trade_no)
        biz["refund_amount"] = _amount(refund_amount, "refund_amount")
        biz["out_request_no"] = validate_out_trade_no(out_request_no, "out_request_no")
        if refund_reason:
            biz["refund_reason"] = refund_reason[:256]
        raw = self.execute("alipay.trade.refund", biz)
        return RefundResult.from_raw(raw)

    def refund_query(
        self,
        *,
        out_request_no: str,
        out_trade_no: str | None = None,
        trade_no: str | None = None,
        query_options: Sequence[str] = (),
    ) -> RefundQueryResult:
        """``alipay.trade.fastpay.refund.query``; see :attr:`RefundQueryResult.succeeded`.

        Alipay answers ``10000`` with no refund data for a refund that never happened (that is
        a result, not an error). ``query_options`` asks for more fields, e.g.
        ``["gmt_refund_pay"]`` or ``["refund_detail_item_list"]`` (which brings ``send_back_fee``).
        """
        biz: dict[str, Any] = _trade_ref(out_trade_no, trade_no)
        biz["out_request_no"] = validate_out_trade_no(out_request_no, "out_request_no")
        if isinstance(query_options, str) or not all(isinstance(o, str) for o in query_options):
            raise InvalidRequestError("query_options must be a list of strings")
        if query_options:
            biz["query_options"] = list(query_options)
        raw = self.execute("alipay.trade.fastpay.refund.query", biz)
        return RefundQueryResult.from_raw(raw)

    # -- bills ----------------------------------------------------------------------------------

    def bill_download_url(self, *, bill_type: str, bill_date: date | str) -> BillDownloadUrlResult:
        """``alipay.data.dataservice.bill.downloadurl.query``: the URL of a bill zip.

        ``bill_type``: ``trade`` (the acquiring business bill, 业务账单) or ``signcustomer``
        (the account's money movements, 账务账单); ``bill_date``: a day (``yyyy-MM-dd``, a
        ``date``) or a month (``yyyy-MM``). A bill that does not exist yet raises
        :class:`AlipayBusinessError` (``isp.bill_not_exist``)."""
        if bill_type not in _BILL_TYPES:
            raise InvalidRequestError(f"bill_type {bill_type!r}: use 'trade' or 'signcustomer'")
        if isinstance(bill_date, date):
            text = bill_date.isoformat()
        elif isinstance(bill_date, str) and _BILL_DATE.fullmatch(bill_date):
            text = bill_date
        else:
            raise InvalidRequestError(
                f"bill_date {bill_date!r}: use a date, 'yyyy-MM-dd' or 'yyyy-MM'"
            )
        raw = self.execute(
            "alipay.data.dataservice.bill.downloadurl.query",
            {"bill_type": bill_type, "bill_date": text},
        )
        result = BillDownloadUrlResult.from_raw(raw)
        if not result.bill_download_url.startswith(("http://", "https://")):
            raise AlipayResponseError(
                "the answer has no bill_download_url",
                method="alipay.data.dataservice.bill.downloadurl.query",
            )
        return result

    def download_bill(
        self, url: str | BillDownloadUrlResult, *, max_size: int = 256 << 20
    ) -> bytes:
        """Fetch a bill zip from its download URL (a plain GET: the URL carries its own token
        and lives 30 seconds). Returns the zip's bytes (GBK CSV files inside)."""
        target = url.bill_download_url if isinstance(url, BillDownloadUrlResult) else url
        method = "bill download"
        if not target.startswith(("http://", "https://")):
            raise InvalidRequestError(f"bill download URL {target!r} is not an http(s) URL")
        try:
            with self._client().stream("GET", target) as response:
                if response.status_code != 200:
                    raise AlipayResponseError(
                        f"bill download answered HTTP {response.status_code} (the URL lives 30 "
                        "seconds: ask for a new one)",
                        method=method,
                        retryable=True,
                    )
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_size:
                        raise AlipayResponseError(
                            f"bill download is larger than {max_size} bytes", method=method
                        )
                    chunks.append(chunk)
        except httpx.TimeoutException as exc:
            raise AlipayTimeoutError(
                f"timed out downloading the bill ({exc})", method=method
            ) from None
        except httpx.TransportError as exc:
            raise AlipayTransportError(f"cannot download the bill ({exc})", method=method) from None
        return b"".join(chunks)

    # -- transfers (certificate mode only) ------------------------------------------------------

    def _require_certificates(self, method: str) -> None:
        if not (self.app_cert_sn and self.alipay_root_cert_sn):
            raise InvalidRequestError(
                f"{method} needs certificate mode (公钥证书模式): Alipay refuses fund transfers "
                "signed in public-key mode (isv.missing-app-cert-sn); build the client with "
                "AlipayClient.from_certificates(app_cert=..., alipay_public_cert=..., "
                "alipay_root_cert=...)",
                method=method,
            )

    def transfer(
        self,
        *,
        out_biz_no: str,
        trans_amount: Decimal | str,
        payee_identity: str,
        payee_identity_type: str = "ALIPAY_LOGON_ID",
        payee_name: str | None = None,
        order_title: str,
        remark: str | None = None,
    ) -> TransferResult:
        """``alipay.fund.trans.uni.transfer`` (单笔无密转账到支付宝账户, product
        ``TRANS_ACCOUNT_NO_PWD``, scene ``DIRECT_TRANSFER``): pay ``trans_amount`` from the
        merchant's balance to an Alipay account. Certificate mode only.

        Idempotent per ``out_biz_no``: after a timeout or ``SYSTEM_ERROR`` (the error is
        ``retryable``), send the same ``out_biz_no`` again or ask :meth:`transfer_query`.
        ``payee_identity_type``: ``ALIPAY_LOGON_ID`` (an e-mail or phone number; ``payee_name``,
        the account's real name, is then required) or ``ALIPAY_USER_ID`` (``2088...``)."""
        method = "alipay.fund.trans.uni.transfer"
        self._require_certificates(method)
        if payee_identity_type not in _IDENTITY_TYPES:
            raise InvalidRequestError(
                f"payee_identity_type {payee_identity_type!r}: use " + " or ".join(_IDENTITY_TYPES)
            )
        if not isinstance(payee_identity, str) or not payee_identity.strip():
            raise InvalidRequestError("payee_identity must be a non-empty string")
        if payee_identity_type == "ALIPAY_USER_ID" and not re.fullmatch(
            r"2088[0-9]{12}", payee_identity
        ):
            raise InvalidRequestError(
                f"payee_identity {payee_identity!r} is not an Alipay user id (2088 + 12 digits)"
            )
        payee: dict[str, str] = {
            "identity": payee_identity.strip(),
            "identity_type": payee_identity_type,
        }
        if payee_identity_type == "ALIPAY_LOGON_ID":
            if not payee_name or not payee_name.strip():
                raise InvalidRequestError(
                    "payee_name (the account's real name) is required with ALIPAY_LOGON_ID"
                )
        if payee_name and payee_name.strip():
            payee["name"] = payee_name.strip()
        biz: dict[str, Any] = {
            "out_biz_no": validate_out_trade_no(out_biz_no, "out_biz_no"),
            "trans_amount": _amount(trans_amount, "trans_amount"),
            "product_code": "TRANS_ACCOUNT_NO_PWD",
            "biz_scene": "DIRECT_TRANSFER",
            "order_title": _subject(order_title, "order_title"),
            "payee_info": payee,
        }
        if remark:
            biz["remark"] = remark[:200]
        try:
            raw = self.execute(method, biz)
        except AlipayBusinessError as exc:
            if exc.sub_code in _TRANSFER_UNKNOWN:
                exc.retryable = True  # the outcome is unknown: same out_biz_no, or query
            raise
        return TransferResult.from_raw(raw)

    def transfer_query(
        self,
        *,
        out_biz_no: str | None = None,
        order_id: str | None = None,
        pay_fund_order_id: str | None = None,
    ) -> TransferQueryResult:
        """``alipay.fund.trans.common.query``: where a transfer stands. A transfer Alipay never
        received raises :class:`AlipayBusinessError` with sub_code ``ORDER_NOT_EXIST``."""
        method = "alipay.fund.trans.common.query"
        self._require_certificates(method)
        biz: dict[str, Any] = {}
        if out_biz_no:
            biz["out_biz_no"] = validate_out_trade_no(out_biz_no, "out_biz_no")
            biz["product_code"] = "TRANS_ACCOUNT_NO_PWD"
            biz["biz_scene"] = "DIRECT_TRANSFER"
        for name, value in (("order_id", order_id), ("pay_fund_order_id", pay_fund_order_id)):
            if value:
                if not re.fullmatch(r"[0-9A-Za-z_]{1,64}", value):
                    raise InvalidRequestError(f"{name} {value!r} is invalid")
                biz[name] = value
        if not biz:
            raise InvalidRequestError("give out_biz_no, order_id or pay_fund_order_id")
        try:
            raw = self.execute(method, biz)
        except AlipayBusinessError as exc:
            if exc.sub_code in _TRANSFER_UNKNOWN:
                exc.retryable = True
            raise
        return TransferQueryResult.from_raw(raw)


_IDENTITY_TYPES = ("ALIPAY_LOGON_ID", "ALIPAY_USER_ID")
# Transfer sub-codes after which the outcome is unknown (Alipay: query, or retry the same
# out_biz_no).
_TRANSFER_UNKNOWN = frozenset({"SYSTEM_ERROR", "ACQ.SYSTEM_ERROR", "isp.unknow-error"})

_BILL_TYPES = ("trade", "signcustomer")
_BILL_DATE = re.compile(r"\d{4}-\d{2}(-\d{2})?", re.ASCII)


def _subject(subject: object, field: str = "subject") -> str:
    if not isinstance(subject, str) or not subject.strip():
        raise InvalidRequestError(f"{field} must be a non-empty string")
    if len(subject) > 256:
        raise InvalidRequestError(f"{field} is {len(subject)} characters; Alipay allows 256")
    return subject
