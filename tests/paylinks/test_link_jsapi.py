"""A payment link opened in WeChat's own browser pays by WeChat Pay JSAPI, over real HTTP: the
site on a live port, the zhifu sandbox playing WeChat Pay, WeChat's web OAuth and (in Chromium)
WeChat's ``WeixinJSBridge``; the buyer's browser an httpx client with WeChat's user agent."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import parse_qsl, urljoin, urlsplit

import django
import httpx
import pytest
from django.test import Client

from tests.conftest import wait_until
from tests.paylinks.test_link_sandbox import DESKTOP, WECHAT, _browser, _choose
from zhifu.models import Order, PaymentAttempt
from zhifu.paylinks.services import create_link
from zhifu.providers.wechatpay_config import check_settings, oauth_conf, sandbox_bridge_url
from zhifu.sandbox.accounts import BUYER_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def _with_oauth(sb, settings, secret: str = "zhifu-sandbox") -> None:
    """ZHIFU["WECHATPAY"]["OAUTH"]: the sandbox plays open.weixin.qq.com and api.weixin.qq.com."""
    wx = {**settings.ZHIFU["WECHATPAY"]}
    wx["OAUTH"] = {"APP_SECRET": secret, "AUTHORIZE_URL": sb.url, "API_URL": sb.url}
    settings.ZHIFU = {**settings.ZHIFU, "WECHATPAY": wx}


def _offered(page: httpx.Response) -> list[str]:
    return re.findall(r'data-channel="([a-z0-9_]+)"', page.text)


def _sandbox_user(sb) -> dict:
    return sb.wechat_info["users"][0]


def _through_oauth(browser: httpx.Client, sb, link, login: str) -> httpx.Response:
    """Choose JSAPI on the link page, go through the sandbox's OAuth as ``login``: the site's
    answer to WeChat's redirect back (the JSAPI page, after one more redirect)."""
    chosen = _choose(browser, link, "wechat_jsapi")
    assert chosen.status_code == 302, chosen.text[:500]
    assert chosen.headers["Location"] == f"{link.get_absolute_url()}wechat/"
    to_oauth = browser.get(chosen.headers["Location"])
    assert to_oauth.status_code == 302, to_oauth.text[:500]
    authorize = to_oauth.headers["Location"]
    assert authorize.startswith(f"{sb.url}/connect/oauth2/authorize?")
    assert authorize.endswith("#wechat_redirect")
    query = dict(parse_qsl(urlsplit(authorize).query))
    assert query["scope"] == "snsapi_base" and query["response_type"] == "code"
    assert query["appid"] == sb.wechat_info["appid"]
    assert query["redirect_uri"] == f"{browser.base_url}{link.get_absolute_url()}wechat/oauth/"
    assert len(query["state"]) >= 16
    # The sandbox asks which of its WeChat users this browser is.
    asks = httpx.get(authorize, timeout=15)
    assert asks.status_code == 200 and 'id="users"' in asks.text
    hrefs = [html.unescape(h) for h in re.findall(r'<a class="user" href="([^"]+)"', asks.text)]
    picked = next(h for h in hrefs if h.endswith("login=" + login.replace("@", "%40")))
    back = httpx.get(urljoin(authorize, picked), timeout=15)
    assert back.status_code == 302
    assert back.headers["Location"].startswith(query["redirect_uri"] + "?code=")
    assert dict(parse_qsl(urlsplit(back.headers["Location"]).query))["state"] == query["state"]
    return browser.get(back.headers["Location"])


def _js_params(page: httpx.Response) -> dict:
    found = re.search(
        r'<script id="zhifu-jsapi-params" type="application/json">(.*?)</script>', page.text, re.S
    )
    assert found, page.text[:1000]
    params: dict = json.loads(found.group(1))
    return params


