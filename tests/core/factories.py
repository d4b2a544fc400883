"""Small builders for core tests."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from zhifu.models import Order, PaymentAttempt
from zhifu.providers import registry
from zhifu.providers.base import PaymentEvent, PaymentState
from zhifu.services.orders import LineSpec, create_order
from zhifu.services.payments import apply_payment_event
from zhifu.services.transitions import lock


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


def paid_event(attempt: PaymentAttempt, trade_no: str = "T1", **kwargs) -> PaymentEvent:
    return PaymentEvent(
        provider=attempt.provider,
        out_trade_no=attempt.out_trade_no,
        state=kwargs.pop("state", PaymentState.PAID),
        amount=kwargs.pop("amount", attempt.amount),
        trade_no=trade_no,
        identity=kwargs.pop("identity", registry.get(attempt.provider).identity()),
        **kwargs,
    )


def pay(attempt: PaymentAttempt, *, trade_no: str = "T1", source: str = "test") -> str:
    """Apply "the gateway says ``attempt`` is paid" the way the pipeline does (locks included)."""
    with transaction.atomic():
        order = lock(Order(pk=attempt.order_id))
        row = lock(attempt)
        outcome = apply_payment_event(order, row, paid_event(row, trade_no), source=source)
    attempt.refresh_from_db()
    return outcome
