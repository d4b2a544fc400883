"""WeChat Pay notifications: encrypted once, re-signed on every attempt, retried on schedule.

A notification's body (its ``id``, ``create_time`` and the resource encrypted with the
merchant's APIv3 key) is fixed when it is created; every attempt signs it afresh (new
``Wechatpay-Timestamp`` and nonce, the key the merchant's mode picks). An attempt succeeds on
any 2xx answer within 5 seconds (the body is not read: a 200 with ``{"code":"FAIL"}`` counts,
as at WeChat); otherwise retries come 15 s, 15 s, 30 s, 3 m, 10 m, 20 m, 30 m ×3, 60 m, 3 h ×3,
6 h ×2 after the previous attempt's scheduled time, on the sandbox clock (reference 4.4).
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import httpx

from zhifu.wechatpay import BEIJING, build_notification, response_headers

from ..clock import Clock, fmt
from ..store import Store
from ..web import ssl_context
from .faults import WechatFaults
from .keys import Merchant, WechatKeys

__all__ = ["DELIVERY_TIMEOUT", "RETRY_INTERVALS", "WechatNotifier"]

RETRY_INTERVALS: tuple[int, ...] = (
    15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
)  # fmt: skip
MAX_ATTEMPTS = len(RETRY_INTERVALS) + 1
DELIVERY_TIMEOUT = 5.0  # real seconds: WeChat wants the answer within 5 s
STALE_SECONDS = 600  # the stale-timestamp fault signs 10 minutes in the past
PROBE = "WECHATPAY/SIGNTEST/"

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS wx_notifications (
    id INTEGER PRIMARY KEY,
    mchid TEXT NOT NULL,
    out_trade_no TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    url TEXT NOT NULL,
    resource TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending'
)""",
    "CREATE INDEX IF NOT EXISTS wx_notifications_due ON wx_notifications (state, next_attempt_at)",
    """CREATE TABLE IF NOT EXISTS wx_attempts (
    id INTEGER PRIMARY KEY,
    notification_id INTEGER NOT NULL REFERENCES wx_notifications (id),
    attempt_no INTEGER NOT NULL,
    copy_no INTEGER NOT NULL DEFAULT 1,
    scheduled_at REAL NOT NULL,
    sent_at REAL NOT NULL,
    url TEXT NOT NULL,
    headers TEXT NOT NULL,
    status_code INTEGER,
    reply TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL,
    fault TEXT NOT NULL DEFAULT ''
)""",
)

Result = tuple[int | None, str, str, str, float, dict[str, str], str]


