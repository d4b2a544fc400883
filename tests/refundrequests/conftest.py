"""Fixtures for refund requests: the policy setting, paid orders (through the sandbox or the
pipeline with a fake gateway), and a staff member who may decide requests."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from tests.conftest import wait_until
from tests.core.factories import make_attempt, make_order, pay
from tests.shop.models import Product
from zhifu.models import Order
from zhifu.services.orders import create_order_from_skus
from zhifu.services.payments import start_payment

STUDIED: set[str] = set()  # out_trade_nos whose course the buyer has studied


def not_studied(order, lines) -> bool:
    """The site's predicate in these tests: nothing of the order studied yet."""
    return order.out_trade_no not in STUDIED


def with_policy(
    settings, days: int = 7, predicate: str = "tests.refundrequests.conftest.not_studied"
):
    settings.ZHIFU = {
        **settings.ZHIFU,
        "REFUND_REQUESTS": {"AUTO_APPROVE_DAYS": days, "AUTO_APPROVE": predicate},
    }


@pytest.fixture(autouse=True)
def _clear_studied():
    STUDIED.clear()
    yield
    STUDIED.clear()


@pytest.fixture
def second_product():
    return Product.objects.create(sku="pen-1", title="钢笔", price="3.50")


@pytest.fixture
def decider(staff):
    """A staff member who may see and decide refund requests (and issue refunds)."""
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="zhifu",
            codename__in=["view_refundrequest", "decide_refundrequest", "add_refund"],
        )
    )
    return staff


def paid_by_pipeline(user, amount: str = "12.30", *, days_ago: float = 0) -> Order:
    """An order paid through the pipeline (fake gateway: no HTTP), paid ``days_ago``."""
    order = make_order(user, amount)
    pay(make_attempt(order))
    order.refresh_from_db()
    if days_ago:
        order.paid_at = timezone.now() - timedelta(days=days_ago)
        order.save(update_fields=["paid_at"])
    return order


def paid_through_sandbox(sb, user, items) -> Order:
    """An order paid at the sandbox, marked paid by its notification over real HTTP."""
    order = create_order_from_skus(user, items)
    start = start_payment(order, "alipay_page", user=user)
    cashier = httpx.get(start.pay_url, follow_redirects=True, timeout=10)  # the page pay
    assert cashier.status_code == 200, cashier.text[:300]
    sb.pay(start.attempt.out_trade_no)
    assert wait_until(lambda: Order.objects.get(pk=order.pk).status == Order.Status.PAID)
    order.refresh_from_db()
    return order
