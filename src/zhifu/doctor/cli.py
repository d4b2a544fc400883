"""The `zhifu doctor` command."""

from __future__ import annotations

from typing import Any


def add_parser(commands: Any) -> None:
    """Register `doctor` among the `zhifu` commands."""
    del commands
