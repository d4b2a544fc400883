"""The control API of the WeChat side, under ``/sandbox/api/wechat/`` (same shapes as Alipay's).

Clock, reset and buyers are shared with the Alipay side (``/sandbox/api/clock``, ``/reset``,
``/buyers``): the sandbox users are the same people with the same balances.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from zhifu.money import format_amount, from_fen

from ..accounts import BUYER_PASSWORD, DEFAULT_BUYERS
from ..clock import fmt
from ..control_api import ApiError, read_json
from ..faults import FaultError
from ..web import json_response
from .keys import Merchant, MerchantError
from .orders import Order, PayError

if TYPE_CHECKING:
    from .service import WechatSandbox

__all__ = ["handle_control", "order_json"]


def merchant_json(merchant: Merchant) -> dict[str, Any]:
    return {
        "mchid": merchant.mchid,
        "appid": merchant.appid,
        "name": merchant.name,
        "merchant_serial_no": merchant.serial,
        "merchant_certificate": merchant.cert_pem,
        "apiv3_key": merchant.apiv3_key,
        "mode": merchant.mode,
        "public_key_share": merchant.public_key_share,
    }


def order_json(wx: WechatSandbox, order: Order) -> dict[str, Any]:
    return {
        "mchid": order.mchid,
        "appid": order.appid,
        "out_trade_no": order.out_trade_no,
        "transaction_id": order.transaction_id or None,
        "trade_type": order.trade_type,
        "trade_state": order.trade_state,
        "total": format_amount(from_fen(order.total_fen)),
        "refunded": format_amount(from_fen(order.refunded_fen)),
        "description": order.description,
        "notify_url": order.notify_url,
        "payer_openid": order.openid or None,
        "buyer": order.buyer_login or None,
        "code_url": wx.orders.native_code_url(order.id),  # the live one (Native only)
        "wallet_path": f"/wechat/pay/{order.pay_token}",
        "created_at": fmt(order.created_at),
        "expires_at": fmt(order.expires_at),
        "paid_at": fmt(order.paid_at) if order.paid_at is not None else None,
        "closed_at": fmt(order.closed_at) if order.closed_at is not None else None,
        "close_reason": order.close_reason or None,
        "refunds": [
            {
                "out_refund_no": r.out_refund_no,
                "refund_id": r.refund_id,
                "refund": format_amount(from_fen(r.amount_fen)),
                "status": r.status,
                "created_at": fmt(r.created_at),
            }
            for r in wx.orders.refunds(order_id=order.id)
        ],
    }


def _fields(data: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise ApiError(400, "invalid_field", f"unknown field(s): {', '.join(sorted(unknown))}")


def _str_field(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "invalid_field", f"{key}: expected a non-empty string")
    return value.strip()


def handle_control(wx: WechatSandbox, request: Request, rest: str) -> Response:
    parts = [p for p in rest.split("/") if p]
    method = request.method
    args = request.args
    if parts == ["info"] and method == "GET":
        return json_response(info(wx, request))
    if parts == ["merchants"]:
        if method == "GET":
            return json_response({"merchants": [merchant_json(m) for m in wx.keys.merchants()]})
        if method == "POST":
            data = read_json(request, allow_empty=False)
            _fields(data, {"certificate", "mchid", "appid", "apiv3_key", "name"})
            cert = _str_field(data, "certificate")
            if cert is None:
                raise ApiError(
                    400, "invalid_field", "certificate: the merchant API certificate (PEM)"
                )
            try:
                merchant = wx.keys.register(
                    cert,
                    mchid=_str_field(data, "mchid"),
                    appid=_str_field(data, "appid"),
                    apiv3_key=_str_field(data, "apiv3_key"),
                    name=_str_field(data, "name"),
                )
            except MerchantError as exc:
                raise ApiError(400, exc.code, exc.message) from None
            return json_response(merchant_json(merchant), 201)
    if len(parts) == 3 and parts[0] == "merchants" and parts[2] == "mode" and method == "POST":
        data = read_json(request, allow_empty=False)
        _fields(data, {"mode", "public_key_share"})
        share = data.get("public_key_share")
        if share is not None and (
            isinstance(share, bool)
            or not isinstance(share, int | float)
            or not math.isfinite(share)
            or not 0 <= share <= 1
        ):
            raise ApiError(400, "invalid_field", "public_key_share: a number from 0 to 1")
        mode = data.get("mode")
        if mode is not None and not isinstance(mode, str):
            raise ApiError(400, "invalid_field", "mode: public_key, certificate or migration")
        try:
            merchant = wx.keys.set_mode(parts[1], mode, None if share is None else float(share))
        except MerchantError as exc:
            raise ApiError(
                404 if exc.code == "unknown_merchant" else 400, exc.code, exc.message
            ) from None
        return json_response(merchant_json(merchant))
    if parts == ["certificates", "rotate"] and method == "POST":
        if read_json(request):
            raise ApiError(400, "invalid_field", "rotate takes no fields")
        key = wx.keys.rotate_platform()
        sandbox_json = wx.keys.dir.parent / "sandbox.json"
        wx.write_files(request.host_url.rstrip("/"), sandbox_json)
        return json_response({"serial_no": key.serial, "certificate": key.certificate_pem}, 201)
    if parts == ["orders"] and method == "GET":
        found = wx.orders.find(args.get("mchid") or None, args.get("out_trade_no") or None)
        return json_response({"orders": [order_json(wx, o) for o in found]})
    if len(parts) in (3, 4) and parts[0] == "orders":
        order = wx.orders.get(parts[1], parts[2])
        if order is None:
            raise ApiError(
                404, "order_not_found", f"no order {parts[2]!r} of merchant {parts[1]!r}"
            )
        if len(parts) == 3 and method == "GET":
            return json_response(order_json(wx, order))
        if parts[3:] == ["pay"] and method == "POST":
            return json_response(_pay(wx, request, order))
    if parts == ["refunds"] and method == "GET":
        refunds = wx.orders.refunds(args.get("mchid") or None)
        return json_response({"refunds": [r.as_json(wx.orders.by_id(r.order_id)) for r in refunds]})
    if parts == ["notifications"] and method == "GET":
        mchid, out_trade_no = args.get("mchid") or None, args.get("out_trade_no") or None
        return json_response(
            {
                "attempts": wx.notifier.attempts(mchid, out_trade_no),
                "notifications": wx.notifier.notifications(mchid, out_trade_no),
            }
        )
    if parts == ["notifications", "abandon"] and method == "POST":
        data = read_json(request)
        _fields(data, {"mchid", "out_trade_no"})
        count = wx.notifier.abandon(_str_field(data, "mchid"), _str_field(data, "out_trade_no"))
        return json_response({"abandoned": count})
    if parts == ["settings"]:
        if method == "POST":
            data = read_json(request, allow_empty=False)
            _fields(data, {"paid_order_error"})
            try:
                wx.orders.set_paid_order_error(data.get("paid_order_error"))
            except ValueError as exc:
                raise ApiError(400, "invalid_field", str(exc)) from None
        if method in ("GET", "POST"):
            error = wx.orders.paid_order_error()
            return json_response(
                {
                    "paid_order_error": {
                        "status": error.status,
                        "code": error.code,
                        "message": error.message,
                    }
                }
            )
    if parts == ["bills", "paid-trade"] and method == "POST":
        return json_response(_paid_trade(wx, request), 201)
    if parts == ["faults"]:
        if method == "GET":
            return json_response(wx.faults.current())
        if method == "POST":
            try:
                state = wx.faults.update(read_json(request, allow_empty=False))
            except FaultError as exc:
                raise ApiError(400, "invalid_fault", str(exc)) from None
            return json_response(state)
    raise ApiError(404, "not_found", f"{method} /sandbox/api/wechat/{rest}: no such control API")


def _paid_trade(wx: WechatSandbox, request: Request) -> dict[str, Any]:
    """An order paid here and announced nowhere (:func:`.bills.make_paid_order`)."""
    from .bills import make_paid_order

    data = read_json(request, allow_empty=False)
    _fields(data, {"out_trade_no", "amount", "description", "buyer", "mchid"})
    out_trade_no = _str_field(data, "out_trade_no")
    amount = data.get("amount")
    if out_trade_no is None or not isinstance(amount, str):
        raise ApiError(
            400, "invalid_field", 'give "out_trade_no" and "amount" (a string such as "0.01")'
        )
    try:
        made = make_paid_order(
            wx,
            out_trade_no=out_trade_no,
            amount=amount,
            description=_str_field(data, "description") or "sandbox-only order",
            buyer=_str_field(data, "buyer"),
            mchid=_str_field(data, "mchid"),
        )
    except LookupError as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except ValueError as exc:
        raise ApiError(409 if "already" in str(exc) else 400, "invalid_trade", str(exc)) from None
    return made


def _pay(wx: WechatSandbox, request: Request, order: Order) -> dict[str, Any]:
    data = read_json(request)
    _fields(data, {"buyer", "result"})
    result = data.get("result", "SUCCESS")
    if result not in ("SUCCESS", "PAYERROR"):
        raise ApiError(400, "invalid_field", "result: SUCCESS or PAYERROR")
    login = _str_field(data, "buyer")
    if login is None and order.trade_type == "JSAPI":
        payer = wx.orders.user_by_openid(order.appid, order.openid)
        login = payer.login if payer else None
    login = login or DEFAULT_BUYERS[0][0]
    buyer = wx.accounts.buyer(login)
    if buyer is None:
        raise ApiError(404, "unknown_buyer", f"no sandbox user {login!r}")
    try:
        paid = wx.orders.pay(order.id, buyer, fail=result == "PAYERROR")
    except PayError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    return order_json(wx, paid)


def info(wx: WechatSandbox, request: Request) -> dict[str, Any]:
    merchant = wx.keys.default()
    base = request.host_url.rstrip("/")
    return {
        "base_url": base,
        "mchid": merchant.mchid,
        "appid": merchant.appid,
        "merchant_serial_no": merchant.serial,
        "apiv3_key": merchant.apiv3_key,
        "mode": merchant.mode,
        "public_key_share": merchant.public_key_share,
        "wechatpay_public_key_id": wx.keys.public.serial,
        "wechatpay_public_key": wx.keys.public.public_pem,
        "platform_certificates": [
            {"serial_no": k.serial, "certificate": k.certificate_pem} for k in wx.keys.platform
        ],
        "key_files": wx.keys.files(),
        "users": [dict(u, password=BUYER_PASSWORD) for u in wx.users(merchant.appid)],
        "jsbridge_url": base + "/wechat/jsbridge.js",
        "oauth_authorize_url": base + "/connect/oauth2/authorize",
        "oauth_access_token_url": base + "/sns/oauth2/access_token",
        "scan_url": base + "/wechat/scan",
        "faults": wx.faults.current(),
    }
