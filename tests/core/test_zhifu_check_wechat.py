"""``manage.py zhifu_check`` exercises WeChat Pay when its provider is configured: real signed
calls to the local sandbox (``GET /v3/certificates`` in certificate mode, a query of a made-up
out_trade_no), one line per finding, a non-zero exit naming what is wrong."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tests.wechatpay.peer import new_public_key
from zhifu.conf import DEFAULTS
from zhifu.wechatpay import generate_merchant_certificate

pytestmark = pytest.mark.django_db(transaction=True)

PROVIDER = "zhifu.providers.wechatpay.WechatPayProvider"


def configure(sb: Any, settings: Any, mode: str, **changes: Any) -> dict[str, Any]:
    """The site configured for the sandbox's merchant in ``mode`` (the sandbox switched to it)."""
    sb.wechat_mode(mode)
    info = sb.wechat_info
    wechatpay = sb.wechatpay_settings("http://127.0.0.1:8000/zhifu/wechatpay/notify/")
    wechatpay.update(changes)
    wechatpay = {k: v for k, v in wechatpay.items() if v is not None}
    settings.ZHIFU = {
        **settings.ZHIFU,
        "PROVIDERS": [*DEFAULTS["PROVIDERS"], PROVIDER],
        "WECHATPAY": wechatpay,
    }
    return info


def run_check(capsys: Any, *, fails: bool) -> str:
    if fails:
        with pytest.raises(CommandError, match="WeChat Pay"):
            call_command("zhifu_check")
    else:
        call_command("zhifu_check")
    out: str = capsys.readouterr().out
    wechat = [line for line in out.splitlines() if "WeChat Pay" in line]
    assert wechat, out
    assert all(line.startswith(("ok ", "FAIL ", "warn ")) for line in out.splitlines()), out
    return out


def test_good_keys_in_public_key_mode(sandbox_zhifu, settings, capsys):
    info = configure(sandbox_zhifu, settings, "public_key")
    out = run_check(capsys, fails=False)
    assert "FAIL" not in out
    assert "ACQ.TRADE_NOT_EXIST" in out  # Alipay is checked as before
    assert "ORDER_NOT_EXIST, as expected" in out
    assert (
        f"verifies with the configured WeChat Pay public key {info['wechatpay_public_key_id']}"
        in out
    )
    assert "APIV3_KEY is only used by notifications" in out  # said, not claimed as proven


def test_good_keys_in_certificate_mode(sandbox_zhifu, settings, capsys, tmp_path):
    configure(sandbox_zhifu, settings, "certificate", PLATFORM_CERT_DIR=str(tmp_path))
    out = run_check(capsys, fails=False)
    assert "FAIL" not in out and "warn" not in out
    assert "platform certificate(s)" in out and "decrypted with APIV3_KEY" in out
    assert "verifies with the configured certificate" in out


def test_good_keys_while_migrating(sandbox_zhifu, settings, capsys, tmp_path):
    configure(sandbox_zhifu, settings, "migration", PLATFORM_CERT_DIR=str(tmp_path))
    out = run_check(capsys, fails=False)
    assert "FAIL" not in out
    assert "platform certificate(s)" in out and "ORDER_NOT_EXIST" in out


@pytest.mark.parametrize("mode", ["public_key", "certificate"])
def test_a_wrong_merchant_key_is_named(sandbox_zhifu, settings, capsys, mode):
    info = configure(sandbox_zhifu, settings, mode)
    other = generate_merchant_certificate(info["mchid"])
    # the certificate is left out: with it, `manage.py check` already says the pair differs
    settings.ZHIFU["WECHATPAY"].pop("MERCHANT_CERT")
    settings.ZHIFU = {
        **settings.ZHIFU,
        "WECHATPAY": {**settings.ZHIFU["WECHATPAY"], "MERCHANT_PRIVATE_KEY": other.private_pem},
    }
    out = run_check(capsys, fails=True)
    assert "rejected our signature" in out and "MERCHANT_PRIVATE_KEY" in out
    assert "SIGN_ERROR" in out


def test_a_wrong_merchant_serial_is_named(sandbox_zhifu, settings, capsys):
    configure(sandbox_zhifu, settings, "public_key", MERCHANT_CERT=None, MERCHANT_SERIAL="1A2B3C")
    out = run_check(capsys, fails=True)
    assert "rejected our signature" in out and "MERCHANT_SERIAL" in out


def test_a_wrong_apiv3_key_in_certificate_mode_is_named(sandbox_zhifu, settings, capsys):
    configure(sandbox_zhifu, settings, "certificate", APIV3_KEY="x" * 32)
    out = run_check(capsys, fails=True)
    assert "do not decrypt with APIV3_KEY" in out
    assert "ORDER_NOT_EXIST" not in out  # stopped at the first finding


def test_a_wrong_wechat_public_key_is_named(sandbox_zhifu, settings, capsys):
    stranger = new_public_key()
    from cryptography.hazmat.primitives import serialization

    pem = (
        stranger.private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    configure(sandbox_zhifu, settings, "public_key", PUBLIC_KEY=pem)
    out = run_check(capsys, fails=True)
    assert "ORDER_NOT_EXIST, as expected" in out  # our signature is fine
    assert "does not verify" in out and "PUBLIC_KEY is not WeChat Pay's public key" in out


def test_a_wrong_public_key_id_is_named(sandbox_zhifu, settings, capsys):
    configure(sandbox_zhifu, settings, "public_key", PUBLIC_KEY_ID="PUB_KEY_ID_" + "1" * 32)
    out = run_check(capsys, fails=True)
    assert "PUBLIC_KEY_ID is not this merchant's" in out


def test_certificate_settings_for_a_public_key_merchant(sandbox_zhifu, settings, capsys):
    configure(sandbox_zhifu, settings, "public_key")
    wx = {k: v for k, v in settings.ZHIFU["WECHATPAY"].items() if not k.startswith("PUBLIC_KEY")}
    settings.ZHIFU = {**settings.ZHIFU, "WECHATPAY": wx}
    out = run_check(capsys, fails=True)
    assert "has no platform certificates" in out and "set PUBLIC_KEY and PUBLIC_KEY_ID" in out


def test_an_unreachable_wechat_gateway_is_named(sandbox_zhifu, settings, capsys):
    configure(sandbox_zhifu, settings, "public_key", GATEWAY_URL="http://127.0.0.1:9")
    out = run_check(capsys, fails=True)
    assert "cannot reach http://127.0.0.1:9" in out
    assert "ACQ.TRADE_NOT_EXIST" in out  # Alipay's finding still printed


def test_without_the_wechat_provider_nothing_is_said_of_it(sandbox_zhifu, capsys):
    call_command("zhifu_check")
    assert "WeChat" not in capsys.readouterr().out
