"""WeChat Pay in the demo's pages and API, against a real sandbox over HTTP: the channel that
fits the browser (QR on a computer, H5 on a phone, JSAPI inside WeChat), each paid at the
sandbox and confirmed by the result page's query (no notification reaches a test), the
order fulfilled once; the OAuth round trip of JSAPI; the sandbox's bridge script and its CSP
allowance only on the JSAPI page and only with the sandbox as gateway."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from rewards.models import Reward
from shop.models import Goods

from zhifu.models import Order, PaymentAttempt
from zhifu.services import wallet

from .helpers import bobs_article, once

pytestmark = pytest.mark.django_db

DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0"
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
WECHAT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/116.0 Mobile Safari/537.36 XWEB/1160065 MicroMessenger/8.0.47.2560(0x28002F35) "
    "WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64"
)
SITE = "http://127.0.0.1:8000"  # settings.SITE_URL in tests
PASSWORD = "111111"  # noqa: S105 - the sandbox buyers' published password


WITH_WECHAT = (
    "zhifu.providers.alipay.AlipayProvider",
    "zhifu.providers.wechatpay.WechatPayProvider",
    "zhifu.providers.balance.BalanceProvider",
)


@pytest.fixture(autouse=True)
def _wechat_offered(settings: Any) -> None:
    """WeChat Pay among the providers, as with the sandbox's sandbox.json or a real merchant id
    (the settings add it then; these tests need no data dir)."""
    settings.ZHIFU = {**settings.ZHIFU, "PROVIDERS": WITH_WECHAT}


@pytest.fixture
def wx(settings: Any, tmp_path: Any) -> Any:
    """A real sandbox as the site's WeChat Pay gateway (and its OAuth and JS bridge)."""
    from zhifu.sandbox.testing import SandboxServer

    with SandboxServer(tmp_path / "sandbox") as sandbox:
        info = sandbox.wechat_info
        files = info["key_files"]
        settings.ZHIFU = {
            **settings.ZHIFU,
            "HTTP_TIMEOUT": 5,
            "WECHATPAY": {
                **settings.ZHIFU["WECHATPAY"],
                "MCHID": info["mchid"],
                "APPID": info["appid"],
                "MERCHANT_PRIVATE_KEY": files["merchant_private_key"],
                "MERCHANT_SERIAL": info["merchant_serial_no"],
                "MERCHANT_CERT": files["merchant_certificate"],
                "APIV3_KEY": info["apiv3_key"],
                "PUBLIC_KEY": info["wechatpay_public_key"],
                "PUBLIC_KEY_ID": info["wechatpay_public_key_id"],
                "GATEWAY_URL": sandbox.url,
                "OAUTH": {
                    "APP_SECRET": "zhifu-sandbox",
                    "AUTHORIZE_URL": sandbox.url,
                    "API_URL": sandbox.url,
                },
            },
        }
        settings.WECHAT_SANDBOX_URL = sandbox.url
        yield sandbox


def _buy_mug(client: Any) -> Order:
    mug = Goods.objects.get(code="mug")
    client.post(f"/shop/{mug.pk}/buy/", {"once": once()})
    return Order.objects.latest("pk")


def _pay_page(client: Any, order: Order, agent: str) -> str:
    response = client.get(f"/orders/{order.out_trade_no}/pay/", HTTP_USER_AGENT=agent)
    assert response.status_code == 200
    return str(response.content.decode())


def _choose(client: Any, order: Order, channel: str, agent: str) -> Any:
    return client.post(
        f"/orders/{order.out_trade_no}/pay/",
        {"channel": channel, "once": once()},
        HTTP_USER_AGENT=agent,
    )


def _openid(sandbox: Any, login: str) -> str:
    return str(next(u["openid"] for u in sandbox.wechat_info["users"] if u["login"] == login))


def _confirmed(client: Any, order: Order) -> str:
    """The buyer back on the result page, which asks WeChat Pay."""
    page = client.get(f"/orders/{order.out_trade_no}/?check=0").content.decode()
    order.refresh_from_db()
    return str(page)


# -- which channel the pay page offers --------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "shown", "hidden"),
    [
        (DESKTOP, "wechat_native", ("wechat_h5", "wechat_jsapi")),
        (PHONE, "wechat_h5", ("wechat_native", "wechat_jsapi")),
        (WECHAT, "wechat_jsapi", ("wechat_native", "wechat_h5")),
    ],
)
def test_the_pay_page_offers_the_wechat_channel_that_fits_the_browser(
    en: Any, agent: str, shown: str, hidden: tuple[str, ...]
) -> None:
    order = _buy_mug(en)
    page = _pay_page(en, order, agent)
    assert f'data-testid="channel-{shown}"' in page
    for channel in hidden:
        assert f'data-testid="channel-{channel}"' not in page
    # Alipay and the wallet are offered as before, and chosen by default as before
    for channel in ("alipay_page", "alipay_wap", "alipay_qr", "balance"):
        assert f'data-testid="channel-{channel}"' in page
    assert 'value="balance" checked' in page and f'value="{shown}" checked' not in page


