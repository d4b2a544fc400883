"""The real `zhifu sandbox` process: its banner, its control API, and one-line start-up errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ZHIFU = Path(sys.executable).parent / "zhifu"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Process:
    def __init__(self, data_dir: Path, port: int, *extra: str) -> None:
        assert ZHIFU.exists(), f"{ZHIFU} is not installed (pip install -e .)"
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [str(ZHIFU), "sandbox", "--port", str(port), "--data-dir", str(data_dir), *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: list[str] = []

    def banner(self, timeout: float = 60.0) -> str:
        """Read stdout up to the banner's last line ("Press Ctrl-C to stop.")."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"the sandbox exited: {self.proc.wait()} {self.stderr()}")
            self.lines.append(line.rstrip("\n"))
            if line.startswith("Press Ctrl-C"):
                return "\n".join(self.lines)
        raise AssertionError("no banner")

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return ""
        assert self.proc.stderr is not None
        return self.proc.stderr.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Process, int, Path]]:
    port = free_port()
    data_dir = tmp_path / "sandbox"
    process = Process(data_dir, port)
    try:
        process.banner()
        yield process, port, data_dir
    finally:
        process.stop()


def test_banner_names_gateway_app_keys_and_buyers_and_the_api_answers(running) -> None:
    process, port, data_dir = running
    banner = "\n".join(process.lines)
    gateway = f"http://127.0.0.1:{port}/gateway.do"
    assert gateway in banner
    info = httpx.get(f"http://127.0.0.1:{port}/sandbox/api/info", timeout=10).json()
    assert info["gateway_url"] == gateway
    assert info["alipay_public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert info["app_id"] in banner and info["seller_id"] in banner
    for name in (
        "app_private_key.pem",
        "app_public_key.pem",
        "alipay_public_key.pem",
        "app_cert.crt",
        "alipay_public_cert.crt",
        "alipay_root_cert.crt",
    ):
        path = data_dir / name
        assert str(path) in banner and path.is_file()
    assert (data_dir / "app_private_key.pem").stat().st_mode & 0o777 == 0o600
    logins = [buyer["login"] for buyer in info["buyers"]]
    assert logins and all(login in banner for login in logins)
    assert "password 111111" in banner
    saved = json.loads((data_dir / "sandbox.json").read_text(encoding="utf-8"))
    assert saved["app_id"] == info["app_id"] and saved["gateway_url"] == gateway


def test_a_taken_port_is_one_line_on_stderr(running, tmp_path: Path) -> None:
    _, port, _ = running
    second = subprocess.run(
        [str(ZHIFU), "sandbox", "--port", str(port), "--data-dir", str(tmp_path / "other")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode != 0
    lines = second.stderr.splitlines()
    assert lines == [f"zhifu: error: cannot listen on 127.0.0.1:{port}: Address already in use"]
    assert second.stdout == ""
    assert not (tmp_path / "other").exists()  # nothing created for a sandbox that never ran


def test_an_unusable_data_dir_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = subprocess.run(
        [str(ZHIFU), "sandbox", "--port", "0", "--data-dir", str(blocker / "sb")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("zhifu: error: cannot use data dir"), lines
