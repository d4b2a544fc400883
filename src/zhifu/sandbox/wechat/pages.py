"""What the buyer sees: the sandbox WeChat wallet, the H5 page, OAuth and the JS bridge.

* Native: the site shows ``code_url`` as a QR code; "scanning" it is opening
  ``/wechat/scan?code_url=…`` (the dashboard links it), which leads to the wallet page.
* H5: ``h5_url`` (``/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=…``) lives five minutes, refuses
  WeChat's own browser, opens the wallet page, then sends the browser to ``redirect_url``
  whether or not the buyer paid.
* JSAPI: ``/connect/oauth2/authorize`` (snsapi_base: a sandbox user is picked, the browser goes
  back with a ``code``), ``/sns/oauth2/access_token`` (code → openid), and
  ``/wechat/jsbridge.js``, which a site includes only when its gateway is the sandbox: it
  supplies ``WeixinJSBridge.invoke("getBrandWCPayRequest", params, cb)``, checks ``paySign``
  here, shows the wallet in an overlay and calls back with ``get_brand_wcpay_request:ok``,
  ``:cancel`` or ``:fail``.
"""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from zhifu.wechatpay.signing import jsapi_message, rsa_verify

from ..accounts import BUYER_PASSWORD
from ..web import render
from .orders import CODE_URL_PREFIX, Order, PayError, openid_for

if TYPE_CHECKING:
    from .service import WechatSandbox

__all__ = ["handle_page"]

CODE_LIFETIME = 300.0  # an OAuth code lives 5 minutes and is used once
_CODES_SCHEMA = """CREATE TABLE IF NOT EXISTS wx_oauth_codes (
    code TEXT PRIMARY KEY,
    appid TEXT NOT NULL,
    login TEXT NOT NULL,
    created_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
)"""


def handle_page(wx: WechatSandbox, request: Request, page: str, token: str = "") -> Response:
    if page == "scan":
        return _scan(wx, request)
    if page == "pay":
        return _wallet(wx, request, token)
    if page == "h5":
        return _h5(wx, request)
    if page == "authorize":
        return _authorize(wx, request)
    if page == "access_token":
        return _access_token(wx, request)
    if page == "jsbridge":
        return Response(_JSBRIDGE, content_type="application/javascript; charset=utf-8")
    if page == "jsapi_check":
        return _jsapi_check(wx, request)
    return _error("页面不存在 (no such page)", 404)


def _error(message: str, status: int = 400) -> Response:
    return render("wechat_error.html", status=status, message=message)


def _scan(wx: WechatSandbox, request: Request) -> Response:
    code_url = request.args.get("code_url", "")
    code = code_url[len(CODE_URL_PREFIX) :] if code_url.startswith(CODE_URL_PREFIX) else ""
    found = wx.orders.by_prepay_id(code) if code else None
    if found is None or found[0].trade_type != "NATIVE":
        return _error("二维码无效 (this is not a code_url of this sandbox)", 404)
    order, expires_at = found
    if wx.clock.now() > expires_at:
        return _error("二维码已过期，请商户重新下单 (a code_url lives 2 hours)", 410)
    return redirect(f"/wechat/pay/{order.pay_token}", 302)


def _h5(wx: WechatSandbox, request: Request) -> Response:
    found = wx.orders.by_prepay_id(request.args.get("prepay_id", ""))
    if found is None:
        return _error("商家参数格式有误，请联系商家解决 (unknown prepay_id)", 404)
    order, expires_at = found
    if "micromessenger" in request.headers.get("User-Agent", "").lower():
        return _error("请在微信外打开订单，进行支付 (H5 pay does not work inside WeChat)")
    if wx.clock.now() > expires_at:
        return _error("页面已过期，请重新发起支付 (h5_url lives 5 minutes)", 410)
    query = (
        {"redirect_url": request.args["redirect_url"]} if request.args.get("redirect_url") else {}
    )
    suffix = "?" + urlencode(query) if query else ""
    return redirect(f"/wechat/pay/{order.pay_token}{suffix}", 302)


