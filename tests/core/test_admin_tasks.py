"""Admin pages and actions, Celery tasks, and the management commands for the jobs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.core.factories import make_attempt, make_order
from zhifu import tasks
from zhifu.models import Notification, Order
from zhifu.services import wallet
from zhifu.services.payments import pay_with_balance

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_client_(django_user_model, fake_alipay):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-1")
    client = Client()
    client.force_login(admin)
    return client


def test_every_admin_page_renders(admin_client_, user, fake_alipay):
    order = make_order(user)
    make_attempt(order)
    wallet.post_entry(user, "20.00", "adjustment")
    pay_with_balance(make_order(user, "5.00"), user=user)
    for url in (
        "/admin/zhifu/order/",
        f"/admin/zhifu/order/{order.pk}/change/",
        f"/admin/zhifu/order/{order.pk}/refund/",
        "/admin/zhifu/notification/?outcome__exact=rejected",
        "/admin/zhifu/refund/",
        "/admin/zhifu/wallet/",
        f"/admin/zhifu/wallet/{wallet.get_wallet(user).pk}/change/",
        "/admin/zhifu/ledgerentry/",
    ):
        assert admin_client_.get(url).status_code == 200, url


def test_replay_action(admin_client_, fake_alipay, user, fulfilled):
    order = make_order(user)
    attempt = make_attempt(order)
    body = fake_alipay.body(fake_alipay.notification(attempt))
    note = Notification.objects.create(
        provider="alipay", body=body.decode(), outcome="error", reason="error"
    )
    response = admin_client_.post(
        "/admin/zhifu/notification/",
        {"action": "replay", "_selected_action": [note.pk]},
        follow=True,
    )
    assert response.status_code == 200
    note.refresh_from_db()
    assert note.outcome == "applied"
    assert Order.objects.get(pk=order.pk).status == "paid"
    admin_client_.post(
        "/admin/zhifu/notification/", {"action": "replay", "_selected_action": [note.pk]}
    )
    note.refresh_from_db()
    assert note.outcome == "duplicate"
    assert fulfilled == [("paid", order.out_trade_no)]


def test_refund_from_the_admin(admin_client_, user):
    wallet.post_entry(user, "20.00", "adjustment")
    order = make_order(user, "10.00")
    pay_with_balance(order, user=user)
    url = f"/admin/zhifu/order/{order.pk}/refund/"
    too_much = admin_client_.post(url, {"amount": "11.00", "reason": "x"})
    assert too_much.status_code == 200 and b"at most 10.00" in too_much.content
    done = admin_client_.post(url, {"amount": "4.00", "reason": "scratched"})
    assert done.status_code == 302
    order.refresh_from_db()
    assert order.status == "partially_refunded" and order.refunded_amount == Decimal("4.00")
    admin_client_.post(
        "/admin/zhifu/order/", {"action": "refund_in_full", "_selected_action": [order.pk]}
    )
    order.refresh_from_db()
    assert order.status == "refunded"
    assert wallet.balance(user) == Decimal("20.00")


def test_reconcile_action_reports_an_unreachable_gateway(admin_client_, user):
    order = make_order(user)
    make_attempt(order)
    response = admin_client_.post(
        "/admin/zhifu/order/",
        {"action": "reconcile_now", "_selected_action": [order.pk]},
        follow=True,
    )
    assert b"Alipay did not answer" in response.content
    assert Order.objects.get(pk=order.pk).status == "pending"


def test_tasks_and_commands(fake_alipay, user, capsys, fulfilled):
    order = make_order(user)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert tasks.expire_orders.apply().get() == 1
    assert Order.objects.get(pk=order.pk).status == "expired"
    assert fulfilled == [("expired", order.out_trade_no)]
    assert tasks.reconcile_payments.apply().get() == {
        "checked": 0,
        "paid": 0,
        "errors": 0,
        "swept": 0,
    }
    assert tasks.retry_unknown_refunds.apply().get() == 0
    for command in ("zhifu_expire_orders", "zhifu_reconcile", "zhifu_retry_refunds"):
        call_command(command)
    out = capsys.readouterr().out
    assert "expired 0 order(s)" in out and "checked 0 payment(s)" in out and "0 refund(s)" in out
    names = {entry["task"] for entry in tasks.BEAT_SCHEDULE.values()}
    assert names == {
        tasks.expire_orders.name,
        tasks.reconcile_payments.name,
        tasks.retry_unknown_refunds.name,
        "zhifu.reconcile_bills",  # zhifu.bills.tasks, tested in tests/bills
        "zhifu.retry_withdrawals",  # zhifu.withdrawals.tasks, tested in tests/withdrawals
    }