def test_in_wechat_jsapi_is_offered_first_only_when_oauth_is_configured(
    sandbox_wechat, settings, live_server, link_staff
):
    sb = sandbox_wechat
    link = create_link(created_by=link_staff, amount="1.00", subject="微信内")
    browser = _browser(live_server, WECHAT)
    assert _offered(browser.get(link.get_absolute_url())) == ["wechat_native"]
    # choosing JSAPI anyway (a stale page) is refused, not started
    refused = _choose(browser, link, "wechat_jsapi", offered=False)
    assert refused.status_code == 400 and 'data-code="invalid_channel"' in refused.text
    _with_oauth(sb, settings, secret="")  # an empty APP_SECRET: OAuth is not configured
    assert oauth_conf() is None
    assert _offered(browser.get(link.get_absolute_url())) == ["wechat_native"]

    _with_oauth(sb, settings)
    page = browser.get(link.get_absolute_url())
    assert _offered(page) == ["wechat_jsapi", "wechat_native"]  # JSAPI first, Native fallback
    assert 'id="zhifu-in-wechat"' in page.text
    # elsewhere nothing changes: JSAPI only inside WeChat
    assert _offered(_browser(live_server, DESKTOP).get(link.get_absolute_url())) == [
        "alipay_page",
        "wechat_native",
    ]
    assert PaymentAttempt.objects.filter(order=link.order).count() == 0


def test_a_link_is_paid_by_jsapi_after_wechats_oauth_once(
    sandbox_wechat, settings, live_server, link_staff, fulfilled
):
    sb = sandbox_wechat
    _with_oauth(sb, settings)
    user = _sandbox_user(sb)
    link = create_link(created_by=link_staff, amount="9.90", subject="公众号里付款")
    browser = _browser(live_server, WECHAT)

    page = _through_oauth(browser, sb, link, user["login"])
    assert (
        page.status_code == 302 and page.headers["Location"] == f"{link.get_absolute_url()}wechat/"
    )
    replay = browser.get(str(page.request.url))  # WeChat's redirect back, a second time
    assert replay.status_code == 400 and 'data-code="wechat_oauth_state"' in replay.text
    jsapi = browser.get(page.headers["Location"])
    assert jsapi.status_code == 200, jsapi.text[:500]
    attempt = PaymentAttempt.objects.get(order=link.order)
    assert attempt.channel == "wechat_jsapi" and attempt.status == PaymentAttempt.Status.PENDING
    at_wechat = sb.wechat_order(attempt.out_trade_no)
    assert at_wechat["trade_type"] == "JSAPI"
    assert at_wechat["payer_openid"] == user["openid"]  # the openid the OAuth round trip learnt

    # The page carries this attempt's pay parameters and, the gateway being the sandbox, its
    # bridge script; its own script is a file of this site (no inline script).
    params = _js_params(jsapi)
    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["package"].startswith("prepay_id=") and params["signType"] == "RSA"
    assert f'data-out-trade-no="{attempt.out_trade_no}"' in jsapi.text
    assert f'<script src="{sb.url}/wechat/jsbridge.js"' in jsapi.text
    assert sandbox_bridge_url() == f"{sb.url}/wechat/jsbridge.js"
    assert '<script src="/zhifu/link/jsapi.js"' in jsapi.text
    script = browser.get("/zhifu/link/jsapi.js")
    assert script.status_code == 200 and "getBrandWCPayRequest" in script.text
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", jsapi.text) == []

    # What WeChat's browser checks before it opens the wallet: the parameters hold.
    check = httpx.post(f"{sb.url}/wechat/jsapi/check", json=params, timeout=15).json()
    assert check["ok"] is True, check
    # A reload of the JSAPI page resumes the same trade (no second attempt, no new OAuth).
    again = browser.get(f"{link.get_absolute_url()}wechat/")
    assert again.status_code == 200
    assert PaymentAttempt.objects.filter(order=link.order).count() == 1
    assert _js_params(again)["package"] == params["package"]

    sb.wechat_pay(attempt.out_trade_no, buyer=user["login"])
    assert wait_until(lambda: Order.objects.get(pk=link.order_id).status == Order.Status.PAID)
    assert fulfilled == [("paid", link.order.out_trade_no)]
    # the bridge said ok: the page goes to the link, which asks WeChat and says paid
    back = browser.get(f"{link.get_absolute_url()}?out_trade_no={attempt.out_trade_no}")
    assert back.status_code == 200 and 'data-status="paid"' in back.text
    # a paid link's JSAPI page goes back to the link; nothing is paid twice
    after = browser.get(f"{link.get_absolute_url()}wechat/")
    assert after.status_code == 302 and after.headers["Location"] == link.get_absolute_url()
    assert fulfilled == [("paid", link.order.out_trade_no)]

    # A second link in the same WeChat browser: the openid is known, no OAuth again.
    second = create_link(created_by=link_staff, amount="2.00", subject="第二笔")
    chosen = _choose(browser, second, "wechat_jsapi")
    page = browser.get(chosen.headers["Location"])
    assert page.status_code == 200 and "zhifu-jsapi-params" in page.text
    other = PaymentAttempt.objects.get(order=second.order)
    assert sb.wechat_order(other.out_trade_no)["payer_openid"] == user["openid"]


