"""Gaps found in review: ATOMIC_REQUESTS, admin list pages in constant queries, the jobs as
management commands doing real work, the beat schedule in settings, switching channel closes
the old trade at Alipay, amounts as Decimal strings."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import wait_until
from tests.core.factories import make_attempt, make_order, paid_event, pay
from zhifu import signals, tasks
from zhifu.models import Notification, Order, PaymentAttempt, Refund
from zhifu.providers import registry
from zhifu.providers.base import PaymentAction, RefundResult, RefundState
from zhifu.services import wallet
from zhifu.services.payments import pay_with_balance, start_payment
from zhifu.services.refunds import refund_order

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def atomic_requests(monkeypatch):
    """A site with ``ATOMIC_REQUESTS = True``."""
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)


def _paid_depths(fake_alipay, user) -> int:
    depths: list[int] = []

    def receiver(sender, order, **kwargs):
        depths.append(len(connection.atomic_blocks))

    order = make_order(user)
    attempt = make_attempt(order)
    signals.order_paid.connect(receiver, weak=False)
    try:
        reply = Client().post(
            "/zhifu/alipay/notify/",
            fake_alipay.body(fake_alipay.notification(attempt)),
            content_type="application/x-www-form-urlencoded",
        )
    finally:
        signals.order_paid.disconnect(receiver)
    assert reply.content == b"success"
    return depths[0]


def test_notify_is_not_wrapped_in_atomic_requests(fake_alipay, user, monkeypatch):
    """With ATOMIC_REQUESTS the view would answer "success" before its transaction commits."""
    plain = _paid_depths(fake_alipay, user)
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    assert _paid_depths(fake_alipay, user) == plain


def test_api_refund_is_sent_at_once_even_with_atomic_requests(
    fake_alipay, atomic_requests, user, refund_staff, monkeypatch
):
    calls = []

    def refund(refund):
        calls.append(connection.in_atomic_block)
        return RefundResult(RefundState.SUCCEEDED)

    monkeypatch.setattr(registry.get("alipay"), "refund", refund)
    order = make_order(user)
    pay(make_attempt(order), trade_no="T1")
    api = APIClient()
    api.force_authenticate(refund_staff)
    body = api.post("/api/refunds/", {"out_trade_no": order.out_trade_no}, format="json").json()
    assert body["status"] == "succeeded" and body["amount"] == "12.30"
    assert calls == [False]  # no transaction (so no row lock) open while Alipay was called


def test_api_qr_pay_calls_alipay_outside_any_transaction(
    fake_alipay, atomic_requests, user, monkeypatch
):
    seen = []

    def start(order, attempt, *, return_url=None):
        seen.append(connection.in_atomic_block)
        return PaymentAction(qr_code="https://qr.example/1")

    monkeypatch.setattr(registry.get("alipay"), "start", start)
    order = make_order(user)
    api = APIClient()
    api.force_authenticate(user)
    body = api.post(
        f"/api/orders/{order.out_trade_no}/pay/", {"channel": "alipay_qr"}, format="json"
    ).json()
    assert body["qr_code"] == "https://qr.example/1"
    assert seen == [False]


# -- admin list pages: a constant number of queries ---------------------------------------------


@pytest.fixture
def admin_client_(django_user_model, fake_alipay):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-1")
    client = Client()
    client.force_login(admin)
    return client


def _rows(django_user_model, n: int, tag: str) -> None:
    for i in range(n):
        user = django_user_model.objects.create_user(f"{tag}{i}")
        wallet.post_entry(user, "20.00", "adjustment")
        order = make_order(user, "5.00")
        pay_with_balance(order, user=user)
        refund_order(order, amount="1.00")
        Notification.objects.create(body="x=1", out_trade_no=order.out_trade_no)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/zhifu/order/",
        "/admin/zhifu/refund/",
        "/admin/zhifu/wallet/",
        "/admin/zhifu/ledgerentry/",
        "/admin/zhifu/notification/",
    ],
)
def test_admin_list_pages_in_constant_queries(admin_client_, django_user_model, url):
    _rows(django_user_model, 2, "a")
    with CaptureQueriesContext(connection) as few:
        assert admin_client_.get(url).status_code == 200
    _rows(django_user_model, 6, "b")
    with CaptureQueriesContext(connection) as many:
        assert admin_client_.get(url).status_code == 200
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


# -- jobs: management commands doing real work, the beat schedule in settings ------------------


def test_each_job_is_a_management_command_that_does_its_work(
    fake_alipay, user, monkeypatch, capsys, fulfilled
):
    # expire
    stale = make_order(user)
    Order.objects.filter(pk=stale.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    call_command("zhifu_expire_orders")
    assert Order.objects.get(pk=stale.pk).status == "expired"
    # reconcile: Alipay says the trade was paid
    order = make_order(user)
    attempt = make_attempt(order)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(next_check_at=timezone.now())
    monkeypatch.setattr(registry.get("alipay"), "query", lambda a: paid_event(a, "2025T9"))
    call_command("zhifu_reconcile")
    assert Order.objects.get(pk=order.pk).status == "paid"
    # retry refunds: the first answer was lost, the retry succeeds with the same number
    answers = iter(
        [
            RefundResult(RefundState.UNKNOWN, "ACQ.SYSTEM_ERROR"),
            RefundResult(RefundState.SUCCEEDED),
        ]
    )
    sent = []
    monkeypatch.setattr(
        registry.get("alipay"),
        "refund",
        lambda r: sent.append(r.out_request_no) or next(answers),
    )
    refund = refund_order(Order.objects.get(pk=order.pk), amount="2.00")
    assert refund.status == "unknown"
    call_command("zhifu_retry_refunds")
    assert Refund.objects.get(pk=refund.pk).status == "succeeded"
    assert sent == [refund.out_request_no] * 2
    out = capsys.readouterr().out
    assert "expired 1 order(s)" in out
    assert f"paid: {order.out_trade_no}" in out
    assert "1 refund(s)" in out
    assert fulfilled == [
        ("expired", stale.out_trade_no),
        ("paid", order.out_trade_no),
        ("refunded", order.out_trade_no),
    ]


def test_beat_schedule_and_broker_are_in_settings():
    schedule = django_settings.CELERY_BEAT_SCHEDULE
    for name, entry in tasks.BEAT_SCHEDULE.items():
        assert schedule[name] == entry
    registered = {tasks.expire_orders.name, tasks.reconcile_payments.name}
    assert registered | {tasks.retry_unknown_refunds.name} == {
        e["task"] for e in schedule.values() if e["task"].startswith("zhifu.")
    }
    assert django_settings.CELERY_BROKER_URL  # from the environment; memory:// by default


# -- pay: same channel reuses, another channel closes the old trade at Alipay ------------------


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
