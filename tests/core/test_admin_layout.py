"""The order list of the admin fits a 1280 px wide screen (issue 9), checked in a real browser:
Debian's Chromium through Playwright, with a screenshot in test-output/admin/."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.core.factories import make_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "admin"
WIDTH = 1280


@pytest.fixture
def browser(chromium):
    return chromium


def test_order_list_fits_1280_pixels(browser, live_server, django_user_model, fake_alipay) -> None:
    root = django_user_model.objects.create_superuser(
        "operator-with-a-long-name", "op@example.com", "pw"
    )
    buyer = django_user_model.objects.create_user("buyer-with-a-long-user-name-2026", password="pw")
    for kind in ("purchase", "reward", "topup"):
        make_order(
            buyer,
            "123456.78",
            kind=kind,
            subject="《Python 从入门到精通》等 3 门课程 Python from zero to hero and more",
        )
    client = Client()
    client.force_login(root)
    context = browser.new_context(viewport={"width": WIDTH, "height": 800})
    context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    response = page.goto(live_server.url + "/admin/zhifu/order/")
    assert response is not None and response.status == 200
    assert page.locator("#result_list tbody tr").count() == 3
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "order-list.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    table = page.evaluate("document.querySelector('#result_list').getBoundingClientRect().right")
    assert width <= WIDTH, f"the page is {width} px wide"
    assert table <= WIDTH, f"the order table ends at {table} px"
    assert page.get_by_text("wallet top-up", exact=True).count() >= 1  # a label, not "topup"
    context.close()
