"""Wallet services: top-up orders. The ledger itself is the domain module :mod:`zhifu.wallet`,
re-exported here for callers that think of the wallet as a service."""

from __future__ import annotations

from decimal import Decimal

from ..exceptions import invalid_amount
from ..models import Order
from ..money import AmountError, parse_amount
from ..wallet import (
    CHANNEL,
    LedgerMismatch,
    audit,
    balance,
    get_wallet,
    ledger_sum,
    lock_wallets,
    post_entry,
)

__all__ = [
    "CHANNEL",
    "LedgerMismatch",
    "audit",
    "balance",
    "create_top_up",
    "get_wallet",
    "ledger_sum",
    "lock_wallets",
    "post_entry",
]


def create_top_up(user: object, amount: Decimal | str | int) -> Order:
    """A ``topup`` order to pay through a gateway; the wallet is credited when it is paid."""
    from .orders import LineSpec, create_order

    try:
        value = parse_amount(amount)
    except AmountError as exc:
        raise invalid_amount(exc) from None
    return create_order(
        user,
        lines=[LineSpec(title="钱包充值 wallet top-up", unit_price=value, sku="wallet-top-up")],
        subject=f"钱包充值 {value}",
        kind=Order.Kind.TOPUP,
    )
