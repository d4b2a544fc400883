"""Reconciliation: ask the gateways about payments they have not told us about.

Each attempt at a remote gateway carries ``next_check_at`` (attempts that settle locally never
do); the job queries attempts that are due and
schedules the next check at ``created_at + RECONCILE_SCHEDULE[n]``. The schedule's last offset
lies past the gateways' notification windows (Alipay retries for 25 hours), so a site that was
down for a day still ends with every paid order paid. Attempts closed locally but not confirmed
closed at their gateway are
watched too: a payment may still arrive for them (it is then settled as a surplus payment).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from ..conf import zhifu_settings
from ..exceptions import GatewayUnavailable
from ..logs import ctx
from ..models import Order, PaymentAttempt
from .notifications import sweep_received
from .payments import sync_attempt

__all__ = ["ReconcileReport", "next_check", "reconcile_order", "reconcile_payments"]

log = logging.getLogger("zhifu.reconcile")


@dataclass
class ReconcileReport:
    checked: int = 0
    paid: int = 0
    errors: int = 0
    swept: int = 0  # stored notifications that had never been processed
    orders: list[str] = field(default_factory=list)


def next_check(
    attempt: PaymentAttempt, now: datetime, *, payable_until: datetime | None = None
) -> datetime | None:
    """The next time to query ``attempt`` after a query at ``now``: the schedule's next step
    (``created_at + RECONCILE_SCHEDULE[i]`` after ``now``; a job that was down does not catch
    up in a burst), or None when the schedule, which covers the gateways' notification windows,
    is exhausted.

    While the attempt can still be paid (``payable_until``, its order's expiry), it is asked at
    least every ``RECONCILE_WHILE_PAYABLE`` seconds, so a payment whose notification was lost is
    found within minutes, not at the schedule's next, far-apart step."""
    schedule = list(zhifu_settings.RECONCILE_SCHEDULE)
    created = attempt.created_at
    planned = next(
        (when for offset in schedule if (when := created + timedelta(seconds=offset)) > now),
        None,
    )
    if payable_until is not None and now < payable_until:
        soon = now + timedelta(seconds=zhifu_settings.RECONCILE_WHILE_PAYABLE)
        return soon if planned is None else min(planned, soon)
    return planned


def _due(now: datetime, everything: bool) -> Q:
    q = Q(next_check_at__isnull=False) & (
        Q(status=PaymentAttempt.Status.PENDING)
        | Q(status=PaymentAttempt.Status.CLOSED, closed_at_gateway=False)
    )
    if not everything:
        q &= Q(next_check_at__lte=now)
    return q


def reconcile_payments(
    *, now: datetime | None = None, everything: bool = False, limit: int = 500
) -> ReconcileReport:
    """Query the gateway about every attempt that is due (or all open ones with ``everything``)."""
    now = now or timezone.now()
    report = ReconcileReport(swept=sweep_received(now=now))
    attempts = (
        PaymentAttempt.objects.filter(_due(now, everything))
        .select_related("order")
        .order_by("next_check_at")[:limit]
    )
    for attempt in attempts:
        was_paid = attempt.order.is_paid
        report.checked += 1
        checks = attempt.check_count + 1
        try:
            order = sync_attempt(attempt)
        except GatewayUnavailable as exc:
            report.errors += 1
            log.warning(
                "reconcile could not query out_trade_no=%s order=%s: %s",
                attempt.out_trade_no,
                attempt.order.out_trade_no,
                exc.message,
                extra=ctx("reconcile_unavailable", order=attempt.order, payment=attempt),
            )
            PaymentAttempt.objects.filter(pk=attempt.pk).update(
                next_check_at=now + timedelta(seconds=zhifu_settings.RECONCILE_SCHEDULE[0])
            )
            continue
        except Exception:
            report.errors += 1
            log.exception(
                "reconcile failed for out_trade_no=%s",
                attempt.out_trade_no,
                extra=ctx("reconcile_error", payment=attempt),
            )
            continue
        fresh = PaymentAttempt.objects.get(pk=attempt.pk)
        open_ = fresh.status == PaymentAttempt.Status.PENDING or (
            fresh.status == PaymentAttempt.Status.CLOSED and not fresh.closed_at_gateway
        )
        payable = (
            attempt.order.expires_at if fresh.status == PaymentAttempt.Status.PENDING else None
        )
        PaymentAttempt.objects.filter(pk=attempt.pk).update(
            check_count=checks,
            last_checked_at=now,
            next_check_at=next_check(fresh, now, payable_until=payable) if open_ else None,
        )
        if order.is_paid and not was_paid:
            report.paid += 1
            report.orders.append(order.out_trade_no)
            log.info(
                "reconcile paid order=%s out_trade_no=%s",
                order.out_trade_no,
                attempt.out_trade_no,
                extra=ctx("reconcile_paid", order=order, payment=attempt),
            )
    return report


def reconcile_order(order: Order) -> Order:
    """Query the gateways now about every attempt of ``order`` that could still be paid."""
    for attempt in order.attempts.filter(
        status__in=[PaymentAttempt.Status.PENDING, PaymentAttempt.Status.CLOSED],
    ):
        sync_attempt(attempt)  # returns at once for a provider that settles locally
    order.refresh_from_db()
    return order
