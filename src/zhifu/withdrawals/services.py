"""Withdrawals, the service layer: the only code that changes a withdrawal's status.

The life of one withdrawal::

    request ──(approval needed)──▶ requested ──approve──▶ approved ──send──▶ sent ─▶ succeeded
       │                              └──reject──▶ failed (money returned)        ├─▶ failed (returned)
       └──(no approval needed)──▶ approved ──send──▶ …                             └─▶ unknown ─job─▶ …

- ``request_withdrawal`` holds the amount at once: under the wallet's row lock it checks the
  limits and the available balance and posts a ``withdrawal`` debit (so two concurrent requests
  can never take more than the wallet holds).
- ``send_withdrawal`` marks the row ``sent`` and commits, then calls the payout gateway with no
  lock held, then settles the answer under the row lock: ``succeeded`` (the hold is spent),
  ``failed`` (a ``withdrawal_back`` credit returns the money, in the same transaction) or
  ``unknown``.
- ``retry_withdrawals`` (the periodic job) asks the gateway about ``sent``/``unknown`` ones,
  sends again (same number: the gateway pays once) those it never received, and sends approved
  ones whose sending was interrupted.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..exceptions import ConfigurationError, ZhifuError, invalid_amount
from ..models import LedgerEntry
from ..money import AmountError, parse_amount
from ..providers import registry
from ..providers.base import PayoutResult, PayoutSource, PayoutState
from ..services.idempotency import run_once
from ..timezones import BEIJING
from ..wallet import lock_wallets, post_entry
from .conf import withdrawal_settings
from .models import Withdrawal

__all__ = [
    "WithdrawalError",
    "approve_withdrawal",
    "payout_source",
    "reject_withdrawal",
    "request_withdrawal",
    "retry_withdrawals",
    "send_withdrawal",
]

log = logging.getLogger("zhifu.withdrawals")
S = Withdrawal.Status
FINAL = (S.SUCCEEDED, S.FAILED)


class WithdrawalError(ZhifuError):
    code = "withdrawal_error"


@dataclass(frozen=True)
class RetryReport:
    checked: int
    succeeded: int
    failed: int
    unknown: int


def payout_source() -> PayoutSource:
    """The configured provider that can pay out (the first one in ``PROVIDERS``)."""
    for provider in registry.all_providers():
        if isinstance(provider, PayoutSource):
            return provider
    raise ConfigurationError(
        "configuration_error",
        _("no configured payment provider can pay out withdrawals"),
    )


def _source(name: str) -> PayoutSource:
    provider = registry.get(name)
    if not isinstance(provider, PayoutSource):
        raise ConfigurationError(
            "configuration_error",
            _("the payment provider %(name)s cannot pay out withdrawals"),
            name=name,
        )
    return provider


def _new_number() -> str:
    return "W" + datetime.now(BEIJING).strftime("%Y%m%d") + uuid.uuid4().hex[:20]


def _today_total(user_pk: Any) -> Decimal:
    start = datetime.now(BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)
    total = (
        Withdrawal.objects.filter(user_id=user_pk, created_at__gte=start)
        .exclude(status=S.FAILED)
        .aggregate(total=Sum("amount"))["total"]
    )
    return Decimal(total or 0).quantize(Decimal("0.01"))


def _clean_payee(payee_type: str, payee: str, payee_name: str) -> tuple[str, str, str]:
    if payee_type not in Withdrawal.PayeeType.values:
        raise WithdrawalError(
            "invalid_payee_type",
            _("payee type %(value)s: use login or user_id"),
            value=repr(payee_type),
        )
    payee = (payee or "").strip()
    payee_name = (payee_name or "").strip()
    if not payee or len(payee) > 100:
        raise WithdrawalError("invalid_payee", _("give the account to pay to (1-100 characters)"))
    if payee_type == Withdrawal.PayeeType.LOGIN and not payee_name:
        raise WithdrawalError(
            "payee_name_required", _("give the account holder's real name with an account name")
        )
    if len(payee_name) > 64:
        raise WithdrawalError("invalid_payee", _("the payee name is longer than 64 characters"))
    return payee_type, payee, payee_name


def request_withdrawal(
    user: Any,
    amount: Decimal | str,
    *,
    payee_type: str,
    payee: str,
    payee_name: str = "",
    key: str | None = None,
    send: bool = True,
) -> Withdrawal:
    """Ask to withdraw ``amount`` from ``user``'s wallet; the amount is held at once.

    ``key`` (a one-time form token or the API's ``Idempotency-Key``): the same key again returns
    the same withdrawal. If no approval is needed and ``send`` is true, it is sent now.
    """
    try:
        value = parse_amount(amount)
    except AmountError as exc:
        raise invalid_amount(exc) from None
    payee_type, payee, payee_name = _clean_payee(payee_type, payee, payee_name)
    conf = withdrawal_settings()
    if value < conf.min:
        raise WithdrawalError(
            "below_minimum", _("the smallest withdrawal is %(min)s"), min=conf.min
        )
    if value > conf.max:
        raise WithdrawalError("above_maximum", _("the largest withdrawal is %(max)s"), max=conf.max)
    source = payout_source()

    def create() -> Withdrawal:
        with transaction.atomic():
            lock_wallets([user])  # every check below holds under the wallet's lock
            if _today_total(user.pk) + value > conf.daily_max:
                raise WithdrawalError(
                    "daily_limit",
                    _("withdrawals are limited to %(max)s a day"),
                    max=conf.daily_max,
                )
            number = _new_number()
            entry = post_entry(user, -value, LedgerEntry.Kind.WITHDRAWAL, memo=number)
            return Withdrawal.objects.create(
                user=user,
                amount=value,
                provider=source.name,
                payee_type=payee_type,
                payee=payee,
                payee_name=payee_name,
                out_biz_no=number,
                status=S.REQUESTED if conf.needs_approval(value) else S.APPROVED,
                hold_entry=entry,
            )

    if key:
        fingerprint = hashlib.sha256(
            f"{value}|{payee_type}|{payee}|{payee_name}".encode()
        ).hexdigest()
        withdrawal, created = run_once(
            user=user,
            scope="withdrawal",
            key=key,
            fingerprint=fingerprint,
            create=create,
            load=lambda ref: Withdrawal.objects.get(pk=int(ref)),
            ref=lambda w: str(w.pk),
        )
        if not created:
            return withdrawal
    else:
        withdrawal = create()
    log.info(
        "withdrawal requested number=%s user=%s amount=%s status=%s",
        withdrawal.out_biz_no,
        withdrawal.user_id,
        withdrawal.amount,
        withdrawal.status,
    )
    if send and withdrawal.status == S.APPROVED:
        withdrawal = send_withdrawal(withdrawal)
    return withdrawal


def _locked(pk: int) -> Withdrawal:
    return Withdrawal.objects.select_for_update().get(pk=pk)


def approve_withdrawal(withdrawal: Withdrawal, by: Any, *, send: bool = True) -> Withdrawal:
    """Staff approve a requested withdrawal; it is then sent (unless ``send`` is false)."""
    with transaction.atomic():
        row = _locked(withdrawal.pk)
        if row.status != S.REQUESTED:
            raise WithdrawalError(
                "not_pending",
                _("withdrawal %(number)s is %(status)s, not waiting for approval"),
                number=row.out_biz_no,
                status=row.get_status_display(),
            )
        row.status = S.APPROVED
        row.decided_by = by
        row.decided_at = timezone.now()
        row.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
    log.info("withdrawal approved number=%s by=%s", row.out_biz_no, getattr(by, "pk", None))
    return send_withdrawal(row) if send else row


def reject_withdrawal(withdrawal: Withdrawal, by: Any, reason: str = "") -> Withdrawal:
    """Staff reject a requested withdrawal: it fails and the held amount goes back."""
    with transaction.atomic():
        row = _locked(withdrawal.pk)
        if row.status != S.REQUESTED:
            raise WithdrawalError(
                "not_pending",
                _("withdrawal %(number)s is %(status)s, not waiting for approval"),
                number=row.out_biz_no,
                status=row.get_status_display(),
            )
        row.decided_by = by
        row.decided_at = timezone.now()
        _fail(row, "rejected", reason or "rejected by staff")
    log.info("withdrawal rejected number=%s", row.out_biz_no)
    return row


def _fail(row: Withdrawal, code: str, message: str) -> None:
    """Under the row lock, inside a transaction: failed, and the money returned once."""
    if row.return_entry_id is None:
        row.return_entry = post_entry(
            row.user, row.amount, LedgerEntry.Kind.WITHDRAWAL_BACK, memo=row.out_biz_no
        )
    row.status = S.FAILED
    row.error_code = code[:64]
    row.error_message = message[:256]
    row.finished_at = timezone.now()
    row.save()


def _settle(pk: int, result: PayoutResult) -> Withdrawal:
    with transaction.atomic():
        row = _locked(pk)
        if row.status in FINAL:
            return row
        if result.state == PayoutState.SUCCEEDED:
            row.status = S.SUCCEEDED
            row.gateway_no = result.gateway_no[:64]
            row.error_code = row.error_message = ""
            row.finished_at = timezone.now()
            row.save()
        elif result.state == PayoutState.FAILED:
            row.gateway_no = result.gateway_no[:64]
            _fail(row, result.code or "failed", result.message)
        else:
            row.status = S.UNKNOWN
            row.error_code = result.code[:64]
            row.error_message = result.message[:256]
            row.save(update_fields=["status", "error_code", "error_message", "updated_at"])
    log.info(
        "withdrawal settled number=%s state=%s code=%s", row.out_biz_no, row.status, result.code
    )
    return row


def send_withdrawal(withdrawal: Withdrawal) -> Withdrawal:
    """Send an approved (or unknown) withdrawal to the gateway with its own number, so that a
    second send never pays twice. No lock is held during the call."""
    with transaction.atomic():
        row = _locked(withdrawal.pk)
        if row.status not in (S.APPROVED, S.SENT, S.UNKNOWN):
            return row
        row.status = S.SENT
        row.attempts += 1
        row.sent_at = timezone.now()
        row.save(update_fields=["status", "attempts", "sent_at", "updated_at"])
    result = _source(row.provider).payout(
        number=row.out_biz_no,
        amount=row.amount,
        payee_type=row.payee_type,
        payee=row.payee,
        payee_name=row.payee_name,
        title=withdrawal_settings().title,
    )
    return _settle(row.pk, result)


def check_withdrawal(withdrawal: Withdrawal) -> Withdrawal:
    """Ask the gateway about a sent or unknown withdrawal and settle what it says; one it never
    received is sent again (same number)."""
    if withdrawal.status not in (S.SENT, S.UNKNOWN):
        return withdrawal
    result = _source(withdrawal.provider).query_payout(withdrawal.out_biz_no)
    if result.state == PayoutState.NOT_FOUND:
        return send_withdrawal(withdrawal)
    return _settle(withdrawal.pk, result)


def retry_withdrawals(*, now: datetime | None = None) -> RetryReport:
    """The job: settle sent/unknown withdrawals (and send approved ones left unsent) that have
    waited ``RETRY_AFTER`` seconds."""
    conf = withdrawal_settings()
    due = (now or timezone.now()) - timedelta(seconds=conf.retry_after)
    rows = list(
        Withdrawal.objects.filter(
            Q(status__in=(S.SENT, S.UNKNOWN)) | Q(status=S.APPROVED), updated_at__lte=due
        ).order_by("pk")[:500]
    )
    counts = {S.SUCCEEDED: 0, S.FAILED: 0}
    unknown = 0
    for row in rows:
        try:
            done = send_withdrawal(row) if row.status == S.APPROVED else check_withdrawal(row)
        except ZhifuError as exc:
            log.warning("withdrawal retry number=%s failed: %s", row.out_biz_no, exc)
            unknown += 1
            continue
        if done.status in counts:
            counts[S(done.status)] += 1
        else:
            unknown += 1
    return RetryReport(len(rows), counts[S.SUCCEEDED], counts[S.FAILED], unknown)
