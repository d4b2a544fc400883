"""Celery task of withdrawals (imported by zhifu.tasks)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

__all__ = ["retry_withdrawals"]


@shared_task(name="zhifu.retry_withdrawals", ignore_result=True)
def retry_withdrawals() -> dict[str, Any]:
    """Ask the payout gateway about withdrawals whose outcome is unknown; send again (same
    number) those it never received."""
    from .services import retry_withdrawals as run

    report = run()
    return {
        "checked": report.checked,
        "succeeded": report.succeeded,
        "failed": report.failed,
        "unknown": report.unknown,
    }
