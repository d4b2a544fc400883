"""Runs in separate processes (multiprocessing "spawn"): no Django here, just an HTTP client."""

from __future__ import annotations

import httpx


def post_form(args: tuple[str, dict[str, str]]) -> str:
    url, form = args
    return httpx.post(url, data=form, timeout=30).text