def test_a_channel_that_cannot_work_in_this_browser_is_refused(en: Any) -> None:
    order = _buy_mug(en)
    response = _choose(en, order, "wechat_jsapi", DESKTOP)  # JSAPI outside WeChat
    assert response.status_code == 200 and "Choose how to pay." in response.content.decode()
    assert not order.attempts.exists()


def test_a_top_up_offers_wechat_pay_but_not_the_wallet(en: Any) -> None:
    en.post("/wallet/top-up/", {"amount": "50", "once": once()})
    order = Order.objects.latest("pk")
    assert order.kind == Order.Kind.TOPUP
    page = _pay_page(en, order, PHONE)
    assert 'data-testid="channel-wechat_h5"' in page and 'data-testid="channel-balance"' not in page


# -- Native: the QR code on a computer --------------------------------------------------------


def test_pay_by_wechat_qr_then_the_order_is_fulfilled_once(en: Any, wx: Any) -> None:
    order = _buy_mug(en)
    sold = Goods.objects.get(code="mug").sold
    response = _choose(en, order, "wechat_native", DESKTOP)
    assert response.status_code == 302 and response["Location"].endswith(
        f"/orders/{order.out_trade_no}/qr/"
    )
    qr = en.get(response["Location"]).content.decode()
    assert "Scan with WeChat to pay" in qr and "<svg" in qr
    attempt = order.attempts.get()
    assert attempt.channel == "wechat_native" and attempt.qr_code.startswith("weixin://")
    # the sandbox plays "scanning" the code: a link to its scan page with the code_url
    assert f'href="{wx.url}/wechat/scan?code_url=weixin%3A%2F%2Fwxpay' in qr
    scan = httpx.get(
        f"{wx.url}/wechat/scan", params={"code_url": attempt.qr_code}, follow_redirects=True
    )
    assert scan.status_code == 200 and "¥39.00" in scan.text
    wx.wechat_pay(attempt.out_trade_no, "buyer1@sandbox.com")
    assert en.get(f"/orders/{order.out_trade_no}/status/").json()["status"] == "pending"
    page = _confirmed(en, order)
    assert order.status == Order.Status.PAID
    assert 'data-channel="wechat_native"' in page and "WeChat Pay transaction no." in page
    _confirmed(en, order)  # asked again (a reload): nothing applied twice
    assert Goods.objects.get(code="mug").sold == sold + 1
    assert order.attempts.get().status == PaymentAttempt.Status.SUCCEEDED
    # the QR page of a paid order leads to the result page
    assert en.get(f"/orders/{order.out_trade_no}/qr/")["Location"].endswith(
        f"/orders/{order.out_trade_no}/"
    )


def test_the_qr_page_reloads_without_placing_another_trade(en: Any, wx: Any) -> None:
    order = _buy_mug(en)
    _choose(en, order, "wechat_native", DESKTOP)
    code_url = order.attempts.get().qr_code
    for _ in range(2):
        page = en.get(f"/orders/{order.out_trade_no}/qr/").content.decode()
        assert "Scan with WeChat to pay" in page
    assert order.attempts.count() == 1 and order.attempts.get().qr_code == code_url


def test_waiting_for_wechat_says_wechat(en: Any, wx: Any) -> None:
    order = _buy_mug(en)
    _choose(en, order, "wechat_native", DESKTOP)
    page = _confirmed(en, order)
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    assert "Waiting for WeChat Pay" in main and "Alipay" not in main
    pay = _pay_page(en, order, DESKTOP)
    assert "let us check with WeChat Pay" in pay


def test_choosing_the_wallet_after_paying_by_wechat_does_not_charge_twice(
    en: Any, wx: Any, seeded: dict[str, Any]
) -> None:
    order = _buy_mug(en)
    _choose(en, order, "wechat_native", DESKTOP)
    attempt = order.attempts.get()
    wx.wechat_pay(attempt.out_trade_no)  # paid in WeChat; the site does not know yet
    before = wallet.balance(seeded["alice"])
    response = en.post(
        f"/orders/{order.out_trade_no}/pay/",
        {"channel": "balance", "once": once()},
        HTTP_USER_AGENT=DESKTOP,
        follow=True,
    )
    assert "WeChat Pay says this order is already paid." in response.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.attempts.get(channel="wechat_native").status == PaymentAttempt.Status.SUCCEEDED
    assert not order.attempts.filter(channel="balance").exists()
    assert wallet.balance(seeded["alice"]) == before


