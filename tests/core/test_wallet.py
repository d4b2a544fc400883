"""Wallet invariants: every movement is one entry, the balance is the ledger's sum, never < 0."""

from __future__ import annotations

import itertools
import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.factories import make_order
from zhifu.exceptions import InsufficientBalance, PaymentError
from zhifu.models import LedgerEntry, Order, Wallet
from zhifu.services import wallet
from zhifu.services.payments import pay_with_balance

COUNTER = itertools.count()
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500.00"), places=2)


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(moves=st.lists(st.tuples(st.booleans(), amounts), max_size=25))
def test_any_sequence_of_moves_keeps_the_ledger_and_balance_in_step(
    fake_alipay, django_user_model, moves
):
    user = django_user_model.objects.create_user(f"hypo{next(COUNTER)}")
    expected = Decimal("0.00")
    for credit, amount in moves:
        if credit:
            wallet.post_entry(user, amount, "adjustment")
            expected += amount
        elif amount > expected:
            with pytest.raises(InsufficientBalance):
                wallet.post_entry(user, -amount, "adjustment")
        else:
            wallet.post_entry(user, -amount, "adjustment")
            expected -= amount
        assert wallet.balance(user) == expected >= 0
    assert wallet.audit() == []
    w = wallet.get_wallet(user)
    assert wallet.ledger_sum(w) == w.balance == expected
    last = w.entries.order_by("-id").first()
    assert last is None or last.balance_after == w.balance


@pytest.mark.django_db
def test_the_database_refuses_a_negative_balance(fake_alipay, user):
    w = wallet.get_wallet(user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.filter(pk=w.pk).update(balance=Decimal("-0.01"))


@pytest.mark.django_db
def test_audit_finds_a_tampered_balance(fake_alipay, user):
    wallet.post_entry(user, "5.00", "adjustment")
    Wallet.objects.filter(user=user).update(balance=Decimal("6.00"))
    [mismatch] = wallet.audit()
    assert mismatch.balance == Decimal("6.00") and mismatch.ledger_sum == Decimal("5.00")


@pytest.mark.django_db
def test_bad_amounts_and_kinds(fake_alipay, user):
    with pytest.raises(ValueError):
        wallet.post_entry(user, "1.00", "gift")
    for bad in ("0", "abc", 1.5, "1.001"):
        with pytest.raises(Exception) as info:
            wallet.post_entry(user, bad, "adjustment")
        assert getattr(info.value, "code", None) == "invalid_amount" or isinstance(
            info.value, ValueError
        )
    assert not LedgerEntry.objects.exists()


@pytest.mark.django_db
def test_balance_payment_is_atomic_and_exactly_once(fake_alipay, user, fulfilled):
    order = make_order(user, "10.00")
    with pytest.raises(InsufficientBalance):
        pay_with_balance(order, user=user)
    assert not order.attempts.exists() and Order.objects.get(pk=order.pk).status == "pending"
    wallet.post_entry(user, "25.00", "adjustment")
    start = pay_with_balance(order, user=user)
    assert start.paid and start.attempt.status == "succeeded"
    with pytest.raises(PaymentError):
        pay_with_balance(order, user=user)
    assert wallet.balance(user) == Decimal("15.00")
    assert LedgerEntry.objects.filter(order=order, kind="payment").count() == 1
    assert fulfilled == [("paid", order.out_trade_no)]


@pytest.mark.django_db(transaction=True)
def test_concurrent_balance_payments_debit_once(fake_alipay, user, fulfilled):
    """Eight threads pay the same order from the wallet at once: exactly one debit."""
    wallet.post_entry(user, "100.00", "adjustment")
    order = make_order(user, "30.00")
    barrier = threading.Barrier(8)
    results: list[str] = []

    def pay():
        try:
            barrier.wait()
            pay_with_balance(Order.objects.get(pk=order.pk), user=user)
            results.append("paid")
        except PaymentError as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("paid") == 1
    assert set(results) <= {"paid", "order_not_payable"}
    assert wallet.balance(user) == Decimal("70.00")
    assert wallet.audit() == []
    assert fulfilled == [("paid", order.out_trade_no)]


@pytest.mark.django_db(transaction=True)
def test_concurrent_debits_never_overdraw(fake_alipay, user):
    wallet.post_entry(user, "50.00", "adjustment")
    barrier = threading.Barrier(10)
    ok: list[bool] = []

    def debit():
        try:
            barrier.wait()
            wallet.post_entry(user, "-10.00", "adjustment")
            ok.append(True)
        except InsufficientBalance:
            ok.append(False)
        finally:
            connection.close()

    threads = [threading.Thread(target=debit) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ok.count(True) == 5
    assert wallet.balance(user) == Decimal("0.00")
    assert wallet.audit() == []
