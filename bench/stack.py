"""The real stack the benchmarks run against, started and stopped by bench/run.py.

- a PostgreSQL database of our own, ``zhifu_bench_<pid>``, on the server of ``DATABASE_URL``
  (default ``postgres://postgres@127.0.0.1:5432/test``), created and dropped here;
- the local Alipay sandbox (``zhifu sandbox``) in a temporary data directory: it makes the keys
  and ``sandbox.json`` the demo's settings read, and holds the "Alipay" private key the bench
  signs notifications with;
- gunicorn with N sync workers serving the demo site (``bench_site.settings``: the demo's
  settings, DEBUG off, plus the bench-only reference views), its access log redacted as in the
  demo, output in ``<tmp>/gunicorn.log``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DEMO_DIR = REPO_DIR / "demo"
BIN_DIR = Path(sys.executable).parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


class Stack:
    def __init__(self, workers: int, keep: bool = False) -> None:
        self.workers = workers
        self.keep = keep
        self.tmp = Path(tempfile.mkdtemp(prefix="zhifu-bench-"))
        self.sandbox_dir = self.tmp / "sandbox"
        self.server_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
        parts = urlsplit(self.server_url)
        self.db_name = f"zhifu_bench_{os.getpid()}"
        self.database_url = urlunsplit(parts._replace(path="/" + self.db_name))
        self.port = free_port()
        self.sandbox_port = free_port()
        self.site_url = f"http://127.0.0.1:{self.port}"
        self.sandbox: subprocess.Popen[bytes] | None = None
        self.gunicorn: subprocess.Popen[bytes] | None = None
        self.created_db = False
        self.env = dict(os.environ)
        self.env.update(
            {
                "DATABASE_URL": self.database_url,
                "DJANGO_SETTINGS_MODULE": "bench_site.settings",
                "DJANGO_DEBUG": "0",
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
                "DEMO_VAR_DIR": str(self.tmp),
                "ZHIFU_SANDBOX_DIR": str(self.sandbox_dir),
                "DEMO_SITE_URL": self.site_url,
                "PYTHONPATH": os.pathsep.join(
                    p
                    for p in (
                        str(BENCH_DIR),
                        str(DEMO_DIR),
                        str(REPO_DIR / "src"),
                        os.environ.get("PYTHONPATH", ""),
                    )
                    if p
                ),
                "PYTHONUNBUFFERED": "1",
            }
        )

    # -- database ---------------------------------------------------------------------------

    def create_database(self) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self.created_db = True

    def drop_database(self) -> None:
        if not self.created_db or self.keep:
            return
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        self.created_db = False

    # -- processes --------------------------------------------------------------------------

    def start_sandbox(self) -> None:
        self.sandbox_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.tmp / "sandbox.log", "wb")
        self.sandbox = subprocess.Popen(
            [
                str(BIN_DIR / "zhifu"),
                "sandbox",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.sandbox_port),
                "--data-dir",
                str(self.sandbox_dir),
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_http(f"http://127.0.0.1:{self.sandbox_port}/sandbox/api/info", 60, self.sandbox)

    def start_site(self) -> None:
        log = open(self.tmp / "gunicorn.log", "wb")
        self.gunicorn = subprocess.Popen(
            [
                str(BIN_DIR / "gunicorn"),
                "--config",
                "demo_site/gunicorn_conf.py",  # the demo's redacted access log
                "demo_site.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--worker-class",
                "sync",
                "--timeout",
                "60",
            ],
            env=self.env,
            cwd=DEMO_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_http(self.site_url + "/bench/bare/", 60, self.gunicorn)

    def check_alive(self) -> None:
        for proc in (self.sandbox, self.gunicorn):
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(
                    f"{proc.args[0]} exited with status {proc.returncode}; see {self.tmp}"
                )

    def stop(self) -> None:
        _stop(self.gunicorn)
        _stop(self.sandbox)
        self.drop_database()
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
