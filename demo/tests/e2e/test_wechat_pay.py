"""WeChat Pay in real headless Chromium against the real processes (site, sandbox, worker): the
QR code on a computer, H5 in a phone's browser (a phone viewport and user agent), JSAPI in
WeChat's browser (``MicroMessenger`` in the user agent: OAuth, then the sandbox's JS bridge).
Each payment is confirmed by WeChat Pay's notification or the result page's query, and the
order is fulfilled exactly once — also when the sandbox delivers each notification three times
at once. Its own users (``wx_*``), so that nothing here depends on the other e2e tests.
Screenshots go to ``test-output/e2e/wechat-*.png``."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from .conftest import PASSWORD, Demo, shot, wait_status

pytestmark = pytest.mark.e2e

WALLET_PASSWORD = "111111"  # noqa: S105 - every sandbox WeChat user's published password
DESKTOP = {"viewport": {"width": 1200, "height": 860}}
# Playwright's "iPhone 13" descriptor, and a phone inside WeChat (Android, WeChat 8.0).
IPHONE = {
    "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 15_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/15.0 Mobile/15E148 Safari/604.1",
    "viewport": {"width": 390, "height": 664},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
IN_WECHAT = {
    "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 7 Build/UQ1A.240205.004; wv) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 "
    "XWEB/1160065 MMWEBSDK/20231202 MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64 "
    "Weixin NetType/WIFI Language/zh_CN ABI/arm64",
    "viewport": {"width": 412, "height": 839},
    "device_scale_factor": 2.625,
    "is_mobile": True,
    "has_touch": True,
}
# Every Content-Security-Policy violation in the page (none is expected anywhere).
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture
def device(demo: Demo, browser: Any) -> Iterator[Any]:
    """``device("wx_alice", **IPHONE)`` -> a logged-in page in its own browser context."""
    contexts: list[Any] = []

    def _open(username: str, **options: Any) -> Any:
        _user(demo, username)
        context = browser.new_context(**options)
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.add_init_script(WATCH_CSP)
        page.goto(demo.url + "/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("[data-testid=login-submit]")
        page.wait_for_selector("[data-testid=username]")
        return page

    yield _open
    for context in contexts:
        context.close()


def _user(demo: Demo, name: str) -> None:
    demo.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.filter(username='{name}').exists() or "
        f"get_user_model().objects.create_user('{name}', password='{PASSWORD}')",
    )


def _query(demo: Demo, code: str) -> Any:
    """A value computed in the demo's database (``code`` sets ``result``), as JSON."""
    out = demo.manage("shell", "-c", code + "\nimport json; print(json.dumps(result))")
    return json.loads(out.strip().splitlines()[-1])


def _fulfilment(demo: Demo, order_no: str) -> dict[str, Any]:
    """What the order's payment did: its status, the attempts that succeeded, the sandbox's
    notifications that reached the site, and the goods sold / ledger entries it made."""
    return dict(
        _query(
            demo,
            "from zhifu.models import Order, LedgerEntry\n"
            "from shop.models import Goods\n"
            f"o = Order.objects.get(out_trade_no='{order_no}')\n"
            "paid = o.attempts.filter(status='succeeded')\n"
            "result = {'status': str(o.status), 'succeeded': paid.count(),\n"
            "  'attempts': [a.out_trade_no for a in paid],\n"
            "  'ledger': LedgerEntry.objects.filter(order=o).count(),\n"
            "  'mug_sold': Goods.objects.get(code='mug').sold}",
        )
    )


