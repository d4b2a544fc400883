"""The wheel in a clean virtualenv, as a user gets it from PyPI.

1. Only the core: no Django comes with it; ``zhifu --help`` works and ``zhifu sandbox`` starts.
2. Then ``[django]`` (Django and nothing else): a minimal site (tests/packaging/minimal_site)
   migrates, passes ``check`` and pays an order through Zhifu's services against that sandbox,
   without DRF or Celery installed.
3. Every extra a site would add installs beside Django 6.1 without moving it.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from .conftest import MINIMAL_SITE, Dist, run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_sandbox(zhifu: Path, data_dir: Path) -> tuple[subprocess.Popen[str], int]:
    port = _free_port()
    proc = subprocess.Popen(
        [zhifu, "sandbox", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/sandbox/api/info", timeout=1).raise_for_status()
            return proc, port
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                out = proc.communicate()[0]
                pytest.fail(f"zhifu sandbox did not start within 30 s:\n{out}")
            time.sleep(0.1)


def test_wheel_core_then_django_extra_in_a_clean_venv(dist: Dist, make_venv, tmp_path) -> None:
    venv = make_venv(name="core")
    venv.install(dist.wheel)
    assert venv.version_of("zhifu") is not None
    for absent in ("django", "djangorestframework", "celery", "psycopg"):
        assert venv.version_of(absent) is None, f"the core install pulled in {absent}"

    helped = run(venv.bin("zhifu"), "--help")
    assert "sandbox" in helped.stdout, helped.stdout

    sandbox_dir = tmp_path / "sandbox"
    sandbox, port = _start_sandbox(venv.bin("zhifu"), sandbox_dir)
    try:
        info = httpx.get(f"http://127.0.0.1:{port}/sandbox/api/info", timeout=5).json()
        assert (sandbox_dir / "sandbox.json").is_file(), info

        venv.install(f"zhifu[django] @ {dist.wheel.as_uri()}")
        assert venv.version_of("django") is not None
        for absent in ("djangorestframework", "celery", "dj-database-url", "psycopg"):
            assert venv.version_of(absent) is None, f"[django] pulled in {absent}"

        site = tmp_path / "site"
        shutil.copytree(MINIMAL_SITE, site, ignore=shutil.ignore_patterns("__pycache__"))
        env = {
            **os.environ,
            "MINIMAL_SITE_VAR": str(tmp_path),
            "ZHIFU_SANDBOX_DIR": str(sandbox_dir),
            "PYTHONPATH": "",
            "DJANGO_SETTINGS_MODULE": "mysite.settings",
        }
        migrated = run(venv.python, "manage.py", "migrate", "--no-input", cwd=site, env=env)
        assert "Applying zhifu.0001_initial... OK" in migrated.stdout, migrated.stdout
        checked = run(
            venv.python, "manage.py", "check", "--fail-level", "WARNING", cwd=site, env=env
        )
        assert "no issues" in checked.stdout, checked.stdout
        run(venv.python, "manage.py", "makemigrations", "--check", "--dry-run", cwd=site, env=env)
        smoke = run(venv.python, "smoke.py", cwd=site, env=env)
        assert smoke.stdout.rstrip().endswith("ok"), smoke.stdout
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)


def _python_for_django_6() -> str | None:
    """A Python >= 3.12 (Django 6 needs it): one of pyenv's, or on PATH (pyenv's shims on PATH
    may name versions that are not active, so pyenv's own directories come first)."""
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for version in ("3.13", "3.12"):
        if pyenv := sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}")):
            return pyenv[-1]
        found = shutil.which(f"python{version}")
        if found and subprocess.run([found, "-V"], capture_output=True).returncode == 0:
            return found
    return None


def test_every_extra_installs_beside_django_6_1_without_moving_it(dist: Dist, make_venv) -> None:
    python = _python_for_django_6()
    if python is None:
        pytest.skip("no Python >= 3.12 on this machine (Django 6.1 needs it)")
    venv = make_venv(python, name="django61")
    venv.install("Django~=6.1.0")
    before = venv.version_of("django")
    assert before is not None and before.startswith("6.1"), before
    venv.install(f"zhifu[django,api,celery,postgres,demo] @ {dist.wheel.as_uri()}")
    assert venv.version_of("django") == before
    for package in ("djangorestframework", "drf-spectacular", "celery", "psycopg", "gunicorn"):
        assert venv.version_of(package) is not None, f"{package} did not install"
    # The optional modules load on Django 6.1 with the versions the resolver picked.
    code = (
        "import django\n"
        "from django.conf import settings\n"
        "settings.configure(INSTALLED_APPS=['django.contrib.auth', 'django.contrib.contenttypes',"
        " 'rest_framework', 'drf_spectacular', 'zhifu'], ZHIFU={}, SECRET_KEY='x')\n"
        "django.setup()\n"
        "import zhifu.api.urls, zhifu.tasks\n"
        "print(django.get_version())\n"
    )
    loaded = run(venv.python, "-c", code, env={**os.environ, "PYTHONPATH": ""})
    assert loaded.stdout.strip() == before, loaded.stdout
