"""Against the zhifu sandbox over real HTTP: Django serves the notify/return URLs on a live port.

These are the reliability scenarios of issue 3 §8: concurrent duplicate notifications racing the
return, lost notifications, expiry, late and double payments, refunds with gateway faults.
"""

from __future__ import annotations

import itertools
import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.utils import timezone

from tests.conftest import get_as, wait_until
from tests.core.factories import make_order
from tests.core.http_worker import post_form
from zhifu.conf import zhifu_settings
from zhifu.models import LedgerEntry, Notification, Order, PaymentAttempt, Refund
from zhifu.sandbox.testing import SandboxError
from zhifu.services import wallet
from zhifu.services.orders import create_order_from_skus, expire_orders
from zhifu.services.payments import start_payment
from zhifu.services.reconcile import reconcile_payments
from zhifu.services.refunds import refund_order, retry_refunds

pytestmark = pytest.mark.django_db(transaction=True)

JSON = {"Accept": "application/json"}


def open_cashier(url: str) -> None:
    response = httpx.get(url, follow_redirects=True, timeout=10)
    assert response.status_code == 200, response.text[:300]


def status_of(order: Order) -> str:
    return Order.objects.get(pk=order.pk).status


def paid_order(sb, user, product, channel="alipay_page"):
    order = create_order_from_skus(user, [{"sku": product.sku, "quantity": 1}])
    start = start_payment(order, channel, user=user)
    if start.pay_url:
        open_cashier(start.pay_url)
    sb.pay(start.attempt.out_trade_no)
    assert wait_until(lambda: status_of(order) == Order.Status.PAID)
    order.refresh_from_db()
    return order, start.attempt


def test_same_notification_8x_concurrently_threads_and_processes_plus_return_racing(
    sandbox_zhifu, user, fulfilled, live_server
):
    sb = sandbox_zhifu
    order = wallet.create_top_up(user, "50.00")  # paid -> wallet credited: the ledger must be exact
    start = start_payment(order, "alipay_page", user=user)
    open_cashier(start.pay_url)
    out = start.attempt.out_trade_no
    sb.faults(notification_copies=8)  # the sandbox POSTs each notification 8 times at once
    return_url = sb.pay(out)
    with ThreadPoolExecutor(4) as pool:  # the buyer's browser(s) come back at the same moment
        returns = list(
            pool.map(lambda _: httpx.get(return_url, headers=JSON, timeout=30), range(4))
        )
    assert all(r.status_code == 200 for r in returns)
    assert wait_until(lambda: status_of(order) == Order.Status.PAID)
    deliveries = sb.wait_for_notifications(out, 8)
    assert len(deliveries) >= 8
    assert wait_until(lambda: Notification.objects.filter(out_trade_no=out).count() >= 8)

    # and the same signed notification from 8 separate processes at once
    form = deliveries[0]["form"]
    notify_url = live_server.url + "/zhifu/alipay/notify/"
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        replies = pool.map(post_form, [(notify_url, form)] * 8)
    assert replies == ["success"] * 8

    assert [e for e in fulfilled if e[1] == order.out_trade_no] == [("paid", order.out_trade_no)]
    outcomes = list(Notification.objects.filter(out_trade_no=out).values_list("outcome", flat=True))
    assert outcomes.count("applied") == 1
    assert set(outcomes) <= {"applied", "duplicate"}
    assert wallet.balance(user) == Decimal("50.00")
    assert LedgerEntry.objects.filter(order=order).count() == 1
    assert wallet.audit() == []
    assert PaymentAttempt.objects.filter(order=order, status="succeeded").count() == 1


def test_lost_notifications_are_recovered_by_reconcile(sandbox_zhifu, user, product, fulfilled):
    sb = sandbox_zhifu
    sb.faults(drop_notifications=100)  # Alipay cannot reach us at all
    order = create_order_from_skus(user, [{"sku": product.sku, "quantity": 1}])
    start = start_payment(order, "alipay_page", user=user)
    open_cashier(start.pay_url)
    sb.pay(start.attempt.out_trade_no)
    assert sb.trade(start.attempt.out_trade_no)["trade_status"] == "TRADE_SUCCESS"
    assert status_of(order) == Order.Status.PENDING
    assert not Notification.objects.filter(out_trade_no=start.attempt.out_trade_no).exists()

    # not due yet: nothing is queried
    assert reconcile_payments(now=timezone.now()).checked == 0
    report = reconcile_payments(now=timezone.now() + timedelta(minutes=2))
    assert report.checked == 1 and report.paid == 1
    assert report.orders == [order.out_trade_no]
    assert status_of(order) == Order.Status.PAID
    attempt = PaymentAttempt.objects.get(pk=start.attempt.pk)
    assert attempt.next_check_at is None and attempt.trade_no
    assert fulfilled == [("paid", order.out_trade_no)]
    assert reconcile_payments(now=timezone.now() + timedelta(days=2), everything=True).checked == 0


