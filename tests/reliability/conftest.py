"""The reliability suite's stack: one fresh PostgreSQL database, the demo site under gunicorn
(3 sync workers) selling with Alipay and WeChat Pay, and a real sandbox (both gateways) for the
session, plus a pool of client processes.

PostgreSQL only: SQLite serialises every writer, so none of these faults can happen there."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.buyer import Buyers, abandon_wechat_notifications
from tests.reliability.stack import Site, create_database, drop_database, wechat_env

FIGURES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("reliability figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def pg_server() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip(
            "the reliability suite needs PostgreSQL (DATABASE_URL=postgres://...): on SQLite "
            "writers are serialised, so deadlocks and races between workers cannot happen"
        )
    return url


@pytest.fixture(scope="session")
def gateway() -> Iterator[Any]:
    from zhifu.sandbox.testing import SandboxServer

    server = SandboxServer(time_scale=1.0)  # retries in minutes: the tests deliver themselves
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def site(pg_server: str, gateway: Any) -> Iterator[Site]:
    name = f"zhifu_reliability_{os.getpid()}"
    url = create_database(pg_server, name)
    root = Path(tempfile.mkdtemp(prefix="zhifu-reliability-"))
    site = Site(root, url, gateway.data_dir, **wechat_env(gateway))
    try:
        site.migrate()
        site.start()
        yield site
    finally:
        site.stop()
        drop_database(pg_server, name)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pool() -> Iterator[ProcessPoolExecutor]:
    """Client processes: deliveries come from several processes at once, as from Alipay's
    servers."""
    with ProcessPoolExecutor(8, mp_context=multiprocessing.get_context("spawn")) as executor:
        yield executor


@pytest.fixture
def buyers(
    site: Site, gateway: Any, pool: ProcessPoolExecutor, capsys: pytest.CaptureFixture[str]
) -> Iterator[Buyers]:
    """The test's own users and catalog rows; notifications (Alipay's and WeChat's) are
    recorded by the sandbox but not sent (the test delivers them), and nothing pending is left
    behind."""
    gateway.faults(reset=True)
    gateway.faults(drop_notifications=100000)
    gateway.wechat_faults(reset=True)
    gateway.wechat_faults(drop_notifications=100000)

    def say(line: str) -> None:
        FIGURES.append(line)
        with capsys.disabled():  # shown with or without -s
            print(f"\n  {line}")

    yield Buyers(site, gateway, pool, say)
    gateway.abandon_notifications()
    abandon_wechat_notifications(gateway)
    gateway.faults(reset=True)
    gateway.wechat_faults(reset=True)


@pytest.fixture
def wechat(buyers: Buyers) -> Buyers:
    """The same, for a test of WeChat Pay: the site must offer it, configured in public-key
    mode against the sandbox and telling WeChat to notify the site itself."""
    conf = buyers.site.run("wechat")
    assert "wechatpay" in conf["providers"], conf
    assert conf["checks"] == [], conf["checks"]
    assert conf["public_key_mode"], conf
    assert conf["notify_url"] == buyers.site.wechat_notify_url, conf
    assert conf["gateway_url"].rstrip("/") == buyers.gateway.url.rstrip("/"), conf
    return buyers
