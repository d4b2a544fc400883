"""``/v3/...``: WeChat Pay API v3 requests checked and answered as WeChat does.

Every request needs ``Accept`` and a non-empty ``User-Agent`` (400 ``INVALID_REQUEST``), an
``Authorization`` whose five pairs may come in any order, the registered merchant certificate
serial and a signature over method, path and query as received, timestamp, nonce and body
bytes, with a timestamp within the window of real time (401 ``SIGN_ERROR``). Every answer
carries ``Request-ID``; every answer, errors included, is signed with the key the merchant's
mode names.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
import traceback
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote

from werkzeug.wrappers import Request, Response

from zhifu.wechatpay import SignatureError, format_time, parse_authorization, verify_request
from zhifu.wechatpay.aead import encrypt_resource

from . import bills
from .errors import WechatApiError, missing
from .keys import Merchant

if TYPE_CHECKING:
    from .service import WechatSandbox

__all__ = ["handle_v3"]

MAX_BODY = 1 << 20
SIGN_RULES = "请参考《微信支付商户REST API签名规则》"


def _canonical_url(request: Request) -> str:
    """The path and query exactly as received (what the merchant signed)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw.startswith("/"):
        return raw
    query = request.environ.get("QUERY_STRING", "")
    return quote(request.path, safe="/*|-_.~") + ("?" + query if query else "")


def handle_v3(wx: WechatSandbox, request: Request) -> Response:
    request_id = secrets.token_hex(16).upper()
    merchant: Merchant | None = None
    serial = request.headers.get("Wechatpay-Serial") or None
    try:
        merchant = _authenticate(wx, request)
        if serial is not None and wx.keys.key_by_serial(serial) is None:
            raise WechatApiError(
                400, "INVALID_REQUEST", f"Wechatpay-Serial {serial} 无效 (no such WeChat Pay key)"
            )
        path = _canonical_url(request).split("?", 1)[0]
        if request.method == "GET" and path == bills.DOWNLOAD_PATH:  # a file, not signed JSON
            return bills.download(wx, request, merchant, request_id)
        if wx.faults.take("api_errors", path):
            raise WechatApiError(500, "SYSTEM_ERROR", "系统异常，请稍后重试")
        if wx.faults.take("rate_limits", path):
            raise WechatApiError(429, "FREQUENCY_LIMITED", "你的操作过于频繁，请稍后再试")
        status, data = _route(wx, request, merchant, path)
    except WechatApiError as exc:
        return _answer(wx, merchant, serial, exc.status, exc.body(), request_id, "")
    except Exception:  # noqa: BLE001 - answer as WeChat would, log, never show a traceback
        traceback.print_exc(file=sys.stderr)
        failure = {"code": "SYSTEM_ERROR", "message": "系统异常，请稍后重试 (see the sandbox log)"}
        return _answer(wx, merchant, serial, 500, failure, request_id, "")
    response = _answer(wx, merchant, serial, status, data, request_id, path)
    if wx.faults.take("api_timeouts", path):
        time.sleep(float(wx.faults.value("api_timeout_seconds")))  # took effect; reply held
    return response


def _answer(
    wx: WechatSandbox,
    merchant: Merchant | None,
    request_serial: str | None,
    status: int,
    data: dict[str, Any] | None,
    request_id: str,
    path: str,
) -> Response:
    body = (
        b""
        if data is None
        else json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    )
    headers = {"Request-ID": request_id}
    if merchant is not None:
        headers.update(
            wx.sign_answer(merchant, request_serial, body, path if status < 300 else None)
        )
    response = Response(body, status=status, headers=headers)
    if data is None:
        response.headers.pop("Content-Type", None)
    else:
        response.headers["Content-Type"] = "application/json; charset=utf-8"
    return response


def _authenticate(wx: WechatSandbox, request: Request) -> Merchant:
    if not request.headers.get("Accept") or not request.headers.get("User-Agent", "").strip():
        raise WechatApiError(400, "INVALID_REQUEST", "Http头缺少Accept或User-Agent")
    header = request.headers.get("Authorization", "")
    if not header:
        raise WechatApiError(401, "SIGN_ERROR", f"Http头缺少Authorization，{SIGN_RULES}")
    try:
        auth = parse_authorization(header)
    except SignatureError as exc:
        raise WechatApiError(
            401, "SIGN_ERROR", f"Http头Authorization值格式错误，{SIGN_RULES} ({exc.message})"
        ) from None
    merchant = wx.keys.merchant(auth.mchid)
    if merchant is None:
        raise WechatApiError(401, "SIGN_ERROR", f"商户号{auth.mchid}不存在或未开通APIv3")
    try:
        matches = int(auth.serial_no, 16) == int(merchant.serial, 16)
    except ValueError:
        matches = False
    if not matches:
        raise WechatApiError(
            401,
            "SIGN_ERROR",
            "商户证书序列号有误。",
            {"field": "serial_no", "location": "authorization", "value": auth.serial_no},
        )
    if (request.content_length or 0) > MAX_BODY:
        raise WechatApiError(400, "INVALID_REQUEST", "请求体过大 (body larger than 1 MiB)")
    body = request.get_data(cache=True)
    canonical = _canonical_url(request)
    try:
        verify_request(
            header,
            request.method,
            canonical,
            body,
            merchant.public_key,
            now=time.time(),  # clients stamp with their own wall clock, not the sandbox's
            max_clock_skew=wx.timestamp_skew,
        )
    except SignatureError as exc:
        message = canonical_message_info(request.method, canonical, auth.timestamp, body)
        raise WechatApiError(
            401,
            "SIGN_ERROR",
            "签名错误，请检查后再试",
            {
                "field": "signature",
                "location": "authorization",
                "detail": {"issue": exc.message},
                "sign_information": message,
            },
        ) from None
    return merchant


