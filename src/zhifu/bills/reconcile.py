"""The daily comparison of a gateway's bill with the site's attempts, refunds and ledger.

Gateway-neutral: a provider that has bills (:class:`~zhifu.providers.base.BillSource`) turns its
files into a :class:`~zhifu.bills.lines.Bill`; this module compares it and writes one
:class:`~zhifu.bills.models.ReconciliationReport` per provider and day with a
:class:`~zhifu.bills.models.Discrepancy` for each difference:

- ``paid_not_here``: the bill has a payment of an attempt the site does not count as paid. It
  is applied through the normal pipeline — :func:`zhifu.services.payments.sync_attempt` queries
  the gateway and applies its answer as it would a notification — never written directly;
- ``unknown_trade``: a payment of a number the site never issued;
- ``amount_differs``: a payment or refund whose amount is not the site's;
- ``not_in_bill``: an attempt paid here that day (by the gateway's payment time) missing from
  the bill;
- ``refund_missing``: a refund in the bill that the site has not (or not as succeeded);
- ``refund_not_in_bill``: a refund that succeeded here that day, missing from the bill;
- ``fee_total``: a fee total the gateway states (summary line, account statement) that is not
  the sum of the lines' fees;
- ``ledger``: a paid top-up in the bill without its wallet ledger entry.

Idempotent: a finished report for (provider, day) is kept, and running again is *refused*
(returns it untouched) unless ``replace=True``; a replacement recomputes the discrepancies in
the same report, keeping those already applied (the record of what the job changed). A failed
run (the bill could not be fetched) is simply run again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from ..exceptions import GatewayUnavailable, ZhifuError
from ..logs import ctx
from ..models import LedgerEntry, Order, PaymentAttempt, Refund
from ..providers import registry
from ..providers.base import BillSource
from ..services.payments import sync_attempt
from ..timezones import BEIJING
from .lines import Bill, BillFormatError, BillLine
from .models import Discrepancy, ReconciliationReport

__all__ = ["ReconcileOutcome", "bill_sources", "reconcile_bills", "reconcile_day", "yesterday"]

log = logging.getLogger("zhifu.bills")

PAID = (PaymentAttempt.Status.SUCCEEDED, PaymentAttempt.Status.EXTRA)
ZERO = Decimal("0.00")
# A report left "running" this long ago belongs to a run that died: it may be taken over.
STALE_RUN = timedelta(hours=1)


@dataclass
class ReconcileOutcome:
    report: ReconciliationReport
    ran: bool  # False: a finished report existed and was left as it was
    reason: str = ""


def yesterday(now: datetime | None = None) -> date:
    """The last whole day in Beijing time (the gateways bill by Beijing dates)."""
    return ((now or timezone.now()).astimezone(BEIJING) - timedelta(days=1)).date()


def bill_sources() -> list[BillSource]:
    """The configured providers that have daily bills."""
    return [p for p in registry.all_providers() if isinstance(p, BillSource)]


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=BEIJING)
    return start, start + timedelta(days=1)


def _start(provider: str, day: date, replace: bool) -> tuple[ReconciliationReport, str]:
    """Take the report row for (provider, day): ``(report, "")`` to run, or a reason not to."""
    now = timezone.now()
    with transaction.atomic():
        report, created = ReconciliationReport.objects.select_for_update().get_or_create(
            provider=provider, bill_date=day, defaults={"started_at": now}
        )
        if created:
            return report, ""
        status = report.status
        if status == ReconciliationReport.Status.RUNNING and report.started_at > now - STALE_RUN:
            return report, "running"
        finished = status in (
            ReconciliationReport.Status.BALANCED,
            ReconciliationReport.Status.DISCREPANCIES,
        )
        if finished and not replace:
            return report, "done"
        report.status = ReconciliationReport.Status.RUNNING
        report.runs += 1
        report.started_at = now
        report.finished_at = None
        report.error = ""
        report.save()
        return report, ""


def reconcile_day(provider: BillSource, day: date, *, replace: bool = False) -> ReconcileOutcome:
    """Fetch ``provider``'s bill of ``day`` and record what differs (see the module docstring)."""
    report, reason = _start(provider.name, day, replace)
    if reason:
        return ReconcileOutcome(report, ran=False, reason=reason)
    try:
        bill = provider.daily_bill(day)
    except (GatewayUnavailable, BillFormatError, ZhifuError) as exc:
        detail = str(exc.message) if isinstance(exc, ZhifuError) else str(exc)
        log.warning(
            "bill of %s for %s not reconciled: %s",
            provider.name,
            day,
            detail,
            extra=ctx("bill_unavailable"),
        )
        ReconciliationReport.objects.filter(pk=report.pk).update(
            status=ReconciliationReport.Status.FAILED,
            finished_at=timezone.now(),
            error=str(detail)[:2000],
        )
        report.refresh_from_db()
        return ReconcileOutcome(report, ran=True, reason="failed")
    try:
        found = compare(provider.name, bill)
        _apply(found)
        _save(report, bill, found)
    except Exception as exc:
        # Not left "running" for an hour: the report says what went wrong, and the next run
        # tries again.
        ReconciliationReport.objects.filter(pk=report.pk).update(
            status=ReconciliationReport.Status.FAILED,
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        raise
    report.refresh_from_db()
    log.info(
        "bill of %s for %s reconciled: %d lines, %d discrepancies",
        provider.name,
        day,
        len(bill.lines),
        len(found),
        extra=ctx("bill_reconciled"),
    )
    return ReconcileOutcome(report, ran=True)


def reconcile_bills(
    day: date | None = None, *, provider: str | None = None, replace: bool = False
) -> list[ReconcileOutcome]:
    """Reconcile ``day`` (default: yesterday in Beijing) for every provider with bills, or the
    one named ``provider``."""
    day = day or yesterday()
    sources = bill_sources()
    if provider is not None:
        chosen = registry.get(provider)
        if not isinstance(chosen, BillSource):
            raise ValueError(f"the provider {provider!r} has no daily bills")
        sources = [chosen]
    return [reconcile_day(source, day, replace=replace) for source in sources]


# -- the comparison -----------------------------------------------------------------------------


def _line_dicts(lines: list[BillLine]) -> list[dict[str, Any]]:
    return [line.as_dict() for line in lines]


def _new(kind: str, **fields: Any) -> Discrepancy:
    return Discrepancy(kind=kind, **fields)


def compare(provider: str, bill: Bill) -> list[Discrepancy]:
    """The discrepancies between ``bill`` and the site's records (not saved)."""
    found: list[Discrepancy] = []
    start, end = _bounds(bill.day)
    payments = bill.payments
    refunds = bill.refunds
    numbers = {line.out_trade_no for line in payments}
    attempts = {
        a.out_trade_no: a
        for a in PaymentAttempt.objects.filter(
            provider=provider, out_trade_no__in=numbers
        ).select_related("order")
    }
    for line in payments:
        attempt = attempts.get(line.out_trade_no)
        if attempt is None:
            found.append(
                _new(
                    Discrepancy.Kind.UNKNOWN_TRADE,
                    out_trade_no=line.out_trade_no,
                    gateway_trade_no=line.gateway_trade_no,
                    bill_amount=line.amount,
                    detail=f"the gateway was paid {line.amount} for {line.out_trade_no}, a "
                    "number this site never issued",
                    lines=_line_dicts([line]),
                )
            )
            continue
        if line.amount != attempt.amount:
            found.append(
                _new(
                    Discrepancy.Kind.AMOUNT_DIFFERS,
                    out_trade_no=line.out_trade_no,
                    gateway_trade_no=line.gateway_trade_no,
                    bill_amount=line.amount,
                    site_amount=attempt.amount,
                    attempt=attempt,
                    detail=f"the bill says {line.amount}, the attempt is for {attempt.amount}",
                    lines=_line_dicts([line]),
                )
            )
        if attempt.status not in PAID:
            found.append(
                _new(
                    Discrepancy.Kind.PAID_NOT_HERE,
                    out_trade_no=line.out_trade_no,
                    gateway_trade_no=line.gateway_trade_no,
                    bill_amount=line.amount,
                    site_amount=attempt.amount,
                    attempt=attempt,
                    detail=f"paid at the gateway; here the attempt is {attempt.status}",
                    lines=_line_dicts([line]),
                )
            )
        elif (
            attempt.order.kind == Order.Kind.TOPUP
            and not LedgerEntry.objects.filter(
                order=attempt.order, kind=LedgerEntry.Kind.TOPUP
            ).exists()
        ):
            found.append(
                _new(
                    Discrepancy.Kind.LEDGER,
                    out_trade_no=line.out_trade_no,
                    gateway_trade_no=line.gateway_trade_no,
                    bill_amount=line.amount,
                    attempt=attempt,
                    detail=f"top-up {attempt.order.out_trade_no} is paid but its wallet has no "
                    "top-up entry",
                    lines=_line_dicts([line]),
                )
            )
    for attempt in PaymentAttempt.objects.filter(
        provider=provider, status__in=PAID, paid_at__gte=start, paid_at__lt=end
    ).exclude(out_trade_no__in=numbers):
        found.append(
            _new(
                Discrepancy.Kind.NOT_IN_BILL,
                out_trade_no=attempt.out_trade_no,
                gateway_trade_no=attempt.trade_no,
                site_amount=attempt.amount,
                attempt=attempt,
                detail=f"paid here at {attempt.paid_at:%Y-%m-%d %H:%M:%S %z}, not in the bill",
            )
        )
    refund_numbers = {line.out_refund_no for line in refunds if line.out_refund_no}
    known = {
        r.out_request_no: r
        for r in Refund.objects.filter(
            attempt__provider=provider, out_request_no__in=refund_numbers
        ).select_related("attempt")
    }
    for line in refunds:
        refund = known.get(line.out_refund_no)
        if refund is None or refund.status != Refund.Status.SUCCEEDED:
            state = "no such refund" if refund is None else f"the refund is {refund.status}"
            found.append(
                _new(
                    Discrepancy.Kind.REFUND_MISSING,
                    out_trade_no=line.out_trade_no,
                    gateway_trade_no=line.gateway_trade_no,
                    out_refund_no=line.out_refund_no,
                    bill_amount=line.amount,
                    site_amount=refund.amount if refund is not None else None,
                    refund=refund,
                    attempt=refund.attempt if refund is not None else None,
                    detail=f"the gateway refunded {line.amount} of {line.out_trade_no}; here: "
                    f"{state}",
                    lines=_line_dicts([line]),
                )
            )
        elif refund.amount != line.amount:
            found.append(
                _new(
                    Discrepancy.Kind.AMOUNT_DIFFERS,
                    out_trade_no=line.out_trade_no,
                    gateway_trade_no=line.gateway_trade_no,
                    out_refund_no=line.out_refund_no,
                    bill_amount=line.amount,
                    site_amount=refund.amount,
                    refund=refund,
                    attempt=refund.attempt,
                    detail=f"the bill refunds {line.amount}, the refund here is {refund.amount}",
                    lines=_line_dicts([line]),
                )
            )
    for refund in (
        Refund.objects.filter(
            attempt__provider=provider,
            status=Refund.Status.SUCCEEDED,
            succeeded_at__gte=start,
            succeeded_at__lt=end,
        )
        .exclude(out_request_no__in=refund_numbers)
        .select_related("attempt")
    ):
        found.append(
            _new(
                Discrepancy.Kind.REFUND_NOT_IN_BILL,
                out_trade_no=refund.attempt.out_trade_no,
                out_refund_no=refund.out_request_no,
                site_amount=refund.amount,
                refund=refund,
                attempt=refund.attempt,
                detail="refunded here that day, not in the bill",
            )
        )
    lines_fee = bill.fee_total
    for name, stated in sorted(bill.fee_totals.items()):
        if stated != lines_fee:
            found.append(
                _new(
                    Discrepancy.Kind.FEE_TOTAL,
                    bill_amount=stated,
                    site_amount=lines_fee,
                    detail=f"the fee total of the {name} is {stated}; the bill's lines add up "
                    f"to {lines_fee}",
                    lines=_line_dicts([line for line in bill.lines if line.fee]),
                )
            )
    return found


def _apply(found: list[Discrepancy]) -> None:
    """Paid there, not here: ask the gateway through the provider and apply its answer with the
    same code as a notification (:func:`sync_attempt`)."""
    for item in found:
        if item.kind != Discrepancy.Kind.PAID_NOT_HERE or item.attempt is None:
            continue
        try:
            sync_attempt(item.attempt)
        except ZhifuError as exc:  # GatewayUnavailable above all: asked again on a re-run
            item.resolution = Discrepancy.Resolution.NOT_APPLIED
            item.detail += f"; the gateway could not be asked: {exc.message}"
            continue
        except Exception as exc:  # recorded on the discrepancy and logged
            log.exception(
                "applying out_trade_no=%s from the bill failed",
                item.out_trade_no,
                extra=ctx("bill_apply_error", payment=item.attempt),
            )
            item.resolution = Discrepancy.Resolution.NOT_APPLIED
            item.detail += f"; applying it failed: {type(exc).__name__}"
            continue
        fresh = PaymentAttempt.objects.get(pk=item.attempt.pk)
        if fresh.status in PAID:
            item.resolution = Discrepancy.Resolution.APPLIED
            item.detail += f"; the gateway's answer was applied: the attempt is {fresh.status}"
        else:
            item.resolution = Discrepancy.Resolution.NOT_APPLIED
            item.detail += (
                f"; the gateway's answer left the attempt {fresh.status} (see the order's log)"
            )


def _save(report: ReconciliationReport, bill: Bill, found: list[Discrepancy]) -> None:
    start, end = _bounds(bill.day)
    paid_here = PaymentAttempt.objects.filter(
        provider=report.provider, status__in=PAID, paid_at__gte=start, paid_at__lt=end
    ).aggregate(total=Sum("amount"))["total"]
    refunded_here = Refund.objects.filter(
        attempt__provider=report.provider,
        status=Refund.Status.SUCCEEDED,
        succeeded_at__gte=start,
        succeeded_at__lt=end,
    ).aggregate(total=Sum("amount"))["total"]
    with transaction.atomic():
        locked = ReconciliationReport.objects.select_for_update().get(pk=report.pk)
        kept = locked.discrepancies.filter(resolution=Discrepancy.Resolution.APPLIED)
        kept_keys = {(d.kind, d.out_trade_no) for d in kept}
        locked.discrepancies.filter(~Q(resolution=Discrepancy.Resolution.APPLIED)).delete()
        for item in found:
            if (item.kind, item.out_trade_no) in kept_keys:
                continue
            item.report = locked
        Discrepancy.objects.bulk_create(
            [item for item in found if (item.kind, item.out_trade_no) not in kept_keys]
        )
        any_left = locked.discrepancies.exists()
        locked.status = (
            ReconciliationReport.Status.DISCREPANCIES
            if any_left
            else ReconciliationReport.Status.BALANCED
        )
        locked.finished_at = timezone.now()
        locked.bill_files = list(bill.files)
        locked.bill_payments = len(bill.payments)
        locked.bill_refunds = len(bill.refunds)
        locked.bill_payment_total = bill.payment_total
        locked.bill_refund_total = bill.refund_total
        locked.bill_fee_total = bill.fee_total
        locked.stated_fee_totals = {k: str(v) for k, v in bill.fee_totals.items()}
        locked.site_payment_total = paid_here or ZERO
        locked.site_refund_total = refunded_here or ZERO
        locked.error = ""
        locked.save()
