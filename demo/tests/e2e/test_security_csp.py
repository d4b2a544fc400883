"""The Content-Security-Policy in real Chromium: every page of the demo works under it and none
logs a violation; the pay form still takes the buyer to the gateway's cashier (a redirect of a
form submission, which form-action governs) and the pay page's own script still runs."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import PASSWORD, Demo, pay_at_cashier, shot, wait_status

pytestmark = pytest.mark.e2e

# Collected in the page itself too: Chromium reports every blocked script, handler or style as
# a securitypolicyviolation event (the console message can be missed on a quick navigation).
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile
                    + ":" + e.lineNumber);
});
"""


class Violations:
    def __init__(self, page: Any) -> None:
        self.page = page
        self.seen: list[str] = []
        page.add_init_script(WATCH)
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.seen.append(f"{self.page.url}: {message.text}")

    def collect(self) -> list[str]:
        found = self.page.evaluate("window.__csp || []")
        self.seen.extend(f"{self.page.url}: {v}" for v in found)
        self.page.evaluate("window.__csp = []")
        return self.seen


def _visit(page: Any, violations: Violations, url: str) -> Any:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy, f"{url} has no CSP: {policy!r}"
    page.wait_for_load_state("networkidle")
    violations.collect()
    return response


def _user(demo: Demo, name: str) -> None:
    demo.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.filter(username='{name}').exists() or "
        f"get_user_model().objects.create_user('{name}', password='{PASSWORD}')",
    )


def test_no_page_breaks_the_csp_and_the_pay_form_reaches_the_cashier(
    demo: Demo, login: Any, browser: Any
) -> None:
    _user(demo, "dora")
    page = login("dora")
    violations = Violations(page)

    # the detector works: an inline script without the nonce is refused and reported
    page.goto(demo.url + "/")
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.ran") is None
    assert any("script-src" in v for v in violations.collect())
    violations.seen.clear()

    for path in ("/", "/shop/", "/courses/", "/articles/", "/orders/", "/wallet/", "/api/docs/"):
        _visit(page, violations, demo.url + path)
    page.wait_for_selector(".swagger-ui .info")  # Swagger UI rendered under the policy

    # the wallet's amount chips (formerly inline onclick handlers)
    _visit(page, violations, demo.url + "/wallet/")
    chip = page.locator("button.chip").first
    chip.click()
    assert page.input_value("[data-testid=topup-amount]") == chip.inner_text().lstrip("¥")

    # an article's reward dialog opens and closes
    _visit(page, violations, demo.url + "/articles/")
    page.locator("article.article-item h2 a").first.click()
    page.click("[data-testid=open-reward]")
    assert page.locator("#reward-dialog").is_visible()
    page.click("#reward-dialog [data-close-dialog]")
    assert not page.locator("#reward-dialog").is_visible()
    violations.collect()

    # the cart's validity select submits by itself
    page.goto(demo.url + "/courses/")
    page.locator("article.course h2 a").first.click()
    page.click("[data-testid=add-to-cart]")
    page.goto(demo.url + "/courses/cart/")
    select = page.locator("select[data-autosubmit]").first
    options = select.locator("option").all()
    with page.expect_navigation():
        select.select_option(options[-1].get_attribute("value"))
    violations.collect()

    # buy a mug; the pay form posts, the site redirects to the gateway: the cashier opens
    page.goto(demo.url + "/shop/")
    page.locator("article.goods[data-code=mug] button").click()
    assert "/pay/" in page.url
    violations.collect()
    page.check("[data-testid=channel-alipay_page]")
    page.click("[data-testid=pay-button]")
    pay_at_cashier(page, demo)
    wait_status(page, "paid")
    violations.collect()
    shot(page, "csp-paid")

    # the QR page polls the order's status with its own (nonce'd) script
    page.goto(demo.url + "/shop/")
    page.locator("article.goods[data-code=mug] button").click()
    page.check("[data-testid=channel-alipay_qr]")
    page.click("[data-testid=pay-button]")
    page.wait_for_load_state("networkidle")
    violations.collect()

    # anonymous pages: the login forms
    anonymous = browser.new_context()
    try:
        other = anonymous.new_page()
        watcher = Violations(other)
        for path in ("/accounts/login/", "/admin/login/"):
            _visit(other, watcher, demo.url + path)
        assert watcher.seen == []
    finally:
        anonymous.close()

    assert violations.seen == []


def test_the_pay_pages_script_runs_under_the_csp_on_a_phone(demo: Demo, login: Any) -> None:
    """The pay page's script runs under the policy: on a phone it picks the wap cashier, and
    the pay form's POST is redirected to the gateway's mobile cashier."""
    _user(demo, "erin")
    page = login("erin", phone=True)
    violations = Violations(page)
    page.goto(demo.url + "/shop/")
    page.locator("article.goods[data-code=mug] button").click()
    assert "/pay/" in page.url
    assert page.is_checked("[data-testid=channel-alipay_wap]")
    page.click("[data-testid=pay-button]")
    page.wait_for_selector("#pay-form")
    assert page.url.startswith(demo.sandbox_url)
    assert violations.collect() == []
