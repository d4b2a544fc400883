"""Refunds that move wallet money, and Alipay calls made with no transaction (no row lock) open.

Alipay is replaced by a recorder at the provider boundary (the registered Alipay provider): each
call notes whether a database transaction was open at that moment. A slow Alipay must never
stall the site by holding row locks for the length of an HTTP call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction

from tests.core.factories import make_attempt, make_order, pay
from zhifu.exceptions import RefundError
from zhifu.models import LedgerEntry, Order, PaymentAttempt, Refund
from zhifu.providers import registry
from zhifu.providers.base import PaymentAction, RefundResult, RefundState
from zhifu.services import wallet
from zhifu.services.orders import cancel_order, expire_orders
from zhifu.services.payments import pay_with_balance, start_payment
from zhifu.services.reconcile import reconcile_payments
from zhifu.services.refunds import refund_order, retry_refunds

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class RecordingAlipay:
    """Alipay's answers, chosen by the test; every call recorded with ``in_atomic_block``."""

    refund_answers: list[str] = field(default_factory=list)  # "succeeded" | "failed" | "unknown"
    close_answer: str = "closed"
    calls: list[tuple[str, str, bool]] = field(default_factory=list)

    def _note(self, what: str, ref: str) -> None:
        self.calls.append((what, ref, transaction.get_connection().in_atomic_block))

    def refund(self, refund):
        self._note("refund", refund.out_request_no)
        status = self.refund_answers.pop(0) if self.refund_answers else "succeeded"
        code = {"failed": "ACQ.TRADE_HAS_FINISHED", "unknown": "ACQ.SYSTEM_ERROR"}.get(status, "")
        return RefundResult(RefundState(status), code, "test answer")

    def query_refund(self, refund):
        self._note("query_refund", refund.out_request_no)
        return RefundResult(RefundState.UNKNOWN, "test", "no answer")

    def close(self, attempt):
        self._note("close", attempt.out_trade_no)
        return self.close_answer

    def query(self, attempt):
        self._note("query", attempt.out_trade_no)
        return None

    def start(self, order, attempt, *, return_url=None, payer=None):
        self._note("start", attempt.out_trade_no)
        if attempt.channel == "alipay_qr":
            return PaymentAction(qr_code=f"https://qr.example/{attempt.out_trade_no}")
        return PaymentAction(url=f"https://pay.example/{attempt.out_trade_no}")

    @property
    def inside_transaction(self) -> list[tuple[str, str, bool]]:
        return [c for c in self.calls if c[2]]


@pytest.fixture
def alipay(fake_alipay, monkeypatch) -> RecordingAlipay:
    recorder = RecordingAlipay()
    provider = registry.get("alipay")
    for name in ("refund", "query_refund", "close", "query", "start"):
        monkeypatch.setattr(provider, name, getattr(recorder, name))
    return recorder


def paid_top_up(user, amount: str = "50.00") -> tuple[Order, PaymentAttempt]:
    order = wallet.create_top_up(user, amount)
    attempt = make_attempt(order)
    assert pay(attempt, trade_no="T-topup") == "applied"
    order.refresh_from_db()
    return order, attempt


def ledger(user) -> list[tuple[str, Decimal]]:
    return list(
        LedgerEntry.objects.filter(wallet__user=user).order_by("id").values_list("kind", "amount")
    )


def test_refund_of_a_top_up_takes_the_money_back_out_of_the_wallet(alipay, user, fulfilled):
    order, _ = paid_top_up(user)
    assert wallet.balance(user) == Decimal("50.00")
    refund = refund_order(order, amount="20.00", reason="changed my mind")
    assert refund.status == Refund.Status.SUCCEEDED
    assert wallet.balance(user) == Decimal("30.00")
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_REFUNDED
    assert order.refunded_amount == Decimal("20.00")
    assert ledger(user) == [("topup", Decimal("50.00")), ("refund", Decimal("-20.00"))]
    assert LedgerEntry.objects.get(kind="refund").refund_id == refund.pk
    rest = refund_order(order)
    assert rest.status == Refund.Status.SUCCEEDED and rest.amount == Decimal("30.00")
    assert wallet.balance(user) == Decimal("0.00")
    assert Order.objects.get(pk=order.pk).status == Order.Status.REFUNDED
    assert wallet.audit() == []
    assert alipay.inside_transaction == []


def test_failed_top_up_refund_puts_the_money_back(alipay, user, fulfilled):
    order, _ = paid_top_up(user)
    alipay.refund_answers = ["failed"]
    refund = refund_order(order, amount="20.00")
    assert refund.status == Refund.Status.FAILED
    assert refund.error_code == "ACQ.TRADE_HAS_FINISHED"
    assert wallet.balance(user) == Decimal("50.00")
    assert ledger(user) == [
        ("topup", Decimal("50.00")),
        ("refund", Decimal("-20.00")),
        ("adjustment", Decimal("20.00")),
    ]
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.refunded_amount == Decimal("0.00")
    assert fulfilled == [("paid", order.out_trade_no)]  # no refund event
    # the failed refund no longer counts: the whole amount can be refunded again
    again = refund_order(order)
    assert again.status == Refund.Status.SUCCEEDED and again.amount == Decimal("50.00")
    assert wallet.balance(user) == Decimal("0.00")
    assert wallet.audit() == []


