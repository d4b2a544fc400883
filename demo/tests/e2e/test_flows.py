"""The demo in real headless Chromium against the real processes (site, sandbox, worker).

Users are split across tests so each test's assertions do not depend on the others' order:
carol buys goods and leaves an order unpaid, alice buys courses, alice rewards bob's articles
(bob checks his wallet), bob lets an order expire.
"""

from __future__ import annotations

import re
import time
from decimal import Decimal
from typing import Any

import pytest

from .conftest import (
    BEAT_SECONDS,
    BUYER,
    ORDER_EXPIRY_SECONDS,
    Demo,
    pay_at_cashier,
    shot,
    wait_status,
)

pytestmark = pytest.mark.e2e


def money(text: str) -> Decimal:
    match = re.search(r"-?¥([\d,]+\.\d\d)", text)
    assert match, text
    return Decimal(match.group(1).replace(",", ""))


def test_buy_goods_with_alipay(demo: Demo, login: Any) -> None:
    page = login("carol")
    page.goto(demo.url + "/shop/")
    mug = page.locator("article.goods[data-code=mug]")
    name = mug.locator("h2").inner_text()
    mug.locator("button").click()
    assert "/pay/" in page.url
    assert money(page.inner_text("[data-testid=order-total]")) == Decimal("39.00")
    page.check("[data-testid=channel-alipay_page]")
    page.click("[data-testid=pay-button]")
    pay_at_cashier(page, demo)
    wait_status(page, "paid")
    assert "支付成功" in page.inner_text("[data-testid=result-title]")  # Chinese by default
    shot(page, "goods-paid")
    page.goto(demo.url + "/orders/")
    first = page.locator("article.order").first
    assert first.locator("[data-testid=status]").get_attribute("data-status") == "paid"
    assert name in first.inner_text()
    shot(page, "goods-order-list")


def test_two_courses_with_coupon_and_credits(demo: Demo, login: Any) -> None:
    page = login("alice")
    page.click("[data-testid=lang-en]")  # this one in English
    for code, testid in (("python", "option-90"), ("payments", "option-permanent")):
        page.goto(demo.url + "/courses/")
        page.locator(f"article.course[data-code={code}]").locator("h2 a").click()
        page.check(f"[data-testid={testid}]")
        page.click("[data-testid=add-to-cart]")
    assert page.inner_text("[data-testid=cart-count]") == "2"
    page.click("[data-testid=go-checkout]")
    page.check("[data-testid=coupon-WELCOME20]")
    page.fill("[data-testid=credits]", "100")
    page.click("[data-testid=recalculate]")
    # 99 + 399 − 20 (coupon) − 10 (100 credits) = 468, computed by the server
    assert money(page.inner_text("[data-testid=coupon-discount]")) == Decimal("20.00")
    assert money(page.inner_text("[data-testid=credits-discount]")) == Decimal("10.00")
    assert money(page.inner_text("[data-testid=checkout-total]")) == Decimal("468.00")
    shot(page, "courses-checkout")
    page.click("[data-testid=place-order]")
    assert money(page.inner_text("[data-testid=order-total]")) == Decimal("468.00")
    page.check("[data-testid=channel-alipay_page]")
    page.click("[data-testid=pay-button]")
    pay_at_cashier(page, demo)
    wait_status(page, "paid")
    enrolled = page.locator("[data-testid=enrollment]").all_inner_texts()
    assert len(enrolled) == 2 and any("permanent" in e for e in enrolled)
    shot(page, "courses-paid")

    page.goto(demo.url + "/courses/mine/")
    assert page.locator("[data-testid^=enrollment-]").count() == 2
    shot(page, "courses-my-courses")
    page.goto(demo.url + "/courses/coupons/")
    assert page.get_attribute("[data-testid=coupon-status-WELCOME20]", "data-testid")
    assert "Used" in page.inner_text("[data-testid=coupon-status-WELCOME20]")
    assert page.inner_text("[data-testid=credits-available]") == "400"
    assert page.locator("[data-testid=cart-count]").count() == 0  # bought items left the cart


