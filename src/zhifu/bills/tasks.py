"""Celery tasks of bill reconciliation (imported by zhifu.tasks).

``zhifu.reconcile_bills`` runs hourly from ``BEAT_SCHEDULE``: it reconciles yesterday (Beijing
time) for every provider with bills. A day already reconciled is left as it is; a day whose bill
was not ready yet (the gateways publish it the next morning) is tried again the next hour.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

__all__ = ["reconcile_bills"]


@shared_task(name="zhifu.reconcile_bills", ignore_result=True)
def reconcile_bills(
    day: str | None = None, provider: str | None = None, replace: bool = False
) -> list[dict[str, Any]]:
    """Compare the gateways' bills of ``day`` (``yyyy-mm-dd``; default yesterday) with the
    site's records; one report per provider and day."""
    from datetime import date

    from .reconcile import reconcile_bills as run

    outcomes = run(date.fromisoformat(day) if day else None, provider=provider, replace=replace)
    return [
        {
            "provider": o.report.provider,
            "day": o.report.bill_date.isoformat(),
            "status": o.report.status,
            "ran": o.ran,
            "discrepancies": o.report.discrepancies.count(),
        }
        for o in outcomes
    ]
