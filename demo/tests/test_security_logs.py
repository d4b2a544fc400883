"""No signature, password hash or session key in the site's logs: gunicorn's access log (run
for real with the demo's config) and Django's SQL log with DEBUG on, through the handlers of
the demo's LOGGING."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[1]
REPO = DEMO.parent
SIGN = "Q2hlY2tNZVNpZ25hdHVyZQ%3D%3D"  # what a return URL's sign= looks like, URL-encoded


def _env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DEMO_", "DATABASE_URL", "REDIS_URL", "PYTEST_"))
    }
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(DEMO), str(REPO / "src")]),
            "DJANGO_SETTINGS_MODULE": "demo_site.settings",
            "DEMO_VAR_DIR": str(var_dir),
            "DJANGO_SECRET_KEY": "k" * 10 + "-test-only-secret-key-for-the-log-tests-0123456789",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gunicorn_access_log_redacts_the_return_urls_signature(tmp_path: Path) -> None:
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        pytest.skip(f"gunicorn is not installed beside {sys.executable} (the demo extra has it)")
    port = _free_port()
    proc = subprocess.Popen(
        [
            str(gunicorn),
            "-c",
            "demo_site/gunicorn_conf.py",
            "demo_site.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        cwd=DEMO,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/zhifu/alipay/return/?out_trade_no=Z1&sign={SIGN}&app_id=2021"
    try:
        deadline = time.monotonic() + 60
        while True:
            request = urllib.request.Request(
                url, headers={"Referer": f"https://openapi.alipay.com/gateway.do?sign={SIGN}"}
            )
            try:
                urllib.request.urlopen(request, timeout=5).close()  # noqa: S310 - local server
                break
            except urllib.error.HTTPError:
                break  # any answer is logged
            except (urllib.error.URLError, OSError):
                assert proc.poll() is None, "gunicorn exited"
                assert time.monotonic() < deadline, "gunicorn did not answer in 60 s"
                time.sleep(0.3)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    access = [line for line in output.splitlines() if '"GET /zhifu/alipay/return/' in line]
    assert access, output  # the access log is on, and it printed the request
    assert all("sign=[redacted]" in line for line in access), access
    assert SIGN not in output and "Q2hlY2tNZVNpZ25hdHVyZQ" not in output


_SCRIPT = """
from django.contrib.auth import get_user_model
from django.test import Client
user = get_user_model().objects.create_user("eve", password="correct-horse-battery")
client = Client()
assert client.post("/accounts/login/", {"username": "eve", "password": "correct-horse-battery"}).status_code == 302
client.get("/orders/")
print("SESSION", client.cookies["sessionid"].value)
print("HASH", get_user_model().objects.get(username="eve").password)
"""


def test_sql_log_with_debug_shows_no_session_key_or_password_hash(tmp_path: Path) -> None:
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--skip-checks", "-v", "0"],
        cwd=DEMO,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", _SCRIPT],
        cwd=DEMO,
        env=_env(tmp_path, DJANGO_DEBUG="1", DJANGO_LOG_SQL="1"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    values = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    session_key, password_hash = values["SESSION"], values["HASH"]
    log = done.stderr
    # SQL logging is on and did see the session and the password being written
    assert 'FROM "django_session"' in log and 'INTO "auth_user"' in log
    assert session_key not in log
    assert password_hash not in log and password_hash.split("$")[-1] not in log
    assert "[redacted password hash]" in log and "'[redacted]'" in log


def test_every_handler_the_demo_configures_redacts() -> None:
    """Django's own loggers included: runserver's request lines ("django.server") show the
    return URL with sign=, SQL goes through "django"."""
    import logging

    from django.conf import settings

    from zhifu.logs import RedactFilter

    assert {"django", "django.server", "zhifu", "demo"} <= set(settings.LOGGING["loggers"])
    configured = set(settings.LOGGING["handlers"])  # dictConfig names each handler
    handlers = [
        handler
        for name, logger in settings.LOGGING["loggers"].items()
        for handler in logging.getLogger(name).handlers
        if logger.get("handlers") and handler.name in configured
    ]
    assert {h.name for h in handlers} == configured  # every one is in use
    for handler in handlers:
        assert any(isinstance(f, RedactFilter) for f in handler.filters), handler.name
