"""The real stack the reliability tests run against, started from the test process:

- a fresh PostgreSQL database on the server of ``DATABASE_URL`` (or on a throwaway cluster, see
  :class:`Cluster`), migrated with the demo's migrations and dropped at the end;
- the demo site under gunicorn with several sync worker processes (``demo_site.settings``);
- a real zhifu sandbox (``SandboxServer``) whose data dir gives the site its keys, for Alipay
  and for WeChat Pay (its merchant in public-key mode, notifying the site: :func:`wechat_env`).

Nothing here imports Django: the site's state is read through ``sitectl`` in a process of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def create_database(server_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wechat_env(gateway: Any) -> dict[str, str]:
    """The site's WeChat Pay settings beyond what the sandbox's ``sandbox.json`` gives: the
    sandbox's merchant put in public-key mode, and WeChat Pay's public key and its id named
    explicitly (the notify URL is the site's own, see :class:`Site`)."""
    gateway.wechat_mode("public_key")
    info = gateway.wechat_info
    return {
        "ZHIFU_WECHATPAY_PUBLIC_KEY": info["key_files"]["wechatpay_public_key"],
        "ZHIFU_WECHATPAY_PUBLIC_KEY_ID": info["wechatpay_public_key_id"],
    }


def attempt_number(pay_url: str) -> str:
    """The payment attempt's out_trade_no, from the signed page-pay URL's biz_content."""
    biz = parse_qs(urlsplit(pay_url).query)["biz_content"][0]
    return str(json.loads(biz)["out_trade_no"])


class Site:
    """The demo site under gunicorn (``workers`` sync workers) on a free port."""

    def __init__(
        self, root: Path, database_url: str, sandbox_dir: Path, *, workers: int = 3, **env: str
    ) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.log = root / "gunicorn.log"
        self.env = {
            **os.environ,
            "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'demo'}",
            "DJANGO_SETTINGS_MODULE": "demo_site.settings",
            "DATABASE_URL": database_url,
            "DJANGO_SECRET_KEY": "reliability-tests-only-" + "x" * 40,
            "DJANGO_DEBUG": "0",
            "DEMO_VAR_DIR": str(root / "var"),
            "DEMO_CACHE": "locmem",
            "ZHIFU_SANDBOX_DIR": str(sandbox_dir),
            "DEMO_SITE_URL": self.url,
            "CELERY_BROKER_URL": "memory://",
            "ZHIFU_WECHATPAY_NOTIFY_URL": self.url + "/zhifu/wechatpay/notify/",
            **env,
        }
        self.env.pop("PYTEST_VERSION", None)  # the settings would take the site for a tool
        self.env.pop("PYTEST_CURRENT_TEST", None)
        self._proc: subprocess.Popen[bytes] | None = None
        self._ctl: subprocess.Popen[str] | None = None

    @property
    def notify_url(self) -> str:
        return self.url + "/zhifu/alipay/notify/"

    @property
    def wechat_notify_url(self) -> str:
        return self.url + "/zhifu/wechatpay/notify/"

    def run(self, command: str, arg: dict[str, Any] | None = None) -> Any:
        """A ``sitectl`` command inside the site (one process serves them all); its answer."""
        if self._ctl is None or self._ctl.poll() is not None:
            with open(self.root / "sitectl.log", "ab") as log:
                self._ctl = subprocess.Popen(
                    [sys.executable, "-m", "tests.reliability.sitectl", "serve"],
                    cwd=REPO,
                    env=self.env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                )
        assert self._ctl.stdin is not None and self._ctl.stdout is not None
        self._ctl.stdin.write(json.dumps({"command": command, "arg": arg or {}}) + "\n")
        self._ctl.stdin.flush()
        line = self._ctl.stdout.readline()
        if not line:
            raise RuntimeError(f"sitectl exited:\n{self.log_tail(name='sitectl.log')}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"sitectl {command} failed:\n{answer['error']}")
        return answer["result"]

    def migrate(self) -> None:
        done = subprocess.run(
            [sys.executable, str(REPO / "demo" / "manage.py"), "migrate", "--noinput", "-v0"],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            timeout=300,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"migrate failed:\n{done.stderr.decode()[-3000:]}")

    def start(self) -> Site:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log, "ab")  # the child keeps its own copy
        self._proc = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--workers",
                str(self.workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--chdir",
                str(REPO / "demo"),
                "--timeout",
                "60",
                "--graceful-timeout",
                "3",
                "demo_site.wsgi",
            ],
            cwd=REPO,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/api/catalog/", timeout=5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer in 90 s:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        assert self._proc is not None
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self._proc.pid)], capture_output=True, check=False
        )
        return [int(p) for p in out.stdout.split()]

    def stop(self) -> None:
        if self._ctl is not None:
            assert self._ctl.stdin is not None
            self._ctl.stdin.close()  # its loop ends
            try:
                self._ctl.wait(15)
            except subprocess.TimeoutExpired:
                self._ctl.kill()
                self._ctl.wait(5)
            self._ctl = None
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        self._proc = None

    def log_tail(self, n: int = 4000, name: str = "gunicorn.log") -> str:
        try:
            return (self.root / name).read_text(errors="replace")[-n:]
        except OSError:
            return ""


class Cluster:
    """A throwaway PostgreSQL cluster (``initdb`` + ``pg_ctl``) on a free port, in a temporary
    directory removed by :meth:`remove`; it can be stopped, started, paused and resumed."""

    def __init__(self) -> None:
        self.bin = self.find_bin()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="zhifu-pg-"))
        self.data = self.dir / "data"
        self._as: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            shutil.chown(self.dir, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]

    @staticmethod
    def find_bin() -> Path | None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        return found[-1].parent if found else None

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, *args: str) -> None:
        assert self.bin is not None
        subprocess.run(
            [*self._as, str(self.bin / args[0]), *args[1:]],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def init(self) -> Cluster:
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        return self.start()

    def start(self) -> Cluster:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-w",
            "-l",
            str(self.dir / "log"),
            "start",
        )
        return self

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def pids(self) -> list[int]:
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True)
        return [pid, *(int(p) for p in out.stdout.split())]

    def pause(self) -> list[int]:
        """SIGSTOP the postmaster and every backend: connections hang, nothing answers."""
        pids = self.pids()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        return pids

    @staticmethod
    def resume(pids: list[int]) -> None:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)

    def remove(self) -> None:
        try:
            self.stop()
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
