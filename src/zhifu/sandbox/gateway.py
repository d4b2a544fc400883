"""``/gateway.do``: Alipay's OpenAPI gateway protocol and one handler per method.

Checks, in Alipay's terms (reference sections 1, 2, 5.0, 5.1, 10): parameters merged from the
query string and a form body and decoded per ``charset``; required parameters (40001
``isv.missing-*``); app id (``isv.invalid-app-id``, the one unsigned answer), method, format,
version, sign type, timestamp (strict ``yyyy-MM-dd HH:mm:ss``) and the signature over every
received parameter except ``sign``, empties dropped, sorted, ``biz_content`` exactly as received.
In certificate mode (the request carries ``app_cert_sn``/``alipay_root_cert_sn``) the SNs must
be those of the app's registered certificate and the sandbox's root bundle.
Answers are ``{"<method>_response":{...},"sign":"..."}`` signed over the exact bytes emitted,
with ``"alipay_cert_sn"`` before ``"sign"`` in certificate mode.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from zhifu.alipay import Verifier, request_content
from zhifu.money import format_amount

from .accounts import App, mask_login
from .bills import bill_download_url
from .clock import fmt, parse_beijing
from .messages import codec
from .trades import PAGE_METHODS, TradeError, out_no, parse_trade_request
from .transfers import TRANSFER_METHODS
from .web import render

if TYPE_CHECKING:
    from .app import Sandbox

__all__ = ["SERVER_METHODS", "GatewayError", "handle_gateway"]

MAX_BODY = 1 << 20
MSG = {
    "10000": "Success",
    "20000": "Service Currently Unavailable",
    "40001": "Missing Required Arguments",
    "40002": "Invalid Arguments",
    "40004": "Business Failed",
}
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
CHARSETS = ("utf-8", "gbk", "gb2312")


class GatewayError(Exception):
    """A failure answered in Alipay's envelope (``code`` 40001/40002/40004/20000)."""

    def __init__(
        self,
        code: str,
        sub_code: str,
        sub_msg: str,
        *,
        signed: bool = True,
        extra: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code} {sub_code}: {sub_msg}")
        self.code = code
        self.sub_code = sub_code
        self.sub_msg = sub_msg
        self.signed = signed
        self.extra = extra or {}


# -- parameters -----------------------------------------------------------------------------


def _pairs(raw: bytes) -> list[tuple[str, str]]:
    """Percent-decoded pairs whose strings still hold the raw bytes (as latin-1)."""
    return parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="latin-1")


def parse_params(request: Request) -> tuple[dict[str, str], str]:
    """All parameters (query string + form body) decoded per their ``charset``."""
    raw = _pairs(request.query_string)
    if request.method == "POST":
        if request.mimetype == "multipart/form-data":
            raw += [
                (k, v.encode("utf-8").decode("latin-1")) for k, v in request.form.items(multi=True)
            ]
        elif request.mimetype in ("application/x-www-form-urlencoded", "", "text/plain"):
            if (request.content_length or 0) > MAX_BODY:
                raise GatewayError("40002", "isv.invalid-parameter", "请求体过大 (body too large)")
            raw += _pairs(request.get_data(cache=True))
    charset = "utf-8"
    for key, value in raw:
        if key == "charset" and value:
            charset = value
    if charset.lower() not in CHARSETS:
        raise GatewayError(
            "40002", "isv.invalid-charset", f"字符集错误: {charset!r} (use utf-8 or gbk)"
        )
    params: dict[str, str] = {}
    for key_raw, value_raw in raw:
        try:
            key = key_raw.encode("latin-1").decode(codec(charset))
            value = value_raw.encode("latin-1").decode(codec(charset))
        except UnicodeDecodeError:
            raise GatewayError(
                "40002", "isv.invalid-charset", f"参数不是合法的 {charset} 编码 ({key_raw!r})"
            ) from None
        if key in params and params[key] != value:
            raise GatewayError(
                "40002",
                "isv.suspected-attack",
                f"参数 {key} 出现多次且取值不同 (duplicate parameter)",
            )
        params[key] = value
    return params, charset


# -- the envelope ---------------------------------------------------------------------------