def test_reward_by_alipay_and_by_balance(demo: Demo, login: Any) -> None:
    author = login("bob")
    author.goto(demo.url + "/wallet/")
    before = money(author.inner_text("[data-testid=balance]"))

    page = login("alice")
    page.goto(demo.url + "/articles/")
    page.locator("[data-testid^=article-][data-code=return-url]").locator("h2 a").click()
    article_url = page.url
    page.click("[data-testid=open-reward]")
    page.check("[data-testid=preset-10]", force=True)
    page.fill("[data-testid=reward-message]", "支付宝打赏")
    page.check("[data-testid=reward-alipay]")
    page.click("[data-testid=reward-submit]")
    pay_at_cashier(page, demo)
    wait_status(page, "paid")
    shot(page, "reward-alipay-paid")

    page.goto(article_url)
    page.click("[data-testid=open-reward]")
    page.check("[data-testid=preset-2]", force=True)
    page.fill("[data-testid=custom-amount]", "5.50")  # a custom amount wins over the preset
    page.fill("[data-testid=reward-message]", "余额打赏")
    page.check("[data-testid=reward-balance]")
    page.click("[data-testid=reward-submit]")
    wait_status(page, "paid")
    page.goto(article_url)
    # two rewards by one reader: the article counts people ("1 人打赏")
    assert page.get_attribute("[data-testid=reward-count]", "data-count") == "1"
    rewards = page.inner_text("[data-testid=reward-list]")
    assert "支付宝打赏" in rewards and "余额打赏" in rewards and "¥5.50" in rewards
    shot(page, "reward-article")

    author.goto(demo.url + "/wallet/")
    after = money(author.inner_text("[data-testid=balance]"))
    assert after - before == Decimal("15.50")  # credited exactly once per reward
    assert author.locator("tr.ledger-reward_income").count() == 2
    shot(author, "reward-author-wallet")

    # the author cannot reward their own article
    author.goto(article_url)
    assert author.locator("[data-testid=own-article]").count() == 1


def test_author_withdraws_to_alipay(demo: Demo, login: Any) -> None:
    """The demo talks to the sandbox in certificate mode, the mode Alipay requires for transfers:
    bob's withdrawal reaches the sandbox buyer's account, and the wallet pays it once."""
    import httpx

    info = httpx.get(demo.sandbox_url + "/sandbox/api/info").json()
    httpx.post(  # the merchant must hold what it transfers (its sales, in a running shop)
        f"{demo.sandbox_url}/sandbox/api/apps/{info['app_id']}/balance",
        json={"balance": "1000.00"},
    ).raise_for_status()
    payee = {b["login"]: Decimal(b["balance"]) for b in info["buyers"]}["buyer2@sandbox.com"]

    page = login("bob")
    page.goto(demo.url + "/wallet/")
    before = money(page.inner_text("[data-testid=balance]"))
    page.fill("[data-testid=withdraw-amount]", "12.30")
    page.fill("[data-testid=withdraw-payee]", "buyer2@sandbox.com")
    page.fill("[data-testid=withdraw-name]", "沙箱买家二")
    page.click("[data-testid=withdraw-button]")
    page.wait_for_selector("[data-testid=withdrawal]")
    shot(page, "wallet-withdrawal")
    rows = page.locator("[data-testid=withdrawal]")
    assert rows.count() == 1 and rows.first.get_attribute("data-status") == "succeeded", (
        page.inner_text("main")
    )
    assert before - money(page.inner_text("[data-testid=balance]")) == Decimal("12.30")
    after = {
        b["login"]: b["balance"]
        for b in httpx.get(demo.sandbox_url + "/sandbox/api/info").json()["buyers"]
    }
    assert Decimal(after["buyer2@sandbox.com"]) - payee == Decimal("12.30")


