"""The demo's own rule violations, shown as page messages and API errors."""

from __future__ import annotations


class DemoError(Exception):
    """A rule of the site was broken; ``code`` is stable, ``message`` is translated text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
