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
    app.conf.beat_schedule = {**BEAT_SCHEDULE, **(app.conf.beat_schedule or {})}