def test_wechat_unreachable_is_said_on_the_page(en: Any, wx: Any) -> None:
    order = _buy_mug(en)
    wx.stop()  # every call to WeChat Pay meets a closed port
    for channel, agent in (("wechat_native", DESKTOP), ("wechat_h5", PHONE)):
        response = _choose(en, order, channel, agent)
        assert response.status_code == 200, channel
        page = response.content.decode()
        assert 'class="msg msg-error"' in page and "WeChat Pay did not answer" in page
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


# -- H5: a phone browser ----------------------------------------------------------------------


def test_pay_by_wechat_h5_on_a_phone_and_come_back_through_the_return_page(
    en: Any, wx: Any
) -> None:
    order = _buy_mug(en)
    response = _choose(en, order, "wechat_h5", PHONE)
    assert response.status_code == 302
    h5_url = response["Location"]
    assert h5_url.startswith(wx.url + "/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=")
    attempt = order.attempts.get()
    redirect_url = parse_qs(urlsplit(h5_url).query)["redirect_url"][0]
    assert redirect_url == (f"{SITE}/zhifu/wechatpay/return/?out_trade_no={attempt.out_trade_no}")
    # the phone opens the H5 cashier (the sandbox wallet) and pays; WeChat sends it back
    wallet_page = httpx.get(h5_url, headers={"User-Agent": PHONE}, follow_redirects=True)
    assert wallet_page.status_code == 200 and "¥39.00" in wallet_page.text
    paid = httpx.post(
        str(wallet_page.url),
        data={"login": "buyer2@sandbox.com", "password": PASSWORD, "redirect_url": redirect_url},
    )
    assert (paid.status_code, paid.headers["location"]) == (303, redirect_url)
    back = en.get(redirect_url.removeprefix(SITE), HTTP_USER_AGENT=PHONE)
    assert back.status_code == 200
    text = back.content.decode()
    assert "Back from WeChat Pay" in text
    assert f"/orders/{order.out_trade_no}/?check=0" in text  # on to the result page
    order.refresh_from_db()
    assert order.status == Order.Status.PAID  # the return page asked WeChat Pay
    assert order.attempts.get().buyer_id == _openid(wx, "buyer2@sandbox.com")


def test_back_from_h5_without_paying_the_order_waits(en: Any, wx: Any) -> None:
    order = _buy_mug(en)
    _choose(en, order, "wechat_h5", PHONE)
    attempt = order.attempts.get()
    back = en.get(f"/zhifu/wechatpay/return/?out_trade_no={attempt.out_trade_no}")
    assert back.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING  # the redirect is never taken as payment


def test_a_made_up_return_from_wechat_is_refused_with_a_page(en: Any, wx: Any) -> None:
    back = en.get("/zhifu/wechatpay/return/?out_trade_no=<script>")
    assert back.status_code == 400
    assert "The link back from WeChat Pay names no order of yours" in back.content.decode()


# -- JSAPI: inside WeChat ---------------------------------------------------------------------


def _through_oauth(client: Any, sandbox: Any, location: str, login: str) -> Any:
    """WeChat's browser at the authorize URL as ``login``: back to the site with a code."""
    assert location.startswith(sandbox.url + "/connect/oauth2/authorize?")
    assert location.endswith("#wechat_redirect")
    query = parse_qs(urlsplit(location).query)
    assert query["redirect_uri"] == [f"{SITE}/wechat/oauth/"]
    assert query["scope"] == ["snsapi_base"]
    chosen = httpx.get(location.split("#")[0] + "&login=" + login)
    assert chosen.status_code == 302
    back = chosen.headers["location"]
    assert back.startswith(f"{SITE}/wechat/oauth/?code=")
    return client.get(back.removeprefix(SITE), HTTP_USER_AGENT=WECHAT)


