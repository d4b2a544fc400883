"""The admin's approve/reject actions (only with zhifu.approve_withdrawal), the retry job as a
Celery task and as a management command, and the setting's system check."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse

from zhifu import tasks, wallet
from zhifu.checks import check_withdrawals
from zhifu.withdrawals.models import Withdrawal
from zhifu.withdrawals.services import request_withdrawal

from .conftest import PAYEE, PAYEE_NAME, withdrawal_settings

pytestmark = pytest.mark.django_db(transaction=True)
S = Withdrawal.Status
URL = "admin:zhifu_withdrawal_changelist"


def _ask(user, amount="30.00"):
    return request_withdrawal(user, amount, payee_type="login", payee=PAYEE, payee_name=PAYEE_NAME)


def _grant(user, *codenames):
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="zhifu", codename__in=codenames)
    )


def _act(client, action, withdrawal):
    return client.post(
        reverse(URL),
        {"action": action, "_selected_action": [withdrawal.pk]},
        follow=True,
    )


def test_admin_actions_need_the_permission(payouts, author, staff, client, settings):
    withdrawal_settings(settings, APPROVAL="always")
    waiting = _ask(author)
    _grant(staff, "view_withdrawal")
    client.force_login(staff)
    page = client.get(reverse(URL))
    assert page.status_code == 200 and waiting.out_biz_no in page.content.decode()
    assert 'value="approve"' not in page.content.decode()
    _act(client, "approve", waiting)
    waiting.refresh_from_db()
    assert waiting.status == S.REQUESTED  # refused: no approve permission

    _grant(staff, "approve_withdrawal")
    staff = type(staff).objects.get(pk=staff.pk)  # drop the permission cache
    client.force_login(staff)
    assert 'value="approve"' in client.get(reverse(URL)).content.decode()
    response = _act(client, "approve", waiting)
    waiting.refresh_from_db()
    assert waiting.status == S.SUCCEEDED and waiting.decided_by == staff
    assert waiting.out_biz_no in response.content.decode()

    second = _ask(author, "20.00")
    _act(client, "reject", second)
    second.refresh_from_db()
    assert second.status == S.FAILED and second.error_code == "rejected"
    assert wallet.balance(author) == Decimal("70.00")
    _act(client, "reject", waiting)  # not waiting any more: an error message, nothing changes
    waiting.refresh_from_db()
    assert waiting.status == S.SUCCEEDED


def test_retry_job_as_task_and_command(payouts, author):
    payouts.faults(gateway_errors=1, methods=["alipay.fund.trans.uni.transfer"])
    first = _ask(author)
    assert first.status == S.UNKNOWN
    assert tasks.BEAT_SCHEDULE["zhifu-retry-withdrawals"]["task"] == "zhifu.retry_withdrawals"
    from zhifu.withdrawals.tasks import retry_withdrawals

    assert retry_withdrawals.apply().get() == {
        "checked": 1,
        "succeeded": 1,
        "failed": 0,
        "unknown": 0,
    }
    payouts.faults(gateway_errors=1, methods=["alipay.fund.trans.uni.transfer"])
    second = _ask(author)
    assert second.status == S.UNKNOWN
    out = StringIO()
    call_command("zhifu_retry_withdrawals", stdout=out)
    assert "checked 1 withdrawal(s): 1 paid out, 0 failed, 0 still unknown" in out.getvalue()
    second.refresh_from_db()
    assert second.status == S.SUCCEEDED


def test_system_check(settings):
    settings.ZHIFU = {"WITHDRAWALS": {"MIN": "10.00", "MAX": "5.00", "APPROVAL": "maybe", "X": 1}}
    messages = [m.msg for m in check_withdrawals()]
    assert any("MIN <= MAX" in m for m in messages)
    assert any("APPROVAL" in m for m in messages)
    assert any("'X'" in m for m in messages)
    assert all(m.id == "zhifu.E050" for m in check_withdrawals())
    settings.ZHIFU = {"WITHDRAWALS": {"APPROVAL": "above:100"}}
    assert check_withdrawals() == []
