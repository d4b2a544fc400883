"""The README's quick start, run as written: `zhifu sandbox` as a real process, then the example."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
ZHIFU = Path(sys.executable).with_name("zhifu")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_readme_quick_start_pays_queries_and_refunds(tmp_path: Path) -> None:
    port = _free_port()
    data_dir = tmp_path / "sandbox"
    sandbox = subprocess.Popen(
        [str(ZHIFU), "sandbox", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/sandbox/api/info", timeout=1)
                break
            except httpx.HTTPError:
                assert sandbox.poll() is None, sandbox.stdout.read() if sandbox.stdout else ""
                assert time.monotonic() < deadline, "sandbox did not start within 20 s"
                time.sleep(0.1)
        run = subprocess.run(
            [sys.executable, str(ROOT / "examples" / "quickstart.py"), str(data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "alipay.trade.query: TRADE_SUCCESS, total 12.30" in run.stdout
    assert "fund_change=True, refunded so far 2.30" in run.stdout
    assert "idempotent: fund_change=False" in run.stdout
