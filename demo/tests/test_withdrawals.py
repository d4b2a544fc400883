"""The wallet page's withdraw form (提现): the sandbox pays in certificate mode; in public-key
mode the withdrawal fails with a clear message and the money comes back; one submit is one
withdrawal."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from zhifu import wallet
from zhifu.withdrawals.models import Withdrawal

from .helpers import once

pytestmark = pytest.mark.django_db

FORM = {"amount": "30.00", "payee": "buyer1@sandbox.com", "payee_name": "沙箱买家一"}


def test_withdraw_in_certificate_mode(en: Any, live_gateway: Any, settings: Any, seeded) -> None:
    app = live_gateway.default_app
    settings.ZHIFU = {
        **settings.ZHIFU,
        "APP_CERT": app.app_cert_pem,
        "ALIPAY_PUBLIC_CERT": app.alipay_public_cert_pem,
        "ALIPAY_ROOT_CERT": app.alipay_root_cert_pem,
        "WITHDRAWALS": {"APPROVAL": "never"},
    }
    live_gateway.set_seller_balance("1000.00")
    alice = seeded["alice"]
    before = wallet.balance(alice)
    token = once()
    page = en.post("/wallet/withdraw/", {**FORM, "once": token}, follow=True).content.decode()
    done = Withdrawal.objects.get(user=alice)
    assert done.status == Withdrawal.Status.SUCCEEDED
    assert done.out_biz_no in page and 'data-testid="withdrawals"' in page
    en.post("/wallet/withdraw/", {**FORM, "once": token}, follow=True)  # the same submit again
    assert Withdrawal.objects.filter(user=alice).count() == 1
    assert wallet.balance(alice) == before - Decimal("30.00")


def test_withdraw_in_public_key_mode_fails_and_returns(en: Any, live_gateway: Any, seeded) -> None:
    alice = seeded["alice"]
    before = wallet.balance(alice)
    page = en.post("/wallet/withdraw/", {**FORM, "once": once()}, follow=True).content.decode()
    assert "certificate mode" in page and "the money is back in your wallet" in page
    assert wallet.balance(alice) == before


def test_withdraw_bad_input(en: Any, live_gateway: Any, seeded) -> None:
    page = en.post(
        "/wallet/withdraw/", {**FORM, "amount": "abc", "once": once()}, follow=True
    ).content.decode()
    assert "amount" in page.lower() and not Withdrawal.objects.exists()
    page = en.post(
        "/wallet/withdraw/", {**FORM, "payee_name": "", "once": once()}, follow=True
    ).content.decode()
    assert "real name" in page and not Withdrawal.objects.exists()
