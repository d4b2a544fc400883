"""The `zhifu probe` command."""

from __future__ import annotations

from typing import Any


def add_parser(commands: Any) -> None:
    """Register `probe` among the `zhifu` commands."""
    del commands