def test_unpaid_order_paid_later_from_my_orders(demo: Demo, login: Any) -> None:
    page = login("carol")
    page.goto(demo.url + "/shop/")
    page.locator("article.goods[data-code=notebook]").locator("button").click()
    page.check("[data-testid=channel-alipay_page]")
    page.click("[data-testid=pay-button]")
    page.wait_for_selector("#pay-form")  # at the cashier... and the buyer walks away
    page.goto(demo.url + "/orders/")
    pending = page.locator("article.order").first
    assert pending.locator("[data-testid=status]").get_attribute("data-status") == "pending"
    order_no = pending.get_attribute("data-order")
    pending.locator("[data-testid=go-pay]").click()
    page.check("[data-testid=channel-alipay_page]")
    page.click("[data-testid=pay-button]")
    pay_at_cashier(page, demo)
    wait_status(page, "paid")
    assert page.inner_text("[data-testid=order-no]") == order_no
    page.goto(demo.url + "/orders/")
    row = page.locator(f'article.order[data-order="{order_no}"]')
    assert row.locator("[data-testid=status]").get_attribute("data-status") == "paid"
    shot(page, "unpaid-then-paid")


def test_expired_order_returns_coupon_and_credits(demo: Demo, login: Any) -> None:
    page = login("bob")
    page.goto(demo.url + "/courses/")
    page.locator("article.course[data-code=postgres]").locator("h2 a").click()
    page.check("[data-testid=option-30]")
    page.click("[data-testid=buy-now]")
    page.check("[data-testid=coupon-TENOFF]")
    page.fill("[data-testid=credits]", "50")
    page.click("[data-testid=place-order]")
    order_total = money(page.inner_text("[data-testid=order-total]"))
    assert order_total == Decimal("21.10")  # 29 − 2.90 (10%) − 5.00 (50 credits)
    order_no = re.search(r"/orders/([^/]+)/pay/", page.url).group(1)  # type: ignore[union-attr]
    page.check("[data-testid=channel-alipay_page]")
    page.click("[data-testid=pay-button]")
    page.wait_for_selector("#pay-form")
    cashier_url = page.url

    page.goto(demo.url + "/courses/coupons/")
    assert "已被未支付订单占用" in page.inner_text("[data-testid=coupon-status-TENOFF]")
    assert page.inner_text("[data-testid=credits-available]") == "150"

    # Nobody pays. After ORDER_EXPIRY_SECONDS the worker's beat job (every BEAT_SECONDS, set by
    # ZHIFU_DEMO_BEAT_SECONDS) closes the trade at the sandbox and expires the order; the coupon
    # and the credits come back. Nothing here expires it: only the running worker can.
    assert f"Zhifu's periodic jobs run every {float(BEAT_SECONDS)}s" in demo.log()
    deadline = time.monotonic() + ORDER_EXPIRY_SECONDS + 90
    while True:
        # the order's own page (my orders would expire an overdue order itself when shown)
        page.goto(f"{demo.url}/orders/{order_no}/")
        if page.get_attribute("[data-testid=status]", "data-status") == "expired":
            break
        assert time.monotonic() < deadline, "the worker did not expire the order"
        time.sleep(3)
    shot(page, "expired-order")
    worker_lines = [line for line in demo.log().splitlines() if line.startswith("[worker]")]
    assert any(f"order expired out_trade_no={order_no}" in line for line in worker_lines)
    page.goto(demo.url + "/courses/coupons/")
    assert "可用" in page.inner_text("[data-testid=coupon-status-TENOFF]")
    assert page.inner_text("[data-testid=credits-available]") == "200"
    shot(page, "expired-coupon-and-credits-back")
    # the trade was closed at the sandbox too: its cashier no longer takes the payment
    page.goto(cashier_url)
    assert page.locator("#closed").count() == 1
    shot(page, "expired-cashier-closed")


def test_pay_by_qr_code(demo: Demo, login: Any) -> None:
    page = login("carol")
    page.goto(demo.url + "/shop/")
    page.locator("article.goods[data-code=cable]").locator("button").click()
    page.check("[data-testid=channel-alipay_qr]")
    page.click("[data-testid=pay-button]")
    page.wait_for_selector("[data-testid=qr] svg")
    shot(page, "qr-page")
    # "scan" it: open the QR code's content (the sandbox's cashier) on another device
    phone = page.context.new_page()
    phone.goto(page.get_attribute("[data-testid=qr-link]", "href"))
    phone.fill("#login", "buyer2@sandbox.com")
    phone.fill("#password", "111111")
    phone.click("#pay")
    phone.wait_for_selector("#paid")
    # the QR page notices by itself (the notification paid the order) and shows the result
    page.wait_for_url(f"{demo.url}/orders/**", timeout=30_000)
    wait_status(page, "paid")
    shot(page, "qr-paid")


