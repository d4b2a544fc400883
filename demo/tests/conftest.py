"""Fixtures of the demo's Django tests (run with ``--ds=demo_site.settings``)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.utils import translation


@pytest.fixture(autouse=True)
def _isolated(settings: Any) -> Any:
    """A process-local cache (carts), fast password hashing, and English messages from the
    services (pages choose their language through the middleware as usual)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from django.core.cache import cache

    cache.clear()
    with translation.override("en"):
        yield


@pytest.fixture
def seeded(db: Any) -> dict[str, Any]:
    """The sample data of ``seed_demo``: users alice/bob/carol, goods, courses, coupons, articles,
    credits (alice 500) and wallet balances (alice ¥200, bob ¥50)."""
    from django.contrib.auth import get_user_model

    call_command("seed_demo", verbosity=0)
    users = {u.username: u for u in get_user_model().objects.all()}
    return users


@pytest.fixture
def alice_client(client: Any, seeded: dict[str, Any]) -> Any:
    client.force_login(seeded["alice"])
    return client