def test_pay_by_wechat_jsapi_inside_wechat(en: Any, wx: Any) -> None:
    order = _buy_mug(en)
    sold = Goods.objects.get(code="mug").sold
    chosen = _choose(en, order, "wechat_jsapi", WECHAT)
    assert chosen["Location"] == f"/orders/{order.out_trade_no}/wechat/"
    assert not order.attempts.exists()  # nothing placed before the openid is known
    to_oauth = en.get(chosen["Location"], HTTP_USER_AGENT=WECHAT)
    assert to_oauth.status_code == 302
    back = _through_oauth(en, wx, to_oauth["Location"], "buyer2@sandbox.com")
    assert back.status_code == 302 and back["Location"] == f"/orders/{order.out_trade_no}/wechat/"
    assert en.session["wechat_openid"] == _openid(wx, "buyer2@sandbox.com")
    page = en.get(back["Location"], HTTP_USER_AGENT=WECHAT)
    assert page.status_code == 200
    text = page.content.decode()
    attempt = order.attempts.get()
    assert attempt.channel == "wechat_jsapi"
    # the parameters of getBrandWCPayRequest, as JSON for the page's script
    start = text.index('<script id="wechat-js-params" type="application/json">')
    import json

    params = json.loads(text[text.index(">", start) + 1 : text.index("</script>", start)])
    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["package"].startswith("prepay_id=") and params["signType"] == "RSA"
    # the sandbox's bridge script, allowed by this page's CSP only
    assert f'src="{wx.url}/wechat/jsbridge.js" nonce="' in text
    policy = page["Content-Security-Policy"]
    for directive in ("script-src", "connect-src", "frame-src"):
        assert wx.url in policy.split(directive, 1)[1].split(";")[0], directive
    # what the bridge does in the browser: WeChat checks paySign, the user pays
    check = httpx.post(f"{wx.url}/wechat/jsapi/check", json=params).json()
    assert check["ok"] is True, check
    wallet_page = check["wallet_url"]
    paid = httpx.post(
        wallet_page,
        data={"login": "buyer2@sandbox.com", "password": PASSWORD, "embedded": "1"},
    )
    assert 'zhifuWechat: "ok"' in paid.text
    result = _confirmed(en, order)
    assert order.status == Order.Status.PAID and 'data-channel="wechat_jsapi"' in result
    assert order.attempts.get().buyer_id == _openid(wx, "buyer2@sandbox.com")
    _confirmed(en, order)
    assert Goods.objects.get(code="mug").sold == sold + 1
    # a paid order's JSAPI page leads to the result page
    assert en.get(f"/orders/{order.out_trade_no}/wechat/")["Location"].endswith(
        f"/orders/{order.out_trade_no}/"
    )


def test_the_openid_is_kept_for_the_next_jsapi_payment(en: Any, wx: Any) -> None:
    en.session.save()
    session = en.session
    session["wechat_openid"] = _openid(wx, "buyer1@sandbox.com")
    session.save()
    order = _buy_mug(en)
    chosen = _choose(en, order, "wechat_jsapi", WECHAT)
    page = en.get(chosen["Location"], HTTP_USER_AGENT=WECHAT)
    assert page.status_code == 200  # no second trip to OAuth
    reloaded = en.get(chosen["Location"], HTTP_USER_AGENT=WECHAT)
    assert reloaded.status_code == 200 and order.attempts.count() == 1  # the same trade
    attempt = order.attempts.get()
    assert wx.wechat_order(attempt.out_trade_no)["payer_openid"] == _openid(
        wx, "buyer1@sandbox.com"
    )


def test_the_jsapi_page_without_a_choice_goes_to_the_pay_page(en: Any, wx: Any) -> None:
    order = _buy_mug(en)
    response = en.get(f"/orders/{order.out_trade_no}/wechat/", HTTP_USER_AGENT=WECHAT)
    assert response["Location"] == f"/orders/{order.out_trade_no}/pay/"
    assert not order.attempts.exists()


def test_an_oauth_answer_this_session_did_not_ask_for_is_refused(en: Any, wx: Any) -> None:
    order = _buy_mug(en)
    chosen = _choose(en, order, "wechat_jsapi", WECHAT)
    to_oauth = en.get(chosen["Location"], HTTP_USER_AGENT=WECHAT)
    state = parse_qs(urlsplit(to_oauth["Location"]).query)["state"][0]
    forged = en.get("/wechat/oauth/?code=abc&state=another")
    assert forged.status_code == 400
    assert "not the one this page started" in forged.content.decode()
    no_code = en.get(f"/wechat/oauth/?state={state}")
    assert no_code.status_code == 400 and "no “code”" in no_code.content.decode()
    bad_code = en.get(f"/wechat/oauth/?code=made-up&state={state}", follow=True)
    assert "WeChat could not confirm who you are (invalid code)" in bad_code.content.decode()
    assert "wechat_openid" not in en.session


