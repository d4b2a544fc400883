"""The wallet page and top-ups: plain decimal amounts, a cap from the settings."""

from __future__ import annotations

from typing import Any

import pytest

from zhifu.models import Order

from .helpers import once

pytestmark = pytest.mark.django_db

PLAIN = "Enter an amount such as 50 or 12.30 (at most two decimals)."


@pytest.mark.parametrize(
    "amount,message",
    [
        ("1e2", PLAIN),
        ("+5", PLAIN),
        ("1E1", PLAIN),
        ("Infinity", PLAIN),
        ("-1", PLAIN),
        ("0", PLAIN),
        ("12.345", PLAIN),
        ("５０", PLAIN),  # full-width digits
        ("1000000", "A top-up can be at most ¥50,000.00."),
    ],
)
def test_top_up_amounts_are_plain_decimals_within_the_cap(
    en: Any, amount: str, message: str
) -> None:
    response = en.post("/wallet/top-up/", {"amount": amount, "once": once()}, follow=True)
    assert message in response.content.decode()
    assert not Order.objects.exists()


def test_top_up_cap_is_a_setting(en: Any, settings: Any) -> None:
    settings.DEMO_TOP_UP_MAX = "100.00"
    response = en.post("/wallet/top-up/", {"amount": "100.01", "once": once()}, follow=True)
    assert "A top-up can be at most ¥100.00." in response.content.decode()
    ok = en.post("/wallet/top-up/", {"amount": "100", "once": once()})
    order = Order.objects.get()
    assert ok["Location"] == f"/orders/{order.out_trade_no}/pay/"
    assert order.kind == Order.Kind.TOPUP and str(order.total_amount) == "100.00"


def test_the_top_up_pay_page_offers_no_wallet(en: Any) -> None:
    en.post("/wallet/top-up/", {"amount": "20", "once": once()})
    order = Order.objects.get()
    page = en.get(f"/orders/{order.out_trade_no}/pay/").content.decode()
    assert 'data-testid="channel-alipay_page"' in page
    assert 'data-testid="channel-balance"' not in page
