from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.contenttypes.models import ContentType

from tests.core.factories import make_order
from tests.shop.models import Product
from zhifu.catalog import UnknownSku
from zhifu.exceptions import OrderError, PaymentError
from zhifu.models import Order, PaymentAttempt
from zhifu.services.orders import (
    AdjustmentSpec,
    LineSpec,
    cancel_order,
    create_order,
    create_order_from_skus,
    get_order,
)
from zhifu.services.payments import start_payment

pytestmark = pytest.mark.django_db


def test_total_is_lines_minus_adjustments_and_lines_snapshot_the_item(fake_alipay, user, product):
    order = create_order(
        user,
        lines=[
            LineSpec("Python 入门", Decimal("12.30"), 2, item=product, sku="book-1"),
            LineSpec("pen", Decimal("1.05")),
        ],
        adjustments=[
            AdjustmentSpec("coupon", "新人券", Decimal("5.00")),
            AdjustmentSpec("credits", "积分", Decimal("0.65")),
        ],
        metadata={"campaign": "spring"},
    )
    assert order.total_amount == Decimal("20.00")
    assert order.currency == "CNY" and order.status == "pending" and order.kind == "purchase"
    assert re.fullmatch(r"[A-Za-z0-9_]{1,40}", order.out_trade_no)
    line = order.lines.first()
    assert line.item == product
    assert line.content_type == ContentType.objects.get_for_model(Product)
    assert (line.unit_price, line.quantity, line.amount) == (Decimal("12.30"), 2, Decimal("24.60"))
    product.price = Decimal("99.00")
    product.save()
    order.refresh_from_db()
    assert order.lines.first().unit_price == Decimal("12.30")  # a snapshot, not a live price
    assert order.expires_at - order.created_at == pytest.approx(
        timedelta(minutes=30), abs=timedelta(seconds=5)
    )


@pytest.mark.parametrize(
    ("lines", "adjustments", "code"),
    [
        ([], [], "empty_order"),
        (
            [LineSpec("x", Decimal("1.00"))],
            [AdjustmentSpec("coupon", "all", Decimal("1.00"))],
            "invalid_amount",
        ),
        ([LineSpec("x", Decimal("-1.00"))], [], "invalid_amount"),
        ([LineSpec("x", 1.5)], [], "invalid_amount"),  # floats are refused
        ([LineSpec("x", Decimal("1.001"))], [], "invalid_amount"),
        ([LineSpec("x", Decimal("1.00"), 0)], [], "invalid_quantity"),
        ([LineSpec("", Decimal("1.00"))], [], "invalid_line"),
        (
            [LineSpec("x", Decimal("1.00"))],
            [AdjustmentSpec("bribe", "x", Decimal("0.10"))],
            "invalid_adjustment",
        ),
        ([LineSpec("x", Decimal("100000000.00"), 2)], [], "invalid_amount"),
    ],
)
def test_bad_orders_are_refused_with_a_code(fake_alipay, user, lines, adjustments, code):
    with pytest.raises(OrderError) as info:
        create_order(user, lines=lines, adjustments=adjustments)
    assert info.value.code == code
    assert not Order.objects.exists()


def test_anonymous_users_cannot_order(fake_alipay):
    with pytest.raises(OrderError) as info:
        create_order(AnonymousUser(), lines=[LineSpec("x", Decimal("1.00"))])
    assert info.value.code == "login_required"


def test_skus_are_priced_by_the_catalog_and_client_prices_ignored(fake_alipay, user, product):
    order = create_order_from_skus(
        user,
        [{"sku": "book-1", "quantity": 3, "unit_price": "0.01", "amount": "0.01", "price": "0.01"}],
    )
    assert order.total_amount == Decimal("36.90")
    with pytest.raises(UnknownSku):
        create_order_from_skus(user, [{"sku": "nope"}])
    with pytest.raises(OrderError) as info:
        create_order_from_skus(user, [{"sku": "book-1", "quantity": "3"}])
    assert info.value.code == "invalid_quantity"
    Product.objects.create(sku="limited", title="limited", price=Decimal("1.00"), max_quantity=1)
    with pytest.raises(OrderError):
        create_order_from_skus(user, [{"sku": "limited", "quantity": 2}])


def test_other_users_orders_are_not_found(fake_alipay, user, other_user):
    order = make_order(user)
    assert get_order(user, order.out_trade_no) == order
    with pytest.raises(OrderError) as info:
        get_order(other_user, order.out_trade_no)
    assert info.value.code == "order_not_found" and info.value.status == 404
    with pytest.raises(OrderError):
        cancel_order(order, user=other_user)
    with pytest.raises(OrderError):
        start_payment(order, "alipay_page", user=other_user)


def test_cancel_a_pending_order(fake_alipay, user, fulfilled):
    order = make_order(user)
    order = cancel_order(order, user=user)
    assert order.status == Order.Status.CANCELLED and order.closed_at is not None
    assert fulfilled == [("cancelled", order.out_trade_no)]
    with pytest.raises(OrderError) as info:
        cancel_order(order, user=user)
    assert info.value.code == "order_not_pending"
    with pytest.raises(PaymentError) as pay_info:
        start_payment(order, "alipay_page", user=user)
    assert pay_info.value.code == "order_not_payable"


def test_page_pay_reuses_the_open_attempt_and_replaces_other_channels(
    fake_alipay, user, django_capture_on_commit_callbacks
):
    order = make_order(user)
    first = start_payment(order, "alipay_page", user=user)
    again = start_payment(order, "alipay_page", user=user)
    assert first.attempt.pk == again.attempt.pk
    assert first.attempt.out_trade_no == f"{order.out_trade_no}_1"
    assert "alipay.trade.page.pay" in first.pay_url and first.form_html.startswith("<form")
    with django_capture_on_commit_callbacks(
        execute=True
    ):  # closing at the (absent) gateway fails quietly
        wap = start_payment(order, "alipay_wap", user=user)
    assert wap.attempt.out_trade_no == f"{order.out_trade_no}_2"
    assert "alipay.trade.wap.pay" in wap.pay_url
    old = PaymentAttempt.objects.get(pk=first.attempt.pk)
    assert old.status == PaymentAttempt.Status.CLOSED
    assert not old.closed_at_gateway and old.next_check_at is not None  # keep watching it
    with pytest.raises(PaymentError) as info:
        start_payment(order, "bitcoin", user=user)
    assert info.value.code == "invalid_channel"


def test_expired_order_cannot_be_paid(fake_alipay, user):
    order = make_order(user, expires_in=timedelta(seconds=1))
    Order.objects.filter(pk=order.pk).update(expires_at=order.created_at)
    order.refresh_from_db()
    with pytest.raises(PaymentError) as info:
        start_payment(order, "alipay_page", user=user)
    assert info.value.code == "order_expired"