def envelope(
    sandbox: Sandbox,
    node_name: str,
    node: dict[str, Any],
    *,
    sign_type: str,
    charset: str,
    signed: bool,
    corrupt: bool = False,
    cert_mode: bool = False,
) -> bytes:
    raw_node = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
    encoding = codec(charset)
    body = '{"' + node_name + '":' + raw_node
    if signed:
        sign = sandbox.accounts.signer(sign_type).sign(raw_node.encode(encoding, "replace"))
        if corrupt:
            sign = ("B" if sign[0] == "A" else "A") + sign[1:]
        if cert_mode:  # the SN of the certificate whose key signed, between node and sign
            body += ',"alipay_cert_sn":"' + sandbox.accounts.alipay_cert_sn + '"'
        body += ',"sign":"' + sign + '"'
    return (body + "}").encode(encoding, "replace")


def _node(
    code: str, fields: dict[str, Any] | None = None, sub_code: str = "", sub_msg: str = ""
) -> dict[str, Any]:
    """code and msg (and sub_code, sub_msg) first, then the fields in alphabetical order, as
    Alipay writes its responses; empty values are left out."""
    node: dict[str, Any] = {"code": code, "msg": MSG.get(code, "Business Failed")}
    if sub_code:
        node["sub_code"] = sub_code
        node["sub_msg"] = sub_msg
    for key, value in sorted((fields or {}).items()):
        if value not in (None, ""):
            node[key] = value
    return node


# -- the entry point ------------------------------------------------------------------------


def handle_gateway(sandbox: Sandbox, request: Request) -> Response:
    method = ""
    charset = "utf-8"
    sign_type = "RSA2"
    cert_mode = False
    biz: dict[str, Any] = {}
    try:
        params, charset = parse_params(request)
        method = params.get("method", "")
        if params.get("sign_type") in ("RSA", "RSA2"):
            sign_type = params["sign_type"]
        cert_mode = bool(params.get("app_cert_sn") or params.get("alipay_root_cert_sn"))
        app_id = _check_common(sandbox, params)
        biz = _biz_content(params)
        if sandbox.faults.take("gateway_errors", method):
            raise GatewayError("40004", "ACQ.SYSTEM_ERROR", "系统错误 (injected fault)")
        if method in PAGE_METHODS:
            response = _page_pay(sandbox, request, app_id, method, params, biz)
        else:
            handler = SERVER_METHODS[method]
            node = _node("10000", handler(sandbox, request, app_id, params, biz))
            response = _json(sandbox, method, node, sign_type, charset, True, cert_mode)
    except GatewayError as exc:
        response = _failure(sandbox, method, exc, sign_type, charset, cert_mode)
    except TradeError as exc:
        failure = GatewayError(
            "40004", exc.sub_code, exc.sub_msg, extra=_failure_fields(method, biz)
        )
        response = _failure(sandbox, method, failure, sign_type, charset, cert_mode)
    if method and sandbox.faults.take("gateway_timeouts", method):
        time.sleep(float(sandbox.faults.value("gateway_timeout_seconds")))
    return response


def _json(
    sandbox: Sandbox,
    method: str,
    node: dict[str, Any],
    sign_type: str,
    charset: str,
    signed: bool,
    cert_mode: bool = False,
) -> Response:
    known = method in SERVER_METHODS or method in PAGE_METHODS
    node_name = method.replace(".", "_") + "_response" if known else "error_response"
    corrupt = signed and sandbox.faults.take("corrupt_responses", method)
    body = envelope(
        sandbox,
        node_name,
        node,
        sign_type=sign_type,
        charset=charset,
        signed=signed,
        corrupt=corrupt,
        cert_mode=cert_mode,
    )
    return Response(body, status=200, content_type=f"application/json;charset={charset}")


def _failure(
    sandbox: Sandbox,
    method: str,
    exc: GatewayError,
    sign_type: str,
    charset: str,
    cert_mode: bool = False,
) -> Response:
    node = _node(exc.code, exc.extra, exc.sub_code, exc.sub_msg)
    if method in PAGE_METHODS:
        return render("error.html", status=200, node=node, method=method)
    return _json(sandbox, method, node, sign_type, charset, exc.signed, cert_mode)


