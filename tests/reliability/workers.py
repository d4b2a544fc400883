"""HTTP calls made from separate processes (``multiprocessing`` spawn): no Django here.

Each returns ``(status, body)``; no answer at all is ``(0, "<error>")``, counted as unanswered.
"""

from __future__ import annotations

from typing import Any

import httpx

TIMEOUT = httpx.Timeout(90.0, connect=10.0)


def post_form(job: tuple[str, dict[str, str]], timeout: httpx.Timeout = TIMEOUT) -> tuple[int, str]:
    url, form = job
    try:
        response = httpx.post(url, data=form, timeout=timeout)
    except httpx.HTTPError as exc:
        return 0, f"{type(exc).__name__}: {exc}"
    return response.status_code, response.text[:200]


def post_signed(job: tuple[str, dict[str, str], bytes]) -> tuple[int, str]:
    """A body POSTed as is with its headers, as WeChat Pay posts a signed notification."""
    url, headers, body = job
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        return 0, f"{type(exc).__name__}: {exc}"
    return response.status_code, response.text[:200]


def get(url: str) -> tuple[int, str]:
    try:
        response = httpx.get(url, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        return 0, f"{type(exc).__name__}: {exc}"
    return response.status_code, response.text[:200]


def post_json(job: tuple[str, str, dict[str, Any]]) -> tuple[int, str]:
    url, token, body = job
    try:
        response = httpx.post(
            url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
        )
    except httpx.HTTPError as exc:
        return 0, f"{type(exc).__name__}: {exc}"
    return response.status_code, response.text[:300]


def call(job: tuple[str, Any]) -> tuple[int, str]:
    """One job of a mixed batch: ``("form", (url, form))``, ``("wechat", (url, headers,
    body))``, ``("get", url)`` or ``("json", (url, token, body))``; ``"form-12s"`` gives up
    after 12 seconds, as Alipay gives up on a site that does not answer."""
    kind, arg = job
    if kind == "form":
        return post_form(arg)
    if kind == "wechat":
        return post_signed(arg)
    if kind == "form-12s":
        return post_form(arg, httpx.Timeout(12.0))
    if kind == "get":
        return get(arg)
    return post_json(arg)