def test_wallet_top_up_through_alipay(demo: Demo, login: Any) -> None:
    page = login("carol")
    page.goto(demo.url + "/wallet/")
    before = money(page.inner_text("[data-testid=balance]"))
    page.fill("[data-testid=topup-amount]", "100")
    page.click("[data-testid=topup-button]")
    # a top-up cannot be paid from the wallet itself: only Alipay channels are offered
    assert page.locator("[data-testid=channel-balance]").count() == 0
    page.check("[data-testid=channel-alipay_page]")
    page.click("[data-testid=pay-button]")
    pay_at_cashier(page, demo)
    wait_status(page, "paid")
    page.goto(demo.url + "/wallet/")
    assert money(page.inner_text("[data-testid=balance]")) - before == Decimal("100.00")
    assert page.locator("tr.ledger-topup").count() == 1
    shot(page, "wallet-top-up")


def test_pay_on_a_phone_through_the_wap_cashier(demo: Demo, login: Any) -> None:
    """A phone-sized browser rewards an article with Alipay's mobile (wap) channel."""
    page = login("carol", phone=True)
    # buying on a phone: the pay page picks Alipay's mobile cashier by itself
    page.goto(demo.url + "/shop/")
    # (the keyboard costs more than carol's wallet holds, so the wallet is not the default)
    page.locator("article.goods[data-code=keyboard]").locator("button").click()
    assert page.is_checked("[data-testid=channel-alipay_wap]")
    shot(page, "wap-pay-page")
    page.click("[data-testid=pay-button]")
    pay_at_cashier(page, demo)
    wait_status(page, "paid")
    assert page.get_attribute("[data-testid=paid-with]", "data-channel") == "alipay_wap"

    # rewarding on a phone, choosing the mobile cashier in the dialog
    page.goto(demo.url + "/articles/")
    page.locator("[data-testid^=article-][data-code=idempotent]").locator("h2 a").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    page.click("[data-testid=open-reward]")
    page.check("[data-testid=preset-5]", force=True)
    page.fill("[data-testid=reward-message]", "手机打赏")
    assert page.inner_text("[data-testid=reward-amount]") == "¥5.00"
    page.check("[data-testid=reward-wap]")
    shot(page, "wap-reward-dialog")
    page.click("[data-testid=reward-submit]")
    page.wait_for_selector("#pay-form")
    assert page.url.startswith(demo.sandbox_url)
    shot(page, "wap-cashier")
    pay_at_cashier(page, demo)
    wait_status(page, "paid")
    assert page.get_attribute("[data-testid=paid-with]", "data-channel") == "alipay_wap"
    shot(page, "wap-paid")


def test_every_header_link_is_visible_on_a_phone(demo: Demo, login: Any) -> None:
    """The menu wraps on a phone: "钱包" (the last link) is on screen, not cut off."""
    page = login("bob", phone=True)
    page.goto(demo.url + "/")
    links = page.locator(".mainnav a")
    assert links.count() == 7
    for index in range(links.count()):
        box = links.nth(index).bounding_box()
        assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= 390, index
    assert page.locator(".mainnav a[href='/wallet/']").inner_text() == "钱包"
    shot(page, "phone-header")


def test_a_double_click_on_buy_now_makes_one_order(demo: Demo, login: Any) -> None:
    page = login("bob")
    page.goto(demo.url + "/orders/")
    before = page.locator("[data-order]").count()
    page.goto(demo.url + "/shop/")
    page.locator("article.goods[data-code=notebook]").locator("button").dblclick()
    page.wait_for_url("**/pay/")
    page.goto(demo.url + "/orders/")
    assert page.locator("[data-order]").count() == before + 1
    # the page's own guard aside, the same form sent twice by script is still one order
    page.goto(demo.url + "/shop/")
    page.evaluate(
        """() => {
        const form = document.querySelector("article.goods[data-code=notebook] form");
        const body = new URLSearchParams(new FormData(form));
        return Promise.all([1, 2].map(() => fetch(form.action, {method: "POST", body})));
    }"""
    )
    page.goto(demo.url + "/orders/")
    assert page.locator("[data-order]").count() == before + 2