def test_cancel_and_fail_show_the_link_with_a_message(
    sandbox_wechat, settings, live_server, link_staff
):
    _with_oauth(sandbox_wechat, settings)
    link = create_link(created_by=link_staff, amount="1.00", subject="取消")
    browser = _browser(live_server, WECHAT)
    for result in ("cancel", "fail"):
        page = browser.get(f"{link.get_absolute_url()}?wechat={result}")
        assert page.status_code == 200
        assert f'id="zhifu-link-notice" data-result="{result}"' in page.text
        assert _offered(page) == ["wechat_jsapi", "wechat_native"]  # try again, or the QR code
    assert 'id="zhifu-link-notice"' not in browser.get(f"{link.get_absolute_url()}?wechat=x").text


def test_a_wrong_state_or_a_bad_code_is_refused_with_a_clear_page(
    sandbox_wechat, settings, live_server, link_staff
):
    sb = sandbox_wechat
    _with_oauth(sb, settings)
    link = create_link(created_by=link_staff, amount="3.00", subject="state")
    browser = _browser(live_server, WECHAT)
    oauth = f"{link.get_absolute_url()}wechat/oauth/"

    # no OAuth started by this browser
    page = browser.get(oauth, params={"code": "abc", "state": "forged"})
    assert page.status_code == 400 and 'data-code="wechat_oauth_state"' in page.text
    assert _offered(page) == ["wechat_jsapi", "wechat_native"]  # the buyer can start again

    # started, then a callback with another state (a link someone else sent): refused
    chosen = _choose(browser, link, "wechat_jsapi")
    authorize = browser.get(chosen.headers["Location"]).headers["Location"]
    state = dict(parse_qsl(urlsplit(authorize).query))["state"]
    page = browser.get(oauth, params={"code": "abc", "state": state + "x"})
    assert page.status_code == 400 and 'data-code="wechat_oauth_state"' in page.text
    # the right state for another link is refused too
    other = create_link(created_by=link_staff, amount="3.00", subject="other")
    page = browser.get(
        f"{other.get_absolute_url()}wechat/oauth/", params={"code": "a", "state": state}
    )
    assert page.status_code == 400 and 'data-code="wechat_oauth_state"' in page.text

    # the right state with a code WeChat does not know: WeChat's reason, no 500
    page = browser.get(oauth, params={"code": "not-a-code", "state": state})
    assert page.status_code == 502 and 'data-code="wechat_oauth_failed"' in page.text
    assert "invalid code" in page.text
    assert PaymentAttempt.objects.filter(order=link.order).count() == 0
    # the JSAPI page without a choice (a stray visit) goes back to the link
    stray = _browser(live_server, WECHAT).get(f"{link.get_absolute_url()}wechat/")
    assert stray.status_code == 302 and stray.headers["Location"] == link.get_absolute_url()


def test_only_the_jsapi_page_widens_the_csp_for_the_sandbox(
    sandbox_wechat, settings, live_server, link_staff
):
    """The site's policy (Django 6's own SECURE_CSP, or django-csp on Django 5.2, whichever this
    Django has): the sandbox's origin is allowed for scripts, requests and frames on the JSAPI
    page alone."""
    sb = sandbox_wechat
    _with_oauth(sb, settings)
    directives = {"default-src": ["'self'"], "script-src": ["'self'"]}
    if django.VERSION >= (6, 0):
        middleware = "django.middleware.csp.ContentSecurityPolicyMiddleware"
        settings.SECURE_CSP = directives
    else:
        middleware = "csp.middleware.CSPMiddleware"
        settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": directives}
    settings.MIDDLEWARE = [middleware, *settings.MIDDLEWARE]
    link = create_link(created_by=link_staff, amount="1.00", subject="CSP")
    client = Client(HTTP_USER_AGENT=WECHAT)
    session = client.session
    session["zhifu_wechat_openids"] = {sb.wechat_info["appid"]: _sandbox_user(sb)["openid"]}
    session["zhifu_link_jsapi"] = [link.code]
    session.save()
    page = client.get(f"{link.get_absolute_url()}wechat/")
    assert page.status_code == 200, page.content[:500]
    policy = {
        d.split()[0]: d.split()[1:] for d in page["Content-Security-Policy"].split(";") if d.strip()
    }
    origin = sb.url.rstrip("/")
    assert policy["script-src"] == ["'self'", origin]
    assert policy["connect-src"] == ["'self'", origin]
    assert policy["frame-src"] == ["'self'", origin]
    plain = client.get(link.get_absolute_url())
    assert origin not in plain["Content-Security-Policy"]


