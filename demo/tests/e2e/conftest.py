"""End-to-end fixtures: the demo runner (sandbox + site + Celery worker with beat) started as real
processes on free ports with a temporary data directory, and headless Chromium via Playwright.

Chromium is Debian's package (``/usr/bin/chromium``); no browser is downloaded. Screenshots of
each final page go to ``test-output/e2e/``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
RUNNER = REPO / "demo" / "run_demo.py"
SHOTS = REPO / "test-output" / "e2e"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ORDER_EXPIRY_SECONDS = 30  # short, so that the expiry test sees the worker expire an order
BEAT_SECONDS = 3  # the worker's beat runs Zhifu's jobs (expire, reconcile) this often
PASSWORD = "zhifu-demo"  # noqa: S105 - the demo users' published password
BUYER = ("buyer1@sandbox.com", "111111")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - local test server
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


class Demo:
    def __init__(self, url: str, sandbox_url: str, var_dir: Path, env: dict[str, str]) -> None:
        self.url = url
        self.sandbox_url = sandbox_url
        self.var_dir = var_dir
        self.env = env

    def log(self) -> str:
        return (SHOTS / "run_demo.log").read_text("utf-8")

    def manage(self, *args: str) -> str:
        """Run a management command against the demo's database (like an operator would)."""
        done = subprocess.run(
            [sys.executable, str(REPO / "demo" / "manage.py"), *args],
            env=self.env,
            cwd=REPO / "demo",
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return done.stdout


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    var_dir = tmp_path_factory.mktemp("demo-var")
    port, sandbox_port = free_port(), free_port()
    env = dict(os.environ)
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)  # the embedded defaults: SQLite, file cache, filesystem broker
    env.update(
        {
            "DEMO_PORT": str(port),
            "SANDBOX_PORT": str(sandbox_port),
            "DEMO_VAR_DIR": str(var_dir),
            "ZHIFU_ORDER_EXPIRY_SECONDS": str(ORDER_EXPIRY_SECONDS),
            "ZHIFU_DEMO_BEAT_SECONDS": str(BEAT_SECONDS),
        }
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    log = open(SHOTS / "run_demo.log", "w", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(RUNNER)],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"run_demo.py exited with {proc.returncode}; see {SHOTS / 'run_demo.log'}"
                )
            if "Press Ctrl-C to stop everything" in (SHOTS / "run_demo.log").read_text(
                "utf-8"
            ) and _up(url + "/"):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"the demo did not start in 180 s; see {SHOTS / 'run_demo.log'}")
            time.sleep(0.3)
        manage_env = dict(env)
        manage_env.update(
            {
                "ZHIFU_SANDBOX_DIR": str(var_dir / "sandbox"),
                "DEMO_SITE_URL": url,
                "PYTHONPATH": os.pathsep.join([str(REPO / "demo"), str(REPO / "src")]),
            }
        )
        yield Demo(url, f"http://127.0.0.1:{sandbox_port}", var_dir, manage_env)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # what Ctrl-C does: the runner stops its children
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip(
            f"Chromium not found at {CHROMIUM} (Debian package 'chromium'); `make test` installs it"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def login(demo: Demo, browser: Any) -> Iterator[Any]:
    """``login("alice")`` -> a Playwright page logged in as that demo user (own context);
    ``login("carol", phone=True)``: a phone-sized touch viewport."""
    contexts = []

    def _login(username: str, phone: bool = False) -> Any:
        if phone:
            context = browser.new_context(
                viewport={"width": 390, "height": 844},
                is_mobile=True,
                has_touch=True,
                device_scale_factor=2,
            )
        else:
            context = browser.new_context(viewport={"width": 1200, "height": 860})
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(demo.url + "/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("[data-testid=login-submit]")
        page.wait_for_selector("[data-testid=username]")
        return page

    yield _login
    for context in contexts:
        context.close()


def pay_at_cashier(page: Any, demo: Demo) -> None:
    """On the sandbox cashier: log in as a sandbox buyer and pay; then we are back on the site."""
    page.wait_for_selector("#pay-form")
    assert page.url.startswith(demo.sandbox_url)
    page.fill("#login", BUYER[0])
    page.fill("#password", BUYER[1])
    page.click("#pay")
    page.wait_for_url(f"{demo.url}/orders/**", timeout=30_000)


def wait_status(page: Any, status: str, timeout: float = 30.0) -> None:
    """The result page refreshes itself while Alipay's confirmation is awaited."""
    try:
        page.wait_for_selector(
            f'[data-testid=status][data-status="{status}"]', timeout=timeout * 1000
        )
    except Exception as exc:  # say what the page showed instead
        text = page.inner_text("body")[:1500] if not page.is_closed() else "(closed)"
        raise AssertionError(
            f"no status {status!r} at {page.url} after {timeout}s:\n{text}"
        ) from exc


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
