"""`zhifu alipay pay-link`: a signed page-pay URL from the command line."""

from __future__ import annotations

from typing import Any


def add_parser(alipay_commands: Any) -> None:
    """Register `pay-link` under `zhifu alipay`."""
    del alipay_commands
