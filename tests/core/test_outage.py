"""A site that was down for a day still ends with every paid order paid.

Against a real zhifu sandbox whose clock we move: the buyer pays, every one of the sandbox's 8
notification attempts (0, 4m, 10m, 10m, 1h, 2h, 6h, 15h: about 24.4 hours) fails because the site
is down (its notify URL answers 500, or nothing listens), and when the site comes back the
reconcile job queries Alipay and pays the order. The reconcile backoff itself is checked against
Django's clock through ``now=`` (no sleeps).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.utils import timezone

from tests.conftest import wait_until
from tests.core.factories import make_attempt, make_order, paid_event
from zhifu.models import Notification, Order, PaymentAttempt
from zhifu.providers import registry
from zhifu.sandbox.notifier import MAX_ATTEMPTS, RETRY_INTERVALS
from zhifu.sandbox.testing import SandboxServer
from zhifu.services import notifications
from zhifu.services.orders import create_order_from_skus, expire_orders
from zhifu.services.payments import start_payment
from zhifu.services.reconcile import next_check, reconcile_payments

HOUR = 3600
ALIPAY_WINDOW = sum(RETRY_INTERVALS)  # seconds from the first to the last notification attempt


@pytest.fixture
def real_time_sandbox(tmp_path):
    """A sandbox of its own (its clock jumps a day) running at real speed: only
    ``advance_clock`` makes hours pass."""
    server = SandboxServer(tmp_path / "sandbox", time_scale=1.0)
    server.start()
    yield server
    server.close()


@pytest.fixture
def down_site(settings, real_time_sandbox, live_server, monkeypatch, request):
    """ZHIFU against the real-time sandbox, with the site's notify URL down in one of two ways."""
    sb = real_time_sandbox
    sb.faults(reset=True)
    app = sb.default_app
    how = request.param
    if how == "unreachable":
        notify_url = "http://127.0.0.1:9/zhifu/alipay/notify/"  # nothing listens there
    else:  # the site answers 500: the notify view blows up after storing the raw request

        def broken(notification):
            raise RuntimeError("site down: database migration in progress")

        monkeypatch.setattr(notifications, "process_notification", broken)
        notify_url = live_server.url + "/zhifu/alipay/notify/"
    settings.ZHIFU = {
        "APP_ID": app.app_id,
        "APP_PRIVATE_KEY": app.app_private_key_pem,
        "ALIPAY_PUBLIC_KEY": app.alipay_public_key_pem,
        "GATEWAY_URL": sb.gateway_url,
        "SELLER_ID": app.seller_id,
        "NOTIFY_URL": notify_url,
        "RETURN_URL": live_server.url + "/zhifu/alipay/return/",
        "CATALOG": "tests.shop.catalog.resolve",
        "HTTP_TIMEOUT": 10.0,
    }
    return sb, how, monkeypatch


def test_the_retry_schedule_covers_alipays_notification_window():
    from zhifu.conf import DEFAULTS

    schedule = DEFAULTS["RECONCILE_SCHEDULE"]
    assert MAX_ATTEMPTS == 8
    assert 25 * HOUR > ALIPAY_WINDOW > 24 * HOUR
    assert list(schedule) == sorted(schedule)
    assert schedule[-1] > 25 * HOUR  # a check after the last notification Alipay would send


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("down_site", ["unreachable", "answers_500"], indirect=True)
def test_site_down_for_a_day_still_ends_with_the_order_paid(down_site, user, product, fulfilled):
    sb, how, monkeypatch = down_site
    order = create_order_from_skus(user, [{"sku": product.sku, "quantity": 1}])
    start = start_payment(order, "alipay_page", user=user)
    out = start.attempt.out_trade_no
    assert httpx.get(start.pay_url, follow_redirects=True, timeout=10).status_code == 200
    sb.pay(out)
    assert sb.wait_for_notifications(out, 1), "the first notification attempt was not made"

    # A day passes at the sandbox, in steps; every retry fails.
    for _ in range(6):
        sb.advance_clock(5 * HOUR)
    attempts = sb.notifications(out_trade_no=out)
    assert len(attempts) == MAX_ATTEMPTS  # all 8 spent, none left
    assert all(a["outcome"] != "success" for a in attempts)
    if how == "answers_500":
        assert {a["status_code"] for a in attempts} == {500}
        # the site stored each of them raw before it failed
        assert wait_until(lambda: Notification.objects.filter(body__contains=out).count() == 8)
    assert sb.trade(out)["trade_status"] in ("TRADE_SUCCESS", "TRADE_FINISHED")
    assert Order.objects.get(pk=order.pk).status == Order.Status.PENDING

    # The site comes back 25 hours later: the jobs run (expiry first, as beat may order them).
    monkeypatch.undo()
    back = timezone.now() + timedelta(hours=25, minutes=1)
    expire_orders(now=back)  # closing the trade at Alipay fails (paid): it is synced instead
    report = reconcile_payments(now=back)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    attempt = PaymentAttempt.objects.get(pk=start.attempt.pk)
    assert attempt.status == PaymentAttempt.Status.SUCCEEDED and attempt.trade_no
    assert attempt.next_check_at is None
    assert report.errors == 0
    assert fulfilled == [("paid", order.out_trade_no)]
    # nothing more to ask Alipay about
    assert reconcile_payments(now=back + timedelta(days=2), everything=True).checked == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("down_site", ["unreachable"], indirect=True)
