"""Alipay's times: Beijing wall-clock time, written ``yyyy-MM-dd HH:mm:ss`` with no zone.

Alipay sends two forms: seconds (``gmt_payment``, ``notify_time``, ``send_pay_date``) and
milliseconds (``gmt_refund`` in refund notifications, e.g. ``2023-05-29 17:31:05.287``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

__all__ = ["BEIJING", "TIMESTAMP_FORMAT", "beijing_now", "parse_time"]

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")  # China has no daylight saving time
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

# Strict: strptime alone would also take "2023-5-9 7:01:05" or surrounding blanks.
_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.(\d{1,6}))?", re.ASCII)


def beijing_now() -> datetime:
    return datetime.now(BEIJING)


def parse_time(value: object) -> datetime | None:
    """An aware Beijing-time datetime of an Alipay time, with or without milliseconds.

    ``None`` for ``None``, an empty string or anything that is not such a time (a notification
    field is data from outside: a bad one must not raise).
    """
    if not isinstance(value, str):
        return None
    match = _TIME.fullmatch(value)
    if match is None:
        return None
    try:
        parsed = datetime.strptime(value[:19], TIMESTAMP_FORMAT)
    except ValueError:  # e.g. month 13
        return None
    fraction = match.group(1)
    if fraction:
        parsed = parsed.replace(microsecond=int(fraction.ljust(6, "0")))
    return parsed.replace(tzinfo=BEIJING)