def _check_common(sandbox: Sandbox, params: dict[str, str]) -> str:
    """The common-parameter checks; returns the app id."""
    app_id = params.get("app_id", "")
    method = params.get("method", "")
    if not app_id:
        raise GatewayError("40001", "isv.missing-app-id", "缺少appId参数")
    if not method:
        raise GatewayError("40001", "isv.missing-method", "缺少方法名参数")
    app = sandbox.accounts.app(app_id)
    if app is None:
        raise GatewayError("40002", "isv.invalid-app-id", "无效的AppID参数", signed=False)
    if method not in SERVER_METHODS and method not in PAGE_METHODS:
        raise GatewayError("40002", "isv.invalid-method", f"不存在的方法名 ({method})")
    if params.get("format") and params["format"].lower() != "json":
        raise GatewayError("40002", "isv.invalid-format", "无效的数据格式 (only JSON)")
    if not params.get("version"):
        raise GatewayError("40001", "isv.missing-version", "缺少版本参数")
    if params["version"] != "1.0":
        raise GatewayError(
            "40002", "isv.invalid-parameter", f"无效的版本参数 ({params['version']})"
        )
    if not params.get("sign_type"):
        raise GatewayError("40001", "isv.missing-signature-type", "缺少签名类型参数")
    if params["sign_type"] not in ("RSA2", "RSA"):
        raise GatewayError("40002", "isv.invalid-signature-type", "无效的签名类型 (RSA2 or RSA)")
    if not params.get("sign"):
        raise GatewayError("40001", "isv.missing-signature", "缺少签名参数")
    if not params.get("timestamp"):
        raise GatewayError("40001", "isv.missing-timestamp", "缺少时间戳参数")
    sent = parse_beijing(params["timestamp"]) if _TIMESTAMP.fullmatch(params["timestamp"]) else None
    if sent is None:
        raise GatewayError(
            "40002",
            "isv.invalid-timestamp",
            "非法的时间戳参数 (use yyyy-MM-dd HH:mm:ss, Beijing time)",
        )
    _check_skew(sandbox.timestamp_skew, params["timestamp"], sent)
    if params.get("app_cert_sn") or params.get("alipay_root_cert_sn"):
        _check_certificates(sandbox, app, params)
    _check_signature(app.app_public_key, params)
    return app_id


def _check_certificates(sandbox: Sandbox, app: App, params: dict[str, str]) -> None:
    """Certificate mode: the SNs must name the app's registered certificate and the sandbox's
    root bundle. Checked before the signature, which Alipay verifies with the key inside the
    certificate the SN names. (The reference has no codes for this; these are the ones Alipay
    answered in reports: alipay-sdk-nodejs-all#56, yansongda/pay#491.)"""
    if params.get("app_cert_sn", "") != app.cert_sn:
        raise GatewayError("40002", "isv.app-cert-not-exist", "应用公钥证书不存在")
    if params.get("alipay_root_cert_sn", "") != sandbox.accounts.root_cert_sn:
        raise GatewayError("40002", "isv.invalid-alipay-root-cert-sn", "无效支付宝根证书序列号")


def _check_skew(window: float, text: str, sent: float) -> None:
    """Refuse a timestamp further than ``window`` seconds from Beijing wall-clock time.

    Compared with real time, not the sandbox clock: clients stamp requests with their own
    clock, which ``--time-scale`` and ``advance_seconds`` do not move.
    """
    if window <= 0:
        return
    now = time.time()
    offset = sent - now
    if abs(offset) <= window:
        return
    hours = offset / 3600
    hint = ""
    if abs(abs(hours) - round(abs(hours))) * 3600 <= window and round(abs(hours)) >= 1:
        hint = (
            f"; it is {abs(round(hours))} h {'behind' if hours < 0 else 'ahead of'} Beijing "
            "time: the client probably formats local time on a host in another time zone "
            "(send Beijing time, UTC+8)"
        )
    raise GatewayError(
        "40002",
        "isv.invalid-timestamp",
        f"非法的时间戳参数: {text} is {abs(offset):.0f} s from the gateway's Beijing time "
        f"{fmt(now)} (allowed: ±{window:g} s){hint}",
    )


