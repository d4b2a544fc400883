"""Paying through Alipay from the pages: the result page asks Alipay only when the buyer comes
back; while a payment is being confirmed the site does not offer (or take) a second payment;
a surplus payment refunded automatically is shown on the order; Alipay unreachable is said
clearly. Against a real sandbox over HTTP (``live_gateway``) or a closed port (``dead_gateway``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from shop.models import Goods

from zhifu.models import Order, PaymentAttempt
from zhifu.services import payments, wallet

from .helpers import bobs_article, once

pytestmark = pytest.mark.django_db

# Zhifu's GatewayUnavailable messages ("the payment gateway cannot be reached right now; …",
# "Alipay did not answer …"): the demo shows the core's message, which ends so.
UNREACHABLE = "try again later"


def _buy_mug(client: Any) -> Order:
    mug = Goods.objects.get(code="mug")
    client.post(f"/shop/{mug.pk}/buy/", {"once": once()})
    return Order.objects.latest("pk")


def _paid_at_alipay(client: Any, sandbox: Any) -> tuple[Order, PaymentAttempt]:
    """A mug order whose QR payment the buyer has paid at Alipay; the site does not know yet
    (no notification reaches a test)."""
    order = _buy_mug(client)
    client.post(f"/orders/{order.out_trade_no}/pay/", {"channel": "alipay_qr", "once": once()})
    attempt = order.attempts.get()
    sandbox.pay(attempt.out_trade_no)
    return order, attempt


def test_while_alipay_confirms_the_page_offers_no_second_payment(
    en: Any, live_gateway: Any
) -> None:
    order = _buy_mug(en)
    payments.start_payment(order, "alipay_page", user=order.user)  # went to the cashier
    waiting = en.get(f"/orders/{order.out_trade_no}/?check=0").content.decode()
    assert "Waiting for Alipay" in waiting and 'data-testid="do-not-pay-again"' in waiting
    assert 'data-testid="go-pay"' not in waiting and f"/orders/{order.out_trade_no}/pay/" not in (
        waiting
    )
    pay = en.get(f"/orders/{order.out_trade_no}/pay/").content.decode()
    assert 'data-testid="open-attempt"' in pay  # the warning
    assert 'value="alipay_page" checked' in pay and 'value="balance" checked' not in pay


def test_choosing_the_wallet_after_paying_at_alipay_does_not_charge_twice(
    en: Any, seeded: dict[str, Any], live_gateway: Any
) -> None:
    order, attempt = _paid_at_alipay(en, live_gateway)
    before = wallet.balance(seeded["alice"])
    response = en.post(
        f"/orders/{order.out_trade_no}/pay/", {"channel": "balance", "once": once()}, follow=True
    )
    assert "Alipay says this order is already paid." in response.content.decode()
    order.refresh_from_db()
    attempt.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert attempt.status == PaymentAttempt.Status.SUCCEEDED  # paid by Alipay, not the wallet
    assert wallet.balance(seeded["alice"]) == before
    assert not order.attempts.filter(channel="balance").exists()


def test_a_surplus_payment_refunded_automatically_is_shown_on_the_order(
    en: Any, seeded: dict[str, Any], live_gateway: Any, django_capture_on_commit_callbacks: Any
) -> None:
    order, attempt = _paid_at_alipay(en, live_gateway)
    # paid from the wallet by another way in (the API, a second tab) before Alipay was asked
    payments.start_payment(order, "balance", user=seeded["alice"])
    with django_capture_on_commit_callbacks(execute=True):  # the refund goes out after commit
        payments.sync_attempt(attempt)
    attempt.refresh_from_db()
    assert attempt.status == PaymentAttempt.Status.EXTRA
    refund = order.refunds.get(automatic=True)
    page = en.get(f"/orders/{order.out_trade_no}/").content.decode()
    assert 'data-testid="surplus"' in page and "You paid this order twice." in page
    assert f'data-refund-status="{refund.status}"' in page
    assert refund.status == "succeeded"
    assert "The extra payment of ¥39.00 (Alipay (QR code)) has been returned" in page


def test_reloading_the_result_page_asks_alipay_only_when_coming_back_and_not_forever(
    en: Any, dead_gateway: str
) -> None:
    order = _buy_mug(en)
    payments.start_payment(order, "alipay_page", user=order.user)
    url = f"/orders/{order.out_trade_no}/"
    plain = en.get(url).content.decode()  # from "my orders": no question to Alipay
    assert "Pending payment" in plain and UNREACHABLE not in plain
    assert 'http-equiv="refresh"' not in plain
    back = en.get(url + "?check=0").content.decode()  # back from the cashier
    assert "Waiting for Alipay" in back and UNREACHABLE in back
    assert 'content="3;url=?check=1"' in back
    last = en.get(url + "?check=20").content.decode()  # a minute later: stop refreshing
    assert 'http-equiv="refresh"' not in last and "I have paid: check again" in last


def test_alipay_unreachable_qr_pay_shows_a_message(alice_client: Any, dead_gateway: str) -> None:
    """The message in the page (Chinese is the default language)."""
    order = _buy_mug(alice_client)
    response = alice_client.post(
        f"/orders/{order.out_trade_no}/pay/", {"channel": "alipay_qr", "once": once()}
    )
    assert response.status_code == 200
    assert 'class="msg msg-error"' in response.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


def test_alipay_unreachable_on_the_pay_page_result_page_reward_and_api(
    en: Any, dead_gateway: str
) -> None:
    order = _buy_mug(en)
    # page pay only signs a URL, but the buyer is told before being sent to a dead cashier
    pay = en.post(f"/orders/{order.out_trade_no}/pay/", {"channel": "alipay_page", "once": once()})
    assert pay.status_code == 200 and UNREACHABLE in pay.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    page = en.get(f"/orders/{order.out_trade_no}/?check=0")  # back from Alipay: it is down
    assert page.status_code == 200 and UNREACHABLE in page.content.decode()

    article = bobs_article()
    for channel in ("alipay_qr", "alipay_page", "alipay_wap"):
        reward = en.post(
            f"/articles/{article.pk}/reward/",
            {"amount": "5", "channel": channel, "once": once()},
            follow=True,
        )
        assert reward.status_code == 200 and UNREACHABLE in reward.content.decode(), channel
        assert reward.redirect_chain[-1][0].endswith("/pay/")  # the pay page, to try again

    api = en.post(
        f"/api/orders/{order.out_trade_no}/pay/",
        {"channel": "alipay_qr"},
        content_type="application/json",
    )
    assert api.status_code >= 500 and api.status_code != 500
    assert api.json()["error"]["code"] == "gateway_unavailable"
    assert Decimal(str(order.total_amount)) == Decimal("39.00")
