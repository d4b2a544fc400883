"""The sandbox clock: real time, sped up by ``time_scale`` and moved forward on request.

Every delay in the sandbox (notification retries, trade timeouts) is measured on this clock, so
``--time-scale 1000`` turns Alipay's 4-minute first retry into 0.24 real seconds, and
``POST /sandbox/api/clock {"advance_seconds": 86400}`` makes a day pass at once;
``{"reset": true}`` brings it back to real time (a sped-up clock runs ahead: a long test run
would otherwise leave a sandbox whose new trades expire at once).
Times are epoch seconds (floats); :func:`fmt` renders them as Alipay does, in Beijing time.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import datetime, timedelta, timezone

__all__ = ["BEIJING", "TIMESTAMP_FORMAT", "Clock", "fmt", "fmt_ms", "parse_beijing"]

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def fmt(ts: float) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in Beijing time, as every Alipay timestamp."""
    return datetime.fromtimestamp(ts, BEIJING).strftime(TIMESTAMP_FORMAT)


def fmt_ms(ts: float) -> str:
    """``yyyy-MM-dd HH:mm:ss.SSS``: the form of ``gmt_refund`` in refund notifications."""
    return datetime.fromtimestamp(ts, BEIJING).strftime(TIMESTAMP_FORMAT + ".%f")[:-3]


def parse_beijing(text: str, formats: tuple[str, ...] = (TIMESTAMP_FORMAT,)) -> float | None:
    """Epoch seconds of a Beijing-time timestamp in one of ``formats``; None if it is not one."""
    for pattern in formats:
        try:
            parsed = datetime.strptime(text, pattern)
        except ValueError:
            continue
        return parsed.replace(tzinfo=BEIJING).timestamp()
    return None


class Clock:
    """Sandbox time = real time + offset, running ``scale`` times faster than real time."""

    def __init__(self, scale: float = 1.0, offset: float = 0.0) -> None:
        if not isinstance(scale, int | float) or not math.isfinite(scale) or scale <= 0:
            raise ValueError(f"time_scale must be a positive number, got {scale!r}")
        self.scale = float(scale)
        self._lock = threading.Lock()
        self._real_start = time.time()
        # sandbox time at _real_start; restarts continue from the persisted offset
        self._sandbox_start = self._real_start + offset

    def now(self) -> float:
        with self._lock:
            return self._sandbox_start + (time.time() - self._real_start) * self.scale

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` of sandbox time; return the new time."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._sandbox_start += seconds
        return self.now()

    def set(self, when: float) -> float:
        """Put the clock at ``when`` (epoch seconds), earlier or later; it runs on from there."""
        with self._lock:
            self._real_start = time.time()
            self._sandbox_start = when
        return self.now()

    def reset(self) -> float:
        """Back to real time (offset 0), at the same scale."""
        return self.set(time.time())

    def offset(self) -> float:
        """Sandbox time minus real time, to persist across restarts."""
        return self.now() - time.time()

    def real_seconds(self, sandbox_seconds: float) -> float:
        """How long ``sandbox_seconds`` last in real time."""
        return max(0.0, sandbox_seconds) / self.scale