def _wallet(wx: WechatSandbox, request: Request, token: str) -> Response:
    order = wx.orders.by_token(token)
    if order is None:
        return _error("订单不存在 (no such order)", 404)
    wx.orders.expire_due()
    order = wx.orders.by_id(order.id)
    back = request.values.get("redirect_url", "")
    if back and urlsplit(back).scheme not in ("http", "https"):
        return _error("redirect_url must be an http(s) URL")
    embedded = request.values.get("embedded") == "1"
    error = ""
    login = request.values.get("login", "")
    if order.trade_type == "JSAPI" and not login:
        payer = wx.orders.user_by_openid(order.appid, order.openid)
        login = payer.login if payer else ""
    if request.method == "POST":
        action = request.form.get("action", "pay")
        if action == "cancel":
            if back:
                return redirect(back, 303)
            return _wallet_page(wx, order, "", login, back, embedded, cancelled=True)
        buyer = wx.accounts.authenticate(login, request.form.get("password", ""))
        if buyer is None:
            error = "支付密码错误，请重试 (unknown user or wrong password)"
        else:
            try:
                order = wx.orders.pay(order.id, buyer)
            except PayError as exc:
                error = exc.message
            else:
                if back:
                    return redirect(back, 303)
    return _wallet_page(wx, order, error, login, back, embedded)


def _wallet_page(
    wx: WechatSandbox,
    order: Order,
    error: str,
    login: str,
    back: str,
    embedded: bool,
    *,
    cancelled: bool = False,
) -> Response:
    merchant = wx.keys.merchant(order.mchid)
    return render(
        "wechat_wallet.html",
        order=order,
        merchant=merchant.name if merchant else order.mchid,
        error=error,
        login=login,
        back=back,
        embedded=embedded,
        cancelled=cancelled,
        users=wx.users(order.appid),
        password_hint=BUYER_PASSWORD,
        locked=order.trade_type == "JSAPI",
    )


# -- JSAPI ----------------------------------------------------------------------------------------


def _codes(wx: WechatSandbox) -> None:
    with wx.store.transaction() as db:
        db.execute(_CODES_SCHEMA)


def _authorize(wx: WechatSandbox, request: Request) -> Response:
    appid = request.args.get("appid", "")
    redirect_uri = request.args.get("redirect_uri", "")
    scope = request.args.get("scope", "")
    if not wx.keys.by_appid(appid):
        return _error(f"appid {appid!r} 无效 (no merchant of this sandbox has this appid)", 400)
    if urlsplit(redirect_uri).scheme not in ("http", "https"):
        return _error("redirect_uri 参数错误 (an absolute http(s) URL is required)", 400)
    if request.args.get("response_type") != "code" or scope not in (
        "snsapi_base",
        "snsapi_userinfo",
    ):
        return _error("参数错误 (response_type=code and scope=snsapi_base are required)", 400)
    login = request.args.get("login", "")
    if login:
        if wx.accounts.buyer(login) is None:
            return _error(f"no sandbox user {login!r}", 404)
        _codes(wx)
        code = secrets.token_hex(16)
        with wx.store.transaction() as db:
            db.execute(
                "INSERT INTO wx_oauth_codes (code, appid, login, created_at) VALUES (?, ?, ?, ?)",
                (code, appid, login, wx.clock.now()),
            )
        separator = "&" if "?" in redirect_uri else "?"
        params = {"code": code, "state": request.args.get("state", "")}
        return redirect(redirect_uri + separator + urlencode(params), 302)
    return render(
        "wechat_authorize.html",
        users=wx.users(appid),
        query=dict(request.args.items()),
        appid=appid,
    )


def _access_token(wx: WechatSandbox, request: Request) -> Response:
    def answer(data: dict[str, Any]) -> Response:
        return Response(
            json.dumps(data, ensure_ascii=False), content_type="application/json; encoding=utf-8"
        )

    appid = request.args.get("appid", "")
    if not wx.keys.by_appid(appid):
        return answer({"errcode": 40013, "errmsg": "invalid appid"})
    if not request.args.get("secret"):
        return answer({"errcode": 41004, "errmsg": "appsecret missing"})
    if request.args.get("grant_type") != "authorization_code":
        return answer({"errcode": 40002, "errmsg": "invalid grant_type"})
    _codes(wx)
    code = request.args.get("code", "")
    with wx.store.transaction() as db:
        row = db.execute(
            "SELECT * FROM wx_oauth_codes WHERE code = ? AND appid = ?", (code, appid)
        ).fetchone()
        if row is None or row["used"] or wx.clock.now() - row["created_at"] > CODE_LIFETIME:
            return answer({"errcode": 40029, "errmsg": "invalid code"})
        db.execute("UPDATE wx_oauth_codes SET used = 1 WHERE code = ?", (code,))
    return answer(
        {
            "access_token": secrets.token_urlsafe(32),
            "expires_in": 7200,
            "refresh_token": secrets.token_urlsafe(32),
            "openid": openid_for(appid, str(row["login"])),
            "scope": "snsapi_base",
            "is_snapshotuser": 0,
        }
    )


