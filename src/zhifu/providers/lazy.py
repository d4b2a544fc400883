"""A value built on first use, once per process even when threads ask at the same moment: a
provider's client, whose keys cost tens of milliseconds to load, is built once, not per request."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Lazy"]

T = TypeVar("T")


class Lazy(Generic[T]):
    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
                value = self._value
        return value

    def set(self, value: T) -> None:
        """Use ``value`` from now on (a test's transport, a sandbox mounted in-process)."""
        with self._lock:
            self._value = value

    def peek(self) -> T | None:
        """The value if it was built, without building it."""
        return self._value
