"""Wallets, the domain: every movement is one ledger entry; the balance is the ledger's sum,
cached on the wallet row and updated under a row lock in the same transaction; it never goes
negative. Both the services and the wallet's payment provider use this module; it uses neither."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from .exceptions import InsufficientBalance, OrderError, invalid_amount
from .models import LedgerEntry, Order, Refund, Wallet
from .money import AmountError, parse_signed_amount

__all__ = [
    "CHANNEL",
    "LedgerMismatch",
    "audit",
    "balance",
    "get_wallet",
    "ledger_sum",
    "lock_wallets",
    "post_entry",
]

# The payment channel (and provider name) of paying from the wallet.
CHANNEL = "balance"

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


def lock_wallets(users: list[Any]) -> None:
    """Lock the wallets of ``users`` in ascending wallet id (creating missing ones first). Call it
    before touching two wallets in one transaction, so that two payments touching the same two
    wallets the other way round wait for each other instead of deadlocking."""
    ids = sorted(get_wallet(user).pk for user in users)
    list(Wallet.objects.select_for_update().filter(pk__in=ids).order_by("pk"))


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
    try:
        value = parse_signed_amount(amount)
    except AmountError as exc:
        raise invalid_amount(exc) from None
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
