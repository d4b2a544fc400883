"""Beijing time, in which order numbers are stamped and gateways read every timestamp, whatever
the host's time zone (China has no daylight saving time: a fixed UTC+8 offset is exact)."""

from datetime import timedelta, timezone

__all__ = ["BEIJING"]

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
