"""My orders and the order pages: what they list, pagination, abandoned orders, ownership,
paying by balance from the pay page, cancel."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from shop.models import Goods

from zhifu.models import Order
from zhifu.services.orders import create_order_from_skus

from .helpers import once, paid_course_order, refund

pytestmark = pytest.mark.django_db


def _buy_mug(client: Any) -> Order:
    mug = Goods.objects.get(code="mug")
    client.post(f"/shop/{mug.pk}/buy/", {"once": once()})
    return Order.objects.latest("pk")


def test_another_users_order_is_not_found(alice_client: Any, seeded: dict[str, Any]) -> None:
    bob = Client()
    bob.force_login(seeded["bob"])
    order = _buy_mug(bob)
    no = order.out_trade_no
    for method, path in [
        ("get", f"/orders/{no}/"),
        ("get", f"/orders/{no}/pay/"),
        ("post", f"/orders/{no}/pay/"),
        ("get", f"/orders/{no}/qr/"),
        ("post", f"/orders/{no}/cancel/"),
        ("get", f"/orders/{no}/status/"),
        ("get", f"/api/orders/{no}/"),
        ("post", f"/api/orders/{no}/pay/"),
        ("post", f"/api/orders/{no}/cancel/"),
    ]:
        response = getattr(alice_client, method)(path, {"channel": "balance", "once": once()})
        assert response.status_code == 404, (method, path, response.status_code)
    assert no not in alice_client.get("/orders/").content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


def test_pay_by_balance_then_the_pay_page_says_already_paid(
    en: Any, seeded: dict[str, Any]
) -> None:
    order = _buy_mug(en)
    paid = en.post(
        f"/orders/{order.out_trade_no}/pay/", {"channel": "balance", "once": once()}, follow=True
    )
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert 'data-status="paid"' in paid.content.decode()
    assert Goods.objects.get(code="mug").sold == 1
    again = en.get(f"/orders/{order.out_trade_no}/pay/", follow=True)
    assert "This order has already been paid." in again.content.decode()
    cancel = en.post(f"/orders/{order.out_trade_no}/cancel/", follow=True)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and cancel.status_code == 200


def test_my_orders_lists_lines_status_and_actions(en: Any) -> None:
    order = _buy_mug(en)
    page = en.get("/orders/").content.decode()
    assert order.out_trade_no in page and "支付宝沙箱马克杯" in page and "¥39.00" in page
    assert 'data-testid="go-pay"' in page and 'data-testid="cancel"' in page
    en.post(f"/orders/{order.out_trade_no}/cancel/")
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    page = en.get("/orders/").content.decode()
    assert 'data-testid="go-pay"' not in page


def test_my_orders_shows_what_was_refunded(
    en: Any, seeded: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    order = paid_course_order(seeded["alice"], credits=0)
    refund(django_capture_on_commit_callbacks, order, Decimal("30.00"))
    page = en.get("/orders/").content.decode()
    assert "refunded ¥30.00" in page and "Partially refunded" in page
    assert 'data-testid="study"' in page  # a partial refund keeps access


def test_my_orders_pages_past_the_first_hundred(en: Any, seeded: dict[str, Any]) -> None:
    mug = Goods.objects.get(code="mug")
    for _ in range(105):
        create_order_from_skus(seeded["alice"], [{"sku": mug.sku}])
    oldest = Order.objects.order_by("created_at", "pk").first()
    assert oldest is not None
    first = en.get("/orders/").content.decode()
    assert first.count('data-order="') == 20 and "Page 1 of 6" in first
    last = en.get("/orders/?page=6").content.decode()
    assert oldest.out_trade_no in last and last.count('data-order="') == 5
    assert en.get("/orders/?page=99").status_code == 200  # past the end: the last page
    pending = en.get("/orders/?status=pending&page=2").content.decode()
    assert 'data-testid="next-page"' in pending and "status=pending&amp;page=3" in pending


def test_abandoned_orders_are_shown_expired_not_pending(en: Any, seeded: dict[str, Any]) -> None:
    """An order left unpaid past its expiry is expired when my orders shows it (the worker
    would do it within a minute), so abandoned orders do not pile up as "awaiting payment"."""
    order = _buy_mug(en)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    page = en.get("/orders/").content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.EXPIRED
    assert 'data-status="expired"' in page and 'data-testid="go-pay"' not in page
    assert en.get("/orders/?status=pending").content.decode().count('data-order="') == 0


def test_cancel_goes_back_only_to_this_site(en: Any) -> None:
    order = _buy_mug(en)
    evil = en.post(f"/orders/{order.out_trade_no}/cancel/", {"next": "https://evil.example/"})
    assert evil["Location"] == "/orders/"
    order = _buy_mug(en)
    ours = en.post(f"/orders/{order.out_trade_no}/cancel/", {"next": "/shop/"})
    assert ours["Location"] == "/shop/"


def test_a_payment_applied_while_the_result_page_reads_shows_paid(
    en: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notification can commit between the page's read of the order and its read of the
    open attempts (it races the buyer's redirect): the page must show the order as paid, not
    the stale "pending" with nothing left to wait for."""
    from common import views

    from zhifu.services.payments import pay_with_balance

    order = _buy_mug(en)
    real = views.get_user_order
    calls: list[int] = []

    def read_then_pay(request: Any, out_trade_no: str) -> Order:
        first = real(request, out_trade_no)
        if not calls:  # the payment commits right after the page's first read
            pay_with_balance(Order.objects.get(pk=first.pk), user=first.user)
        calls.append(1)
        return first

    monkeypatch.setattr(views, "get_user_order", read_then_pay)
    page = en.get(f"/orders/{order.out_trade_no}/?check=0").content.decode()
    assert 'data-status="paid"' in page
