"""Wallets: every movement is one ledger entry; the balance is the ledger's sum, cached on the
wallet row and updated under a row lock in the same transaction; it never goes negative."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from ..exceptions import InsufficientBalance, OrderError
from ..models import LedgerEntry, Order, Refund, Wallet
from ..money import MAX_AMOUNT, MIN_AMOUNT, AmountError, parse_amount

__all__ = [
    "LedgerMismatch",
    "audit",
    "balance",
    "create_top_up",
    "get_wallet",
    "ledger_sum",
    "post_entry",
]

log = logging.getLogger("zhifu.wallet")
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def _user_pk(user: Any) -> Any:
    pk = getattr(user, "pk", None)
    if pk is None:
        raise OrderError("login_required", _("please sign in to use a wallet"))
    return pk


def get_wallet(user: Any) -> Wallet:
    """The user's wallet, created empty on first use."""
    pk = _user_pk(user)
    wallet = Wallet.objects.filter(user_id=pk).first()
    if wallet is not None:
        return wallet
    try:
        with transaction.atomic():
            return Wallet.objects.create(user_id=pk)
    except IntegrityError:  # created concurrently
        return Wallet.objects.get(user_id=pk)


def _locked_wallet(user: Any) -> Wallet:
    pk = _user_pk(user)
    wallet = Wallet.objects.select_for_update().filter(user_id=pk).first()
    if wallet is None:
        try:
            with transaction.atomic():
                Wallet.objects.create(user_id=pk)
        except IntegrityError:
            pass
        wallet = Wallet.objects.select_for_update().get(user_id=pk)
    return wallet


def balance(user: Any) -> Decimal:
    value = Wallet.objects.filter(user_id=_user_pk(user)).values_list("balance", flat=True).first()
    return value if value is not None else ZERO


def post_entry(
    user: Any,
    amount: Decimal | str | int,
    kind: str,
    *,
    order: Order | None = None,
    refund: Refund | None = None,
    memo: str = "",
) -> LedgerEntry:
    """Credit (positive ``amount``) or debit (negative) the user's wallet with one ledger entry.

    Raises :class:`InsufficientBalance` (and changes nothing) if a debit would make the balance
    negative. Runs in its own transaction, or in the caller's.
    """
    if kind not in LedgerEntry.Kind.values:
        raise ValueError(f"unknown ledger entry kind {kind!r}")
    if isinstance(amount, str) and amount.strip().startswith("-"):
        value = -parse_amount(amount.strip()[1:])
    elif isinstance(amount, Decimal | int) and not isinstance(amount, bool) and amount < 0:
        value = -parse_amount(-amount)
    else:
        try:
            value = parse_amount(amount)
        except AmountError:
            raise OrderError(
                "invalid_amount",
                _(
                    "the amount must be from %(minimum)s to %(maximum)s with at most two decimal "
                    "places, such as 12.30"
                ),
                minimum=MIN_AMOUNT,
                maximum=MAX_AMOUNT,
            ) from None
    with transaction.atomic():
        wallet = _locked_wallet(user)
        new_balance = wallet.balance + value
        if new_balance < 0:
            raise InsufficientBalance(
                "insufficient_balance",
                _("the wallet holds %(balance)s, %(needed)s is needed"),
                balance=wallet.balance,
                needed=-value,
            )
        entry = LedgerEntry.objects.create(
            wallet=wallet,
            amount=value,
            balance_after=new_balance,
            kind=kind,
            order=order,
            refund=refund,
            memo=memo[:256],
        )
        wallet.balance = new_balance
        wallet.save(update_fields=["balance", "updated_at"])
        log.info(
            "wallet entry user=%s kind=%s amount=%s balance=%s order=%s",
            wallet.user_id,
            kind,
            value,
            new_balance,
            order.out_trade_no if order else "",
        )
        return entry


def create_top_up(user: Any, amount: Decimal | str | int) -> Order:
    """A ``topup`` order to pay through Alipay; the wallet is credited when it is paid."""
    from .orders import LineSpec, create_order

    try:
        value = parse_amount(amount)
    except AmountError:
        raise OrderError(
            "invalid_amount",
            _(
                "the amount must be from %(minimum)s to %(maximum)s with at most two decimal "
                "places, such as 12.30"
            ),
            minimum=MIN_AMOUNT,
            maximum=MAX_AMOUNT,
        ) from None
    return create_order(
        user,
        lines=[LineSpec(title="钱包充值 wallet top-up", unit_price=value, sku="wallet-top-up")],
        subject=f"钱包充值 {value}",
        kind=Order.Kind.TOPUP,
    )


def _cents(value: Any) -> Decimal:
    # SQLite sums decimals in floating point: 4.9999999999 is 5.00
    return Decimal(value or 0).quantize(CENT)


def ledger_sum(wallet: Wallet) -> Decimal:
    return _cents(wallet.entries.aggregate(total=Sum("amount"))["total"])


@dataclass(frozen=True)
class LedgerMismatch:
    wallet_id: int
    user_id: Any
    balance: Decimal
    ledger_sum: Decimal


def audit() -> list[LedgerMismatch]:
    """Wallets whose cached balance differs from the sum of their ledger (should be none)."""
    sums = {
        row["wallet_id"]: row["total"]
        for row in LedgerEntry.objects.values("wallet_id").annotate(total=Sum("amount"))
    }
    mismatches = []
    for wallet in Wallet.objects.all().only("id", "user_id", "balance"):
        total = _cents(sums.get(wallet.pk))
        if total != wallet.balance:
            mismatches.append(LedgerMismatch(wallet.pk, wallet.user_id, wallet.balance, total))
    return mismatches
