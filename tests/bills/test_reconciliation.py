"""The daily reconciliation end to end over real HTTP: Django on a live port, the sandbox (Alipay
and WeChat Pay) on another. Orders are paid and refunded through the normal flow; the sandbox
makes a trade the site never heard of and a payment whose notification is lost; the job (the
management command) then finds exactly those, applies the lost payment through the pipeline
once, and a second run changes nothing. The admin shows the report with its bill lines."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from io import StringIO

import httpx
import pytest
from django.core.management import CommandError, call_command

from tests.conftest import wait_until
from tests.core.factories import make_order
from zhifu.bills.models import Discrepancy, ReconciliationReport
from zhifu.bills.reconcile import reconcile_bills
from zhifu.conf import DEFAULTS
from zhifu.models import Order, PaymentAttempt, Refund
from zhifu.services.payments import start_payment
from zhifu.services.refunds import refund_order
from zhifu.timezones import BEIJING

pytestmark = pytest.mark.django_db(transaction=True)

WECHAT = "zhifu.providers.wechatpay.WechatPayProvider"
_DAYS_BACK = itertools.count(2)


@pytest.fixture
def days_back() -> int:
    """A day of its own for each test on the sandbox clock the session shares (2, 3, ... days
    ago); a test that needs yesterday parametrizes this to 1."""
    return next(_DAYS_BACK)


@pytest.fixture
def shop(sandbox_zhifu, settings, live_server, days_back):
    """The site sells with Alipay, the wallet and WeChat Pay, all at the sandbox, whose clock
    stands at the start of a past day (Beijing): the day the job reconciles."""
    sb = sandbox_zhifu
    settings.ZHIFU = {
        **settings.ZHIFU,
        "PROVIDERS": [*DEFAULTS["PROVIDERS"], WECHAT],
        "WECHATPAY": sb.wechatpay_settings(live_server.url + "/zhifu/wechatpay/notify/"),
    }
    sb.wechat_faults(reset=True)
    day = (datetime.now(BEIJING) - timedelta(days=days_back)).date()
    sb.set_clock(f"{day.isoformat()} 00:00:00")
    yield sb, day
    sb._call("POST", "/sandbox/api/wechat/notifications/abandon", json={})
    sb.reset_clock()


def _pay_alipay(sb, user, amount: str, *, lose_notification: bool = False) -> Order:
    order = make_order(user, amount)
    start = start_payment(order, "alipay_page", user=user)
    assert httpx.get(start.pay_url, follow_redirects=True, timeout=10).status_code == 200
    number = start.attempt.out_trade_no
    if lose_notification:
        sb.faults(drop_notifications=1000)  # every delivery attempt of it is lost...
        sb.pay(number)
        sb.abandon_notifications(out_trade_no=number)  # ...and Alipay gives up
        sb.faults(reset=True)
    else:
        sb.pay(number)
        assert wait_until(lambda: Order.objects.get(pk=order.pk).status == Order.Status.PAID)
    return order


def _pay_wechat(sb, user, amount: str, *, lose_notification: bool = False) -> Order:
    order = make_order(user, amount)
    start = start_payment(order, "wechat_native", user=user)
    number = start.attempt.out_trade_no
    if lose_notification:
        sb.wechat_faults(drop_notifications=1000)
        sb.wechat_pay(number)
        sb._call("POST", "/sandbox/api/wechat/notifications/abandon", json={"out_trade_no": number})
        sb.wechat_faults(reset=True)
    else:
        sb.wechat_pay(number)
        assert wait_until(lambda: Order.objects.get(pk=order.pk).status == Order.Status.PAID)
    return order


def _found(report: ReconciliationReport) -> set[tuple[str, str, str]]:
    return {(d.kind, d.out_trade_no, d.resolution) for d in report.discrepancies.all()}


def _attempt(order: Order) -> PaymentAttempt:
    return order.attempts.get()


def test_alipay_day_reconciled_end_to_end(shop, user, fulfilled, admin_client) -> None:
    sb, day = shop
    paid = _pay_alipay(sb, user, "12.30")
    refunded = _pay_alipay(sb, user, "45.60")
    refund = refund_order(refunded, amount=Decimal("5.60"))
    assert refund.status == Refund.Status.SUCCEEDED
    lost = _pay_alipay(sb, user, "7.80", lose_notification=True)
    assert Order.objects.get(pk=lost.pk).status == Order.Status.PENDING
    stray = sb.paid_trade("STRAY-" + lost.out_trade_no[-12:], "66.60")

    out = StringIO()
    call_command(
        "zhifu_reconcile_bills", "--date", day.isoformat(), "--provider", "alipay", stdout=out
    )
    report = ReconciliationReport.objects.get(provider="alipay", bill_date=day)
    lost_no = _attempt(lost).out_trade_no
    assert _found(report) == {
        ("paid_not_here", lost_no, "applied"),
        ("unknown_trade", stray["out_trade_no"], "open"),
    }
    assert report.status == ReconciliationReport.Status.DISCREPANCIES
    assert (report.bill_payments, report.bill_refunds) == (4, 1)
    assert report.bill_payment_total == Decimal("132.30")
    assert report.bill_refund_total == Decimal("5.60")
    assert report.stated_fee_totals == {
        "summary": str(report.bill_fee_total),
        "account": str(report.bill_fee_total),
    }
    unknown = report.discrepancies.get(kind="unknown_trade")
    assert unknown.bill_amount == Decimal("66.60")
    assert unknown.gateway_trade_no == stray["trade_no"]
    assert unknown.lines[0]["out_trade_no"] == stray["out_trade_no"]
    assert unknown.lines[0]["source"].split(":")[0].endswith("_业务明细.csv")
    assert "paid_not_here" in out.getvalue() and stray["out_trade_no"] in out.getvalue()

    # The lost payment went through the pipeline: paid, fulfilled once, one succeeded attempt.
    lost.refresh_from_db()
    assert lost.status == Order.Status.PAID
    assert _attempt(lost).status == PaymentAttempt.Status.SUCCEEDED
    assert _attempt(lost).trade_no == sb.trade(lost_no)["trade_no"]
    assert sorted(e for e in fulfilled if e[0] == "paid") == sorted(
        ("paid", o.out_trade_no) for o in (paid, refunded, lost)
    )

    # Running again for the day is refused: the same report, untouched.
    again = StringIO()
    call_command(
        "zhifu_reconcile_bills", "--date", day.isoformat(), "--provider", "alipay", stdout=again
    )
    assert "already reconciled" in again.getvalue()
    assert ReconciliationReport.objects.filter(provider="alipay", bill_date=day).count() == 1
    same = ReconciliationReport.objects.get(pk=report.pk)
    assert same.runs == 1 and _found(same) == _found(report)

    # --replace recomputes in the same report; what was applied stays recorded, once.
    call_command(
        "zhifu_reconcile_bills",
        "--date",
        day.isoformat(),
        "--provider",
        "alipay",
        "--replace",
        stdout=StringIO(),
    )
    replaced = ReconciliationReport.objects.get(pk=report.pk)
    assert replaced.runs == 2 and _found(replaced) == _found(report)
    assert Discrepancy.objects.filter(report=replaced).count() == 2
    assert [e for e in fulfilled if e[1] == lost.out_trade_no] == [("paid", lost.out_trade_no)]

    # The admin lists the report and shows its discrepancies with the bill lines.
    listing = admin_client.get("/admin/zhifu/reconciliationreport/")
    assert listing.status_code == 200 and day.strftime("%Y") in listing.content.decode()
    page = admin_client.get(f"/admin/zhifu/reconciliationreport/{report.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert stray["out_trade_no"] in html and lost_no in html
    assert "zhifu-bill-lines" in html and stray["trade_no"] in html
    assert admin_client.get("/admin/zhifu/discrepancy/").status_code == 200


def test_wechat_day_reconciled_end_to_end(shop, user, fulfilled) -> None:
    sb, day = shop
    paid = _pay_wechat(sb, user, "10.00")
    refunded = _pay_wechat(sb, user, "20.00")
    refund = refund_order(refunded, amount=Decimal("3.00"))
    assert refund.status in (Refund.Status.PENDING, Refund.Status.SUCCEEDED)
    assert wait_until(
        lambda: Refund.objects.get(pk=refund.pk).status == Refund.Status.SUCCEEDED
    )  # WeChat settles the refund and notifies
    lost = _pay_wechat(sb, user, "3.30", lose_notification=True)
    stray = sb.wechat_paid_trade("WXSTRAY" + lost.out_trade_no[-10:], "9.90")

    outcomes = reconcile_bills(day, provider="wechatpay")
    report = outcomes[0].report
    lost_no = _attempt(lost).out_trade_no
    assert _found(report) == {
        ("paid_not_here", lost_no, "applied"),
        ("unknown_trade", stray["out_trade_no"], "open"),
    }
    assert (report.bill_payments, report.bill_refunds) == (4, 1)
    assert Order.objects.get(pk=lost.pk).status == Order.Status.PAID
    assert [e for e in fulfilled if e[1] == lost.out_trade_no] == [("paid", lost.out_trade_no)]
    assert reconcile_bills(day, provider="wechatpay")[0].ran is False
    assert ReconciliationReport.objects.filter(bill_date=day).count() == 1
    assert paid.out_trade_no not in {d.out_trade_no for d in report.discrepancies.all()}


def test_a_bill_not_ready_is_a_failed_report_run_again_later(shop) -> None:
    sb, day = shop
    sb.faults(gateway_errors=2)  # the bill query answers ACQ.SYSTEM_ERROR
    with pytest.raises(CommandError, match="bill not reconciled"):
        call_command(
            "zhifu_reconcile_bills",
            "--date",
            day.isoformat(),
            "--provider",
            "alipay",
            stdout=StringIO(),
        )
    report = ReconciliationReport.objects.get(provider="alipay", bill_date=day)
    assert report.status == ReconciliationReport.Status.FAILED and report.error
    sb.faults(reset=True)
    outcome = reconcile_bills(day, provider="alipay")[0]
    assert outcome.ran and outcome.report.pk == report.pk
    assert outcome.report.status in (
        ReconciliationReport.Status.BALANCED,
        ReconciliationReport.Status.DISCREPANCIES,
    )
    assert outcome.report.runs == 2


def test_command_refuses_bad_input(shop) -> None:
    with pytest.raises(CommandError, match="--date 'yesterday' is not a date"):
        call_command("zhifu_reconcile_bills", "--date", "yesterday")
    with pytest.raises(CommandError, match="has no daily bills"):
        call_command("zhifu_reconcile_bills", "--provider", "balance")
    with pytest.raises(CommandError, match="not configured"):
        call_command("zhifu_reconcile_bills", "--provider", "paypal")


@pytest.mark.parametrize("days_back", [1])
def test_beat_task_reconciles_yesterday_for_every_provider_with_bills(shop) -> None:
    from zhifu.bills.tasks import reconcile_bills as task
    from zhifu.tasks import BEAT_SCHEDULE

    _sb, day = shop
    entry = BEAT_SCHEDULE["zhifu-reconcile-bills"]
    assert entry["task"] == task.name == "zhifu.reconcile_bills"
    result = task()  # no day: yesterday in Beijing, the sandbox's day here
    assert {(r["provider"], r["day"], r["ran"]) for r in result} == {
        ("alipay", day.isoformat(), True),
        ("wechatpay", day.isoformat(), True),
    }
    assert all(r["status"] == "balanced" for r in result)  # nothing happened that day
    assert {(r["provider"], r["ran"]) for r in task()} == {
        ("alipay", False),
        ("wechatpay", False),
    }  # the next hour's run leaves finished days alone
