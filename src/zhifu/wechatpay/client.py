"""The WeChat Pay API v3 client: one instance per merchant, keys loaded once, no I/O at init.

Layering as in :mod:`zhifu.alipay.client`: the API methods validate their arguments and build
the JSON body; :meth:`WechatPayClient.request` serialises it once, signs those exact bytes,
sends them, verifies every 2xx answer and maps failures to :mod:`zhifu.wechatpay.errors`; the
``httpx`` transport underneath is injectable (tests mount a fake WeChat, the demo the sandbox).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from ..money import AmountError, parse_amount, to_fen
from .aead import new_nonce
from .certificates import (
    CERTIFICATES_PATH,
    PlatformCertificate,
    PlatformCertificates,
    parse_certificates_response,
)
from .errors import (
    RETRYABLE_CODES,
    InvalidRequestError,
    KeyFormatError,
    SignatureError,
    WechatPayAPIError,
    WechatPayResponseError,
    WechatPayTimeoutError,
    WechatPayTransportError,
)
from .keys import KeySource, load_apiv3_key, normalise_serial
from .notifications import Notification, parse_notification
from .results import BillDownload, H5Prepay, JsapiPrepay, NativePrepay, Refund, Transaction
from .signing import SIGNATURE_NONCE_LENGTH, RequestSigner, jsapi_message
from .times import beijing_now, format_time
from .verification import MAX_CLOCK_SKEW, VerifiedSignature, Verifier

__all__ = [
    "BACKUP_BASE_URL",
    "PRODUCTION_BASE_URL",
    "ApiResponse",
    "WechatPayClient",
    "validate_out_refund_no",
    "validate_out_trade_no",
]

PRODUCTION_BASE_URL = "https://api.mch.weixin.qq.com"
BACKUP_BASE_URL = "https://api2.mch.weixin.qq.com"
USER_AGENT = "zhifu/0.1 (WeChat Pay API v3; python-httpx)"

_OUT_TRADE_NO = re.compile(r"[A-Za-z0-9_\-|*]{6,32}", re.ASCII)
_OUT_REFUND_NO = re.compile(r"[A-Za-z0-9_\-|*@]{1,64}", re.ASCII)
_TRANSACTION_ID = re.compile(r"[0-9A-Za-z]{1,32}", re.ASCII)
_H5_TYPES = ("Wap", "iOS", "Android")
_PATH = re.compile(r"/[!-~]*", re.ASCII)  # printable ASCII: what goes on the wire, as signed


def validate_out_trade_no(value: object, field: str = "out_trade_no") -> str:
    """WeChat's ``out_trade_no``: 6-32 letters, digits or ``_ - | *``."""
    if not isinstance(value, str) or not _OUT_TRADE_NO.fullmatch(value):
        raise InvalidRequestError(
            f"{field} {value!r} is invalid: WeChat Pay takes 6-32 letters, digits or _-|*"
        )
    return value


def validate_out_refund_no(value: object) -> str:
    """``out_refund_no``: 1-64 letters, digits or ``_ - | * @`` (the refund's idempotency key)."""
    if not isinstance(value, str) or not _OUT_REFUND_NO.fullmatch(value):
        raise InvalidRequestError(
            f"out_refund_no {value!r} is invalid: use 1-64 letters, digits or _-|*@"
        )
    return value


def _fen(value: object, field: str) -> int:
    try:
        return to_fen(parse_amount(value, field=field))
    except AmountError as exc:
        raise InvalidRequestError(str(exc)) from None


