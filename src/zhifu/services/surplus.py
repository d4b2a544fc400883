"""A payment the order does not need (a second payment of a paid order, or one that arrived after
the order expired or was cancelled): each kind is settled by a small policy object.

A second payment is always refunded. A late one follows ``ZHIFU["LATE_PAYMENT_POLICY"]``:
``"refund"`` (the default) refunds it automatically, ``"flag"`` leaves it for a person.
"""

from __future__ import annotations

import logging
from typing import Protocol

from ..conf import zhifu_settings
from ..logs import ctx
from ..models import Order, PaymentAttempt
from .transitions import save_flags

__all__ = ["FlagForStaff", "RefundAutomatically", "settle_surplus"]

log = logging.getLogger("zhifu.payments")


class SurplusPolicy(Protocol):
    def settle(self, order: Order, attempt: PaymentAttempt, why: str) -> None: ...


class RefundAutomatically:
    """Create a refund of the whole surplus, sent after commit (the retry job resends it)."""

    def settle(self, order: Order, attempt: PaymentAttempt, why: str) -> None:
        from .refunds import create_automatic_refund, execute_refund_later

        refund = create_automatic_refund(order, attempt, reason=why)
        execute_refund_later(refund)
        log.warning(
            "surplus payment order=%s out_trade_no=%s: refund %s created (%s)",
            order.out_trade_no,
            attempt.out_trade_no,
            refund.out_request_no,
            why,
            extra=ctx("extra_payment", order=order, payment=attempt, refund=refund),
        )


class FlagForStaff:
    """Keep the money and mark the order for a person to decide."""

    def settle(self, order: Order, attempt: PaymentAttempt, why: str) -> None:
        save_flags(order, needs_attention=True, attention_reason=why[:255])
        log.warning(
            "late payment flagged order=%s out_trade_no=%s (%s)",
            order.out_trade_no,
            attempt.out_trade_no,
            why,
            extra=ctx("late_payment_flagged", order=order, payment=attempt),
        )


LATE_PAYMENT_POLICIES: dict[str, SurplusPolicy] = {
    "refund": RefundAutomatically(),
    "flag": FlagForStaff(),
}


def settle_surplus(order: Order, attempt: PaymentAttempt) -> None:
    """``attempt`` (locked, now ``extra``) paid an order (locked) that did not need it."""
    if order.status in (Order.Status.CANCELLED, Order.Status.EXPIRED):
        why = f"payment {attempt.out_trade_no} arrived after the order was {order.status}"
        policy = LATE_PAYMENT_POLICIES[zhifu_settings.LATE_PAYMENT_POLICY]
    else:
        why = f"second payment {attempt.out_trade_no} of an order already paid"
        policy = LATE_PAYMENT_POLICIES["refund"]
    policy.settle(order, attempt, why)