def _check_signature(public_key: str, params: dict[str, str]) -> None:
    verifier = Verifier(public_key)
    content = request_content(params)
    sign_type = params["sign_type"]
    charset = codec(params.get("charset") or "utf-8")
    if verifier.verify(content, params["sign"], sign_type, charset):
        return
    other = "RSA" if sign_type == "RSA2" else "RSA2"
    if verifier.verify(content, params["sign"], other, charset):
        raise GatewayError(
            "40002",
            "isv.invalid-signature",
            f"验签出错，sign值与sign_type参数指定的签名类型不一致：sign_type参数值为{sign_type}，"
            f"您实际用的签名类型可能是{other}",
        )
    raise GatewayError(
        "40002",
        "isv.invalid-signature",
        "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为："
        + content.replace("&", "&amp;").replace('"', "&quot;"),  # HTML-escaped, as Alipay's
    )


def _biz_content(params: dict[str, str]) -> dict[str, Any]:
    raw = params.get("biz_content", "")
    if not raw:
        raise GatewayError(
            "40002", "isv.invalid-parameter", "缺少 biz_content 参数 (biz_content is required)"
        )
    try:
        biz = json.loads(raw, parse_float=Decimal)
    except ValueError as exc:
        raise GatewayError(
            "40002", "isv.invalid-parameter", f"biz_content 不是合法的 JSON ({exc.args[0]})"
        ) from None
    if not isinstance(biz, dict):
        raise GatewayError("40002", "isv.invalid-parameter", "biz_content 必须是 JSON 对象")
    return biz


# -- page pay ---------------------------------------------------------------------------------


def _page_pay(
    sandbox: Sandbox,
    request: Request,
    app_id: str,
    method: str,
    params: dict[str, str],
    biz: dict[str, Any],
) -> Response:
    trade_request = parse_trade_request(method, biz)
    sandbox.trades.check_request(app_id, method, trade_request)
    session = sandbox.trades.create_session(app_id, method, params, biz)
    return redirect(sandbox.cashier_url(request, session.token), code=302)


# -- server methods ---------------------------------------------------------------------------

Handler = Callable[["Sandbox", Request, str, dict[str, str], dict[str, Any]], dict[str, Any]]

# What Alipay adds to a business failure of these methods: zero amounts, and the out_trade_no
# of the request.
FAILURE_FIELDS: dict[str, dict[str, str]] = {
    "alipay.trade.query": {
        "buyer_pay_amount": "0.00",
        "invoice_amount": "0.00",
        "point_amount": "0.00",
        "receipt_amount": "0.00",
    },
    "alipay.trade.refund": {"refund_fee": "0.00", "send_back_fee": "0.00"},
}


def _failure_fields(method: str, biz: dict[str, Any]) -> dict[str, str] | None:
    if method not in FAILURE_FIELDS:
        return None
    fields = dict(FAILURE_FIELDS[method])
    if isinstance(biz.get("out_trade_no"), str):
        fields["out_trade_no"] = biz["out_trade_no"]
    return fields


def _options(biz: dict[str, Any]) -> list[str]:
    """``query_options``: a list of field names asking for more of the answer."""
    options = biz.get("query_options")
    return [o for o in options if isinstance(o, str)] if isinstance(options, list) else []


def _precreate(
    sandbox: Sandbox, request: Request, app_id: str, params: dict[str, str], biz: dict[str, Any]
) -> dict[str, Any]:
    trade_request = parse_trade_request("alipay.trade.precreate", biz)
    sandbox.trades.check_request(app_id, "alipay.trade.precreate", trade_request)
    session = sandbox.trades.create_session(app_id, "alipay.trade.precreate", params, biz)
    return {
        "out_trade_no": trade_request.out_trade_no,
        "qr_code": sandbox.cashier_url(request, session.token),
    }