def _text(value: object, field: str, limit: int, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidRequestError(f"{field} must be a non-empty string")
    if len(value) > limit:
        raise InvalidRequestError(f"{field} is {len(value)} characters; WeChat Pay allows {limit}")
    return value


def _url(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise InvalidRequestError(f"{field} {value!r} must be an absolute http(s) URL")
    if len(value) > 255:
        raise InvalidRequestError(f"{field} is longer than 255 characters")
    return value


def _json_bytes(body: Mapping[str, Any]) -> bytes:
    """The one serialisation of a request body: these bytes are signed and sent."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    astral = next((ch for ch in text if ord(ch) > 0xFFFF), None)
    if astral is not None:
        # WeChat refuses 4-byte UTF-8 (emoji and other astral characters) in API v3 bodies.
        raise InvalidRequestError(
            f"the request contains {astral!r} (U+{ord(astral):X}), which WeChat Pay refuses: "
            "characters beyond U+FFFF such as emoji cannot be sent"
        )
    return text.encode("utf-8")


@dataclass(frozen=True)
class ApiResponse:
    """A verified 2xx answer."""

    status: int
    data: dict[str, Any]  # {} for 204 No Content
    request_id: str | None
    signature: VerifiedSignature


class WechatPayClient:
    """Client for one direct merchant (直连商户) against one base URL.

    WeChat's key: ``wechatpay_public_key`` + ``wechatpay_public_key_id`` (public-key mode), or
    platform certificates (certificate mode: downloaded from ``/v3/certificates`` when a serial
    is unknown, optionally seeded with ``platform_certificates`` PEMs and kept in
    ``certificate_cache_dir``), or both while migrating. ``platform_certificates`` defaults to
    downloading when no public key is given; pass ``True`` to also accept certificate-signed
    answers beside the public key, ``False`` to refuse them.
    """

    def __init__(
        self,
        *,
        mchid: str,
        appid: str,
        merchant_private_key: KeySource | rsa.RSAPrivateKey,
        merchant_serial_no: str,
        apiv3_key: str | bytes,
        wechatpay_public_key: KeySource | rsa.RSAPublicKey | None = None,
        wechatpay_public_key_id: str | None = None,
        platform_certificates: Iterable[KeySource | x509.Certificate]
        | PlatformCertificates
        | bool
        | None = None,
        certificate_cache_dir: str | None = None,
        base_url: str = PRODUCTION_BASE_URL,
        notify_url: str | None = None,
        timeout: float | httpx.Timeout = 15.0,
        transport: httpx.BaseTransport | None = None,
        user_agent: str = USER_AGENT,
        max_clock_skew: int = MAX_CLOCK_SKEW,
        clock: Callable[[], float] = time.time,
    ) -> None:
        for name, value in (("mchid", mchid), ("appid", appid)):
            if not isinstance(value, str) or not value.strip():
                raise InvalidRequestError(f"{name} must be a non-empty string")
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise InvalidRequestError(f"base_url {base_url!r} is not an http(s) URL")
        self.mchid = mchid.strip()
        self.appid = appid.strip()
        self.base_url = base_url.rstrip("/")
        self._path_prefix = urlsplit(self.base_url).path
        self.notify_url = _url(notify_url, "notify_url") if notify_url is not None else None
        self.user_agent = user_agent
        self._clock = clock
        self._apiv3_key = load_apiv3_key(apiv3_key)
        self._signer = RequestSigner(
            mchid=self.mchid,
            serial_no=normalise_serial(merchant_serial_no, "merchant certificate serial"),
            private_key=merchant_private_key,
        )
        if (
            certificate_cache_dir
            and platform_certificates is None
            and wechatpay_public_key is not None
        ):
            raise KeyFormatError(
                "certificate_cache_dir is set but the public key alone is configured: pass "
                "platform_certificates=True to accept certificate-signed answers while migrating"
            )
        store: PlatformCertificates | None
        if isinstance(platform_certificates, PlatformCertificates):
            store = platform_certificates
        elif platform_certificates is False or (
            platform_certificates is None and wechatpay_public_key is not None
        ):
            store = None  # public-key mode: a certificate-signed answer is refused
        else:
            seeds = () if isinstance(platform_certificates, bool | None) else platform_certificates
            store = PlatformCertificates(seeds, cache_dir=certificate_cache_dir)
        if store is not None and not store.can_refresh:
            store.set_fetcher(self.download_certificates)
        self._verifier = Verifier(
            public_key=wechatpay_public_key,
            public_key_id=wechatpay_public_key_id,
            certificates=store,
            max_clock_skew=max_clock_skew,
            clock=clock,
        )
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._transport = transport
        self._http: httpx.Client | None = None
        self._http_lock = threading.Lock()

    # -- plumbing -----------------------------------------------------------------------------

    @property
    def verifier(self) -> Verifier:
        return self._verifier

    @property
    def merchant_serial_no(self) -> str:
        return self._signer.serial_no

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

    def _wechatpay_serial(self) -> str | None:
        """The ``Wechatpay-Serial`` to send: the key WeChat should sign the answer with."""
        if self._verifier.public_key_id:
            return self._verifier.public_key_id
        store = self._verifier.certificates
        newest = store.newest() if store is not None else None
        return newest.serial if newest is not None else None

    def _send(
        self, method: str, path: str, query: Mapping[str, str] | None, body: bytes | None
    ) -> tuple[httpx.Response, str]:
        canonical = path + ("?" + urlencode(query) if query else "")
        operation = f"{method} {path}"
        url = self.base_url + canonical
        headers = {
            "Accept": "application/json",
            "User-Agent": self.user_agent,
            "Authorization": self._signer.authorization(
                method,
                self._path_prefix + canonical,
                body or b"",
                timestamp=int(self._clock()),
                nonce=new_nonce(SIGNATURE_NONCE_LENGTH),
            ),
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        serial = self._wechatpay_serial()
        if serial:
            headers["Wechatpay-Serial"] = serial
        try:
            response = self._client().request(method, url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise WechatPayTimeoutError(f"timed out ({exc})", operation=operation) from None
        except httpx.TransportError as exc:
            raise WechatPayTransportError(
                f"cannot reach WeChat Pay ({exc})", operation=operation
            ) from None
        if not 200 <= response.status_code < 300:
            raise self._api_error(response, operation)
        return response, operation

    @staticmethod
    def _api_error(response: httpx.Response, operation: str) -> WechatPayAPIError:
        """WeChat's refusal, as one error. Error answers may be unsigned: never trusted for more
        than their code (reference section 5.1)."""
        status = response.status_code
        code: str | None = None
        message = f"WeChat Pay answered HTTP {status}"
        detail: Any = None
        try:
            data = json.loads(response.content) if response.content else None
        except (ValueError, UnicodeDecodeError):
            data = None
        if isinstance(data, dict):
            code = str(data["code"]) if data.get("code") else None
            message = str(data.get("message") or message)
            detail = data.get("detail")
        return WechatPayAPIError(
            message,
            operation=operation,
            code=code,
            detail=detail,
            status=status,
            request_id=response.headers.get("Request-ID"),
            retryable=status >= 500 or status == 429 or code in RETRYABLE_CODES,
        )

    def _verify(self, response: httpx.Response, operation: str, verifier: Verifier) -> ApiResponse:
        request_id = response.headers.get("Request-ID")
        try:
            signature = verifier.verify(response.headers, response.content)
        except SignatureError as exc:
            # WeChat may well have acted on the request (a refund accepted, an order closed):
            # the caller queries, or repeats it with the same out_trade_no / out_refund_no.
            raise SignatureError(
                f"answer refused: {exc.message}",
                probe=exc.probe,
                operation=operation,
                status=response.status_code,
                request_id=request_id,
                retryable=True,
            ) from exc.__cause__  # e.g. the DecryptionError of a failed certificate download
        data: dict[str, Any] = {}
        if response.content:
            try:
                parsed = json.loads(response.content)
            except (ValueError, UnicodeDecodeError):
                raise WechatPayResponseError(
                    "answer is not JSON", operation=operation, request_id=request_id
                ) from None
            if not isinstance(parsed, dict):
                raise WechatPayResponseError(
                    "answer is not a JSON object", operation=operation, request_id=request_id
                )
            data = parsed
        return ApiResponse(response.status_code, data, request_id, signature)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> ApiResponse:
        """Call any API v3 endpoint; the answer is verified before it is returned.

        ``path`` is the path below the base URL with its variables already URL-quoted.
        Raises :class:`WechatPayAPIError` for a 4xx/5xx answer, :class:`SignatureError` for a
        2xx answer whose signature does not hold, :class:`WechatPayTransportError` if the call
        did not complete.
        """
        if not _PATH.fullmatch(path) or "?" in path or "#" in path:
            raise InvalidRequestError(
                f"path {path!r} must start with '/' and be URL-quoted ASCII without a query (pass query=)"
            )
        content = _json_bytes(body) if body is not None else None
        response, operation = self._send(method.upper(), path, query, content)
        return self._verify(response, operation, self._verifier)

    # -- platform certificates ----------------------------------------------------------------

    def download_certificates(self) -> list[PlatformCertificate]:
        """``GET /v3/certificates``: the current platform certificates, decrypted with the APIv3
        key. The answer is verified with the certificates it carries (only WeChat can encrypt
        them with this merchant's APIv3 key) or with the public key, while migrating."""
        response, operation = self._send("GET", CERTIFICATES_PATH, None, None)
        try:
            data = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            raise WechatPayResponseError("answer is not JSON", operation=operation) from None
        certificates = parse_certificates_response(data, self._apiv3_key)
        verifier = Verifier(
            public_key=self._verifier.public_key,
            public_key_id=self._verifier.public_key_id,
            certificates=PlatformCertificates(certificates),
            max_clock_skew=self._verifier.max_clock_skew,
            clock=self._clock,
        )
        self._verify(response, operation, verifier)
        return certificates

    # -- notifications ------------------------------------------------------------------------

    def verify_notification(
        self, headers: Mapping[str, str], body: bytes | str, *, now: float | None = None
    ) -> Notification:
        """Verify a notification's signature and decrypt its resource.

        ``headers``: the request's headers (a dict, Django's ``request.headers`` or
        ``request.META``); ``body``: the raw bytes (``request.body``), never a parsed copy.
        Raises :class:`SignatureError` (``probe`` set for SIGNTEST probes),
        :class:`DecryptionError` or :class:`WechatPayResponseError`. The caller still checks
        mchid, appid, out_trade_no and the amount against its own order. ``now`` (a Unix time)
        replaces the clock in the timestamp check: a stored notification is checked against the
        moment it was received.
        """
        signature = self._verifier.verify(headers, body, now=now)
        return parse_notification(body, self._apiv3_key, signature)

    # -- placing orders -----------------------------------------------------------------------

    def _order_body(
        self,
        *,
        out_trade_no: str,
        total: Decimal | str,
        description: str,
        notify_url: str | None,
        time_expire: datetime | None,
        attach: str | None,
        goods_tag: str | None,
        extra: Mapping[str, Any],
    ) -> dict[str, Any]:
        notify = notify_url or self.notify_url
        if notify is None:
            raise InvalidRequestError("notify_url is required (give it here or to the client)")
        notify = _url(notify, "notify_url")
        if "?" in notify:
            raise InvalidRequestError("notify_url must not carry a query string (WeChat's rule)")
        body: dict[str, Any] = {
            "appid": self.appid,
            "mchid": self.mchid,
            "description": _text(description, "description", 127),
            "out_trade_no": validate_out_trade_no(out_trade_no),
            "notify_url": notify,
            "amount": {"total": _fen(total, "total"), "currency": "CNY"},
        }
        if time_expire is not None:
            body["time_expire"] = format_time(time_expire, "time_expire")
        if attach is not None:
            body["attach"] = _text(attach, "attach", 128, required=False)
        if goods_tag is not None:
            body["goods_tag"] = _text(goods_tag, "goods_tag", 32, required=False)
        for key, value in extra.items():
            if key in body:
                raise InvalidRequestError(f"{key!r} is set by the client and cannot be overridden")
            body[key] = value
        return body

    def native(
        self,
        *,
        out_trade_no: str,
        total: Decimal | str,
        description: str,
        notify_url: str | None = None,
        time_expire: datetime | None = None,
        attach: str | None = None,
        goods_tag: str | None = None,
        **extra: Any,
    ) -> NativePrepay:
        """Native pay (``POST /v3/pay/transactions/native``): a ``code_url`` for a QR code."""
        body = self._order_body(
            out_trade_no=out_trade_no,
            total=total,
            description=description,
            notify_url=notify_url,
            time_expire=time_expire,
            attach=attach,
            goods_tag=goods_tag,
            extra=extra,
        )
        data = self.request("POST", "/v3/pay/transactions/native", body=body).data
        code_url = data.get("code_url")
        if not isinstance(code_url, str) or not code_url:
            raise WechatPayResponseError("native answer has no code_url")
        return NativePrepay(out_trade_no, code_url, data)

    def h5(
        self,
        *,
        out_trade_no: str,
        total: Decimal | str,
        description: str,
        payer_client_ip: str,
        h5_type: str = "Wap",
        app_name: str | None = None,
        app_url: str | None = None,
        notify_url: str | None = None,
        time_expire: datetime | None = None,
        attach: str | None = None,
        goods_tag: str | None = None,
        **extra: Any,
    ) -> H5Prepay:
        """H5 pay (``POST /v3/pay/transactions/h5``) for phone browsers outside WeChat.

        ``payer_client_ip`` is the buyer's IP address. The ``h5_url`` lives five minutes; open
        :meth:`H5Prepay.url` with a ``redirect_url`` to bring the buyer back.
        """
        if h5_type not in _H5_TYPES:
            raise InvalidRequestError(f"h5_type {h5_type!r}: use one of {', '.join(_H5_TYPES)}")
        h5_info: dict[str, str] = {"type": h5_type}
        if app_name is not None:
            h5_info["app_name"] = str(_text(app_name, "app_name", 64))
        if app_url is not None:
            h5_info["app_url"] = str(_text(app_url, "app_url", 128))
        body = self._order_body(
            out_trade_no=out_trade_no,
            total=total,
            description=description,
            notify_url=notify_url,
            time_expire=time_expire,
            attach=attach,
            goods_tag=goods_tag,
            extra=extra,
        )
        body["scene_info"] = {
            "payer_client_ip": _text(payer_client_ip, "payer_client_ip", 45),
            "h5_info": h5_info,
        }
        created_at = beijing_now()
        data = self.request("POST", "/v3/pay/transactions/h5", body=body).data
        h5_url = data.get("h5_url")
        if not isinstance(h5_url, str) or not h5_url:
            raise WechatPayResponseError("h5 answer has no h5_url")
        return H5Prepay(out_trade_no, h5_url, created_at, data)

    def jsapi(
        self,
        *,
        out_trade_no: str,
        total: Decimal | str,
        description: str,
        openid: str,
        notify_url: str | None = None,
        time_expire: datetime | None = None,
        attach: str | None = None,
        goods_tag: str | None = None,
        **extra: Any,
    ) -> JsapiPrepay:
        """JSAPI pay (``POST /v3/pay/transactions/jsapi``) inside WeChat's browser: a
        ``prepay_id`` and the signed parameters for ``getBrandWCPayRequest``."""
        body = self._order_body(
            out_trade_no=out_trade_no,
            total=total,
            description=description,
            notify_url=notify_url,
            time_expire=time_expire,
            attach=attach,
            goods_tag=goods_tag,
            extra=extra,
        )
        body["payer"] = {"openid": _text(openid, "openid", 128)}
        data = self.request("POST", "/v3/pay/transactions/jsapi", body=body).data
        prepay_id = data.get("prepay_id")
        if not isinstance(prepay_id, str) or not prepay_id:
            raise WechatPayResponseError("jsapi answer has no prepay_id")
        return JsapiPrepay(out_trade_no, prepay_id, self.jsapi_pay_params(prepay_id), data)

    def jsapi_pay_params(
        self, prepay_id: str, *, timestamp: int | None = None, nonce: str | None = None
    ) -> dict[str, str]:
        """The object for ``WeixinJSBridge.invoke('getBrandWCPayRequest', …)``.

        ``paySign`` is SHA256withRSA with the merchant key over
        ``appId\\ntimeStamp\\nnonceStr\\npackage\\n``; ``timeStamp`` is a string of seconds.
        """
        if not isinstance(prepay_id, str) or not prepay_id:
            raise InvalidRequestError("prepay_id must be a non-empty string")
        stamp = str(int(self._clock()) if timestamp is None else timestamp)
        nonce_str = nonce or new_nonce(SIGNATURE_NONCE_LENGTH)
        package = f"prepay_id={prepay_id}"
        return {
            "appId": self.appid,
            "timeStamp": stamp,
            "nonceStr": nonce_str,
            "package": package,
            "signType": "RSA",
            "paySign": self._signer.sign(jsapi_message(self.appid, stamp, nonce_str, package)),
        }

    # -- after the order ----------------------------------------------------------------------

    def query(
        self, *, out_trade_no: str | None = None, transaction_id: str | None = None
    ) -> Transaction:
        """Query an order by ``out_trade_no`` (works before payment) or ``transaction_id``.

        An unknown order raises :class:`WechatPayAPIError` with code ``ORDER_NOT_EXIST``.
        """
        if (out_trade_no is None) == (transaction_id is None):
            raise InvalidRequestError("give exactly one of out_trade_no and transaction_id")
        if out_trade_no is not None:
            number = validate_out_trade_no(out_trade_no)
            path = f"/v3/pay/transactions/out-trade-no/{quote(number, safe='*')}"
        else:
            if not isinstance(transaction_id, str) or not _TRANSACTION_ID.fullmatch(transaction_id):
                raise InvalidRequestError(f"transaction_id {transaction_id!r} is invalid")
            path = f"/v3/pay/transactions/id/{transaction_id}"
        data = self.request("GET", path, query={"mchid": self.mchid}).data
        return Transaction.from_raw(data)

    def close(self, out_trade_no: str) -> None:
        """Close an unpaid order (answer 204). A paid order cannot be closed: refund it."""
        number = validate_out_trade_no(out_trade_no)
        path = f"/v3/pay/transactions/out-trade-no/{quote(number, safe='*')}/close"
        self.request("POST", path, body={"mchid": self.mchid})

    def refund(
        self,
        *,
        out_refund_no: str,
        refund: Decimal | str,
        total: Decimal | str,
        out_trade_no: str | None = None,
        transaction_id: str | None = None,
        reason: str | None = None,
        notify_url: str | None = None,
        funds_account: str | None = None,
    ) -> Refund:
        """``POST /v3/refund/domestic/refunds``: ask for a refund (the answer means accepted;
        the result comes by notification or :meth:`refund_query`). Idempotent per
        ``out_refund_no``: retry an unknown outcome with the same number. ``total`` is the
        original order's total."""
        if (out_trade_no is None) == (transaction_id is None):
            raise InvalidRequestError("give exactly one of out_trade_no and transaction_id")
        refund_fen = _fen(refund, "refund")
        total_fen = _fen(total, "total")
        if refund_fen > total_fen:
            raise InvalidRequestError(f"refund {refund} is more than the order total {total}")
        body: dict[str, Any] = {}
        if out_trade_no is not None:
            body["out_trade_no"] = validate_out_trade_no(out_trade_no)
        else:
            if not isinstance(transaction_id, str) or not _TRANSACTION_ID.fullmatch(transaction_id):
                raise InvalidRequestError(f"transaction_id {transaction_id!r} is invalid")
            body["transaction_id"] = transaction_id
        body["out_refund_no"] = validate_out_refund_no(out_refund_no)
        if reason is not None:
            body["reason"] = _text(reason, "reason", 80)
        notify = notify_url or self.notify_url
        if notify is not None:
            body["notify_url"] = _url(notify, "notify_url")
        if funds_account is not None:
            body["funds_account"] = funds_account
        body["amount"] = {"refund": refund_fen, "total": total_fen, "currency": "CNY"}
        data = self.request("POST", "/v3/refund/domestic/refunds", body=body).data
        return Refund.from_raw(data)

    def refund_query(self, out_refund_no: str) -> Refund:
        """``GET /v3/refund/domestic/refunds/{out_refund_no}``; unknown: ``RESOURCE_NOT_EXISTS``."""
        number = validate_out_refund_no(out_refund_no)
        data = self.request("GET", f"/v3/refund/domestic/refunds/{quote(number, safe='*')}").data
        return Refund.from_raw(data)

    # -- bills ----------------------------------------------------------------------------------

    def trade_bill(
        self, *, bill_date: date | str, bill_type: str = "ALL", tar_type: str | None = None
    ) -> BillDownload:
        """``GET /v3/bill/tradebill``: the day's trade bill (``ALL``, ``SUCCESS`` or ``REFUND``),
        ``tar_type="GZIP"`` for a gzipped download. WeChat makes it the next morning; before,
        it answers ``NO_STATEMENT_EXIST`` (:class:`WechatPayAPIError`)."""
        if bill_type not in _BILL_TYPES:
            raise InvalidRequestError(
                f"bill_type {bill_type!r}: use one of {', '.join(_BILL_TYPES)}"
            )
        query = {"bill_date": _bill_date(bill_date), "bill_type": bill_type}
        return self._bill("/v3/bill/tradebill", query, tar_type)

    def fundflow_bill(
        self, *, bill_date: date | str, account_type: str = "BASIC", tar_type: str | None = None
    ) -> BillDownload:
        """``GET /v3/bill/fundflowbill``: the day's movements of one account (``BASIC``,
        ``OPERATION`` or ``FEES``)."""
        if account_type not in _ACCOUNT_TYPES:
            raise InvalidRequestError(
                f"account_type {account_type!r}: use one of {', '.join(_ACCOUNT_TYPES)}"
            )
        query = {"bill_date": _bill_date(bill_date), "account_type": account_type}
        return self._bill("/v3/bill/fundflowbill", query, tar_type)

    def _bill(self, path: str, query: dict[str, str], tar_type: str | None) -> BillDownload:
        if tar_type is not None:
            if tar_type != "GZIP":
                raise InvalidRequestError(f"tar_type {tar_type!r}: use 'GZIP' or None")
            query["tar_type"] = tar_type
        bill = BillDownload.from_raw(self.request("GET", path, query=query).data)
        if not bill.download_url or bill.hash_type.upper() != "SHA1" or not bill.hash_value:
            raise WechatPayResponseError(
                "the bill answer lacks download_url or a SHA1 hash_value", operation=f"GET {path}"
            )
        return bill

    def download_bill(self, bill: BillDownload, *, max_size: int = 256 << 20) -> bytes:
        """Fetch a bill with a signed GET of its ``download_url`` and return its plain bytes
        (unpacked if gzipped). The answer is the file, not signed JSON: its integrity is the
        SHA1 ``hash_value`` WeChat gave with the URL, checked here
        (:class:`WechatPayResponseError` if it differs). The URL must be on this client's
        base URL: the Authorization header goes nowhere else."""
        operation = "GET bill download"
        url = urlsplit(bill.download_url)
        base = urlsplit(self.base_url)
        if (url.scheme, url.netloc) != (base.scheme, base.netloc) or not url.path.startswith(
            self._path_prefix + "/"
        ):
            raise WechatPayResponseError(
                f"download_url {bill.download_url!r} is not on {self.base_url}: refusing to send "
                "it a signed request",
                operation=operation,
            )
        path = url.path[len(self._path_prefix) :]
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        response, _ = self._send("GET", path, query or None, None)
        body = response.content
        if len(body) > max_size:
            raise WechatPayResponseError(
                f"the bill is larger than {max_size} bytes", operation=operation
            )
        if body[:2] == b"\x1f\x8b":
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError, zlib.error) as exc:
                raise WechatPayResponseError(
                    f"the gzipped bill cannot be unpacked ({exc})", operation=operation
                ) from None
        digest = hashlib.sha1(body, usedforsecurity=False).hexdigest()
        if digest != bill.hash_value.strip().lower():
            raise WechatPayResponseError(
                f"the bill's SHA1 is {digest}, WeChat said {bill.hash_value}: incomplete or "
                "altered download",
                operation=operation,
                retryable=True,
            )
        return body


_BILL_TYPES = (
    "ALL",
    "SUCCESS",
    "REFUND",
    "RECHARGE_REFUND",
    "ALL_SPECIAL",
    "SUC_SPECIAL",
    "REF_SPECIAL",
)
_ACCOUNT_TYPES = ("BASIC", "OPERATION", "FEES")


def _bill_date(value: date | str) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value, re.ASCII):
        return value
    raise InvalidRequestError(f"bill_date {value!r}: use a date or 'yyyy-MM-dd'")
