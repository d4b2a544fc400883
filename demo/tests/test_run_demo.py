"""`make demo`'s runner (demo/run_demo.py) when a port it needs is taken: a clear message naming
the port and its variable, exit 1, nothing started — not the traceback it gave when another
sandbox on the port answered in place of its own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_taken_port_is_named_and_nothing_starts(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        env = {
            **os.environ,
            "DEMO_VAR_DIR": str(tmp_path / "var"),
            "SANDBOX_PORT": str(taken),
            "DEMO_PORT": str(_free_port()),
        }
        done = subprocess.run(
            [sys.executable, str(DEMO / "run_demo.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert f"port {taken} (SANDBOX_PORT) already in use" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "var").exists()  # nothing was created or started