def test_reconcile_backs_off_while_nothing_happens(sandbox_zhifu, user, product):
    order = create_order_from_skus(user, [{"sku": product.sku, "quantity": 1}])
    start = start_payment(order, "alipay_page", user=user)
    attempt = start.attempt
    moments = []
    now = attempt.created_at
    for _ in range(40):
        attempt.refresh_from_db()
        if attempt.next_check_at is None:
            break
        now = attempt.next_check_at + timedelta(seconds=1)
        moments.append(now - attempt.created_at)
        reconcile_payments(now=now)  # the trade does not exist at Alipay yet (never opened)
    attempt.refresh_from_db()
    assert attempt.next_check_at is None  # schedule exhausted
    assert moments == sorted(moments)
    assert moments[-1] > timedelta(hours=25)  # covers Alipay's notification window
    assert len(moments) == attempt.check_count
    # while the order could be paid (30 minutes), never more than a few minutes between checks
    payable = [m for m in moments if m <= timedelta(minutes=30)]
    gaps = [b - a for a, b in itertools.pairwise(payable)]
    assert gaps and max(gaps) <= timedelta(seconds=181)
    # afterwards, the schedule's backoff: no more checks than the schedule has steps
    assert len(moments) - len(payable) <= len(zhifu_settings.RECONCILE_SCHEDULE)


def test_expiry_closes_the_trade_at_the_sandbox(sandbox_zhifu, user, product, fulfilled):
    sb = sandbox_zhifu
    order = create_order_from_skus(user, [{"sku": product.sku, "quantity": 1}])
    start = start_payment(order, "alipay_page", user=user)
    open_cashier(start.pay_url)  # the trade now exists at Alipay
    assert sb.trade(start.attempt.out_trade_no)["trade_status"] == "WAIT_BUYER_PAY"
    assert expire_orders(now=timezone.now()) == 0  # not due yet
    assert expire_orders(now=order.expires_at + timedelta(seconds=1)) == 1
    assert status_of(order) == Order.Status.EXPIRED
    assert sb.trade(start.attempt.out_trade_no)["trade_status"] == "TRADE_CLOSED"
    attempt = PaymentAttempt.objects.get(pk=start.attempt.pk)
    assert attempt.status == "closed" and attempt.closed_at_gateway
    with pytest.raises(SandboxError):
        sb.pay(start.attempt.out_trade_no)
    assert fulfilled == [("expired", order.out_trade_no)]


def test_paying_after_expiry_is_refunded_automatically(sandbox_zhifu, user, product, fulfilled):
    sb = sandbox_zhifu
    order = create_order_from_skus(user, [{"sku": product.sku, "quantity": 1}])
    start = start_payment(order, "alipay_page", user=user)
    # the pay URL reached the gateway but the buyer never opened the cashier: Alipay has no
    # trade to close (ACQ.TRADE_NOT_EXIST), so the old page can still be paid later
    assert httpx.get(start.pay_url, timeout=10).status_code == 302
    assert expire_orders(now=order.expires_at + timedelta(seconds=1)) == 1
    attempt = PaymentAttempt.objects.get(pk=start.attempt.pk)
    assert attempt.status == "closed" and not attempt.closed_at_gateway

    sb.pay(start.attempt.out_trade_no)  # the buyer pays the stale page
    refund = wait_until(
        lambda: Refund.objects.filter(attempt=attempt, status="succeeded").first(), timeout=20
    )
    assert refund is not None and refund.automatic and refund.amount == order.total_amount
    trade = sb.trade(start.attempt.out_trade_no)
    assert trade["refunded_amount"] == trade["total_amount"]
    assert [r["out_request_no"] for r in trade["refunds"]] == [refund.out_request_no]
    assert status_of(order) == Order.Status.EXPIRED
    assert PaymentAttempt.objects.get(pk=attempt.pk).status == "extra"
    assert fulfilled == [("expired", order.out_trade_no)]  # never fulfilled