def test_the_oauth_setting_is_checked():
    good = {"APP_SECRET": "s3cret", "AUTHORIZE_URL": "https://open.weixin.qq.com"}

    def ids(oauth) -> set[str]:
        return {
            m.id
            for m in check_settings({"WECHATPAY": {"OAUTH": oauth}})
            if m.id in ("zhifu.E023", "zhifu.W001") and "OAUTH" in m.msg
        }

    assert ids(good) == set()
    assert ids({}) == set() and ids({"APP_SECRET": ""}) == set()  # off
    assert ids({"APP_SECRET": "x", "API_URL": "http://127.0.0.1:9000"}) == set()  # the sandbox
    assert ids("secret") == {"zhifu.E023"}
    assert ids({"APP_SECRET": 12}) == {"zhifu.E023"}
    assert ids({"APP_SECRET": "   "}) == {"zhifu.E023"}
    assert ids({**good, "API_URL": "api.weixin.qq.com"}) == {"zhifu.E023"}
    assert ids({**good, "AUTHORIZE_URL": "http://open.weixin.qq.com"}) == {"zhifu.E023"}
    assert ids({**good, "SECRET": "x"}) == {"zhifu.W001"}
    message = next(
        m
        for m in check_settings({"WECHATPAY": {"OAUTH": {**good, "API_URL": "ftp://x"}}})
        if m.id == "zhifu.E023"
    )
    assert '["OAUTH"]["API_URL"]' in message.msg


@pytest.mark.e2e
def test_in_wechats_browser_the_bridge_pays_the_link(
    chromium, sandbox_wechat, settings, live_server, link_staff, fulfilled
):
    """Chromium with WeChat's user agent: OAuth at the sandbox, the JSAPI page, the sandbox's
    WeixinJSBridge opening the wallet over it, paid; under a nonce-only script policy."""
    sb = sandbox_wechat
    _with_oauth(sb, settings)
    user = sb.wechat_info["users"][1]
    link = create_link(created_by=link_staff, amount="5.20", subject="浏览器里付")
    origin = sb.url.rstrip("/")
    policy = (
        f"default-src 'self'; script-src 'self' {origin}; connect-src 'self' {origin}; "
        f"frame-src 'self' {origin}; style-src 'self' 'unsafe-inline'"
    )
    context = chromium.new_context(user_agent=WECHAT, viewport={"width": 390, "height": 800})
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )

    def with_csp(route):  # the JSAPI page under the policy it asks for (see the CSP test)
        response = route.fetch()
        route.fulfill(
            response=response, headers={**response.headers, "content-security-policy": policy}
        )

    page.route(re.compile(r".*/zhifu/link/[A-Za-z0-9_-]+/wechat/$"), with_csp)

    page.goto(f"{live_server.url}{link.get_absolute_url()}")
    page.click('button[data-channel="wechat_jsapi"]')
    page.wait_for_selector("#users", timeout=15000)
    assert page.url.startswith(f"{origin}/connect/oauth2/authorize?")
    page.locator("a.user", has_text=user["login"]).click()
    page.wait_for_selector("#zhifu-jsapi", timeout=15000)
    frame = page.frame_locator("#zhifu-wechat-overlay iframe")
    frame.locator("#pay-form").wait_for(timeout=15000)
    assert frame.locator("#login").input_value() == user["login"]  # the payer is fixed
    frame.locator("#password").fill(BUYER_PASSWORD)
    frame.locator("#pay").click()
    page.wait_for_selector('#zhifu-link-status[data-status="paid"]', timeout=20000)
    assert page.is_visible("#zhifu-link-paid")
    assert fulfilled == [("paid", link.order.out_trade_no)]
    attempt = PaymentAttempt.objects.get(order=link.order)
    assert attempt.channel == "wechat_jsapi"
    assert violations == []
    context.close()
