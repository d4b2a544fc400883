"""Small builders for core tests."""

from __future__ import annotations

from decimal import Decimal

from zhifu.models import Order, PaymentAttempt
from zhifu.services.orders import LineSpec, create_order


def make_order(user, amount: str = "12.30", kind: str = "purchase", **kwargs) -> Order:
    return create_order(user, lines=[LineSpec("book", Decimal(amount))], kind=kind, **kwargs)


def make_attempt(
    order: Order, n: int | None = None, channel: str = "alipay_page"
) -> PaymentAttempt:
    count = order.attempts.count() + 1 if n is None else n
    return PaymentAttempt.objects.create(
        order=order,
        provider="alipay",
        channel=channel,
        out_trade_no=f"{order.out_trade_no}_{count}",
        amount=order.total_amount,
    )