def test_buyer_pays_late_in_the_window_while_notifications_fail(
    down_site, user, product, fulfilled, settings
):
    """The site is up and its reconcile job runs on schedule, but Alipay cannot reach it: the
    buyer pays 13 hours in (the attempt was opened with a long expiry). Checks before that see
    WAIT_BUYER_PAY; while the order can be paid it is asked every few minutes, so the next check
    after the payment finds it, long before Alipay's 25-hour window ends."""
    sb, _how, _ = down_site
    settings.ZHIFU = {**settings.ZHIFU, "RECONCILE_WHILE_PAYABLE": HOUR}  # fewer steps to run
    order = create_order_from_skus(user, [{"sku": product.sku, "quantity": 1}])
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() + timedelta(days=2))
    order.refresh_from_db()
    start = start_payment(order, "alipay_page", user=user)
    out = start.attempt.out_trade_no
    assert httpx.get(start.pay_url, follow_redirects=True, timeout=10).status_code == 200
    attempt = PaymentAttempt.objects.get(pk=start.attempt.pk)
    created = attempt.created_at

    # the reconcile job runs at every scheduled moment up to 13 hours: nothing paid yet
    while attempt.next_check_at and attempt.next_check_at < created + timedelta(hours=13):
        reconcile_payments(now=attempt.next_check_at + timedelta(seconds=1))
        attempt.refresh_from_db()
        assert attempt.status == PaymentAttempt.Status.PENDING
    assert attempt.next_check_at is not None
    assert attempt.next_check_at - created <= timedelta(hours=14)

    sb.advance_clock(13 * HOUR)
    sb.pay(out)
    for _ in range(6):
        sb.advance_clock(5 * HOUR)
    assert len(sb.notifications(out_trade_no=out)) == MAX_ATTEMPTS
    assert Order.objects.get(pk=order.pk).status == Order.Status.PENDING

    reconcile_payments(now=attempt.next_check_at + timedelta(seconds=1))
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert fulfilled == [("paid", order.out_trade_no)]


# -- the reconcile backoff against Django's clock, without a gateway ---------------------------


@pytest.mark.django_db
def test_reconcile_backoff_follows_the_schedule_then_stops(fake_alipay, user, monkeypatch):
    from zhifu.conf import zhifu_settings

    asked: list[str] = []
    monkeypatch.setattr(
        registry.get("alipay"), "query", lambda attempt: asked.append(attempt) or None
    )
    order = make_order(user, expires_in=timedelta(seconds=30))  # unpayable before the 1st check
    attempt = make_attempt(order)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(
        next_check_at=attempt.created_at + timedelta(seconds=60)
    )
    attempt.refresh_from_db()
    created = attempt.created_at
    schedule = list(zhifu_settings.RECONCILE_SCHEDULE)

    # one second before a check is due, nothing is asked
    assert reconcile_payments(now=created + timedelta(seconds=59)).checked == 0
    seen = []
    while attempt.next_check_at is not None:
        due = attempt.next_check_at
        seen.append(int((due - created).total_seconds()))
        assert reconcile_payments(now=due - timedelta(seconds=1)).checked == 0
        assert reconcile_payments(now=due).checked == 1
        attempt.refresh_from_db()
    assert seen == schedule
    assert attempt.check_count == len(schedule)
    assert len(asked) == len(schedule)
    assert seen[-1] > ALIPAY_WINDOW


