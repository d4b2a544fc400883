"""Shared fixtures for the Django core tests (tests/core, tests/api).

Nothing here is autouse: protocol and sandbox tests elsewhere in tests/ do not start Django
servers. Core tests opt in through tests/core/conftest.py and tests/api/conftest.py.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.shop.models import Product
from zhifu import signals
from zhifu.alipay import Signer, generate_key_pair


@dataclass
class FakeAlipay:
    """Alipay's side for unit tests: a key pair whose public half the site trusts, so tests can
    sign notifications and return redirects exactly as Alipay does."""

    app_id: str
    seller_id: str
    signer: Signer
    config: dict[str, Any]

    def sign(self, params: dict[str, str]) -> dict[str, str]:
        data = {k: v for k, v in params.items() if k not in ("sign",)}
        data.setdefault("sign_type", "RSA2")
        data["sign"] = self.signer.sign_notification(data)
        return data

    def notification(
        self, attempt: Any, trade_status: str = "TRADE_SUCCESS", **extra: str
    ) -> dict[str, str]:
        params = {
            "notify_time": "2025-01-01 12:00:00",
            "notify_type": "trade_status_sync",
            "notify_id": extra.pop("notify_id", f"n-{attempt.out_trade_no}-{trade_status}"),
            "app_id": self.app_id,
            "auth_app_id": self.app_id,
            "charset": "utf-8",
            "version": "1.0",
            "trade_no": extra.pop("trade_no", "2025010122001400000000000001"),
            "out_trade_no": attempt.out_trade_no,
            "buyer_id": "2088000000000001",
            "seller_id": self.seller_id,
            "trade_status": trade_status,
            "total_amount": f"{Decimal(attempt.amount):.2f}",
            "receipt_amount": f"{Decimal(attempt.amount):.2f}",
            "subject": "test",
            "gmt_create": "2025-01-01 11:59:00",
            "gmt_payment": "2025-01-01 11:59:30",
        }
        params.update(extra)
        return self.sign(params)

    @staticmethod
    def body(params: dict[str, str]) -> bytes:
        return urlencode(params).encode("ascii")


@pytest.fixture(scope="session")
def fake_alipay_keys():
    return generate_key_pair(), generate_key_pair()


@pytest.fixture
def fake_alipay(settings, fake_alipay_keys) -> FakeAlipay:
    """ZHIFU configured against a gateway that is not there (port 9) and a fake Alipay key."""
    app_keys, alipay_keys = fake_alipay_keys
    config = {
        "APP_ID": "2021000000000001",
        "APP_PRIVATE_KEY": app_keys.private_pem,
        "APP_PUBLIC_KEY": app_keys.public_pem,
        "ALIPAY_PUBLIC_KEY": alipay_keys.public_pem,
        "GATEWAY_URL": "http://127.0.0.1:9/gateway.do",
        "SELLER_ID": "2088000000000009",
        "NOTIFY_URL": "https://shop.example.com/zhifu/alipay/notify/",
        "RETURN_URL": "https://shop.example.com/zhifu/alipay/return/",
        "CATALOG": "tests.shop.catalog.resolve",
        "HTTP_TIMEOUT": 2.0,
    }
    settings.ZHIFU = config
    return FakeAlipay(
        app_id=config["APP_ID"],
        seller_id=config["SELLER_ID"],
        signer=Signer(alipay_keys.private_pem),
        config=config,
    )


@pytest.fixture(scope="session")
def sandbox():
    """One real zhifu sandbox for the session (clock 1000× faster: retries come in ms)."""
    try:
        from zhifu.sandbox.testing import SandboxServer
    except ImportError as exc:  # pragma: no cover - only while the sandbox is being built
        pytest.skip(f"zhifu.sandbox.testing is not available: {exc}")
    server = SandboxServer(time_scale=1000.0)  # its own temporary data dir, removed on close
    server.start()
    yield server
    server.close()


@pytest.fixture
def sandbox_zhifu(settings, sandbox, live_server):
    """ZHIFU configured from the sandbox's default app; Alipay notifies the live server."""
    app = sandbox.default_app
    sandbox.faults(reset=True)
    sandbox.reset_clock()  # each test starts at real time, however far earlier tests ran it
    settings.ZHIFU = {
        "APP_ID": app.app_id,
        "APP_PRIVATE_KEY": app.app_private_key_pem,
        "APP_PUBLIC_KEY": app.app_public_key_pem,
        "ALIPAY_PUBLIC_KEY": app.alipay_public_key_pem,
        "GATEWAY_URL": sandbox.gateway_url,
        "SELLER_ID": app.seller_id,
        "NOTIFY_URL": live_server.url + "/zhifu/alipay/notify/",
        "RETURN_URL": live_server.url + "/zhifu/alipay/return/",
        "CATALOG": "tests.shop.catalog.resolve",
        # The sandbox clock runs 1000× faster than ours: an absolute time_expire computed from
        # our clock would already be past there. Expiry is driven by our expire job instead.
        "SEND_TIME_EXPIRE": False,
        "HTTP_TIMEOUT": 10.0,
    }
    yield sandbox
    # The sandbox outlives the test; a retry still pending would reach the live server during a
    # later test (configured with other keys) or after its database is gone.
    sandbox.abandon_notifications()


