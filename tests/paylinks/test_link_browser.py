"""A payment link in a real browser (Debian's Chromium through Playwright): under a
Content-Security-Policy without 'unsafe-inline' the page's polling script runs, the Alipay button
opens the sandbox's cashier, and once the sandbox's notification marks the link paid the open
page turns to "paid" by itself."""

from __future__ import annotations

import re

import pytest

from zhifu.models import PaymentAttempt
from zhifu.paylinks.services import create_link

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'"


@pytest.fixture
def browser(chromium):
    return chromium


def test_the_open_link_page_turns_paid_by_itself_under_a_strict_csp(
    browser, sandbox_zhifu, live_server, link_staff
):
    link = create_link(created_by=link_staff, amount="0.01", subject="加钱")
    url = f"{live_server.url}{link.get_absolute_url()}"
    page = browser.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )

    def with_csp(route):  # the link page and its script, served under a strict policy
        response = route.fetch()
        route.fulfill(
            response=response, headers={**response.headers, "content-security-policy": CSP}
        )

    page.route(re.compile(r".*/zhifu/link/([A-Za-z0-9_-]+/(status/)?|poll\.js)$"), with_csp)

    # The buyer clicks Alipay: the cashier form submits itself to the sandbox.
    page.goto(url)
    page.click('button[data-channel="alipay_page"]')
    page.wait_for_url(f"{sandbox_zhifu.url}/**", timeout=15000)
    attempt = PaymentAttempt.objects.get(order=link.order)

    # Back on the link (a second tab, say), pending; the sandbox buyer pays; the page follows.
    shown = page.goto(url)
    assert shown is not None and shown.headers["content-security-policy"] == CSP
    assert page.get_attribute("#zhifu-link-status", "data-status") == "pending"
    sandbox_zhifu.pay(attempt.out_trade_no)
    page.wait_for_selector('#zhifu-link-status[data-status="paid"]', timeout=20000)
    assert page.is_visible("#zhifu-link-paid")
    assert violations == []