@pytest.mark.django_db
def test_a_reconcile_job_that_was_down_catches_up_without_a_burst(fake_alipay, user, monkeypatch):
    monkeypatch.setattr(registry.get("alipay"), "query", lambda attempt: None)
    order = make_order(user, expires_in=timedelta(seconds=30))  # unpayable before the 1st check
    attempt = make_attempt(order)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(
        next_check_at=attempt.created_at + timedelta(seconds=60)
    )
    attempt.refresh_from_db()
    created = attempt.created_at
    # the worker was down for 20 hours: one query now, the next one is the 26-hour check
    late = created + timedelta(hours=20)
    assert reconcile_payments(now=late).checked == 1
    attempt.refresh_from_db()
    assert attempt.next_check_at == created + timedelta(hours=26)
    assert next_check(attempt, created + timedelta(hours=27)) is None


@pytest.mark.django_db
def test_gateway_down_during_reconcile_keeps_checking(fake_alipay, user):
    """The fake gateway (port 9) does not answer: the attempt stays due a minute later."""
    order = make_order(user)
    attempt = make_attempt(order)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(next_check_at=attempt.created_at)
    now = attempt.created_at + timedelta(hours=30)
    report = reconcile_payments(now=now)
    assert report.checked == 1 and report.errors == 1 and report.paid == 0
    attempt.refresh_from_db()
    assert attempt.next_check_at == now + timedelta(seconds=60)


@pytest.mark.django_db
def test_reconcile_pays_from_a_query_answer(fake_alipay, user, monkeypatch, fulfilled):
    order = make_order(user)
    attempt = make_attempt(order)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(next_check_at=attempt.created_at)
    state = paid_event(attempt, "2025T1", raw={"trade_status": "TRADE_SUCCESS"})
    monkeypatch.setattr(registry.get("alipay"), "query", lambda attempt: state)
    report = reconcile_payments(now=timezone.now())
    assert (report.checked, report.paid, report.orders) == (1, 1, [order.out_trade_no])
    assert fulfilled == [("paid", order.out_trade_no)]
    # a query with a different amount never pays: the order is flagged instead
    other = make_order(user)
    wrong = make_attempt(other)
    PaymentAttempt.objects.filter(pk=wrong.pk).update(next_check_at=wrong.created_at)
    monkeypatch.setattr(
        registry.get("alipay"),
        "query",
        lambda attempt: paid_event(attempt, "2025T2", amount=Decimal("0.01")),
    )
    reconcile_payments(now=timezone.now())
    other.refresh_from_db()
    assert other.status == Order.Status.PENDING and other.needs_attention


@pytest.mark.django_db
def test_a_payable_order_is_checked_every_few_minutes(fake_alipay, user, monkeypatch, fulfilled):
    """Paid just after the 10-minute check, its notification lost: found within minutes, not at
    the schedule's 30-minute step (and not by the expiry job)."""
    from zhifu.conf import zhifu_settings

    paid_at_gateway: list[bool] = []
    monkeypatch.setattr(
        registry.get("alipay"),
        "query",
        lambda attempt: paid_event(attempt, "2025T7") if paid_at_gateway else None,
    )
    order = make_order(user, expires_in=timedelta(minutes=30))
    attempt = make_attempt(order)
    created = attempt.created_at
    PaymentAttempt.objects.filter(pk=attempt.pk).update(next_check_at=created)
    reconcile_payments(now=created + timedelta(seconds=600))
    paid_at_gateway.append(True)  # the buyer pays at 601 s; the notification never arrives
    attempt.refresh_from_db()
    gap = (attempt.next_check_at - (created + timedelta(seconds=600))).total_seconds()
    assert gap <= zhifu_settings.RECONCILE_WHILE_PAYABLE
    reconcile_payments(now=attempt.next_check_at)
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert fulfilled == [("paid", order.out_trade_no)]


@pytest.mark.django_db
def test_notifications_left_received_are_processed_by_the_sweep(fake_alipay, user, fulfilled):
    """The worker died between storing a notification and processing it."""
    from zhifu.models import Notification
    from zhifu.services.notifications import record_notification

    order = make_order(user)
    attempt = make_attempt(order)
    note = record_notification(
        provider="alipay", body=fake_alipay.body(fake_alipay.notification(attempt))
    )
    assert reconcile_payments(now=timezone.now()).swept == 0  # too fresh: its worker may be busy
    report = reconcile_payments(now=timezone.now() + timedelta(minutes=5))
    assert report.swept == 1
    assert Notification.objects.get(pk=note.pk).outcome == "applied"
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert fulfilled == [("paid", order.out_trade_no)]
