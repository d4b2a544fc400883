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

from .conftest import ORDER_EXPIRY_SECONDS, Demo, pay_at_cashier, shot, wait_status

pytestmark = pytest.mark.e2e


def money(text: str) -> Decimal:
    match = re.search(r"-?¥([\d,]+\.\d\d)", text)
    assert match, text
    return Decimal(match.group(1).replace(",", ""))


def test_buy_goods_with_alipay(demo: Demo, login: Any) -> None:
    page = login("carol")
    page.goto(demo.url + "/shop/")
    page.locator("article.goods", has_text="Alipay sandbox mug").locator("button").click()
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
    assert "Alipay sandbox mug" in first.inner_text()
    shot(page, "goods-order-list")


def test_two_courses_with_coupon_and_credits(demo: Demo, login: Any) -> None:
    page = login("alice")
    page.click("[data-testid=lang-en]")  # this one in English
    for title, testid in (
        ("Django from zero", "option-90"),
        ("Payments done right", "option-permanent"),
    ):
        page.goto(demo.url + "/courses/")
        page.locator("article.course", has_text=title).locator("h2 a").click()
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
    page.locator("[data-testid^=article-]", has_text="The return URL is not a receipt").locator(
        "h2 a"
    ).click()
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
    assert "2" in page.inner_text("[data-testid=reward-count]")
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


def test_unpaid_order_paid_later_from_my_orders(demo: Demo, login: Any) -> None:
    page = login("carol")
    page.goto(demo.url + "/shop/")
    page.locator("article.goods", has_text="Notebook set").locator("button").click()
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
    page.locator("article.course", has_text="PostgreSQL in practice").locator("h2 a").click()
    page.check("[data-testid=option-30]")
    page.click("[data-testid=buy-now]")
    page.check("[data-testid=coupon-TENOFF]")
    page.fill("[data-testid=credits]", "50")
    page.click("[data-testid=place-order]")
    order_total = money(page.inner_text("[data-testid=order-total]"))
    assert order_total == Decimal("21.10")  # 29 − 2.90 (10%) − 5.00 (50 credits)
    page.check("[data-testid=channel-alipay_page]")
    page.click("[data-testid=pay-button]")
    page.wait_for_selector("#pay-form")
    cashier_url = page.url

    page.goto(demo.url + "/courses/coupons/")
    assert "已被未支付订单占用" in page.inner_text("[data-testid=coupon-status-TENOFF]")
    assert page.inner_text("[data-testid=credits-available]") == "150"

    # Nobody pays. After ORDER_EXPIRY_SECONDS the worker's beat job (every 60 s) closes the
    # trade at the sandbox and expires the order; the coupon and the credits come back.
    deadline = time.monotonic() + ORDER_EXPIRY_SECONDS + 150
    while True:
        page.goto(demo.url + "/orders/")
        status = page.locator("article.order").first.locator("[data-testid=status]")
        if status.get_attribute("data-status") == "expired":
            break
        assert time.monotonic() < deadline, "the worker did not expire the order"
        time.sleep(3)
    shot(page, "expired-order")
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
    page.locator("article.goods", has_text="USB-C cable").locator("button").click()
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
