"""The demo's database settings survive a restarted or hung PostgreSQL: health checks replace a
dead persistent connection, and connect/statement timeouts turn a hang into a quick error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[1]
PROBE = """
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SHOW statement_timeout")
    print(cursor.fetchone()[0], connection.settings_dict["CONN_HEALTH_CHECKS"],
          connection.settings_dict["OPTIONS"]["connect_timeout"])
"""


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (DATABASE_URL=postgres://...): the timeouts are PostgreSQL options",
)
def test_postgresql_connections_are_health_checked_and_time_out() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "demo_site.settings", "DJANGO_DEBUG": "1"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=DEMO, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["15s", "True", "5"]