class WechatNotifier:
    def __init__(self, store: Store, clock: Clock, keys: WechatKeys, faults: WechatFaults) -> None:
        self.store = store
        self.clock = clock
        self.keys = keys
        self.faults = faults
        self.on_tick: Callable[[], None] = lambda: None
        self._http = httpx.Client(
            timeout=DELIVERY_TIMEOUT, follow_redirects=False, verify=ssl_context()
        )
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._in_flight: set[int] = set()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sandbox-wx-notify")
        with store.transaction() as db:
            for statement in SCHEMA:
                db.execute(statement)

    # -- creating -------------------------------------------------------------------------------

    def enqueue(
        self,
        db: sqlite3.Connection,
        merchant: Merchant,
        event_type: str,
        resource: dict[str, Any],
        url: str,
        out_trade_no: str,
    ) -> None:
        """Called inside the transaction that changed the order or refund."""
        if not url:
            return
        now = self.clock.now()
        event_id = str(uuid.uuid4())
        body = build_notification(
            merchant.apiv3_bytes,
            event_type,
            resource,
            notification_id=event_id,
            create_time=datetime.fromtimestamp(now, BEIJING),
        )
        db.execute(
            "INSERT INTO wx_notifications (mchid, out_trade_no, event_id, event_type, url, "
            "resource, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                merchant.mchid,
                out_trade_no,
                event_id,
                event_type,
                url,
                json.dumps(resource, ensure_ascii=False),
                body.decode("utf-8"),
                now,
                now,
            ),
        )
        self._wake.set()

    # -- delivering -----------------------------------------------------------------------------

    def _headers(self, merchant: Merchant, body: bytes) -> tuple[dict[str, str], str]:
        key = self.keys.notification_key(merchant)
        fault = ""
        if self.faults.take("other_key_notifications"):
            key, fault = self.keys.other_key(key), "other_key"
        stamp = int(time.time())  # merchants compare with their own wall clock
        if self.faults.take("stale_notifications"):
            stamp, fault = stamp - STALE_SECONDS, "stale"
        headers = response_headers(key.private_key, key.serial, body, timestamp=stamp)
        if self.faults.take("signtest_notifications"):
            headers["Wechatpay-Signature"] = PROBE + headers["Wechatpay-Signature"]
            fault = "signtest"
        elif self.faults.take("corrupt_notifications"):
            signature = headers["Wechatpay-Signature"]
            headers["Wechatpay-Signature"] = ("A" if signature[0] != "A" else "B") + signature[1:]
            fault = "corrupt"
        headers["Content-Type"] = "application/json"
        headers["User-Agent"] = "Mozilla/4.0 (zhifu sandbox; WeChat Pay notification)"
        headers["Request-ID"] = uuid.uuid4().hex
        return headers, fault

    def deliver(self, row: sqlite3.Row) -> None:
        attempt_no = int(row["attempts"]) + 1
        scheduled_at = float(row["next_attempt_at"])
        url = str(row["url"])
        body = str(row["body"]).encode("utf-8")
        merchant = self.keys.merchant(str(row["mchid"]))
        results: list[Result] = []
        if merchant is None:
            results.append(
                (None, "", "merchant no longer exists", "error", self.clock.now(), {}, "")
            )
        elif self.faults.take("drop_notifications"):
            results.append(
                (None, "", "dropped by fault injection", "dropped", self.clock.now(), {}, "drop")
            )
        else:
            delay = float(self.faults.value("notification_delay"))
            if delay > 0:
                self._stop.wait(delay)
            copies = int(self.faults.value("notification_copies"))
            outcomes: list[Result] = [(None, "", "not sent", "error", 0.0, {}, "")] * copies

            def send(i: int) -> None:
                headers, fault = self._headers(merchant, body)
                sent_at = self.clock.now()
                try:
                    response = self._http.post(url, content=body, headers=headers)
                except httpx.TimeoutException:
                    outcomes[i] = (
                        None, "", f"no answer within {DELIVERY_TIMEOUT:g} s", "error", sent_at,
                        headers, fault,
                    )  # fmt: skip
                    return
                except httpx.HTTPError as exc:
                    outcomes[i] = (
                        None, "", f"{type(exc).__name__}: {exc}", "error", sent_at, headers, fault
                    )  # fmt: skip
                    return
                outcome = "success" if 200 <= response.status_code < 300 else "failure"
                outcomes[i] = (
                    response.status_code, response.text[:2000], "", outcome, sent_at, headers,
                    fault,
                )  # fmt: skip

            threads = [threading.Thread(target=send, args=(i,)) for i in range(copies)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            results.extend(outcomes)
        delivered = any(r[3] == "success" for r in results)
        with self.store.transaction() as db:
            for copy_no, (status, reply, error, outcome, sent_at, headers, fault) in enumerate(
                results, 1
            ):
                db.execute(
                    "INSERT INTO wx_attempts (notification_id, attempt_no, copy_no, "
                    "scheduled_at, sent_at, url, headers, status_code, reply, error, outcome, "
                    "fault) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        row["id"], attempt_no, copy_no, scheduled_at, sent_at, url,
                        json.dumps(headers), status, reply, error, outcome, fault,
                    ),
                )  # fmt: skip
            if delivered:
                state, next_at = "delivered", scheduled_at
            elif attempt_no >= MAX_ATTEMPTS:
                state, next_at = "failed", scheduled_at
            else:
                state, next_at = "pending", scheduled_at + RETRY_INTERVALS[attempt_no - 1]
            db.execute(
                "UPDATE wx_notifications SET attempts = ?, state = ?, next_attempt_at = ? "
                "WHERE id = ? AND state = 'pending'",
                (attempt_no, state, next_at, row["id"]),
            )

    def _claim_due(self) -> list[sqlite3.Row]:
        now = self.clock.now()
        with self._cond:
            rows = self.store.query(
                "SELECT * FROM wx_notifications WHERE state = 'pending' AND next_attempt_at <= ? "
                "ORDER BY next_attempt_at, id",
                (now,),
            )
            claimed = [r for r in rows if r["id"] not in self._in_flight]
            self._in_flight.update(r["id"] for r in claimed)
            return claimed

    def _deliver_and_release(self, row: sqlite3.Row) -> None:
        try:
            self.deliver(row)
        except Exception as exc:  # noqa: BLE001 - a bug here must not kill the notifier
            print(
                f"zhifu sandbox: WeChat notification {row['id']} failed: {exc!r}", file=sys.stderr
            )
        finally:
            with self._cond:
                self._in_flight.discard(row["id"])
                self._cond.notify_all()
            self._wake.set()

    def run_due(self, timeout: float = 60.0) -> None:
        """Deliver in this thread everything due now (and what falls due meanwhile)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.on_tick()
            claimed = self._claim_due()
            if claimed:
                for row in claimed:
                    self._deliver_and_release(row)
                continue
            with self._cond:
                if not self._in_flight:
                    return
                self._cond.wait(0.05)

    def abandon(
        self, mchid: str | None = None, out_trade_no: str | None = None, timeout: float = 30.0
    ) -> int:
        sql = "UPDATE wx_notifications SET state = 'abandoned' WHERE state = 'pending'"
        args: list[str] = []
        for column, value in (("mchid", mchid), ("out_trade_no", out_trade_no)):
            if value:
                sql += f" AND {column} = ?"
                args.append(value)
        with self.store.transaction() as db:
            count = db.execute(sql, tuple(args)).rowcount
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._in_flight and time.monotonic() < deadline:
                self._cond.wait(0.05)
        return int(count)

    # -- the background thread ------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="sandbox-wx-notifier", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.on_tick()
                for row in self._claim_due():
                    self._pool.submit(self._deliver_and_release, row)
            except Exception as exc:  # noqa: BLE001 - keep the loop alive, say what happened
                print(f"zhifu sandbox: WeChat notifier error: {exc!r}", file=sys.stderr)
            self._wake.wait(self._sleep_time())
            self._wake.clear()

    def _sleep_time(self) -> float:
        row = self.store.one(
            "SELECT MIN(next_attempt_at) AS due FROM wx_notifications WHERE state = 'pending'"
        )
        wait = 0.25
        if row is not None and row["due"] is not None:
            wait = min(wait, self.clock.real_seconds(float(row["due"]) - self.clock.now()))
        return max(wait, 0.005)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()

    # -- reading --------------------------------------------------------------------------------

    def attempts(
        self, mchid: str | None = None, out_trade_no: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        rows = self.store.select(
            "SELECT a.*, n.event_id, n.event_type, n.mchid, n.out_trade_no, n.body "
            "FROM wx_attempts a JOIN wx_notifications n ON n.id = a.notification_id",
            {"n.mchid": mchid, "n.out_trade_no": out_trade_no},
            "a.id",
            limit,
        )
        return [
            {
                "notification_id": r["notification_id"],
                "id": r["event_id"],
                "event_type": r["event_type"],
                "mchid": r["mchid"],
                "out_trade_no": r["out_trade_no"],
                "attempt": r["attempt_no"],
                "copy": r["copy_no"],
                "scheduled_at": fmt(r["scheduled_at"]),
                "time": fmt(r["sent_at"]),
                "scheduled_ts": r["scheduled_at"],
                "time_ts": r["sent_at"],
                "url": r["url"],
                "headers": json.loads(r["headers"]),
                "body": r["body"],
                "status_code": r["status_code"],
                "reply": r["reply"],
                "error": r["error"],
                "outcome": r["outcome"],
                "fault": r["fault"] or None,
            }
            for r in rows
        ]

    def notifications(
        self, mchid: str | None = None, out_trade_no: str | None = None
    ) -> list[dict[str, Any]]:
        rows = self.store.select(
            "SELECT * FROM wx_notifications",
            {"mchid": mchid, "out_trade_no": out_trade_no},
            "id",
        )
        return [
            {
                "id": r["event_id"],
                "event_type": r["event_type"],
                "mchid": r["mchid"],
                "out_trade_no": r["out_trade_no"],
                "url": r["url"],
                "state": r["state"],
                "attempts": r["attempts"],
                "created_at": fmt(r["created_at"]),
                "next_attempt_at": fmt(r["next_attempt_at"]) if r["state"] == "pending" else None,
                "resource": json.loads(r["resource"]),
                "body": r["body"],
            }
            for r in rows
        ]