def _jsapi_check(wx: WechatSandbox, request: Request) -> Response:
    """The bridge's check of getBrandWCPayRequest parameters, as WeChat's browser makes it."""

    def answer(data: dict[str, Any], status: int = 200) -> Response:
        response = Response(
            json.dumps(data, ensure_ascii=False),
            status=status,
            content_type="application/json; charset=utf-8",
        )
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        return response

    if request.method == "OPTIONS":
        return answer({})
    try:
        params = json.loads(request.get_data(as_text=True) or "{}")
    except ValueError:
        params = None
    if not isinstance(params, dict):
        return answer({"ok": False, "reason": "parameters are not a JSON object"})
    names = ("appId", "timeStamp", "nonceStr", "package", "signType", "paySign")
    absent = [n for n in names if not isinstance(params.get(n), str) or not params[n]]
    if absent:
        return answer({"ok": False, "reason": f"missing {', '.join(absent)}"})
    if params["signType"] != "RSA":
        return answer({"ok": False, "reason": f"signType {params['signType']!r}; API v3 uses RSA"})
    package = params["package"]
    prepay_id = (
        parse_qs(package).get("prepay_id", [""])[0] if package.startswith("prepay_id=") else ""
    )
    found = wx.orders.by_prepay_id(prepay_id)
    if found is None:
        return answer({"ok": False, "reason": "package: unknown prepay_id"})
    order, expires_at = found
    if order.appid != params["appId"] or order.trade_type != "JSAPI":
        return answer({"ok": False, "reason": "appId does not match the order"})
    if wx.clock.now() > expires_at:
        return answer({"ok": False, "reason": "prepay_id expired (2 hours)"})
    merchant = wx.keys.merchant(order.mchid)
    assert merchant is not None
    message = jsapi_message(params["appId"], params["timeStamp"], params["nonceStr"], package)
    if not rsa_verify(merchant.public_key, message, params["paySign"]):
        return answer(
            {"ok": False, "reason": "paySign does not verify with the merchant certificate"}
        )
    return answer(
        {
            "ok": True,
            "wallet_url": f"{request.host_url.rstrip('/')}/wechat/pay/{order.pay_token}?embedded=1",
        }
    )


_JSBRIDGE = r"""/* Zhifu sandbox: WeixinJSBridge as WeChat's browser supplies it (for the sandbox only). */
(function () {
  if (window.WeixinJSBridge) { return; }
  var script = document.currentScript;
  var base = script ? new URL(script.src).origin : "";
  function done(cb, result) { if (typeof cb === "function") { cb({err_msg: "get_brand_wcpay_request:" + result}); } }
  function pay(params, cb) {
    fetch(base + "/wechat/jsapi/check", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(params || {})})
      .then(function (r) { return r.json(); })
      .then(function (answer) {
        if (!answer.ok) { if (window.console) { console.warn("getBrandWCPayRequest:", answer.reason); } done(cb, "fail"); return; }
        var overlay = document.createElement("div");
        overlay.id = "zhifu-wechat-overlay";
        overlay.style.cssText = "position:fixed;inset:0;background:rgba(0,0,0,.5);z-index:2147483647;display:flex;align-items:flex-end;justify-content:center";
        var frame = document.createElement("iframe");
        frame.src = answer.wallet_url;
        frame.title = "WeChat Pay (sandbox)";
        frame.style.cssText = "width:100%;max-width:480px;height:80%;border:0;border-radius:12px 12px 0 0;background:#fff";
        overlay.appendChild(frame);
        document.body.appendChild(overlay);
        function onMessage(event) {
          if (event.origin !== base || !event.data || !event.data.zhifuWechat) { return; }
          window.removeEventListener("message", onMessage);
          overlay.remove();
          done(cb, event.data.zhifuWechat);
        }
        window.addEventListener("message", onMessage);
      })
      .catch(function () { done(cb, "fail"); });
  }
  window.WeixinJSBridge = {
    invoke: function (name, params, cb) {
      if (name === "getBrandWCPayRequest") { pay(params, cb); }
      else if (typeof cb === "function") { cb({err_msg: name + ":fail_not_supported_in_sandbox"}); }
    },
    on: function () {},
    call: function () {}
  };
  function ready() { document.dispatchEvent(new Event("WeixinJSBridgeReady")); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", ready); } else { setTimeout(ready, 0); }
})();
"""
