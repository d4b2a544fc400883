"""Withdrawals against the sandbox in certificate mode (Alipay pays transfers only so)."""

from __future__ import annotations

import pytest

from zhifu.models import LedgerEntry
from zhifu.wallet import post_entry

PAYEE = "buyer1@sandbox.com"
PAYEE_NAME = "沙箱买家一"


@pytest.fixture
def payouts(sandbox_zhifu, settings):
    """ZHIFU in certificate mode at the sandbox, whose merchant holds 1000.00; sent at once."""
    app = sandbox_zhifu.default_app
    settings.ZHIFU = {
        **settings.ZHIFU,
        "APP_CERT": app.app_cert_pem,
        "ALIPAY_PUBLIC_CERT": app.alipay_public_cert_pem,
        "ALIPAY_ROOT_CERT": app.alipay_root_cert_pem,
        "WITHDRAWALS": {"APPROVAL": "never", "RETRY_AFTER": 0},
    }
    sandbox_zhifu.set_seller_balance("1000.00")
    yield sandbox_zhifu
    sandbox_zhifu.faults(reset=True)


@pytest.fixture
def author(user):
    """A user whose wallet holds 100.00 of reward income."""
    post_entry(user, "100.00", LedgerEntry.Kind.REWARD_INCOME, memo="rewards")
    return user


def withdrawal_settings(settings, **changes):
    settings.ZHIFU = {
        **settings.ZHIFU,
        "WITHDRAWALS": {**settings.ZHIFU.get("WITHDRAWALS", {}), **changes},
    }