def test_buyer_pays_twice_in_two_tabs_second_is_refunded(sandbox_zhifu, user, product, fulfilled):
    sb = sandbox_zhifu
    order = create_order_from_skus(user, [{"sku": product.sku, "quantity": 1}])
    page = start_payment(order, "alipay_page", user=user)
    open_cashier(page.pay_url)
    # Zhifu closes the other tab's trade when the buyer switches channel and again when the
    # order is paid; both closes fail here, so both trades stay payable.
    sb.faults(gateway_errors=2, methods=["alipay.trade.close"])
    wap = start_payment(order, "alipay_wap", user=user)
    open_cashier(wap.pay_url)
    sb.pay(page.attempt.out_trade_no)
    assert wait_until(lambda: status_of(order) == Order.Status.PAID)
    sb.pay(wap.attempt.out_trade_no)
    refund = wait_until(
        lambda: Refund.objects.filter(attempt__pk=wap.attempt.pk, status="succeeded").first(),
        timeout=20,
    )
    assert refund is not None and refund.automatic
    assert sb.trade(wap.attempt.out_trade_no)["refunded_amount"] == f"{order.total_amount:.2f}"
    assert PaymentAttempt.objects.get(pk=page.attempt.pk).status == "succeeded"
    assert PaymentAttempt.objects.get(pk=wap.attempt.pk).status == "extra"
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.refunded_amount == 0
    assert fulfilled == [("paid", order.out_trade_no)]


def test_partial_then_full_refund(sandbox_zhifu, user, product, fulfilled):
    sb = sandbox_zhifu
    order, attempt = paid_order(sb, user, product)
    first = refund_order(order, amount="5.00", reason="damaged cover")
    assert first.status == Refund.Status.SUCCEEDED
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_REFUNDED and order.refunded_amount == Decimal(
        "5.00"
    )
    from zhifu.exceptions import RefundError

    with pytest.raises(RefundError) as info:
        refund_order(order, amount="7.31")
    assert info.value.code == "refund_exceeds_paid"
    second = refund_order(order)
    assert second.status == Refund.Status.SUCCEEDED and second.amount == Decimal("7.30")
    assert second.out_request_no != first.out_request_no
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED and order.refunded_amount == order.total_amount
    trade = sb.trade(attempt.out_trade_no)
    assert trade["refunded_amount"] == "12.30"
    assert sorted(r["out_request_no"] for r in trade["refunds"]) == sorted(
        [first.out_request_no, second.out_request_no]
    )
    with pytest.raises(RefundError):
        refund_order(order, amount="0.01")
    assert fulfilled == [
        ("paid", order.out_trade_no),
        ("refunded", order.out_trade_no),
        ("refunded", order.out_trade_no),
    ]


def test_refund_retried_with_the_same_out_request_no_after_system_error(
    sandbox_zhifu, user, product
):
    sb = sandbox_zhifu
    order, attempt = paid_order(sb, user, product)
    sb.faults(gateway_errors=1, methods=["alipay.trade.refund"])
    refund = refund_order(order, amount="2.00")
    assert refund.status == Refund.Status.UNKNOWN
    assert refund.error_code == "ACQ.SYSTEM_ERROR"
    order.refresh_from_db()
    assert order.status == Order.Status.PAID  # not refunded until Alipay says so
    assert retry_refunds() == 1
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED and refund.tries == 2
    trade = sb.trade(attempt.out_trade_no)
    assert [r["out_request_no"] for r in trade["refunds"]] == [refund.out_request_no]
    assert trade["refunded_amount"] == "2.00"
    assert retry_refunds() == 0


def test_corrupted_and_altered_notifications_are_rejected(
    sandbox_zhifu, user, product, live_server, fulfilled
):
    sb = sandbox_zhifu
    sb.faults(corrupt_notifications=1)  # the first delivery carries a broken signature
    order, attempt = paid_order(sb, user, product)  # ... and the retry pays the order
    notes = Notification.objects.order_by("id")  # a rejected one names no trade: not verified
    assert notes[0].outcome == "rejected" and notes[0].reason == "bad_signature"
    assert "applied" in [n.outcome for n in notes]

    genuine = next(
        d
        for d in sb.notifications(out_trade_no=attempt.out_trade_no)
        if d.get("reply") == "success"
    )
    form = dict(genuine["form"])
    notify_url = live_server.url + "/zhifu/alipay/notify/"
    for key, value in (
        ("total_amount", "0.01"),
        ("out_trade_no", attempt.out_trade_no + "9"),
        ("trade_status", "TRADE_CLOSED"),
    ):
        reply = httpx.post(notify_url, data={**form, key: value}, timeout=10)
        assert reply.text == "fail"
    rejected = Notification.objects.filter(reason="bad_signature").count()
    assert rejected >= 4
    assert fulfilled == [("paid", order.out_trade_no)]


