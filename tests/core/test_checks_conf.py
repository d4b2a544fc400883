"""System checks, the lazy setting, and the once-per-process provider (and Alipay client)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from zhifu.alipay import generate_key_pair
from zhifu.checks import check_zhifu_settings
from zhifu.conf import zhifu_settings
from zhifu.providers import registry


def get_alipay_client():
    return registry.get("alipay").client  # type: ignore[attr-defined]


def ids(settings_fixture=None):
    return sorted({m.id for m in check_zhifu_settings()})


def test_a_good_configuration_passes(fake_alipay, settings):
    settings.ZHIFU = {**fake_alipay.config, "GATEWAY_URL": "https://openapi.alipay.com/gateway.do"}
    assert check_zhifu_settings() == []


def test_missing_setting(settings):
    del settings.ZHIFU
    assert ids() == ["zhifu.E001"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"APP_ID": ""}, "zhifu.E002"),
        ({"APP_PRIVATE_KEY": "not a key"}, "zhifu.E003"),
        ({"APP_PRIVATE_KEY": "/nonexistent/key.pem"}, "zhifu.E003"),
        (
            {"ALIPAY_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"},
            "zhifu.E005",
        ),
        ({"SIGN_TYPE": "MD5"}, "zhifu.E007"),
        ({"GATEWAY_URL": "openapi.alipay.com/gateway.do"}, "zhifu.E008"),
        ({"GATEWAY_URL": "http://openapi.alipay.com/gateway.do"}, "zhifu.E008"),
        ({"NOTIFY_URL": "/zhifu/alipay/notify/"}, "zhifu.E009"),
        (
            {
                "NOTIFY_URL": "http://127.0.0.1:8000/zhifu/alipay/notify/",
                "GATEWAY_URL": "https://openapi.alipay.com/gateway.do",
            },
            "zhifu.E010",
        ),
        (
            {
                "NOTIFY_URL": "http://localhost/zhifu/alipay/notify/",
                "GATEWAY_URL": "https://openapi.alipay.com/gateway.do",
            },
            "zhifu.E010",
        ),
        ({"ORDER_EXPIRY": -5}, "zhifu.E011"),
        ({"LATE_PAYMENT_POLICY": "keep"}, "zhifu.E012"),
        ({"CATALOG": "no.such.module.resolve"}, "zhifu.E013"),
        ({"APP_CERT": "x"}, "zhifu.E004"),
        ({"RECONCILE_SCHEDULE": (60, 600)}, "zhifu.W003"),
        ({"GATEWAY_URL": "https://openapi.alipay.com/"}, "zhifu.W002"),
        ({"APP_SECRET": "typo"}, "zhifu.W001"),
        ({"SELLER_ID": "", "GATEWAY_URL": "https://openapi.alipay.com/gateway.do"}, "zhifu.E015"),
        ({"SELLER_ID": "seller@example.com"}, "zhifu.E015"),
        ({"PROVIDERS": ["no.such.Provider"]}, "zhifu.E016"),
        ({"HTTP_TIMEOUT": 0}, "zhifu.E017"),
        ({"REFUND_RETRY_AFTER": "soon"}, "zhifu.E017"),
        ({"SEND_TIME_EXPIRE": "yes"}, "zhifu.E018"),
        ({"ORDER_NO_PREFIX": "Z-"}, "zhifu.E019"),
        ({"ORDER_NO_PREFIX": "VERYLONGPREFIX"}, "zhifu.E019"),
        ({"QUIT_URL": "/shop/"}, "zhifu.E009"),
    ],
)
def test_each_problem_is_reported(fake_alipay, settings, change, expected):
    settings.ZHIFU = {**fake_alipay.config, **change}
    assert expected in ids()


def test_private_key_must_match_the_configured_app_public_key(fake_alipay, settings):
    settings.ZHIFU = {**fake_alipay.config, "APP_PUBLIC_KEY": generate_key_pair().public_pem}
    messages = check_zhifu_settings()
    assert [m.id for m in messages] == ["zhifu.E006"]
    assert "does not match" in messages[0].msg


def test_the_merchant_id_may_be_left_out_only_for_a_local_sandbox(fake_alipay, settings):
    settings.ZHIFU = {**fake_alipay.config, "SELLER_ID": ""}  # gateway on 127.0.0.1
    assert "zhifu.E015" not in ids()
    settings.ZHIFU = {
        **fake_alipay.config,
        "SELLER_ID": "",
        "GATEWAY_URL": "https://openapi.alipay.com/gateway.do",
    }
    (message,) = [m for m in check_zhifu_settings() if m.id == "zhifu.E015"]
    assert "PID" in message.hint


def test_local_notify_url_is_fine_with_debug_or_a_local_sandbox(fake_alipay, settings):
    local = {**fake_alipay.config, "NOTIFY_URL": "http://127.0.0.1:8000/zhifu/alipay/notify/"}
    settings.ZHIFU = {**local, "GATEWAY_URL": "http://127.0.0.1:9000/gateway.do"}
    assert "zhifu.E010" not in ids()
    settings.ZHIFU = {**local, "GATEWAY_URL": "https://openapi.alipay.com/gateway.do"}
    settings.DEBUG = True
    assert "zhifu.E010" not in ids()


def test_keys_may_be_paths(fake_alipay, settings, tmp_path, fake_alipay_keys):
    app_keys, alipay_keys = fake_alipay_keys
    (tmp_path / "app.pem").write_text(app_keys.private_pem)
    (tmp_path / "alipay.pem").write_text(alipay_keys.public_one_line)
    settings.ZHIFU = {
        **fake_alipay.config,
        "APP_PRIVATE_KEY": str(tmp_path / "app.pem"),
        "ALIPAY_PUBLIC_KEY": str(tmp_path / "alipay.pem"),
    }
    assert check_zhifu_settings() == []
    assert get_alipay_client().app_id == fake_alipay.app_id


def test_settings_are_lazy_and_the_client_is_cached_until_the_setting_changes(
    fake_alipay, settings
):
    first = get_alipay_client()
    assert get_alipay_client() is first  # keys loaded once per process
    assert zhifu_settings.LATE_PAYMENT_POLICY == "refund"  # a default
    settings.ZHIFU = {**fake_alipay.config, "APP_ID": "2021000000000002", "ORDER_EXPIRY": 60}
    second = get_alipay_client()
    assert second is not first and second.app_id == "2021000000000002"
    assert zhifu_settings.ORDER_EXPIRY.total_seconds() == 60
    with pytest.raises(AttributeError):
        _ = zhifu_settings.NO_SUCH_SETTING


def test_zhifu_check_against_the_sandbox(sandbox_zhifu, capsys):
    call_command("zhifu_check")
    out = capsys.readouterr().out
    assert "ACQ.TRADE_NOT_EXIST" in out and "FAIL" not in out


def test_zhifu_check_explains_a_wrong_alipay_key(sandbox_zhifu, settings, capsys):
    settings.ZHIFU = {**settings.ZHIFU, "ALIPAY_PUBLIC_KEY": settings.ZHIFU["APP_PUBLIC_KEY"]}
    with pytest.raises(CommandError):
        call_command("zhifu_check")
    assert "ALIPAY_PUBLIC_KEY is not the Alipay public key" in capsys.readouterr().out


def test_zhifu_check_explains_a_wrong_app_key(sandbox_zhifu, settings, capsys):
    other = generate_key_pair()
    settings.ZHIFU = {
        **settings.ZHIFU,
        "APP_PRIVATE_KEY": other.private_pem,
        "APP_PUBLIC_KEY": other.public_pem,
    }
    with pytest.raises(CommandError):
        call_command("zhifu_check")
    assert "does not match the app public key uploaded" in capsys.readouterr().out


def test_zhifu_check_explains_an_unreachable_gateway(fake_alipay, capsys):
    with pytest.raises(CommandError):
        call_command("zhifu_check")
    assert "cannot reach the gateway" in capsys.readouterr().out


def test_zhifu_check_reports_configuration_problems(fake_alipay, settings, capsys):
    settings.ZHIFU = {**fake_alipay.config, "APP_PRIVATE_KEY": "garbage"}
    with pytest.raises(CommandError):
        call_command("zhifu_check")
    assert "zhifu.E003" in capsys.readouterr().out
