from __future__ import annotations

import time
from decimal import Decimal

import pytest

from tests.shop.models import Product
from zhifu import signals


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("buyer", password="pw-buyer-1")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user("other", password="pw-other-1")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("staff", password="pw-staff-1", is_staff=True)


@pytest.fixture
def product():
    return Product.objects.create(sku="book-1", title="Python 入门", price=Decimal("12.30"))


@pytest.fixture
def fulfilled():
    """Every fulfilment signal received, as (signal name, out_trade_no) tuples."""
    events: list[tuple[str, str]] = []

    def make(name):
        def receiver(sender, order, **kwargs):
            events.append((name, order.out_trade_no))

        return receiver

    receivers = {
        "paid": make("paid"),
        "refunded": make("refunded"),
        "cancelled": make("cancelled"),
        "expired": make("expired"),
    }
    signals.order_paid.connect(receivers["paid"], weak=False)
    signals.order_refunded.connect(receivers["refunded"], weak=False)
    signals.order_cancelled.connect(receivers["cancelled"], weak=False)
    signals.order_expired.connect(receivers["expired"], weak=False)
    yield events
    signals.order_paid.disconnect(receivers["paid"])
    signals.order_refunded.disconnect(receivers["refunded"])
    signals.order_cancelled.disconnect(receivers["cancelled"])
    signals.order_expired.disconnect(receivers["expired"])


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.05):
    """Wait for something another thread or process does (not a timing assertion: the
    deadline only bounds a hang)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
