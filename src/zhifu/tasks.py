"""Celery tasks (each also a management command). Merge ``BEAT_SCHEDULE`` into your site's
``CELERY_BEAT_SCHEDULE``::

    from zhifu.tasks import BEAT_SCHEDULE
    CELERY_BEAT_SCHEDULE = {**BEAT_SCHEDULE}

The broker is the site's choice (Redis in production; ``task_always_eager`` or a filesystem
broker when no server is wanted). The jobs are idempotent and safe to run concurrently.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

__all__ = ["BEAT_SCHEDULE", "expire_orders", "reconcile_payments", "retry_unknown_refunds"]


@shared_task(name="zhifu.expire_orders", ignore_result=True)
def expire_orders() -> int:
    """Expire pending orders past their expiry, closing their trades at their gateways first."""
    from .services.orders import expire_orders as run

    return run()


@shared_task(name="zhifu.reconcile_payments", ignore_result=True)
def reconcile_payments(everything: bool = False) -> dict[str, Any]:
    """Query the gateways about attempts that are due (backoff over their notification windows);
    process stored notifications that were never processed."""
    from .services.reconcile import reconcile_payments as run

    report = run(everything=everything)
    return {
        "checked": report.checked,
        "paid": report.paid,
        "errors": report.errors,
        "swept": report.swept,
    }


@shared_task(name="zhifu.retry_unknown_refunds", ignore_result=True)
def retry_unknown_refunds() -> int:
    """Send again, with the same out_request_no, refunds whose outcome is unknown."""
    from .services.refunds import retry_refunds

    return retry_refunds()


BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "zhifu-expire-orders": {"task": "zhifu.expire_orders", "schedule": 60.0},
    "zhifu-reconcile-payments": {"task": "zhifu.reconcile_payments", "schedule": 60.0},
    "zhifu-retry-unknown-refunds": {"task": "zhifu.retry_unknown_refunds", "schedule": 300.0},
    # yesterday's bills; hourly, as the bills appear in the morning (zhifu.bills.tasks)
    "zhifu-reconcile-bills": {"task": "zhifu.reconcile_bills", "schedule": 3600.0},
    # withdrawals whose outcome is unknown (zhifu.withdrawals.tasks)
    "zhifu-retry-withdrawals": {"task": "zhifu.retry_withdrawals", "schedule": 300.0},
}


from .bills import tasks as _bill_tasks  # noqa: E402, F401
from .withdrawals import tasks as _withdrawal_tasks  # noqa: E402, F401
