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


@pytest.fixture
def en(alice_client: Any) -> Any:
    """alice's client with the English language cookie (the site is Chinese by default)."""
    alice_client.cookies["django_language"] = "en"
    return alice_client


def _zhifu_for(settings: Any, sandbox: Any) -> None:
    app = sandbox.default_app
    settings.ZHIFU = {
        **settings.ZHIFU,
        "APP_ID": app.app_id,
        "SELLER_ID": app.seller_id,
        "APP_PRIVATE_KEY": app.app_private_key_pem,
        "APP_PUBLIC_KEY": app.app_public_key_pem,
        "ALIPAY_PUBLIC_KEY": app.alipay_public_key_pem,
        "GATEWAY_URL": sandbox.gateway_url,
        "HTTP_TIMEOUT": 3,
        # public-key mode, whatever var/sandbox/ gave the settings (a test that wants certificate
        # mode sets them from this sandbox)
        "APP_CERT": "",
        "ALIPAY_PUBLIC_CERT": "",
        "ALIPAY_ROOT_CERT": "",
    }


@pytest.fixture
def live_gateway(settings: Any, tmp_path: Any) -> Any:
    """Zhifu talking to a real sandbox over HTTP (no site for it to notify: the pages ask it)."""
    from zhifu.sandbox.testing import SandboxServer

    with SandboxServer(tmp_path / "sandbox") as sandbox:
        _zhifu_for(settings, sandbox)
        yield sandbox


@pytest.fixture
def dead_gateway(settings: Any, tmp_path: Any) -> Any:
    """Zhifu configured with a real sandbox app's keys, then the sandbox stopped: every call to
    the gateway meets a closed port."""
    from zhifu.sandbox.testing import SandboxServer

    with SandboxServer(tmp_path / "sandbox") as sandbox:
        _zhifu_for(settings, sandbox)
        gateway = sandbox.gateway_url
    return gateway
