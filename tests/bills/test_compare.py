"""The comparison on its own (no gateway): a hand-made bill against hand-made records, one of
each kind of discrepancy, and a bill that agrees giving none."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from tests.core.factories import make_attempt, make_order, pay
from zhifu.bills.lines import Bill, BillLine, LineKind
from zhifu.bills.reconcile import compare
from zhifu.models import LedgerEntry, Order, PaymentAttempt, Refund
from zhifu.timezones import BEIJING

pytestmark = pytest.mark.django_db


def _line(attempt_no: str, amount: str, kind=LineKind.PAYMENT, refund_no: str = "", fee="0.00"):
    return BillLine(
        provider="alipay",
        kind=kind,
        out_trade_no=attempt_no,
        gateway_trade_no="G" + attempt_no,
        amount=Decimal(amount),
        fee=Decimal(fee),
        out_refund_no=refund_no,
        source="bill.csv:9",
    )


def _paid(user, amount: str, kind: str = "purchase") -> PaymentAttempt:
    attempt = make_attempt(make_order(user, amount, kind=kind))
    pay(attempt)
    return attempt


def _refund(attempt: PaymentAttempt, number: str, amount: str, status: str) -> Refund:
    return Refund.objects.create(
        order=attempt.order,
        attempt=attempt,
        out_request_no=number,
        amount=Decimal(amount),
        status=status,
        succeeded_at=timezone.now() if status == Refund.Status.SUCCEEDED else None,
    )


def test_each_kind_of_discrepancy(fake_alipay, user) -> None:
    matched = _paid(user, "10.00")
    wrong_amount = _paid(user, "20.00")
    missing_from_bill = _paid(user, "30.00")
    unpaid = make_attempt(make_order(user, "40.00"))
    topup = _paid(user, "50.00", kind=Order.Kind.TOPUP)
    LedgerEntry.objects.filter(order=topup.order).delete()  # as if it had never been written
    day = matched.paid_at.astimezone(BEIJING).date()
    _refund(matched, "RF-HERE-ONLY", "1.00", Refund.Status.SUCCEEDED)
    _refund(matched, "RF-PENDING", "2.00", Refund.Status.PENDING)
    _refund(wrong_amount, "RF-AMOUNT", "3.00", Refund.Status.SUCCEEDED)
    lines = (
        _line(matched.out_trade_no, "10.00", fee="0.06"),
        _line(wrong_amount.out_trade_no, "21.00", fee="0.13"),
        _line(unpaid.out_trade_no, "40.00", fee="0.24"),
        _line(topup.out_trade_no, "50.00", fee="0.30"),
        _line("NEVER-ISSUED-1", "5.00", fee="0.03"),
        _line(matched.out_trade_no, "2.00", LineKind.REFUND, "RF-PENDING", fee="-0.01"),
        _line(wrong_amount.out_trade_no, "3.50", LineKind.REFUND, "RF-AMOUNT", fee="-0.02"),
        _line(matched.out_trade_no, "4.00", LineKind.REFUND, "RF-UNKNOWN", fee="-0.02"),
    )
    bill = Bill("alipay", day, lines, {"summary": Decimal("0.71"), "account": Decimal("0.99")})
    assert bill.fee_total == Decimal("0.71")

    found = compare("alipay", bill)

    assert sorted((d.kind, d.out_trade_no, d.out_refund_no) for d in found) == sorted(
        [
            ("amount_differs", wrong_amount.out_trade_no, ""),
            ("paid_not_here", unpaid.out_trade_no, ""),
            ("ledger", topup.out_trade_no, ""),
            ("unknown_trade", "NEVER-ISSUED-1", ""),
            ("not_in_bill", missing_from_bill.out_trade_no, ""),
            ("refund_missing", matched.out_trade_no, "RF-PENDING"),
            ("refund_missing", matched.out_trade_no, "RF-UNKNOWN"),
            ("amount_differs", wrong_amount.out_trade_no, "RF-AMOUNT"),
            ("refund_not_in_bill", matched.out_trade_no, "RF-HERE-ONLY"),
            ("fee_total", "", ""),
        ]
    )
    by_kind = {(d.kind, d.out_refund_no): d for d in found}
    differs = by_kind[("amount_differs", "")]
    assert (differs.bill_amount, differs.site_amount) == (Decimal("21.00"), Decimal("20.00"))
    assert differs.lines[0]["source"] == "bill.csv:9"
    fee = by_kind[("fee_total", "")]
    assert (fee.bill_amount, fee.site_amount) == (Decimal("0.99"), Decimal("0.71"))
    assert "account" in fee.detail
    assert by_kind[("refund_missing", "RF-PENDING")].refund is not None
    assert by_kind[("refund_missing", "RF-UNKNOWN")].refund is None
    assert all(d.pk is None for d in found)  # compare() saves nothing


def test_a_bill_that_agrees_gives_nothing(fake_alipay, user) -> None:
    one = _paid(user, "10.00")
    two = _paid(user, "0.01")
    day = one.paid_at.astimezone(BEIJING).date()
    bill = Bill(
        "alipay",
        day,
        (_line(one.out_trade_no, "10.00", fee="0.06"), _line(two.out_trade_no, "0.01")),
        {"summary": Decimal("0.06")},
    )
    assert compare("alipay", bill) == []
    other_day = Bill("alipay", day.replace(year=day.year - 1), (), {})
    assert compare("alipay", other_day) == []  # yesterday's payments are not that day's
    assert compare("wechatpay", bill)[0].kind == "unknown_trade"  # numbers are per provider


class _Source:
    """A provider with bills, as the job sees one (zhifu.providers.base.BillSource)."""

    name = "alipay"

    def __init__(self, outcome) -> None:
        self.outcome = outcome

    def daily_bill(self, day):
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


def test_an_unreadable_bill_makes_a_failed_report_that_runs_again(fake_alipay, user) -> None:
    from zhifu.bills.lines import BillFormatError
    from zhifu.bills.models import ReconciliationReport
    from zhifu.bills.reconcile import reconcile_day
    from zhifu.providers.base import BillSource

    day = timezone.now().astimezone(BEIJING).date()
    broken = _Source(BillFormatError("x_业务明细.csv:7: 订单金额（元） 'abc' is not a number"))
    assert isinstance(broken, BillSource)
    outcome = reconcile_day(broken, day)
    assert outcome.ran and outcome.report.status == ReconciliationReport.Status.FAILED
    assert "x_业务明细.csv:7" in outcome.report.error

    attempt = _paid(user, "10.00")
    good = _source_bill(attempt, day)
    again = reconcile_day(_Source(good), day)
    assert again.ran and again.report.pk == outcome.report.pk and again.report.runs == 2
    assert again.report.status == ReconciliationReport.Status.BALANCED
    assert again.report.error == ""
    assert reconcile_day(_Source(good), day).ran is False  # finished: left alone


def _source_bill(attempt: PaymentAttempt, day) -> Bill:
    return Bill("alipay", day, (_line(attempt.out_trade_no, "10.00"),), {})
