"""SQLite state of the sandbox: apps, buyers, cashier sessions, trades, refunds, notifications.

One connection guarded by a lock (the sandbox is a test tool: correctness over throughput).
Money is stored as integer fen, times as epoch seconds of the sandbox clock.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["DB_FILE", "Store"]

DB_FILE = "sandbox.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS apps (
    app_id TEXT PRIMARY KEY,
    seller_id TEXT NOT NULL,
    merchant_name TEXT NOT NULL,
    app_public_key TEXT NOT NULL,
    created_at REAL NOT NULL,
    cert_pem TEXT NOT NULL DEFAULT '',
    cert_sn TEXT NOT NULL DEFAULT '',
    balance_fen INTEGER NOT NULL DEFAULT 0 CHECK (balance_fen >= 0)
);
CREATE TABLE IF NOT EXISTS buyers (
    login TEXT PRIMARY KEY,
    password TEXT NOT NULL,
    user_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    balance_fen INTEGER NOT NULL CHECK (balance_fen >= 0)
);
CREATE TABLE IF NOT EXISTS sessions (
    token TEXT PRIMARY KEY,
    app_id TEXT NOT NULL,
    out_trade_no TEXT NOT NULL,
    method TEXT NOT NULL,
    params TEXT NOT NULL,
    biz TEXT NOT NULL,
    created_at REAL NOT NULL,
    opened_at REAL
);
CREATE INDEX IF NOT EXISTS sessions_trade ON sessions (app_id, out_trade_no, created_at);
CREATE TABLE IF NOT EXISTS trades (
    id INTEGER PRIMARY KEY,
    app_id TEXT NOT NULL,
    out_trade_no TEXT NOT NULL,
    trade_no TEXT NOT NULL UNIQUE,
    method TEXT NOT NULL,
    product_code TEXT NOT NULL,
    status TEXT NOT NULL,
    total_fen INTEGER NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    passback_params TEXT NOT NULL DEFAULT '',
    notify_url TEXT NOT NULL DEFAULT '',
    return_url TEXT NOT NULL DEFAULT '',
    charset TEXT NOT NULL DEFAULT 'utf-8',
    sign_type TEXT NOT NULL DEFAULT 'RSA2',
    expires_at REAL NOT NULL,
    created_at REAL NOT NULL,
    paid_at REAL,
    closed_at REAL,
    finished_at REAL,
    close_reason TEXT NOT NULL DEFAULT '',
    buyer_login TEXT NOT NULL DEFAULT '',
    buyer_id TEXT NOT NULL DEFAULT '',
    refunded_fen INTEGER NOT NULL DEFAULT 0,
    session_token TEXT NOT NULL DEFAULT '',
    UNIQUE (app_id, out_trade_no)
);
CREATE TABLE IF NOT EXISTS refunds (
    id INTEGER PRIMARY KEY,
    trade_id INTEGER NOT NULL REFERENCES trades (id),
    out_request_no TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    UNIQUE (trade_id, out_request_no)
);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY,
    trade_id INTEGER NOT NULL REFERENCES trades (id),
    app_id TEXT NOT NULL,
    out_trade_no TEXT NOT NULL,
    notify_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    trade_status TEXT NOT NULL,
    url TEXT NOT NULL,
    form TEXT NOT NULL,
    charset TEXT NOT NULL,
    created_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending'
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    notification_id INTEGER NOT NULL REFERENCES notifications (id),
    attempt_no INTEGER NOT NULL,
    copy_no INTEGER NOT NULL DEFAULT 1,
    scheduled_at REAL NOT NULL,
    sent_at REAL NOT NULL,
    url TEXT NOT NULL,
    form TEXT NOT NULL,
    status_code INTEGER,
    reply TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL
);
"""


class Store:
    """The sandbox database. Use :meth:`transaction` for every read-modify-write."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DB_FILE
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=30
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(SCHEMA)
        self._depth = 0
        self._migrate()

    def _migrate(self) -> None:
        """Columns added since the first release, for data dirs made before them."""
        columns = {row["name"] for row in self._conn.execute("PRAGMA table_info(apps)")}
        if "cert_pem" not in columns:
            self._conn.execute("ALTER TABLE apps ADD COLUMN cert_pem TEXT NOT NULL DEFAULT ''")
            self._conn.execute("ALTER TABLE apps ADD COLUMN cert_sn TEXT NOT NULL DEFAULT ''")
        if "balance_fen" not in columns:
            self._conn.execute(
                "ALTER TABLE apps ADD COLUMN balance_fen INTEGER NOT NULL DEFAULT 0 "
                "CHECK (balance_fen >= 0)"
            )
            # what the sellers have received so far, less what they refunded
            self._conn.execute(
                "UPDATE apps SET balance_fen = (SELECT COALESCE(SUM(total_fen - refunded_fen), 0) "
                "FROM trades WHERE trades.app_id = apps.app_id AND paid_at IS NOT NULL)"
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested calls join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._conn.execute(sql, args).fetchall())

    def select(
        self, sql: str, filters: dict[str, str | None], order_by: str, limit: int | None = None
    ) -> list[sqlite3.Row]:
        """``sql`` (a SELECT without WHERE) filtered by equality on the non-empty ``filters``
        (trusted column names), ordered, limited: the listings of the control API."""
        where = [(column, value) for column, value in filters.items() if value]
        if where:
            sql += " WHERE " + " AND ".join(f"{column} = ?" for column, _ in where)
        sql += f" ORDER BY {order_by}"
        args: list[Any] = [value for _, value in where]
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return self.query(sql, tuple(args))

    def one(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._conn.execute(sql, args).fetchone()
            return row

    # -- meta -----------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def get_json(self, key: str, default: Any) -> Any:
        raw = self.get_meta(key)
        return default if raw is None else json.loads(raw)

    def set_json(self, key: str, value: Any) -> None:
        self.set_meta(key, json.dumps(value, sort_keys=True))
