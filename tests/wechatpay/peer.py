"""A fake WeChat Pay API v3 for the client's unit tests, served through ``httpx.MockTransport``.

It is a peer, not a mock of the client: it checks requests the way WeChat does (Accept and
User-Agent present, the Authorization header parsed in any order, the merchant's signature over
the exact path, query and body bytes received, the timestamp fresh, the certificate serial
registered) and answers the way WeChat does (JSON in fen, RFC 3339 Beijing times, 204 for close,
WeChat's error codes and statuses, ``Request-ID`` on every answer, every answer signed with the
public key or a platform certificate as the merchant's mode says, ``/v3/certificates`` encrypted
with the APIv3 key). The local sandbox (``zhifu sandbox``) is the full gateway; this is the
smallest faithful one that needs no server.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import unquote

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from zhifu.wechatpay import (
    BEIJING,
    SignatureError,
    build_notification,
    encrypt_resource,
    format_time,
    generate_merchant_certificate,
    load_certificate,
    load_private_key,
    parse_authorization,
    request_message,
    response_headers,
)
from zhifu.wechatpay.signing import rsa_verify

Mode = Literal["public_key", "certificate", "migration"]


@dataclass
class WechatKey:
    """One of WeChat's signing keys: the public key (id) or a platform certificate (serial)."""

    serial: str
    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate | None = None
    certificate_pem: str = ""


def new_platform_certificate(days: int = 365) -> WechatKey:
    made = generate_merchant_certificate("Tenpay.com sandbox platform", days=days)
    return WechatKey(
        made.serial,
        load_private_key(made.private_pem),
        load_certificate(made.certificate_pem),
        made.certificate_pem,
    )


def new_public_key() -> WechatKey:
    number = "".join(secrets.choice("0123456789") for _ in range(32))
    return WechatKey(f"PUB_KEY_ID_01{number}", rsa.generate_private_key(65537, 2048))


@dataclass
class Order:
    body: dict[str, Any]
    trade_type: str
    state: str = "NOTPAY"
    transaction_id: str = ""
    success_time: str = ""
    refunded: int = 0

    def as_json(self, mchid: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "appid": self.body["appid"],
            "mchid": mchid,
            "out_trade_no": self.body["out_trade_no"],
            "trade_type": self.trade_type,
            "trade_state": self.state,
            "trade_state_desc": {"NOTPAY": "订单未支付", "SUCCESS": "支付成功"}.get(self.state, ""),
            "attach": self.body.get("attach", ""),
            "amount": {"total": self.body["amount"]["total"], "currency": "CNY"},
            "promotion_detail": [],
        }
        if self.transaction_id:
            data["transaction_id"] = self.transaction_id
            data["bank_type"] = "OTHERS"
            data["success_time"] = self.success_time
            data["payer"] = {"openid": self.body.get("payer", {}).get("openid", "oSandboxBuyer")}
            data["amount"].update(payer_total=self.body["amount"]["total"], payer_currency="CNY")
        return data


