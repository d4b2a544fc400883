"""Paying from (and refunding to) the buyer's Zhifu wallet."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..models import LedgerEntry

if TYPE_CHECKING:
    from ..models import Order, PaymentAttempt, Refund

__all__ = ["PROVIDER", "credit_refund", "debit"]

PROVIDER = "balance"


def debit(order: Order, attempt: PaymentAttempt) -> LedgerEntry:
    """Take the order's amount from the buyer's wallet (raises ``InsufficientBalance``)."""
    from ..services.wallet import post_entry

    return post_entry(
        order.user,
        -attempt.amount,
        LedgerEntry.Kind.PAYMENT,
        order=order,
        memo=f"payment {order.out_trade_no}",
    )


def credit_refund(refund: Refund) -> LedgerEntry:
    """Give a refund of a balance payment back to the buyer's wallet (once per refund)."""
    from ..services.wallet import post_entry

    return post_entry(
        refund.order.user,
        refund.amount,
        LedgerEntry.Kind.REFUND,
        order=refund.order,
        refund=refund,
        memo=f"refund {refund.out_request_no}",
    )
