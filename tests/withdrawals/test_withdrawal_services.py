"""Withdrawals through the service layer, the sandbox paying over real HTTP: held when asked,
spent when paid, returned when it definitely failed, unknown settled by the job; limits,
approval, double submits, and concurrent requests that must not overdraw the wallet."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection

from zhifu import wallet
from zhifu.exceptions import ConfigurationError, InsufficientBalance, OrderError
from zhifu.models import LedgerEntry
from zhifu.withdrawals.models import Withdrawal
from zhifu.withdrawals.services import (
    WithdrawalError,
    approve_withdrawal,
    reject_withdrawal,
    request_withdrawal,
    retry_withdrawals,
)

from .conftest import PAYEE, PAYEE_NAME, withdrawal_settings

pytestmark = pytest.mark.django_db(transaction=True)
METHOD = "alipay.fund.trans.uni.transfer"
S = Withdrawal.Status


def _ask(user, amount="30.00", **kw):
    options = {"payee_type": "login", "payee": PAYEE, "payee_name": PAYEE_NAME}
    options.update(kw)
    return request_withdrawal(user, amount, **options)


def _kinds(user) -> list[tuple[str, Decimal]]:
    wallet_row = wallet.get_wallet(user)
    return [(e.kind, e.amount) for e in wallet_row.entries.order_by("id")]


def _payee_balance(sb) -> Decimal:
    rows = sb._call("GET", "/sandbox/api/buyers")
    rows = rows["buyers"] if isinstance(rows, dict) else rows
    return Decimal(next(b["balance"] for b in rows if b["login"] == PAYEE))


def test_held_then_spent(payouts, author):
    before = _payee_balance(payouts)
    done = _ask(author, "30.00")
    assert done.status == S.SUCCEEDED and done.gateway_no and done.attempts == 1
    assert wallet.balance(author) == Decimal("70.00")
    assert _kinds(author)[-1] == ("withdrawal", Decimal("-30.00"))
    assert _payee_balance(payouts) == before + Decimal("30.00")
    assert wallet.audit() == []


def test_definite_failure_returns_the_money(payouts, author):
    done = _ask(author, "30.00", payee_name="张三")  # not the account's name
    assert done.status == S.FAILED and done.error_code == "PAYEE_USER_INFO_ERROR"
    assert wallet.balance(author) == Decimal("100.00")
    assert _kinds(author)[-2:] == [
        ("withdrawal", Decimal("-30.00")),
        ("withdrawal_back", Decimal("30.00")),
    ]
    assert done.return_entry is not None and wallet.audit() == []


def test_merchant_short_of_money_fails_and_returns(payouts, author):
    payouts.set_seller_balance("10.00")
    done = _ask(author, "30.00")
    assert done.status == S.FAILED and done.error_code == "PAYER_BALANCE_NOT_ENOUGH"
    assert wallet.balance(author) == Decimal("100.00")


def test_system_error_stays_held_then_the_job_sends_it_again(payouts, author):
    payouts.faults(gateway_errors=1, methods=[METHOD])
    before = _payee_balance(payouts)
    done = _ask(author, "30.00")
    assert done.status == S.UNKNOWN and wallet.balance(author) == Decimal("70.00")
    report = retry_withdrawals()  # the query says "never received": the same number again
    assert (report.checked, report.succeeded) == (1, 1)
    done.refresh_from_db()
    assert done.status == S.SUCCEEDED and done.attempts == 2
    assert _payee_balance(payouts) == before + Decimal("30.00")
    assert retry_withdrawals().checked == 0


def test_timeout_stays_held_then_the_query_finds_it_paid(payouts, author, settings):
    settings.ZHIFU = {**settings.ZHIFU, "HTTP_TIMEOUT": 1.0}
    payouts.faults(gateway_timeouts=1, gateway_timeout_seconds=3, methods=[METHOD])
    before = _payee_balance(payouts)
    done = _ask(author, "30.00")
    assert done.status == S.UNKNOWN and done.error_code == "AlipayTimeoutError"
    assert retry_withdrawals().succeeded == 1
    done.refresh_from_db()
    assert done.status == S.SUCCEEDED and done.attempts == 1  # found by the query, not resent
    assert _payee_balance(payouts) == before + Decimal("30.00")  # paid once
    assert wallet.balance(author) == Decimal("70.00")


def test_limits(payouts, author, settings):
    withdrawal_settings(settings, MIN="5.00", MAX="60.00", DAILY_MAX="80.00")
    with pytest.raises(WithdrawalError) as info:
        _ask(author, "4.99")
    assert info.value.code == "below_minimum"
    with pytest.raises(WithdrawalError) as info:
        _ask(author, "60.01")
    assert info.value.code == "above_maximum"
    with pytest.raises(OrderError) as info:
        _ask(author, "abc")
    assert info.value.code == "invalid_amount"
    assert _ask(author, "50.00").status == S.SUCCEEDED
    with pytest.raises(WithdrawalError) as info:
        _ask(author, "30.01")
    assert info.value.code == "daily_limit"
    withdrawal_settings(settings, DAILY_MAX="1000.00")
    with pytest.raises(InsufficientBalance):
        _ask(author, "50.01")  # 50.00 left
    with pytest.raises(WithdrawalError) as info:
        _ask(author, "1.00", payee_name="")
    assert info.value.code == "payee_name_required"
    assert wallet.balance(author) == Decimal("50.00") and Withdrawal.objects.count() == 1


def test_approval_step(payouts, author, staff, settings):
    withdrawal_settings(settings, APPROVAL="above:20.00")
    assert _ask(author, "20.00").status == S.SUCCEEDED  # not above: sent at once
    waiting = _ask(author, "30.00")
    assert waiting.status == S.REQUESTED and waiting.attempts == 0
    assert wallet.balance(author) == Decimal("50.00")  # held while it waits
    rejected = reject_withdrawal(waiting, staff, "no")
    assert rejected.status == S.FAILED and rejected.error_code == "rejected"
    assert rejected.decided_by == staff and wallet.balance(author) == Decimal("80.00")
    with pytest.raises(WithdrawalError):
        approve_withdrawal(rejected, staff)
    second = _ask(author, "30.00")
    approved = approve_withdrawal(second, staff)
    assert approved.status == S.SUCCEEDED and approved.decided_by == staff
    assert wallet.balance(author) == Decimal("50.00") and wallet.audit() == []


def test_bad_approval_setting_is_a_configuration_error(payouts, author, settings):
    withdrawal_settings(settings, APPROVAL="sometimes")
    with pytest.raises(ConfigurationError, match="APPROVAL"):
        _ask(author)


def test_public_key_mode_cannot_pay_out(sandbox_zhifu, author):
    done = _ask(author, "30.00")  # the sandbox_zhifu site has no certificates
    assert done.status == S.FAILED and done.error_code == "invalid_request"
    assert "certificate mode" in done.error_message
    assert wallet.balance(author) == Decimal("100.00")


def test_double_submit_makes_one_withdrawal(payouts, author):
    first = _ask(author, "30.00", key="form-token-1")
    again = _ask(author, "30.00", key="form-token-1")
    assert again.pk == first.pk and Withdrawal.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="withdrawal").count() == 1
    assert wallet.balance(author) == Decimal("70.00")


def test_concurrent_requests_cannot_overdraw(payouts, author, settings):
    if connection.vendor != "postgresql":
        pytest.skip(
            "row locks need PostgreSQL (SQLite serialises writers): run with DATABASE_URL="
            "postgres://..."
        )
    withdrawal_settings(settings, APPROVAL="always")  # no HTTP: only the hold races
    results: list[str] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        try:
            barrier.wait()
            _ask(author, "40.00")
            results.append("ok")
        except InsufficientBalance:
            results.append("short")
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["ok", "ok", "short", "short"]
    assert wallet.balance(author) == Decimal("20.00") and wallet.audit() == []


def test_the_job_sends_an_approved_withdrawal_left_unsent(payouts, author):
    left = _ask(author, "30.00", send=False)  # as if the process died before sending
    assert left.status == S.APPROVED and left.attempts == 0
    assert wallet.balance(author) == Decimal("70.00")
    assert retry_withdrawals().succeeded == 1
    left.refresh_from_db()
    assert left.status == S.SUCCEEDED and left.attempts == 1
