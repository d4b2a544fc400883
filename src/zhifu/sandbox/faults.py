"""Fault injection: what the next notifications and gateway calls should suffer.

State lives in the database (so it survives a restart) and is changed only through
``POST /sandbox/api/faults``. Counters are consumed one per notification or gateway call.
"""

from __future__ import annotations

import math
from typing import Any

from .store import Store

__all__ = ["DEFAULT_FAULTS", "FaultError", "Faults"]

# name -> (default, kind). Counts are ints >= 0; copies >= 1; seconds are finite floats >= 0.
DEFAULT_FAULTS: dict[str, Any] = {
    "drop_notifications": 0,  # the next N notification attempts are not sent (count as failed)
    "notification_copies": 1,  # each attempt is POSTed K times at once (1 = normal)
    "notification_delay": 0.0,  # real seconds to wait before each notification attempt
    "corrupt_notifications": 0,  # the next N notification attempts carry a broken signature
    "gateway_errors": 0,  # the next N gateway calls answer 40004 ACQ.SYSTEM_ERROR
    "gateway_timeouts": 0,  # the next N gateway calls are processed, then the reply is held
    "gateway_timeout_seconds": 20.0,  # real seconds a timed-out reply is held for
    "corrupt_responses": 0,  # the next N gateway responses carry a broken signature
    "methods": [],  # gateway faults apply only to these methods (empty: every method)
}
_COUNTS = {
    "drop_notifications",
    "corrupt_notifications",
    "gateway_errors",
    "gateway_timeouts",
    "corrupt_responses",
}
_SECONDS = {"notification_delay", "gateway_timeout_seconds"}
_GATEWAY = {"gateway_errors", "gateway_timeouts", "corrupt_responses"}


class FaultError(ValueError):
    """A fault request that makes no sense; the message says which field and why."""


class Faults:
    """Thread-safe fault counters persisted in the ``meta`` table."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def current(self) -> dict[str, Any]:
        return self._load()

    def _load(self) -> dict[str, Any]:
        state = dict(DEFAULT_FAULTS)
        state.update(self._store.get_json("faults", {}))
        return state

    def update(self, changes: Any) -> dict[str, Any]:
        """Apply ``changes`` (a JSON object); ``{"reset": true}`` first restores the defaults."""
        if not isinstance(changes, dict):
            raise FaultError("the body must be a JSON object")
        unknown = set(changes) - set(DEFAULT_FAULTS) - {"reset"}
        if unknown:
            raise FaultError(
                f"unknown fault(s): {', '.join(sorted(unknown))}; known: "
                + ", ".join(sorted(DEFAULT_FAULTS))
            )
        for key, value in changes.items():
            _check(key, value)
        with self._store.transaction():  # the store's lock only: one lock order
            state = dict(DEFAULT_FAULTS) if changes.get("reset") else self._load()
            for key, value in changes.items():
                if key == "reset":
                    continue
                state[key] = float(value) if key in _SECONDS else value
            self._store.set_json("faults", state)
            return state

    def take(self, name: str, method: str | None = None) -> bool:
        """Consume one unit of counter ``name``; True if the fault applies now."""
        with self._store.transaction():  # the store's lock only: one lock order
            state = self._load()
            if int(state.get(name, 0)) <= 0:
                return False
            if name in _GATEWAY and state["methods"] and method not in state["methods"]:
                return False
            state[name] = int(state[name]) - 1
            self._store.set_json("faults", state)
            return True

    def value(self, name: str) -> Any:
        return self._load()[name]


def _check(key: str, value: Any) -> None:
    if key == "reset":
        if not isinstance(value, bool):
            raise FaultError("reset: expected true or false")
    elif key in _COUNTS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise FaultError(f"{key}: expected a whole number >= 0, got {value!r}")
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
    elif key == "methods":
        if not isinstance(value, list) or not all(isinstance(m, str) for m in value):
            raise FaultError(
                'methods: expected a list of method names, e.g. ["alipay.trade.query"]'
            )
