"""Where the buyer pays: the wallet page (Native), the H5 page, OAuth and the JSAPI check."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import httpx

from zhifu.sandbox.testing import SandboxServer
from zhifu.wechatpay import WechatPayClient

PASSWORD = "111111"
PHONE = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile Safari"}


def _open(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.get(url, headers=headers or PHONE, follow_redirects=True)


def test_scanning_the_native_qr_opens_the_wallet_where_a_user_pays(
    sb: SandboxServer, wxc: WechatPayClient
) -> None:
    prepay = wxc.native(out_trade_no="ZFW00001", total="8.80", description="会员")
    page = _open(f"{sb.url}/wechat/scan?code_url={quote(prepay.code_url, safe='')}")
    assert page.status_code == 200
    assert "¥8.80" in page.text and "会员" in page.text
    wrong = httpx.post(str(page.url), data={"login": "buyer1@sandbox.com", "password": "000000"})
    assert "支付密码错误" in wrong.text
    poor = httpx.post(str(page.url), data={"login": "poor@sandbox.com", "password": PASSWORD})
    assert "零钱余额不足" in poor.text
    paid = httpx.post(str(page.url), data={"login": "buyer2@sandbox.com", "password": PASSWORD})
    assert 'id="paid"' in paid.text
    assert wxc.query(out_trade_no="ZFW00001").trade_state == "SUCCESS"


def test_an_unknown_code_url_is_refused(sb: SandboxServer) -> None:
    page = _open(f"{sb.url}/wechat/scan?code_url=weixin%3A%2F%2Fwxpay%2Fbizpayurl%3Fpr%3Dnope")
    assert page.status_code == 404


def test_a_code_url_lives_two_hours_and_placing_again_gives_a_new_one(
    sb: SandboxServer, wxc: WechatPayClient
) -> None:
    def scan(code_url: str) -> httpx.Response:
        return _open(f"{sb.url}/wechat/scan?code_url={quote(code_url, safe='')}")

    first = wxc.native(out_trade_no="ZFW00009", total="3.00", description="x").code_url
    sb.advance_clock(7000)
    assert wxc.native(out_trade_no="ZFW00009", total="3.00", description="x").code_url == first
    assert scan(first).status_code == 200
    sb.advance_clock(201)  # 2 hours and a second after it was made
    expired = scan(first)
    assert expired.status_code == 410 and "二维码已过期" in expired.text
    second = wxc.native(out_trade_no="ZFW00009", total="3.00", description="x").code_url
    assert second != first and scan(second).status_code == 200
    assert sb.wechat_order("ZFW00009")["code_url"] == second


def test_h5_url_opens_the_wallet_then_redirect_url_paid_or_not(
    sb: SandboxServer, wxc: WechatPayClient
) -> None:
    back = "http://shop.test/pay/done/?order=7"
    prepay = wxc.h5(
        out_trade_no="ZFW00002", total="1.00", description="x", payer_client_ip="1.2.3.4"
    )
    page = _open(prepay.url(redirect_url=back))
    assert page.status_code == 200 and "/wechat/pay/" in str(page.url)
    cancelled = httpx.post(str(page.url), data={"action": "cancel", "redirect_url": back})
    assert (cancelled.status_code, cancelled.headers["location"]) == (303, back)
    assert wxc.query(out_trade_no="ZFW00002").trade_state == "NOTPAY"
    paid = httpx.post(
        str(page.url),
        data={"login": "buyer1@sandbox.com", "password": PASSWORD, "redirect_url": back},
    )
    assert (paid.status_code, paid.headers["location"]) == (303, back)
    assert wxc.query(out_trade_no="ZFW00002").trade_state == "SUCCESS"


def test_h5_url_lives_five_minutes_and_not_inside_wechat(
    sb: SandboxServer, wxc: WechatPayClient
) -> None:
    prepay = wxc.h5(
        out_trade_no="ZFW00003", total="1.00", description="x", payer_client_ip="1.2.3.4"
    )
    inside = _open(prepay.h5_url, {"User-Agent": "Mozilla/5.0 MicroMessenger/8.0.40"})
    assert inside.status_code == 400 and "请在微信外打开订单" in inside.text
    sb.advance_clock(301)
    assert _open(prepay.h5_url).status_code == 410
    fresh = wxc.h5(
        out_trade_no="ZFW00003", total="1.00", description="x", payer_client_ip="1.2.3.4"
    )
    assert fresh.h5_url != prepay.h5_url and _open(fresh.h5_url).status_code == 200


def test_oauth_gives_a_code_that_exchanges_once_for_the_users_openid(sb: SandboxServer) -> None:
    info = sb.wechat_info
    authorize = (
        f"{sb.url}/connect/oauth2/authorize?appid={info['appid']}"
        f"&redirect_uri={quote('http://shop.test/wx/back/', safe='')}"
        "&response_type=code&scope=snsapi_base&state=s1#wechat_redirect"
    )
    chooser = httpx.get(authorize)
    assert chooser.status_code == 200 and "buyer2@sandbox.com" in chooser.text
    chosen = httpx.get(authorize.split("#")[0] + "&login=buyer2%40sandbox.com")
    assert chosen.status_code == 302
    back = urlsplit(chosen.headers["location"])
    query = parse_qs(back.query)
    assert back.netloc == "shop.test" and query["state"] == ["s1"]
    exchange = f"{sb.url}/sns/oauth2/access_token"
    params = {
        "appid": info["appid"],
        "secret": "s",
        "code": query["code"][0],
        "grant_type": "authorization_code",
    }
    token = httpx.get(exchange, params=params).json()
    expected = next(u["openid"] for u in info["users"] if u["login"] == "buyer2@sandbox.com")
    assert token["openid"] == expected and token["scope"] == "snsapi_base"
    assert httpx.get(exchange, params=params).json()["errcode"] == 40029  # used once


def test_jsapi_check_verifies_pay_sign_and_opens_the_payers_wallet(
    sb: SandboxServer, wxc: WechatPayClient
) -> None:
    openid = sb.wechat_info["users"][1]["openid"]
    prepay = wxc.jsapi(out_trade_no="ZFW00004", total="2.00", description="x", openid=openid)
    check = f"{sb.url}/wechat/jsapi/check"
    forged = dict(prepay.pay_params, nonceStr="another")
    refused = httpx.post(check, json=forged).json()
    assert refused["ok"] is False and "paySign" in refused["reason"]
    answer = httpx.post(check, json=prepay.pay_params)
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    wallet = answer.json()["wallet_url"]
    page = httpx.get(wallet)
    assert sb.wechat_info["users"][1]["login"] in page.text
    paid = httpx.post(
        wallet,
        data={"login": sb.wechat_info["users"][1]["login"], "password": PASSWORD, "embedded": "1"},
    )
    assert 'zhifuWechat: "ok"' in paid.text
    assert wxc.query(out_trade_no="ZFW00004").payer_openid == openid


def test_the_bridge_script_is_served(sb: SandboxServer) -> None:
    script = httpx.get(f"{sb.url}/wechat/jsbridge.js")
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert "getBrandWCPayRequest" in script.text and "WeixinJSBridgeReady" in script.text


def test_the_dashboard_shows_wechat_orders_and_attempts(
    sb: SandboxServer, wxc: WechatPayClient
) -> None:
    wxc.native(out_trade_no="ZFW00005", total="1.00", description="看板")
    page = httpx.get(f"{sb.url}/sandbox/")
    assert page.status_code == 200
    assert "ZFW00005" in page.text and sb.wechat_info["mchid"] in page.text
    assert "/wechat/pay/" in page.text  # the unpaid order's wallet link