def test_without_the_sandbox_the_bridge_is_not_included(en: Any, wx: Any, settings: Any) -> None:
    settings.WECHAT_SANDBOX_URL = ""  # a real merchant: WeChat's browser has its own bridge
    session = en.session
    session["wechat_openid"] = _openid(wx, "buyer1@sandbox.com")
    session.save()
    order = _buy_mug(en)
    chosen = _choose(en, order, "wechat_jsapi", WECHAT)
    page = en.get(chosen["Location"], HTTP_USER_AGENT=WECHAT)
    assert page.status_code == 200
    assert "jsbridge.js" not in page.content.decode()
    assert wx.url not in page["Content-Security-Policy"]
    qr_order = _buy_mug(en)
    _choose(en, qr_order, "wechat_native", DESKTOP)
    qr = en.get(f"/orders/{qr_order.out_trade_no}/qr/").content.decode()
    assert 'data-testid="qr-link"' not in qr  # weixin:// is for a phone's WeChat to scan


def test_other_pages_do_not_allow_the_sandbox(en: Any, wx: Any) -> None:
    order = _buy_mug(en)
    page = en.get(f"/orders/{order.out_trade_no}/pay/", HTTP_USER_AGENT=WECHAT)
    assert wx.url not in page["Content-Security-Policy"]


# -- rewards (straight from the dialog) and the API ------------------------------------------


def test_reward_by_wechat_credits_the_author_once(en: Any, wx: Any, seeded: dict[str, Any]) -> None:
    article = bobs_article()
    page = en.get(f"/articles/{article.pk}/", HTTP_USER_AGENT=DESKTOP).content.decode()
    assert 'value="wechat_native" data-testid="reward-wechat"' in page
    phone = en.get(f"/articles/{article.pk}/", HTTP_USER_AGENT=PHONE).content.decode()
    assert 'value="wechat_h5" data-testid="reward-wechat"' in phone
    before = wallet.balance(seeded["bob"])
    response = en.post(
        f"/articles/{article.pk}/reward/",
        {"amount": "5", "message": "微信打赏", "channel": "wechat_native", "once": once()},
        HTTP_USER_AGENT=DESKTOP,
    )
    order = Order.objects.latest("pk")
    assert response["Location"].endswith(f"/orders/{order.out_trade_no}/qr/")
    wx.wechat_pay(order.attempts.get().out_trade_no)
    _confirmed(en, order)
    _confirmed(en, order)
    assert order.status == Order.Status.PAID
    assert wallet.balance(seeded["bob"]) - before == Decimal("5.00")
    assert Reward.objects.get(order=order).channel == "wechat_native"


def test_reward_by_jsapi_goes_through_oauth(en: Any, wx: Any) -> None:
    article = bobs_article()
    response = en.post(
        f"/articles/{article.pk}/reward/",
        {"amount": "2", "channel": "wechat_jsapi", "once": once()},
        HTTP_USER_AGENT=WECHAT,
    )
    order = Order.objects.latest("pk")
    assert response["Location"] == f"/orders/{order.out_trade_no}/wechat/"
    to_oauth = en.get(response["Location"], HTTP_USER_AGENT=WECHAT)
    back = _through_oauth(en, wx, to_oauth["Location"], "buyer1@sandbox.com")
    assert en.get(back["Location"], HTTP_USER_AGENT=WECHAT).status_code == 200
    assert order.attempts.get().channel == "wechat_jsapi"


def test_the_api_gives_the_qr_code_the_h5_url_or_the_js_params(en: Any, wx: Any) -> None:
    article = bobs_article()

    def reward(channel: str, **extra: str) -> Any:
        return en.post(
            f"/api/articles/{article.pk}/rewards/",
            {"amount": "3", "channel": channel, **extra},
            content_type="application/json",
        )

    native = reward("wechat_native").json()
    assert native["qr_code"].startswith("weixin://wxpay/") and native["js_params"] is None
    h5 = reward("wechat_h5").json()
    assert h5["pay_url"].startswith(wx.url + "/cgi-bin/mmpayweb-bin/checkmweb?")
    jsapi = reward("wechat_jsapi", openid=_openid(wx, "buyer1@sandbox.com"))
    assert jsapi.status_code == 201, jsapi.content
    params = jsapi.json()["js_params"]
    assert params["package"].startswith("prepay_id=")
    assert httpx.post(f"{wx.url}/wechat/jsapi/check", json=params).json()["ok"] is True
    without = reward("wechat_jsapi")
    assert without.status_code == 400
    assert without.json()["error"]["message"].startswith(
        "openid: required to pay with wechat_jsapi"
    )
    odd = reward("wechat_jsapi", openid="o<script>")
    assert odd.status_code == 400 and "openid: 1 to 128 letters" in odd.json()["error"]["message"]
