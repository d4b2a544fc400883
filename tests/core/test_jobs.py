"""The periodic jobs: management commands doing real work, and the beat schedule in settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone

from tests.core.factories import make_attempt, make_order, paid_event
from zhifu import tasks
from zhifu.models import Order, PaymentAttempt, Refund
from zhifu.providers import registry
from zhifu.providers.base import RefundResult, RefundState
from zhifu.services.refunds import refund_order

pytestmark = pytest.mark.django_db(transaction=True)


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
    registered.add("zhifu.reconcile_bills")  # zhifu.bills.tasks, registered by zhifu.tasks
    registered.add("zhifu.retry_withdrawals")  # zhifu.withdrawals.tasks, likewise
    assert registered | {tasks.retry_unknown_refunds.name} == {
        e["task"] for e in schedule.values() if e["task"].startswith("zhifu.")
    }
    assert django_settings.CELERY_BROKER_URL  # from the environment; memory:// by default
