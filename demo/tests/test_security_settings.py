"""Safe by default: the settings refuse to start without a secret key unless DEBUG is explicitly
on, DEBUG is off unless asked for, `make demo` brings its own key, and `check --deploy` is clean
under the production settings of docs/deployment.en.md. Each case runs ``manage.py`` in a
subprocess, as an operator would."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DEMO = Path(__file__).resolve().parents[1]
REPO = DEMO.parent
KEY = "x7Qp2-vN9sLm4Rt8Wz1Kc6Hd3Jf5Gb0Ya-uE2iO7pS9dT4nV1mB8kC3xZ6qL5w"
# the environment of docs/deployment.en.md, section 2
PRODUCTION = {
    "DJANGO_SECRET_KEY": KEY,
    "DJANGO_DEBUG": "0",
    "DJANGO_ALLOWED_HOSTS": "shop.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://shop.example.com",
    "DJANGO_SECURE": "1",
}


def _pem_pair(directory: Path, name: str) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = directory / f"{name}_private_key.pem"
    public = directory / f"{name}_public_key.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


@pytest.fixture(scope="module")
def base_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A real Alipay configuration (fresh keys), SQLite in a temporary directory, and none of
    the variables this module is about."""
    var = tmp_path_factory.mktemp("security-var")
    app_private, app_public = _pem_pair(var, "app")
    _, alipay_public = _pem_pair(var, "alipay")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "ZHIFU_", "DEMO_", "DATABASE_URL", "REDIS_URL"))
        and k != "PYTEST_VERSION"  # pytest's own marker would lift the secret-key rule
    }
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(DEMO), str(REPO / "src")]),
            "DJANGO_SETTINGS_MODULE": "demo_site.settings",
            "DEMO_VAR_DIR": str(var),
            "DEMO_SITE_URL": "https://shop.example.com",
            "ZHIFU_APP_ID": "2021000000000001",
            "ZHIFU_SELLER_ID": "2088000000000001",
            "ZHIFU_APP_PRIVATE_KEY": str(app_private),
            "ZHIFU_APP_PUBLIC_KEY": str(app_public),
            "ZHIFU_ALIPAY_PUBLIC_KEY": str(alipay_public),
            "ZHIFU_GATEWAY_URL": "https://openapi.alipay.com/gateway.do",
        }
    )
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DEMO / "manage.py"), *args],
        env=env,
        cwd=DEMO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def setting(env: dict[str, str], expression: str) -> str:
    done = manage(
        env, "shell", "-v", "0", "-c", f"from django.conf import settings; print({expression})"
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_no_secret_key_and_no_debug_refuses_to_start(base_env: dict[str, str]) -> None:
    for debug in (None, "0"):
        env = dict(base_env)
        if debug is not None:
            env["DJANGO_DEBUG"] = debug
        done = manage(env, "check")
        assert done.returncode != 0
        assert "DJANGO_SECRET_KEY is not set" in done.stderr


def test_explicit_debug_runs_without_a_key_with_a_random_one(base_env: dict[str, str]) -> None:
    env = {**base_env, "DJANGO_DEBUG": "1"}
    done = manage(env, "check")
    assert done.returncode == 0, done.stderr
    first = setting(env, "settings.SECRET_KEY")
    assert len(first) >= 50 and first != setting(env, "settings.SECRET_KEY")
    assert setting(env, "settings.DEBUG") == "True"


def test_debug_is_off_unless_asked_for(base_env: dict[str, str]) -> None:
    env = {**base_env, "DJANGO_SECRET_KEY": KEY}
    assert manage(env, "check").returncode == 0
    assert setting(env, "settings.DEBUG") == "False"
    assert setting(env, "settings.SECRET_KEY") == KEY


def test_check_deploy_is_clean_under_the_production_settings(base_env: dict[str, str]) -> None:
    """The environment of docs/deployment.en.md, section 2."""
    env = {**base_env, **PRODUCTION}
    done = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout
    # and without DJANGO_SECURE the same check names what is missing
    insecure = manage({**env, "DJANGO_SECURE": "0"}, "check", "--deploy", "--fail-level", "WARNING")
    assert insecure.returncode != 0
    assert "security.W004" in insecure.stderr and "security.W012" in insecure.stderr


def test_make_demo_brings_a_persistent_private_key(tmp_path: Path) -> None:
    import run_demo

    first = run_demo.local_secret_key(tmp_path)
    assert len(first) >= 50
    assert run_demo.local_secret_key(tmp_path) == first  # sessions survive a restart
    mode = stat.S_IMODE((tmp_path / "secret_key").stat().st_mode)
    assert mode == 0o600


_PROBE = """
from django.test import Client
c = Client(HTTP_HOST="shop.example.com")
plain = c.get("/api/schema/", HTTP_X_FORWARDED_PROTO="http")
lang = c.post("/i18n/setlang/", {"language": "en", "next": "/"}, HTTP_X_FORWARDED_PROTO="https")
print(plain.status_code, plain.headers.get("Location"))
print(lang.headers.get("Strict-Transport-Security"))
print(lang.headers.get("Content-Security-Policy"))
print(lang.cookies["django_language"]["secure"], lang.cookies["django_language"]["samesite"])
"""


def test_production_answers_carry_hsts_csp_and_secure_cookies(base_env: dict[str, str]) -> None:
    """Through the whole middleware stack under the settings of docs/deployment.en.md: plain HTTP
    is redirected to HTTPS, HTTPS answers carry HSTS and the CSP, the language cookie is
    Secure like the session and CSRF cookies."""
    done = manage({**base_env, **PRODUCTION}, "shell", "-v", "0", "-c", _PROBE)
    assert done.returncode == 0, done.stderr
    redirect, hsts, csp, cookie = done.stdout.strip().splitlines()[-4:]
    assert redirect == "301 https://shop.example.com/api/schema/"
    assert "max-age=31536000" in hsts and "includeSubDomains" in hsts
    assert "script-src 'self'" in csp and "form-action 'self' https://openapi.alipay.com" in csp
    assert cookie == "True Lax"
    assert setting({**base_env, **PRODUCTION}, "settings.SESSION_COOKIE_SECURE") == "True"


def test_behind_the_proxy_the_buyers_address_comes_from_x_forwarded_for(
    base_env: dict[str, str],
) -> None:
    """WeChat Pay H5 is told the buyer's IP (zhifu.payer follows DRF's NUM_PROXIES): behind the
    HTTPS proxy that is the client's address in X-Forwarded-For, not the proxy's own."""
    expression = 'settings.REST_FRAMEWORK["NUM_PROXIES"]'
    assert setting({**base_env, **PRODUCTION}, expression) == "1"
    assert setting({**base_env, "DJANGO_DEBUG": "1"}, expression) == "None"
    assert setting({**base_env, **PRODUCTION, "DJANGO_NUM_PROXIES": "2"}, expression) == "2"