def test_top_up_refund_unknown_then_failed_on_retry_puts_the_money_back(alipay, user):
    order, _ = paid_top_up(user)
    alipay.refund_answers = ["unknown", "failed"]
    refund = refund_order(order, amount="10.00")
    assert refund.status == Refund.Status.UNKNOWN
    assert wallet.balance(user) == Decimal("40.00")  # held while the outcome is unknown
    assert retry_refunds() == 0
    refund.refresh_from_db()
    assert refund.status == Refund.Status.FAILED and refund.tries == 2
    assert [c[1] for c in alipay.calls if c[0] == "refund"] == [refund.out_request_no] * 2
    assert wallet.balance(user) == Decimal("50.00")
    assert wallet.audit() == []


def test_top_up_already_spent_cannot_be_refunded(alipay, user):
    order, _ = paid_top_up(user, "10.00")
    pay_with_balance(make_order(user, "8.00"), user=user)
    with pytest.raises(RefundError) as info:
        refund_order(order, amount="5.00")
    assert info.value.code == "insufficient_balance"
    assert not Refund.objects.filter(order=order).exists()  # nothing half-done
    assert alipay.calls == []  # Alipay was never asked
    assert wallet.balance(user) == Decimal("2.00")
    assert refund_order(order, amount="2.00").status == Refund.Status.SUCCEEDED
    assert wallet.balance(user) == Decimal("0.00")


def test_refund_of_a_balance_payment_goes_back_to_the_wallet(alipay, user, fulfilled):
    wallet.post_entry(user, "30.00", "adjustment")
    order = make_order(user, "12.30")
    pay_with_balance(order, user=user)
    assert wallet.balance(user) == Decimal("17.70")
    part = refund_order(order, amount="2.30")
    assert part.status == Refund.Status.SUCCEEDED
    assert wallet.balance(user) == Decimal("20.00")
    full = refund_order(order)
    assert full.status == Refund.Status.SUCCEEDED and full.amount == Decimal("10.00")
    assert wallet.balance(user) == Decimal("30.00")
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED and order.refunded_amount == order.total_amount
    assert [k for k, _ in ledger(user)] == ["adjustment", "payment", "refund", "refund"]
    assert alipay.calls == []  # a wallet refund never goes to Alipay
    assert fulfilled == [
        ("paid", order.out_trade_no),
        ("refunded", order.out_trade_no),
        ("refunded", order.out_trade_no),
    ]
    with pytest.raises(RefundError):
        refund_order(order, amount="0.01")
    assert wallet.audit() == []


def test_alipay_is_never_called_inside_a_transaction(alipay, user, fulfilled):
    # pay: page and QR (QR precreate is an HTTP call), switching channel closes the old trade
    order = make_order(user)
    start_payment(order, "alipay_page", user=user)
    start_payment(order, "alipay_qr", user=user)
    # cancel: closes open trades first
    cancel_order(order, user=user)
    # expire: the page was never opened, Alipay has no trade to close (it stays watched)
    alipay.close_answer = "not_exist"
    late = make_order(user)
    start_payment(late, "alipay_page", user=user)
    assert expire_orders(now=late.expires_at + timedelta(seconds=1)) == 1
    # reconcile
    reconcile_payments(everything=True)
    # refunds, including the automatic refund of a second payment
    paid = make_order(user)
    first, second = make_attempt(paid), make_attempt(paid)
    pay(first, trade_no="T1")
    pay(second, trade_no="T2")
    refund_order(paid, amount="1.00")
    whats = {c[0] for c in alipay.calls}
    assert whats == {"start", "close", "query", "refund"}
    assert alipay.inside_transaction == []
    auto = Refund.objects.get(attempt=second)
    assert auto.automatic and auto.status == Refund.Status.SUCCEEDED


def test_refund_amounts_are_decimal_and_exact(alipay, user):
    """0.1 + 0.2 style sums stay exact: three refunds of 0.10 + 0.20 + ... leave nothing over."""
    wallet.post_entry(user, "0.30", "adjustment")
    order = make_order(user, "0.30")
    pay_with_balance(order, user=user)
    for amount in ("0.10", "0.10", "0.10"):
        refund = refund_order(order, amount=amount)
        assert isinstance(refund.amount, Decimal)
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert order.refunded_amount == Decimal("0.30")
    with pytest.raises(RefundError):
        refund_order(order, amount="0.01")
    with pytest.raises(RefundError) as info:
        refund_order(make_order(user), amount=0.1)  # type: ignore[arg-type]
    assert info.value.code == "order_not_refundable"