def test_qr_code_payment(sandbox_zhifu, user, product, fulfilled):
    sb = sandbox_zhifu
    order = create_order_from_skus(user, [{"sku": product.sku, "quantity": 1}])
    start = start_payment(order, "alipay_qr", user=user)
    assert start.qr_code and not start.pay_url
    again = start_payment(order, "alipay_qr", user=user)
    assert again.attempt.pk == start.attempt.pk and again.qr_code == start.qr_code
    sb.pay(start.attempt.out_trade_no)
    assert wait_until(lambda: status_of(order) == Order.Status.PAID)
    assert fulfilled == [("paid", order.out_trade_no)]


def test_return_queries_alipay_when_the_notification_has_not_arrived(
    sandbox_zhifu, user, product, fulfilled
):
    sb = sandbox_zhifu
    sb.faults(drop_notifications=100)
    order = create_order_from_skus(user, [{"sku": product.sku, "quantity": 1}])
    start = start_payment(order, "alipay_page", user=user)
    open_cashier(start.pay_url)
    return_url = sb.pay(start.attempt.out_trade_no)
    assert status_of(order) == Order.Status.PENDING
    anonymous = httpx.get(return_url, headers=JSON, timeout=10)  # asks Alipay, shows nothing
    assert anonymous.status_code == 200 and anonymous.json() == {
        "confirming": False,
        "sign_in": True,
    }
    assert status_of(order) == Order.Status.PAID
    page = get_as(user, return_url)
    assert page.status_code == 200 and page.json()["status"] == "paid"
    assert fulfilled == [("paid", order.out_trade_no)]
    # a tampered return link is refused and changes nothing
    bad = httpx.get(
        return_url.replace("total_amount=12.30", "total_amount=0.01"), headers=JSON, timeout=10
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_return"


def test_top_up_then_pay_with_balance_then_refund_to_wallet(
    sandbox_zhifu, user, product, fulfilled
):
    sb = sandbox_zhifu
    top_up = wallet.create_top_up(user, "20.00")
    start = start_payment(top_up, "alipay_page", user=user)
    open_cashier(start.pay_url)
    sb.pay(start.attempt.out_trade_no)
    assert wait_until(lambda: wallet.balance(user) == Decimal("20.00"))
    order = create_order_from_skus(user, [{"sku": product.sku, "quantity": 1}])
    paid = start_payment(order, "balance", user=user)
    assert paid.paid
    assert wallet.balance(user) == Decimal("7.70")
    refund = refund_order(order, amount="2.30")
    assert refund.status == "succeeded"
    assert wallet.balance(user) == Decimal("10.00")
    assert wallet.audit() == []
    kinds = sorted(LedgerEntry.objects.filter(wallet__user=user).values_list("kind", "amount"))
    assert kinds == [
        ("payment", Decimal("-12.30")),
        ("refund", Decimal("2.30")),
        ("topup", Decimal("20.00")),
    ]


def test_switching_channel_closes_the_old_trade_at_alipay(sandbox_zhifu, user, product, fulfilled):
    sb = sandbox_zhifu
    order = make_order(user)
    page = start_payment(order, "alipay_page", user=user)
    assert httpx.get(page.pay_url, follow_redirects=True, timeout=10).status_code == 200
    again = start_payment(order, "alipay_page", user=user)
    assert again.attempt.pk == page.attempt.pk  # same channel: the open attempt is reused
    assert sb.trade(page.attempt.out_trade_no)["trade_status"] == "WAIT_BUYER_PAY"
    qr = start_payment(order, "alipay_qr", user=user)
    assert qr.attempt.pk != page.attempt.pk and qr.qr_code
    old = PaymentAttempt.objects.get(pk=page.attempt.pk)
    assert old.status == "closed" and old.closed_at_gateway and old.next_check_at is None
    assert sb.trade(page.attempt.out_trade_no)["trade_status"] == "TRADE_CLOSED"
    sb.pay(qr.attempt.out_trade_no)
    assert wait_until(lambda: Order.objects.get(pk=order.pk).status == "paid")
    assert fulfilled == [("paid", order.out_trade_no)]
