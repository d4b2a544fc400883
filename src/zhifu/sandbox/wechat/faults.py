"""Faults for the WeChat side: what the next notifications, API calls and refunds suffer.

Kept apart from the Alipay faults (meta key ``wx_faults``) so that a counter set for one
gateway is never consumed by the other. Counters are consumed one per attempt, call or refund.
"""

from __future__ import annotations

import math
from typing import Any

from ..faults import FaultError
from ..store import Store

__all__ = ["WECHAT_FAULTS", "WechatFaults"]

WECHAT_FAULTS: dict[str, Any] = {
    "drop_notifications": 0,  # the next N notification attempts are not sent
    "notification_copies": 1,  # each attempt POSTed K times at once
    "notification_delay": 0.0,  # real seconds to wait before each attempt
    "corrupt_notifications": 0,  # signature that does not verify
    "signtest_notifications": 0,  # WECHATPAY/SIGNTEST/ probe signature
    "stale_notifications": 0,  # Wechatpay-Timestamp 10 minutes old
    "other_key_notifications": 0,  # signed by the key of the other kind (public key <-> cert)
    "api_errors": 0,  # the next N API calls answer 500 SYSTEM_ERROR (nothing done)
    "rate_limits": 0,  # the next N API calls answer 429 FREQUENCY_LIMITED (nothing done)
    "api_timeouts": 0,  # the next N API calls take effect, then the answer is held
    "api_timeout_seconds": 20.0,
    "corrupt_responses": 0,  # the next N answers carry a signature that does not verify
    "signtest_responses": 0,  # the next N answers carry a SIGNTEST probe signature
    "abnormal_refunds": 0,  # the next N refunds end ABNORMAL
    "closed_refunds": 0,  # the next N refunds end CLOSED
    "paths": [],  # API faults apply only to paths starting with one of these (empty: all)
}
_SECONDS = {"notification_delay", "api_timeout_seconds"}
_API = {"api_errors", "rate_limits", "api_timeouts", "corrupt_responses", "signtest_responses"}


class WechatFaults:
    def __init__(self, store: Store) -> None:
        self._store = store

    def _load(self) -> dict[str, Any]:
        state = dict(WECHAT_FAULTS)
        state.update(self._store.get_json("wx_faults", {}))
        return state

    def current(self) -> dict[str, Any]:
        return self._load()

    def reset(self) -> None:
        with self._store.transaction():  # the store's lock only: one lock order
            self._store.set_json("wx_faults", {})

    def update(self, changes: Any) -> dict[str, Any]:
        if not isinstance(changes, dict):
            raise FaultError("the body must be a JSON object")
        unknown = set(changes) - set(WECHAT_FAULTS) - {"reset"}
        if unknown:
            raise FaultError(
                f"unknown fault(s): {', '.join(sorted(unknown))}; known: "
                + ", ".join(sorted(WECHAT_FAULTS))
            )
        for key, value in changes.items():
            _check(key, value)
        with self._store.transaction():  # the store's lock only: one lock order
            state = dict(WECHAT_FAULTS) if changes.get("reset") else self._load()
            for key, value in changes.items():
                if key != "reset":
                    state[key] = float(value) if key in _SECONDS else value
            self._store.set_json("wx_faults", state)
            return state

    def take(self, name: str, path: str | None = None) -> bool:
        with self._store.transaction():  # the store's lock only: one lock order
            state = self._load()
            if int(state.get(name, 0)) <= 0:
                return False
            if (
                name in _API
                and state["paths"]
                and not any((path or "").startswith(p) for p in state["paths"])
            ):
                return False
            state[name] = int(state[name]) - 1
            self._store.set_json("wx_faults", state)
            return True

    def value(self, name: str) -> Any:
        return self._load()[name]


def _check(key: str, value: Any) -> None:
    if key == "reset":
        if not isinstance(value, bool):
            raise FaultError("reset: expected true or false")
    elif key == "paths":
        if not isinstance(value, list) or not all(
            isinstance(p, str) and p.startswith("/v3/") for p in value
        ):
            raise FaultError('paths: expected a list of path prefixes, e.g. ["/v3/refund/"]')
    elif key == "notification_copies":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 20:
            raise FaultError(f"{key}: expected a whole number from 1 to 20, got {value!r}")
    elif key in _SECONDS:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not 0 <= value <= 600
        ):
            raise FaultError(f"{key}: expected a number of seconds from 0 to 600, got {value!r}")
    elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FaultError(f"{key}: expected a whole number >= 0, got {value!r}")
