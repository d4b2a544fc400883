"""The demo's own rule violations, and the one way a failure becomes a page message."""

from __future__ import annotations

from django.utils.text import capfirst

from zhifu.exceptions import ZhifuError


class DemoError(Exception):
    """A rule of the site was broken; ``code`` is stable, ``message`` is translated text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def error_message(exc: DemoError | ZhifuError) -> str:
    """What a page shows for a failure: the exception's own translated message (Zhifu's
    exceptions carry one for every code), capitalised."""
    return str(capfirst(exc.message))
