"""The demo's refund-request predicate (``ZHIFU["REFUND_REQUESTS"]["AUTO_APPROVE"]``): a course
order is refunded without staff only if none of its courses was studied since it was bought.

"Studied" is the minimal notion the demo has: ``Enrollment.started_at``, set the first time the
buyer opens the course page with access. Lines that are not courses (goods, rewards) do not
stop the automatic approval; the policy's AUTO_APPROVE_DAYS still applies to them.
"""

from __future__ import annotations

from typing import Any

from .fulfilment import _course_id
from .models import Enrollment


def not_studied(order: Any, lines: list[Any]) -> bool:
    course_ids = [_course_id(line) for line in lines if line.sku.startswith("course:")]
    if not course_ids:
        return True
    started = Enrollment.objects.filter(
        user_id=order.user_id, course_id__in=course_ids, started_at__isnull=False
    )
    if order.paid_at is not None:
        started = started.filter(started_at__gte=order.paid_at)
    return not started.exists()
