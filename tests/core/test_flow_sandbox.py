"""The whole flow over real HTTP: Django on a live port, the zhifu sandbox on another."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from tests.conftest import get_as, wait_until
from zhifu.models import Notification, Order, PaymentAttempt
from zhifu.services.orders import create_order_from_skus
from zhifu.services.payments import start_payment

pytestmark = pytest.mark.django_db(transaction=True)


def _open_cashier(url: str) -> None:
    response = httpx.get(url, follow_redirects=True, timeout=10)
    assert response.status_code == 200, response.text[:500]


def test_full_flow_create_pay_notify_paid_fulfilled_once(
    sandbox_zhifu, user, product, fulfilled, live_server
):
    order = create_order_from_skus(user, [{"sku": product.sku, "quantity": 2, "price": "0.01"}])
    assert order.total_amount == Decimal("24.60")  # the client's "price" is ignored
    start = start_payment(order, "alipay_page", user=user)
    assert start.pay_url.startswith(sandbox_zhifu.gateway_url)
    _open_cashier(start.pay_url)

    return_url = sandbox_zhifu.pay(start.attempt.out_trade_no)
    assert wait_until(lambda: Order.objects.get(pk=order.pk).status == Order.Status.PAID)
    attempts = sandbox_zhifu.wait_for_notifications(start.attempt.out_trade_no)
    assert attempts and attempts[0]["reply"] == "success"

    order.refresh_from_db()
    attempt = PaymentAttempt.objects.get(pk=start.attempt.pk)
    assert attempt.status == PaymentAttempt.Status.SUCCEEDED
    assert attempt.trade_no
    assert fulfilled == [("paid", order.out_trade_no)]
    applied = Notification.objects.filter(out_trade_no=attempt.out_trade_no, outcome="applied")
    assert applied.count() == 1

    # The browser comes back: the return page shows the real status, and fulfils nothing again.
    assert return_url.startswith(live_server.url)
    page = get_as(user, return_url)
    assert page.status_code == 200
    assert page.json()["status"] == "paid"
    html = get_as(user, return_url, json=False)
    assert html.status_code == 200 and 'data-status="paid"' in html.content.decode()
    anonymous = httpx.get(return_url, timeout=10)  # a bearer link shows no order details
    assert anonymous.status_code == 200 and 'id="zhifu-sign-in"' in anonymous.text
    assert order.subject not in anonymous.text and "data-status" not in anonymous.text
    assert fulfilled == [("paid", order.out_trade_no)]
