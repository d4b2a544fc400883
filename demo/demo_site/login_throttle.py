"""Brute-force limit for the login forms (the site's and the admin's).

After ``LOGIN_FAILURE_LIMIT`` refused attempts for one username from one address, every login
POST for that pair — the right password included — gets a 429 page until
``LOGIN_FAILURE_WINDOW`` seconds have passed since the first failure. Counts live in the
cache (Redis in production), so every web process shares them. A successful login clears the
count. The API's token endpoint has DRF throttles of its own.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

_now = time.time  # the clock (tests move it)


def client_address(request: HttpRequest) -> str:
    """The visitor's address. Behind the HTTPS proxy of docs/deployment.en.md (``DJANGO_SECURE``)
    it is the last ``X-Forwarded-For`` entry, the one our own proxy appended."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if getattr(settings, "SECURE", False) and forwarded:
        return forwarded.rsplit(",", 1)[-1].strip()
    return str(request.META.get("REMOTE_ADDR", ""))


def _key(request: HttpRequest) -> str:
    username = str(request.POST.get("username", "")).strip().casefold()
    digest = hashlib.sha256(f"{username}\0{client_address(request)}".encode()).hexdigest()
    return f"login-failures:{digest}"


def _too_many(request: HttpRequest, since: float) -> HttpResponse:
    window = settings.LOGIN_FAILURE_WINDOW
    retry_after = max(1, math.ceil(since + window - _now()))
    response = render(
        request,
        "429.html",
        {"minutes": math.ceil(retry_after / 60), "retry_after": retry_after},
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


def throttle_login(view: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a login view: a POST re-rendering the form (200) is a failure; a redirect is a
    success."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        key = _key(request)
        window = settings.LOGIN_FAILURE_WINDOW
        count, since = cache.get(key, (0, 0.0))
        if count and _now() >= since + window:  # whatever the cache backend does with expiry
            count, since = 0, 0.0
        if count >= settings.LOGIN_FAILURE_LIMIT:
            return _too_many(request, since)
        response = view(request, *args, **kwargs)
        if response.status_code == 200:
            if count == 0:
                since = _now()
            # The count expires a window after the first failure, not after the last one.
            left = max(1, math.ceil(since + window - _now()))
            cache.set(key, (count + 1, since), left)
        elif 300 <= response.status_code < 400:
            cache.delete(key)
        return response

    return wrapped