def _sandbox(demo: Demo, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(  # noqa: S310 - the local sandbox
        demo.sandbox_url + "/sandbox/api/wechat/" + path,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        return json.loads(answer.read())


def _no_csp_violation(page: Any) -> None:
    assert page.evaluate("window.__csp || []") == []


def _pay_in_wallet(frame: Any, login: str | None = None) -> None:
    """The sandbox's WeChat wallet (a page or the JSAPI overlay's frame): pay as ``login``."""
    if login is not None:
        frame.locator("#login").select_option(login)
    frame.locator("#password").fill(WALLET_PASSWORD)
    frame.locator("#pay").click()


def _money(text: str) -> Decimal:
    match = re.search(r"¥([\d,]+\.\d\d)", text)
    assert match, text
    return Decimal(match.group(1).replace(",", ""))


def test_a_computer_pays_goods_by_scanning_the_wechat_qr_code(demo: Demo, device: Any) -> None:
    page = device("wx_carol", **DESKTOP)
    sold_before = _query(
        demo, "from shop.models import Goods\nresult = Goods.objects.get(code='mug').sold"
    )
    page.goto(demo.url + "/shop/")
    page.locator("article.goods[data-code=mug]").locator("button").click()
    # a computer: the QR code, not H5 or JSAPI
    assert page.locator("[data-testid=channel-wechat_native]").count() == 1
    assert page.locator("[data-testid=channel-wechat_h5]").count() == 0
    assert page.locator("[data-testid=channel-wechat_jsapi]").count() == 0
    shot(page, "wechat-pay-page-desktop")
    page.check("[data-testid=channel-wechat_native]")
    page.click("[data-testid=pay-button]")
    page.wait_for_selector("[data-testid=qr] svg")
    assert page.get_attribute("[data-testid=qr-page]", "data-gateway") == "wechatpay"
    order_no = page.url.rstrip("/").split("/")[-2]
    shot(page, "wechat-native-qr")
    page.set_viewport_size({"width": 390, "height": 844})  # the same page on a narrow screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "wechat-native-qr-narrow")
    page.set_viewport_size(DESKTOP["viewport"])
    _no_csp_violation(page)
    # WeChat delivers each notification three times at once: still fulfilled once
    _sandbox(demo, "POST", "faults", {"notification_copies": 3})
    try:
        # "scan" it with the sandbox's WeChat, on another device
        phone = page.context.new_page()
        phone.goto(page.get_attribute("[data-testid=qr-link]", "href"))
        assert phone.url.startswith(demo.sandbox_url + "/wechat/pay/")
        assert "¥39.00" in phone.inner_text("#amount")
        _pay_in_wallet(phone, "buyer2@sandbox.com")
        phone.wait_for_selector("#paid")
        # the QR page notices by itself (the notification paid the order)
        page.wait_for_url(f"{demo.url}/orders/{order_no}/", timeout=30_000)
        wait_status(page, "paid")
    finally:
        _sandbox(demo, "POST", "faults", {"reset": True})
    assert page.get_attribute("[data-testid=paid-with]", "data-channel") == "wechat_native"
    shot(page, "wechat-native-paid")
    done = _fulfilment(demo, order_no)
    assert done["status"] == "paid" and done["succeeded"] == 1
    sent = _sandbox(demo, "GET", f"notifications?out_trade_no={done['attempts'][0]}")
    answered = [a for a in sent["attempts"] if a.get("status_code") == 204]
    assert len(sent["attempts"]) >= 3 and answered  # the copies reached the site
    assert done["mug_sold"] == sold_before + 1  # three notifications, one fulfilment


def test_a_course_left_unpaid_is_paid_later_by_wechat_qr(demo: Demo, device: Any) -> None:
    page = device("wx_dave", **DESKTOP)
    page.goto(demo.url + "/courses/")
    page.locator("article.course[data-code=vue]").locator("h2 a").click()
    page.locator("[data-testid^=option-]").first.check()
    page.click("[data-testid=add-to-cart]")
    page.click("[data-testid=go-checkout]")
    page.click("[data-testid=place-order]")
    page.check("[data-testid=channel-wechat_native]")
    page.click("[data-testid=pay-button]")
    page.wait_for_selector("[data-testid=qr] svg")  # ... and the buyer walks away
    page.goto(demo.url + "/orders/")
    pending = page.locator("article.order").first
    assert pending.locator("[data-testid=status]").get_attribute("data-status") == "pending"
    order_no = pending.get_attribute("data-order")
    pending.locator("[data-testid=go-pay]").click()
    assert page.locator("[data-testid=open-attempt]").count() == 1  # "you started paying..."
    page.check("[data-testid=channel-wechat_native]")
    page.click("[data-testid=pay-button]")
    page.wait_for_selector("[data-testid=qr] svg")
    phone = page.context.new_page()
    phone.goto(page.get_attribute("[data-testid=qr-link]", "href"))
    _pay_in_wallet(phone, "buyer1@sandbox.com")
    phone.wait_for_selector("#paid")
    page.wait_for_url(f"{demo.url}/orders/{order_no}/", timeout=30_000)
    wait_status(page, "paid")
    assert page.locator("[data-testid=enrollment]").count() == 1
    done = _fulfilment(demo, str(order_no))
    assert done["succeeded"] == 1
    shot(page, "wechat-course-paid-later")


def test_a_phone_tops_up_the_wallet_through_wechat_h5(demo: Demo, device: Any) -> None:
    page = device("wx_erin", **IPHONE)
    page.goto(demo.url + "/wallet/")
    before = _money(page.inner_text("[data-testid=balance]"))
    page.fill("[data-testid=topup-amount]", "66")
    page.click("[data-testid=topup-button]")
    # a phone browser (not WeChat): H5, no QR code, no JSAPI, no wallet for a top-up
    assert page.locator("[data-testid=channel-wechat_h5]").count() == 1
    assert page.locator("[data-testid=channel-wechat_native]").count() == 0
    assert page.locator("[data-testid=channel-wechat_jsapi]").count() == 0
    assert page.locator("[data-testid=channel-balance]").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "wechat-pay-page-phone")
    page.check("[data-testid=channel-wechat_h5]")
    page.click("[data-testid=pay-button]")
    # WeChat's H5 cashier (the sandbox wallet), then back to the site whether paid or not
    page.wait_for_selector("#pay-form")
    assert page.url.startswith(demo.sandbox_url + "/wechat/pay/")
    shot(page, "wechat-h5-cashier")
    _pay_in_wallet(page, "buyer1@sandbox.com")
    page.wait_for_url(f"{demo.url}/orders/**", timeout=30_000)
    wait_status(page, "paid")
    assert page.get_attribute("[data-testid=paid-with]", "data-channel") == "wechat_h5"
    order_no = page.inner_text("[data-testid=order-no]")
    shot(page, "wechat-h5-paid")
    _no_csp_violation(page)
    page.goto(demo.url + "/wallet/")
    assert _money(page.inner_text("[data-testid=balance]")) - before == Decimal("66.00")
    done = _fulfilment(demo, order_no)
    assert done["succeeded"] == 1 and done["ledger"] == 1  # one top-up entry


def test_inside_wechat_a_reader_rewards_by_jsapi_then_buys_without_signing_in_again(
    demo: Demo, device: Any
) -> None:
    page = device("wx_fay", **IN_WECHAT)
    page.goto(demo.url + "/articles/")
    page.locator("[data-testid^=article-][data-code=idempotent]").locator("h2 a").click()
    page.click("[data-testid=open-reward]")
    page.check("[data-testid=preset-5]", force=True)
    page.fill("[data-testid=reward-message]", "微信内打赏")
    assert page.get_attribute("[data-testid=reward-wechat]", "value") == "wechat_jsapi"
    page.check("[data-testid=reward-wechat]")
    page.click("[data-testid=reward-submit]")
    # WeChat's silent OAuth (the sandbox asks which of its users this browser is)
    page.wait_for_selector("#users")
    assert page.url.startswith(demo.sandbox_url + "/connect/oauth2/authorize?")
    shot(page, "wechat-oauth")
    page.locator("a.user", has_text="buyer2@sandbox.com").click()
    # back on the site's JSAPI page: the bridge opens WeChat Pay over it
    page.wait_for_selector("[data-testid=wechat-jsapi]")
    frame = page.frame_locator("#zhifu-wechat-overlay iframe")
    frame.locator("#pay-form").wait_for()
    assert frame.locator("#login").input_value() == "buyer2@sandbox.com"  # the payer is fixed
    shot(page, "wechat-jsapi-bridge")
    _no_csp_violation(page)
    _pay_in_wallet(frame)
    wait_status(page, "paid")
    assert page.get_attribute("[data-testid=paid-with]", "data-channel") == "wechat_jsapi"
    reward_no = page.inner_text("[data-testid=order-no]")
    shot(page, "wechat-jsapi-paid")
    done = _fulfilment(demo, reward_no)
    # paid once; the author's wallet credited once (one reward_income entry)
    assert done["succeeded"] == 1 and done["ledger"] == 1

    # a second payment in the same WeChat browser: the openid is known, no OAuth again;
    # cancelling in WeChat leaves the order payable from the same page
    page.goto(demo.url + "/shop/")
    page.locator("article.goods[data-code=cable]").locator("button").click()
    assert page.locator("[data-testid=channel-wechat_native]").count() == 0
    assert page.locator("[data-testid=channel-wechat_h5]").count() == 0
    page.check("[data-testid=channel-wechat_jsapi]")
    page.click("[data-testid=pay-button]")
    page.wait_for_selector("[data-testid=wechat-jsapi]")
    assert page.url.startswith(demo.url)  # not sent to OAuth
    page.wait_for_selector("#zhifu-wechat-overlay iframe")
    frame = page.frame_locator("#zhifu-wechat-overlay iframe")
    frame.locator("#cancel").click()
    page.wait_for_selector("[data-testid=wechat-jsapi][data-result=cancel]")
    assert "closed WeChat Pay" in page.inner_text("[data-testid=jsapi-status]") or (
        "关闭" in page.inner_text("[data-testid=jsapi-status]")
    )
    shot(page, "wechat-jsapi-cancelled")
    page.click("[data-testid=jsapi-pay]")
    frame = page.frame_locator("#zhifu-wechat-overlay iframe")
    _pay_in_wallet(frame)
    wait_status(page, "paid")
    assert page.get_attribute("[data-testid=paid-with]", "data-channel") == "wechat_jsapi"
    _no_csp_violation(page)
