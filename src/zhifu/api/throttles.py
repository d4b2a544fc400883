"""Brute-force limits for the token endpoints: per client address, and per username (so that
many addresses cannot take turns on one account). The rates are settings::

    REST_FRAMEWORK = {"DEFAULT_THROTTLE_RATES": {"zhifu_token": "20/min",
                                                  "zhifu_token_username": "10/min"}}

(these are the defaults). Counts are kept in Django's default cache: give every process the
same cache (Redis) in production, or each process counts on its own. Over the limit the answer
is 429 ``throttled`` with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth import get_user_model
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

__all__ = ["TokenAddressThrottle", "TokenUsernameThrottle"]

DEFAULT_RATES = {"zhifu_token": "20/min", "zhifu_token_username": "10/min"}


class _SettingRate(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        # Read at each request (not at import, as DRF does), so a changed setting applies.
        rates = api_settings.DEFAULT_THROTTLE_RATES or {}
        assert self.scope is not None
        rate = rates.get(self.scope, DEFAULT_RATES[self.scope])
        return None if rate is None else str(rate)


class TokenAddressThrottle(_SettingRate):
    """Token requests from one client address (``REMOTE_ADDR``, or ``X-Forwarded-For`` as
    trusted by DRF's ``NUM_PROXIES``)."""

    scope = "zhifu_token"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenUsernameThrottle(_SettingRate):
    """Token requests naming one username, from anywhere."""

    scope = "zhifu_token_username"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        data = request.data
        field = get_user_model().USERNAME_FIELD
        username = data.get(field) if hasattr(data, "get") else None
        if not isinstance(username, str) or not username:
            return None  # refresh and logout carry no username; the address limit applies
        ident = hashlib.sha256(username.strip().casefold().encode("utf-8")).hexdigest()[:32]
        return self.cache_format % {"scope": self.scope, "ident": ident}
