"""Fixtures of the payment-link tests (the shared ones live in tests/conftest.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache

from zhifu.conf import DEFAULTS

WECHATPAY = "zhifu.providers.wechatpay.WechatPayProvider"


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate limits (gateway queries per return, API throttles) count in the cache."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def link_staff(django_user_model):
    """A staff member allowed to create and see payment links (not a superuser)."""
    member = django_user_model.objects.create_user(
        "cashier", password="pw-cashier-1", is_staff=True
    )
    member.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="zhifu",
            codename__in=["add_paymentlink", "view_paymentlink"],
        )
    )
    return member


@pytest.fixture
def with_wechat(settings, fake_alipay):
    """Alipay, the wallet and WeChat Pay configured (no WeChat call is made by the tests using
    this: only the channels it offers matter)."""
    settings.ZHIFU = {**fake_alipay.config, "PROVIDERS": [*DEFAULTS["PROVIDERS"], WECHATPAY]}
    return settings.ZHIFU