def _query(
    sandbox: Sandbox, request: Request, app_id: str, params: dict[str, str], biz: dict[str, Any]
) -> dict[str, Any]:
    sandbox.trades.expire_due()
    with sandbox.store.transaction() as db:
        trade = sandbox.trades.find(db, app_id, biz)
    paid = trade.is_paid
    total = format_amount(trade.total)
    paid_amount = total if paid else "0.00"
    fields: dict[str, Any] = {
        "trade_no": trade.trade_no,
        "out_trade_no": trade.out_trade_no,
        "buyer_logon_id": mask_login(trade.buyer_login),
        "trade_status": trade.status,
        "total_amount": total,
        "buyer_pay_amount": paid_amount,
        "point_amount": "0.00",
        "invoice_amount": paid_amount,
        "receipt_amount": paid_amount,
        "send_pay_date": fmt(trade.paid_at) if trade.paid_at is not None else None,
        "buyer_user_id": trade.buyer_id,
        "buyer_user_type": "PRIVATE" if paid else None,
    }
    if paid and "fund_bill_list" in _options(biz):
        fields["fund_bill_list"] = [
            {"fund_channel": "ALIPAYACCOUNT", "amount": total, "real_amount": total}
        ]
    return fields


def _close(
    sandbox: Sandbox, request: Request, app_id: str, params: dict[str, str], biz: dict[str, Any]
) -> dict[str, Any]:
    trade = sandbox.trades.close(app_id, biz)
    return {"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no}


def _cancel(
    sandbox: Sandbox, request: Request, app_id: str, params: dict[str, str], biz: dict[str, Any]
) -> dict[str, Any]:
    trade, action, moved = sandbox.trades.cancel(app_id, biz)
    return {
        "trade_no": trade.trade_no,
        "out_trade_no": trade.out_trade_no,
        "retry_flag": "N",
        "action": action,
        "gmt_refund_pay": fmt(sandbox.clock.now()) if moved else None,
    }


def _refund(
    sandbox: Sandbox, request: Request, app_id: str, params: dict[str, str], biz: dict[str, Any]
) -> dict[str, Any]:
    trade, refund, fund_change = sandbox.trades.refund(app_id, biz)
    return {
        "trade_no": trade.trade_no,
        "out_trade_no": trade.out_trade_no,
        "buyer_logon_id": mask_login(trade.buyer_login),
        "fund_change": "Y" if fund_change else "N",
        "refund_fee": format_amount(trade.refunded),
        "gmt_refund_pay": fmt(refund.created_at),
        "buyer_user_id": trade.buyer_id,
        "send_back_fee": format_amount(refund.amount),
    }


def _refund_query(
    sandbox: Sandbox, request: Request, app_id: str, params: dict[str, str], biz: dict[str, Any]
) -> dict[str, Any]:
    request_no = out_no(biz, "out_request_no")
    with sandbox.store.transaction() as db:
        trade = sandbox.trades.find(db, app_id, biz)
    refund = sandbox.trades.refund_row(trade.id, request_no)
    if refund is None:
        return {}  # Alipay: 10000 and no refund data at all for a refund that never happened
    refunded = format_amount(refund.amount)
    fields: dict[str, Any] = {
        "trade_no": trade.trade_no,
        "out_trade_no": trade.out_trade_no,
        "out_request_no": refund.out_request_no,
        "refund_amount": refunded,
        "total_amount": format_amount(trade.total),
        "refund_reason": refund.reason or None,
        "refund_status": "REFUND_SUCCESS",
    }
    options = _options(biz)
    if "gmt_refund_pay" in options:
        fields["gmt_refund_pay"] = fmt(refund.created_at)
    if "refund_detail_item_list" in options:  # which also brings send_back_fee
        fields["refund_detail_item_list"] = [
            {"amount": refunded, "fund_channel": "ALIPAYACCOUNT", "real_amount": refunded}
        ]
        fields["send_back_fee"] = refunded
    return fields


SERVER_METHODS: dict[str, Handler] = {
    "alipay.trade.precreate": _precreate,
    "alipay.trade.query": _query,
    "alipay.trade.close": _close,
    "alipay.trade.cancel": _cancel,
    "alipay.trade.refund": _refund,
    "alipay.trade.fastpay.refund.query": _refund_query,
    "alipay.data.dataservice.bill.downloadurl.query": bill_download_url,  # sandbox/bills.py
    **TRANSFER_METHODS,  # sandbox/transfers.py
}
