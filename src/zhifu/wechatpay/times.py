"""Times as WeChat Pay writes them: RFC 3339 with the Beijing offset, ``2018-06-08T10:34:56+08:00``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .errors import InvalidRequestError

__all__ = ["BEIJING", "beijing_now", "format_time", "parse_time"]

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")  # China has no daylight saving time


def beijing_now() -> datetime:
    return datetime.now(BEIJING)


def format_time(value: datetime, field: str = "time") -> str:
    """An aware datetime in Beijing time, to the second: whatever the host's time zone."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidRequestError(f"{field} must be an aware datetime (with a time zone)")
    return value.astimezone(BEIJING).replace(microsecond=0).isoformat()


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 time from WeChat as an aware datetime; ``None`` if absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