def test_the_demo_log_uses_one_time_zone(demo: Demo, login: Any) -> None:
    """The sandbox's access log (the process's local time) and the site's (Django's TIME_ZONE)
    both say Beijing time, so one request reads the same in both."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    login("carol").goto(demo.url + "/shop/")  # at least one request of each kind is logged
    now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    stamps = {}
    for name in ("sandbox", "site"):
        found = re.findall(
            rf"^\[{name}\] .*?\[(\d\d/\w+/\d{{4}} \d\d:\d\d:\d\d)\]", demo.log(), re.M
        )
        assert found, name
        stamps[name] = datetime.strptime(found[-1], "%d/%b/%Y %H:%M:%S")
    for name, stamp in stamps.items():
        assert abs((now - stamp).total_seconds()) < 15 * 60, (name, stamp, now)


def test_api_only_with_jwt(demo: Demo) -> None:
    """What a single-page front end would do, with the API alone and a JWT (no cookies): buy
    from the catalog with Alipay (the sandbox's control API plays the buyer), top up, reward an
    article from the wallet, and see the author's wallet."""
    import httpx

    def token(username: str) -> dict[str, str]:
        answer = httpx.post(
            demo.url + "/api/token/", json={"username": username, "password": "zhifu-demo"}
        )
        assert answer.status_code == 200, answer.text
        return {"Authorization": "Bearer " + answer.json()["access"]}

    admin, author = token("admin"), token("bob")
    api = httpx.Client(base_url=demo.url, timeout=30)  # a fresh client per call: no cookies
    sandbox = httpx.Client(base_url=demo.sandbox_url, timeout=30)
    app_id = sandbox.get("/sandbox/api/info").json()["app_id"]

    def pay_at_sandbox(payment: dict[str, Any]) -> None:
        # the browser would follow pay_url to the cashier; then the buyer pays there
        assert httpx.get(payment["pay_url"], follow_redirects=True).status_code == 200
        paid = sandbox.post(
            f"/sandbox/api/trades/{app_id}/{payment['payment_out_trade_no']}/pay",
            json={"buyer": "buyer2@sandbox.com"},
        )
        assert paid.status_code == 200, paid.text

    def wait_paid(out_trade_no: str) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while True:
            order = api.get(f"/api/orders/{out_trade_no}/", headers=admin).json()
            if order["status"] == "paid":
                return order
            assert time.monotonic() < deadline, order
            time.sleep(0.5)

    # 1. the catalog: a course's validity options are SKUs
    catalog = httpx.get(demo.url + "/api/catalog/").json()
    course = next(i for i in catalog if i["kind"] == "course" and len(i["validity_options"]) > 1)
    option = course["validity_options"][-1]
    goods = next(i for i in catalog if i["kind"] == "goods")

    # 2. an order with items, paid through the page channel
    created = httpx.post(
        demo.url + "/api/orders/",
        headers=admin,
        json={
            "items": [{"sku": option["sku"], "quantity": 1}, {"sku": goods["sku"], "quantity": 2}],
            "channel": "alipay_page",
        },
    )
    assert created.status_code == 201, created.text
    order = created.json()
    expected = Decimal(option["price"]) + 2 * Decimal(goods["price"])
    assert Decimal(order["total_amount"]) == expected  # priced by the server
    pay_at_sandbox(order["payment"])
    paid = wait_paid(order["out_trade_no"])
    assert Decimal(paid["total_amount"]) == expected

    # 3. a top-up, paid the same way, so the reward can come from the wallet
    topup = httpx.post(demo.url + "/api/wallet/top-up/", headers=admin, json={"amount": "20.00"})
    assert topup.status_code == 201, topup.text
    pay = httpx.post(
        demo.url + f"/api/orders/{topup.json()['out_trade_no']}/pay/",
        headers=admin,
        json={"channel": "alipay_page"},
    )
    assert pay.status_code == 200, pay.text
    pay_at_sandbox(pay.json())
    wait_paid(topup.json()["out_trade_no"])
    assert Decimal(httpx.get(demo.url + "/api/wallet/", headers=admin).json()["balance"]) == 20

    # 4. a reward from the wallet, seen in the article and in the author's wallet
    articles = httpx.get(demo.url + "/api/articles/").json()
    article = next(a for a in articles if a["author"] == "bob")
    before = Decimal(httpx.get(demo.url + "/api/wallet/", headers=author).json()["balance"])
    reward = httpx.post(
        demo.url + f"/api/articles/{article['id']}/rewards/",
        headers=admin,
        json={"amount": "6.60", "message": "API 打赏", "channel": "balance"},
    )
    assert reward.status_code == 201, reward.text
    assert reward.json()["paid"] is True and reward.json()["status"] == "paid"
    detail = httpx.get(demo.url + f"/api/articles/{article['id']}/").json()
    assert detail["reward_count"] == article["reward_count"] + 1
    assert any(r["message"] == "API 打赏" and r["user"] == "admin" for r in detail["rewards"])
    after = Decimal(httpx.get(demo.url + "/api/wallet/", headers=author).json()["balance"])
    assert after - before == Decimal("6.60")
    ledger = httpx.get(demo.url + "/api/wallet/ledger/", headers=author).json()
    entries = ledger["results"] if isinstance(ledger, dict) else ledger
    assert any(
        e["kind"] == "reward_income" and Decimal(e["amount"]) == Decimal("6.60") for e in entries
    )

    # 5. the author cannot reward their own article; an empty wallet is refused clearly
    own = httpx.post(
        demo.url + f"/api/articles/{article['id']}/rewards/",
        headers=author,
        json={"amount": "1", "channel": "balance"},
    )
    assert own.status_code == 403 and own.json()["error"]["code"] == "own_article"
    short = httpx.post(
        demo.url + f"/api/articles/{article['id']}/rewards/",
        headers=admin,
        json={"amount": "9999", "channel": "balance"},
    )
    assert short.status_code in (400, 402, 409) and short.json()["error"]["code"] == (
        "insufficient_balance"
    )


def test_a_payment_link_from_staff_is_paid_on_a_phone(demo: Demo, browser: Any) -> None:
    """Staff make a payment link through the API (seed 004's "send the buyer a pay link"); the
    buyer opens it on a phone, not signed in, in the site's frame, pays with Alipay's mobile
    cashier, and the link says paid — once."""
    import httpx

    answer = httpx.post(
        demo.url + "/api/token/", json={"username": "admin", "password": "zhifu-demo"}
    )
    admin = {"Authorization": "Bearer " + answer.json()["access"]}
    made = httpx.post(
        demo.url + "/api/links/",
        headers=admin,
        json={"amount": "23.45", "subject": "定制课程尾款"},
    )
    assert made.status_code == 201, made.text
    link = made.json()
    assert link["url"].startswith(demo.url)

    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    )
    try:
        page = context.new_page()
        page.goto(link["url"])
        assert page.locator("header.topbar").count() == 1  # the site's own frame
        assert page.inner_text("#zhifu-link-amount") == "¥23.45"
        channels = page.locator(".zhifu-channels button").evaluate_all(
            "buttons => buttons.map(b => b.dataset.channel)"
        )
        assert channels == ["alipay_wap", "wechat_h5"]  # what works in a phone's browser
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, "link-phone")
        page.click("[data-channel=alipay_wap]")  # the redirect page submits itself (CSP nonce)
        page.wait_for_selector("#pay-form")
        assert page.url.startswith(demo.sandbox_url)
        page.fill("#login", BUYER[0])
        page.fill("#password", BUYER[1])
        page.click("#pay")
        page.wait_for_url(link["url"] + "**", timeout=30_000)
        page.wait_for_selector('#zhifu-link-status[data-status="paid"]', timeout=30_000)
        assert page.locator("#zhifu-link-paid").count() == 1
        shot(page, "link-paid")
    finally:
        context.close()
    seen = httpx.get(f"{demo.url}/api/links/{link['code']}/", headers=admin).json()
    assert seen["status"] == "paid"
    order = httpx.get(f"{demo.url}/api/orders/{seen['out_trade_no']}/", headers=admin).json()
    assert order["status"] == "paid" and order["total_amount"] == "23.45"