@dataclass
class FakeWechatPay:
    mchid: str
    merchant_certificate: x509.Certificate
    merchant_serial: str
    apiv3_key: bytes
    mode: Mode = "public_key"
    public_key: WechatKey = field(default_factory=new_public_key)
    platform: list[WechatKey] = field(default_factory=lambda: [new_platform_certificate()])
    clock: Any = time.time
    orders: dict[str, Order] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    certificate_downloads: int = 0
    # Faults for one answer each: a SIGNTEST probe signature, a stale timestamp, an error.
    probe_next: bool = False
    stale_next: bool = False
    fail_next: tuple[int, str, str] | None = None

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # -- signing ----------------------------------------------------------------------------

    def signing_key(self, request_serial: str | None) -> WechatKey:
        if self.mode == "public_key":
            return self.public_key
        if self.mode == "migration" and request_serial == self.public_key.serial:
            return self.public_key
        return max(self.platform, key=lambda key: key.certificate.not_valid_after_utc)  # type: ignore[union-attr]

    def answer(
        self, status: int, data: dict[str, Any] | None, request_serial: str | None = None
    ) -> httpx.Response:
        body = b"" if data is None else json.dumps(data, ensure_ascii=False).encode()
        key = self.signing_key(request_serial)
        stamp = int(self.clock()) - (400 if self.stale_next else 0)
        headers = response_headers(key.private_key, key.serial, body, timestamp=stamp)
        if self.probe_next:
            headers["Wechatpay-Signature"] = "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"]
        self.probe_next = self.stale_next = False
        headers["Request-ID"] = secrets.token_hex(16)
        if data is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        return httpx.Response(status, headers=headers, content=body)

    def error(self, status: int, code: str, message: str, **detail: Any) -> httpx.Response:
        data: dict[str, Any] = {"code": code, "message": message}
        if detail:
            data["detail"] = detail
        # Error answers are not signed (some real ones are not; clients must not need it).
        return httpx.Response(status, json=data, headers={"Request-ID": secrets.token_hex(16)})

    def notification(
        self, event_type: str, resource: dict[str, Any], *, key: WechatKey | None = None
    ) -> tuple[dict[str, str], bytes]:
        """(headers, body) of a notification, signed as the mode says (or with ``key``)."""
        body = build_notification(self.apiv3_key, event_type, resource)
        signer = key or self.signing_key(None)
        return response_headers(
            signer.private_key, signer.serial, body, timestamp=int(self.clock())
        ), body

    # -- the buyer's side -------------------------------------------------------------------

    def pay(self, out_trade_no: str) -> dict[str, Any]:
        """The buyer pays: the order becomes SUCCESS; returns the notification's resource."""
        order = self.orders[out_trade_no]
        order.state = "SUCCESS"
        order.transaction_id = "42000" + "".join(secrets.choice("0123456789") for _ in range(23))
        order.success_time = format_time(datetime.now(BEIJING))
        return order.as_json(self.mchid)

    def settle_refund(self, out_refund_no: str, status: str = "SUCCESS") -> dict[str, Any]:
        refund = self.refunds[out_refund_no]
        refund["status"] = status
        if status == "SUCCESS":
            refund["success_time"] = format_time(datetime.now(BEIJING))
        resource = {k: v for k, v in refund.items() if k != "status"}
        resource["refund_status"] = status
        resource["mchid"] = self.mchid
        return resource

    # -- the gateway ------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not request.headers.get("Accept") or not request.headers.get("User-Agent"):
            return self.error(400, "INVALID_REQUEST", "Http头缺少Accept或User-Agent")
        try:
            auth = parse_authorization(request.headers.get("Authorization", ""))
        except SignatureError as exc:
            return self.error(401, "SIGN_ERROR", f"Http头Authorization值格式错误: {exc.message}")
        if auth.mchid != self.mchid:
            return self.error(401, "SIGN_ERROR", "商户号与签名不匹配")
        if int(auth.serial_no, 16) != self.merchant_certificate.serial_number:
            return self.error(401, "SIGN_ERROR", "商户证书序列号有误。")
        if abs(self.clock() - int(auth.timestamp)) >= 300:
            return self.error(401, "SIGN_ERROR", "签名已过期")
        canonical = request.url.raw_path.decode("ascii")
        message = request_message(
            request.method, canonical, auth.timestamp, auth.nonce_str, request.content
        )
        public = self.merchant_certificate.public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        if not rsa_verify(public, message, auth.signature):
            return self.error(
                401,
                "SIGN_ERROR",
                "签名错误，请检查后再试",
                field="signature",
                issue="sign not match",
            )
        if self.fail_next is not None:
            status, code, text = self.fail_next
            self.fail_next = None
            return self.error(status, code, text)
        body: dict[str, Any] = {}
        if request.content:
            try:
                body = json.loads(request.content)
            except ValueError:
                return self.error(400, "PARAM_ERROR", "请求体不是合法的JSON")
        serial = request.headers.get("Wechatpay-Serial")
        path = request.url.path
        route = (request.method, path)
        if route == ("GET", "/v3/certificates"):
            return self.certificates(serial)
        for kind in ("native", "h5", "jsapi"):
            if route == ("POST", f"/v3/pay/transactions/{kind}"):
                return self.prepay(kind, body, serial)
        prefix = "/v3/pay/transactions/out-trade-no/"
        if request.method == "POST" and path.startswith(prefix) and path.endswith("/close"):
            return self.close(unquote(path[len(prefix) : -len("/close")]), body, serial)
        if request.method == "GET" and path.startswith(prefix):
            return self.query(unquote(path[len(prefix) :]), request, serial)
        if request.method == "GET" and path.startswith("/v3/pay/transactions/id/"):
            return self.query_by_id(path.rsplit("/", 1)[1], request, serial)
        if route == ("POST", "/v3/refund/domestic/refunds"):
            return self.refund(body, serial)
        refunds = "/v3/refund/domestic/refunds/"
        if request.method == "GET" and path.startswith(refunds):
            refund = self.refunds.get(unquote(path[len(refunds) :]))
            if refund is None:
                return self.error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
            return self.answer(200, refund, serial)
        return self.error(404, "NOT_FOUND", "无此接口")

    def certificates(self, serial: str | None) -> httpx.Response:
        self.certificate_downloads += 1
        if self.mode == "public_key":
            return self.error(
                404,
                "RESOURCE_NOT_EXISTS",
                "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥",
            )
        data = []
        for key in self.platform:
            assert key.certificate is not None
            data.append(
                {
                    "serial_no": key.serial,
                    "effective_time": format_time(key.certificate.not_valid_before_utc),
                    "expire_time": format_time(key.certificate.not_valid_after_utc),
                    "encrypt_certificate": encrypt_resource(
                        self.apiv3_key, key.certificate_pem.encode(), "certificate"
                    ),
                }
            )
        return self.answer(200, {"data": data}, serial)

    def prepay(self, kind: str, body: dict[str, Any], serial: str | None) -> httpx.Response:
        for name in ("appid", "mchid", "description", "out_trade_no", "notify_url", "amount"):
            if name not in body:
                return self.error(
                    400,
                    "PARAM_ERROR",
                    f"输入源“/body/{name}”映射到字段必填性规则校验失败，此字段为必填项",
                )
        if body["mchid"] != self.mchid:
            return self.error(400, "MCH_NOT_EXISTS", "商户号不存在")
        total = body["amount"].get("total")
        if isinstance(total, bool) or not isinstance(total, int) or total < 1:
            return self.error(
                400, "PARAM_ERROR", "参数错误", field="/amount/total", location="body"
            )
        if kind == "h5" and not body.get("scene_info", {}).get("h5_info", {}).get("type"):
            return self.error(400, "PARAM_ERROR", "输入源“/body/scene_info/h5_info”必填")
        if kind == "jsapi" and not body.get("payer", {}).get("openid"):
            return self.error(400, "PARAM_ERROR", "输入源“/body/payer/openid”必填")
        number = body["out_trade_no"]
        existing = self.orders.get(number)
        if existing is not None:
            if existing.state == "CLOSED":
                return self.error(400, "ORDER_CLOSED", "订单已关闭")
            if existing.state != "NOTPAY":
                return self.error(400, "ORDERPAID", "该订单已支付")
            if existing.body != body or existing.trade_type != kind.upper():
                return self.error(403, "OUT_TRADE_NO_USED", "商户订单号重复")
        else:
            self.orders[number] = Order(body, {"h5": "MWEB"}.get(kind, kind.upper()))
        token = "wx" + secrets.token_hex(14)
        answer = {
            "native": {"code_url": f"weixin://wxpay/bizpayurl?pr={token[:9]}"},
            "h5": {
                "h5_url": f"https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id={token}&package=2150917749"
            },
            "jsapi": {"prepay_id": token},
        }[kind]
        return self.answer(200, answer, serial)

    def query(self, number: str, request: httpx.Request, serial: str | None) -> httpx.Response:
        if request.url.params.get("mchid") != self.mchid:
            return self.error(400, "PARAM_ERROR", "输入源“/uri_template/mchid”必填")
        order = self.orders.get(number)
        if order is None:
            return self.error(404, "ORDER_NOT_EXIST", "订单不存在")
        return self.answer(200, order.as_json(self.mchid), serial)

    def query_by_id(self, tid: str, request: httpx.Request, serial: str | None) -> httpx.Response:
        for order in self.orders.values():
            if order.transaction_id == tid:
                return self.query(order.body["out_trade_no"], request, serial)
        return self.error(404, "ORDER_NOT_EXIST", "订单不存在")

    def close(self, number: str, body: dict[str, Any], serial: str | None) -> httpx.Response:
        if body.get("mchid") != self.mchid:
            return self.error(400, "PARAM_ERROR", "输入源“/body/mchid”必填")
        order = self.orders.get(number)
        if order is None:
            return self.error(404, "ORDER_NOT_EXIST", "订单不存在")
        if order.state in ("SUCCESS", "REFUND"):
            return self.error(400, "ORDERPAID", "该订单已支付")
        order.state = "CLOSED"
        return self.answer(204, None, serial)

    def refund(self, body: dict[str, Any], serial: str | None) -> httpx.Response:
        number = body.get("out_trade_no")
        order = self.orders.get(number) if isinstance(number, str) else None
        if order is None and "transaction_id" in body:
            order = next(
                (o for o in self.orders.values() if o.transaction_id == body["transaction_id"]),
                None,
            )
        if order is None:
            return self.error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        out_refund_no = body.get("out_refund_no")
        if not isinstance(out_refund_no, str):
            return self.error(400, "PARAM_ERROR", "输入源“/body/out_refund_no”必填")
        if out_refund_no in self.refunds:
            return self.answer(200, self.refunds[out_refund_no], serial)
        if order.state not in ("SUCCESS", "REFUND"):
            return self.error(403, "TRADE_ERROR", "订单未支付")
        amount = body.get("amount", {})
        if amount.get("total") != order.body["amount"]["total"]:
            return self.error(400, "PARAM_ERROR", "订单金额与退款金额不一致", field="/amount/total")
        if order.refunded + amount.get("refund", 0) > amount["total"]:
            return self.error(403, "NOT_ENOUGH", "可退金额不足")
        order.refunded += amount["refund"]
        order.state = "REFUND"
        refund = {
            "refund_id": "50000" + secrets.token_hex(12),
            "out_refund_no": out_refund_no,
            "transaction_id": order.transaction_id,
            "out_trade_no": order.body["out_trade_no"],
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": format_time(datetime.now(BEIJING)),
            "status": "PROCESSING",
            "funds_account": "AVAILABLE",
            "amount": {
                "total": amount["total"],
                "refund": amount["refund"],
                "payer_total": amount["total"],
                "payer_refund": amount["refund"],
                "settlement_refund": amount["refund"],
                "settlement_total": amount["total"],
                "discount_refund": 0,
                "currency": "CNY",
            },
            "promotion_detail": [],
        }
        self.refunds[out_refund_no] = refund
        return self.answer(200, refund, serial)

    def rotate_platform_certificate(self) -> WechatKey:
        """A new platform certificate that outlives the old ones: WeChat signs with it now."""
        key = new_platform_certificate(days=730)
        self.platform.append(key)
        return key


def expires(hours: int = 2) -> datetime:
    return datetime.now(BEIJING) + timedelta(hours=hours)
