"""Which Alipay key mode the demo uses with the local sandbox: certificate mode by default (Alipay
makes transfers only in that mode, so withdrawals work), public-key mode on request, a clear
refusal of anything else. Each case runs ``manage.py`` in a subprocess on a real sandbox's data
directory, as ``make demo`` does."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .test_security_settings import DEMO, REPO, manage, setting

CERTS = ("APP_CERT", "ALIPAY_PUBLIC_CERT", "ALIPAY_ROOT_CERT")


@pytest.fixture(scope="module")
def sandbox_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from zhifu.sandbox.testing import SandboxServer

    var = tmp_path_factory.mktemp("key-mode-var")
    with SandboxServer(var / "sandbox"):  # writes its keys, certificates and sandbox.json
        pass
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "ZHIFU_", "DEMO_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(DEMO), str(REPO / "src")]),
            "DJANGO_SETTINGS_MODULE": "demo_site.settings",
            "DJANGO_DEBUG": "1",
            "DEMO_VAR_DIR": str(var),
        }
    )
    return env


def _certs(env: dict[str, str]) -> dict[str, str]:
    keys = ", ".join(repr(k) for k in CERTS)
    expression = f"__import__('json').dumps({{k: settings.ZHIFU.get(k, '') for k in ({keys})}})"
    return dict(json.loads(setting(env, expression)))


def test_certificate_mode_by_default_with_the_sandbox(sandbox_env: dict[str, str]) -> None:
    info = json.loads((Path(sandbox_env["DEMO_VAR_DIR"]) / "sandbox" / "sandbox.json").read_text())
    assert _certs(sandbox_env) == {
        "APP_CERT": info["app_cert_file"],
        "ALIPAY_PUBLIC_CERT": info["alipay_public_cert_file"],
        "ALIPAY_ROOT_CERT": info["alipay_root_cert_file"],
    }
    checked = manage(sandbox_env, "check")  # the certificates load and belong together
    assert checked.returncode == 0, checked.stderr


def test_public_key_mode_on_request(sandbox_env: dict[str, str]) -> None:
    env = {**sandbox_env, "ZHIFU_ALIPAY_KEY_MODE": "public_key"}
    assert _certs(env) == dict.fromkeys(CERTS, "")
    assert manage(env, "check").returncode == 0


def test_a_real_app_id_takes_nothing_from_the_sandbox(sandbox_env: dict[str, str]) -> None:
    env = {**sandbox_env, "ZHIFU_APP_ID": "2021000000000001"}
    assert _certs(env) == dict.fromkeys(CERTS, "")


def test_an_unknown_mode_is_refused_by_name(sandbox_env: dict[str, str]) -> None:
    done = manage({**sandbox_env, "ZHIFU_ALIPAY_KEY_MODE": "cert"}, "check")
    assert done.returncode != 0
    assert "ZHIFU_ALIPAY_KEY_MODE='cert'" in done.stderr and "public_key" in done.stderr