@pytest.fixture
def chromium(monkeypatch):
    """Debian's headless Chromium through Playwright (CHROMIUM_PATH to use another); skipped, with
    the reason, where either is missing."""
    # Playwright's sync API runs an event loop in this thread; the test's own database calls
    # are still plain synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not Path(path).exists():
        pytest.skip(f"no Chromium at {path} (make chromium installs Debian's)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def sandbox_wechat(sandbox_zhifu, settings, live_server):
    """The site sells with WeChat Pay too: the sandbox's merchant in public-key mode, notifying
    the live server. WeChat faults are cleared before and after, pending retries abandoned."""
    import httpx

    from zhifu.conf import DEFAULTS

    sb = sandbox_zhifu
    sb.wechat_mode("public_key")
    sb.wechat_faults(reset=True)
    settings.ZHIFU = {
        **settings.ZHIFU,
        "PROVIDERS": [*DEFAULTS["PROVIDERS"], "zhifu.providers.wechatpay.WechatPayProvider"],
        "WECHATPAY": sb.wechatpay_settings(live_server.url + "/zhifu/wechatpay/notify/"),
    }
    yield sb
    sb.wechat_faults(reset=True)
    httpx.post(sb.url + "/sandbox/api/wechat/notifications/abandon", json={}, timeout=30)


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("buyer", password="pw-buyer-1")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user("other", password="pw-other-1")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("staff", password="pw-staff-1", is_staff=True)


@pytest.fixture
def refund_staff(staff):
    """A staff member who may see and issue refunds (zhifu.view_refund, zhifu.add_refund)."""
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="zhifu", codename__in=["view_refund", "add_refund"]
        )
    )
    return staff


@pytest.fixture
def product():
    return Product.objects.create(sku="book-1", title="Python 入门", price=Decimal("12.30"))


@pytest.fixture
def fulfilled():
    """Every fulfilment signal received, as (signal name, out_trade_no) tuples."""
    events: list[tuple[str, str]] = []

    def make(name):
        def receiver(sender, order, **kwargs):
            events.append((name, order.out_trade_no))

        return receiver

    receivers = {
        "paid": make("paid"),
        "refunded": make("refunded"),
        "cancelled": make("cancelled"),
        "expired": make("expired"),
    }
    signals.order_paid.connect(receivers["paid"], weak=False)
    signals.order_refunded.connect(receivers["refunded"], weak=False)
    signals.order_cancelled.connect(receivers["cancelled"], weak=False)
    signals.order_expired.connect(receivers["expired"], weak=False)
    yield events
    signals.order_paid.disconnect(receivers["paid"])
    signals.order_refunded.disconnect(receivers["refunded"])
    signals.order_cancelled.disconnect(receivers["cancelled"])
    signals.order_expired.disconnect(receivers["expired"])


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.05):
    """Wait for something another thread or process does (not a timing assertion: the
    deadline only bounds a hang)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def get_as(user: Any, url: str, *, json: bool = True) -> Any:
    """GET ``url`` (an absolute return URL) as ``user``, signed in, through Django's test client;
    the view still talks to the sandbox over real HTTP."""
    from urllib.parse import urlsplit

    from django.test import Client

    parts = urlsplit(url)
    client = Client()
    client.force_login(user)
    headers = {"Accept": "application/json"} if json else {}
    return client.get(f"{parts.path}?{parts.query}", headers=headers)