def canonical_message_info(method: str, url: str, timestamp: str, body: bytes) -> dict[str, Any]:
    """What WeChat echoes about the message it checked (wpv3 issue #56)."""
    head = f"{method}\n{url}\n{timestamp}\n"
    return {
        "method": method,
        "url": url,
        "sign_message_length": len(head.encode()) + len(body) + 2,
        "truncated_sign_message": (head + body[:32].decode("utf-8", "replace")).replace(
            "\n", "\\n"
        ),
    }


def _json_body(request: Request) -> dict[str, Any]:
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WechatApiError(
            400, "PARAM_ERROR", "请求体不是合法的JSON (the body is not JSON)"
        ) from None
    if not isinstance(data, dict):
        raise WechatApiError(400, "PARAM_ERROR", "请求体须为JSON对象 (expected a JSON object)")
    text = raw.decode("utf-8")
    astral = next((ch for ch in text if ord(ch) > 0xFFFF), None)
    if astral is not None:  # API v3 takes UTF-8 of 1-3 bytes only (reference 1.4)
        raise WechatApiError(
            400,
            "PARAM_ERROR",
            f"请求包含4字节UTF-8字符 U+{ord(astral):X} (emoji and other characters beyond "
            "U+FFFF are refused)",
        )
    return data


def _query_mchid(request: Request, merchant: Merchant) -> None:
    query = parse_qs(request.environ.get("QUERY_STRING", ""))
    values = query.get("mchid")
    if not values:
        raise missing("/mchid", "直连商户号", location="uri_template")
    if values[0] != merchant.mchid:
        raise WechatApiError(400, "INVALID_REQUEST", "mchid与请求签名的商户号不一致")


def _route(
    wx: WechatSandbox, request: Request, merchant: Merchant, path: str
) -> tuple[int, dict[str, Any] | None]:
    method = request.method
    trades = "/v3/pay/transactions/"
    by_no = trades + "out-trade-no/"
    refunds = "/v3/refund/domestic/refunds"
    if method == "GET" and path == "/v3/certificates":
        return 200, _certificates(wx, merchant)
    if method == "POST" and path in (trades + "native", trades + "h5", trades + "jsapi"):
        kind = path.rsplit("/", 1)[1]
        answer = wx.orders.place(merchant, kind, _json_body(request))
        if kind == "h5":
            base = request.host_url.rstrip("/")
            answer = {
                "h5_url": f"{base}/cgi-bin/mmpayweb-bin/checkmweb?prepay_id="
                f"{answer['h5_prepay']}&package={answer['package']}"
            }
        return 200, answer
    if method == "POST" and path.startswith(by_no) and path.endswith("/close"):
        out_trade_no = unquote(path[len(by_no) : -len("/close")])
        body = _json_body(request)
        if body.get("mchid") is None:
            raise missing("/mchid", "直连商户号")
        if body["mchid"] != merchant.mchid:
            raise WechatApiError(400, "INVALID_REQUEST", "mchid与请求签名的商户号不一致")
        wx.orders.close(merchant, out_trade_no)
        return 204, None
    if method == "GET" and path.startswith(by_no) and "/" not in path[len(by_no) :]:
        _query_mchid(request, merchant)
        order = wx.orders.get(merchant.mchid, unquote(path[len(by_no) :]))
        if order is None:
            raise WechatApiError(404, "ORDER_NOT_EXIST", "订单不存在")
        return 200, order.as_json()
    if method == "GET" and path.startswith(trades + "id/"):
        _query_mchid(request, merchant)
        order = wx.orders.by_transaction_id(merchant.mchid, unquote(path[len(trades + "id/") :]))
        if order is None:
            raise WechatApiError(404, "ORDER_NOT_EXIST", "订单不存在")
        return 200, order.as_json()
    if method == "GET" and path in (bills.TRADEBILL_PATH, bills.FUNDFLOW_PATH):
        return 200, bills.bill_answer(wx, request, merchant, path)
    if method == "POST" and path == refunds:
        return 200, wx.orders.create_refund(merchant, _json_body(request))
    if method == "GET" and path.startswith(refunds + "/"):
        refund = wx.orders.refund(merchant.mchid, unquote(path[len(refunds) + 1 :]))
        if refund is None:
            raise WechatApiError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return 200, refund.as_json(wx.orders.by_id(refund.order_id))
    raise WechatApiError(
        404, "NOT_FOUND", f"{method} {path}: 无此接口 (the sandbox does not imitate this API)"
    )


def _certificates(wx: WechatSandbox, merchant: Merchant) -> dict[str, Any]:
    if merchant.mode == "public_key":
        raise WechatApiError(
            404,
            "RESOURCE_NOT_EXISTS",
            "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥",
        )
    from zhifu.wechatpay import load_certificate

    data = []
    for key in wx.keys.platform:
        cert = load_certificate(key.certificate_pem)
        data.append(
            {
                "serial_no": key.serial,
                "effective_time": format_time(cert.not_valid_before_utc),
                "expire_time": format_time(cert.not_valid_after_utc),
                "encrypt_certificate": encrypt_resource(
                    merchant.apiv3_bytes, key.certificate_pem.encode("ascii"), "certificate"
                ),
            }
        )
    return {"data": data}
