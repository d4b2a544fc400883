"""Celery application of the demo site (in the demo the worker runs with an embedded beat)."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_site.settings")

app = Celery("demo_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.import_modules.connect(sender=app)
def merge_zhifu_beat_schedule(**kwargs: Any) -> None:
    """Add Zhifu's periodic jobs (expire, reconcile, retry refunds) to the site's schedule.

    Runs when a worker or beat imports task modules, after Celery's Django fixup has called
    ``django.setup()`` (zhifu.tasks imports models, so settings.py cannot import it).
    """
    try:
        from zhifu.tasks import BEAT_SCHEDULE
    except ImportError as exc:  # a core without periodic jobs: run the worker without them
        logging.getLogger("demo").warning("no zhifu.tasks.BEAT_SCHEDULE: %s", exc)
        return
    app.conf.beat_schedule = demo_beat_schedule(BEAT_SCHEDULE, app.conf.beat_schedule or {})


def demo_beat_schedule(
    core: dict[str, dict[str, Any]], site: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Zhifu's jobs plus the site's; with ``ZHIFU_DEMO_BEAT_SECONDS`` (settings.DEMO_BEAT_SECONDS)
    every Zhifu job runs at that interval instead (the same tasks, run by the same worker)."""
    from django.conf import settings

    seconds = getattr(settings, "DEMO_BEAT_SECONDS", None)
    merged = {}
    for name, entry in core.items():
        merged[name] = {**entry, "schedule": float(seconds)} if seconds else dict(entry)
    if seconds:
        logging.getLogger("demo").info("Zhifu's periodic jobs run every %ss", seconds)
    return {**merged, **site}
