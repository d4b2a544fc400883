"""Asynchronous notifications: stored, then POSTed to notify_url on Alipay's retry schedule.

A notification is a row in ``notifications`` (its signed form fixed at creation, so every retry
carries the same ``notify_id`` and signature); every delivery attempt is a row in ``attempts``.
Retries follow 4m, 10m, 10m, 1h, 2h, 6h, 15h after the first attempt (8 attempts in all), each
counted from the previous attempt's scheduled time on the sandbox clock, until the reply body is
exactly ``success``. Pending retries survive a restart because they live in SQLite.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx

from .accounts import Accounts
from .clock import Clock, fmt
from .faults import Faults
from .messages import codec, new_notify_id, notification_form
from .store import Store
from .trades import Trade
from .web import ssl_context

__all__ = [
    "DEFAULT_TRIGGERS",
    "MAX_ATTEMPTS",
    "RETRY_INTERVALS",
    "TRIGGER_STATUSES",
    "Notifier",
    "TriggerError",
]

RETRY_INTERVALS: tuple[int, ...] = (240, 600, 600, 3600, 7200, 21600, 54000)
MAX_ATTEMPTS = len(RETRY_INTERVALS) + 1
TRIGGER_STATUSES = ("TRADE_SUCCESS", "TRADE_CLOSED", "TRADE_FINISHED")
# Which status changes are notified, per product (reference section 3.5 records contradictions):
# 电脑网站支付 and 当面付 notify only TRADE_SUCCESS by default; 手机网站支付 also CLOSED/FINISHED.
DEFAULT_TRIGGERS: dict[str, list[str]] = {
    "alipay.trade.page.pay": ["TRADE_SUCCESS"],
    "alipay.trade.wap.pay": ["TRADE_SUCCESS", "TRADE_CLOSED", "TRADE_FINISHED"],
    "alipay.trade.precreate": ["TRADE_SUCCESS"],
}
DELIVERY_TIMEOUT = 10.0  # real seconds the merchant has to answer one POST


class TriggerError(ValueError):
    pass


class Notifier:
    def __init__(self, store: Store, clock: Clock, accounts: Accounts, faults: Faults) -> None:
        self.store = store
        self.clock = clock
        self.accounts = accounts
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
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sandbox-notify")

    # -- triggers -------------------------------------------------------------------------------

    def triggers(self) -> dict[str, list[str]]:
        configured: dict[str, list[str]] = self.store.get_json("notify_triggers", {})
        merged = {k: list(v) for k, v in DEFAULT_TRIGGERS.items()}
        merged.update(configured)
        return merged

    def set_triggers(self, changes: Any) -> dict[str, list[str]]:
        if not isinstance(changes, dict):
            raise TriggerError('notify_triggers: expected {"<method>": ["TRADE_SUCCESS", ...]}')
        current = self.triggers()
        for method, statuses in changes.items():
            if method not in DEFAULT_TRIGGERS:
                raise TriggerError(
                    f"notify_triggers: unknown method {method!r}; use one of "
                    + ", ".join(DEFAULT_TRIGGERS)
                )
            if not isinstance(statuses, list) or not all(s in TRIGGER_STATUSES for s in statuses):
                raise TriggerError(
                    f"notify_triggers[{method!r}]: expected a list of "
                    + ", ".join(TRIGGER_STATUSES)
                )
            # TRADE_SUCCESS is always notified: Alipay cannot turn it off
            current[method] = ["TRADE_SUCCESS"] + [s for s in statuses if s != "TRADE_SUCCESS"]
        self.store.set_json("notify_triggers", current)
        return current

    def wants(self, method: str, trade_status: str) -> bool:
        return trade_status in self.triggers().get(method, ["TRADE_SUCCESS"])

    # -- creating -------------------------------------------------------------------------------

    def enqueue(
        self, db: sqlite3.Connection, trade: Trade, trade_status: str, extra: dict[str, Any]
    ) -> None:
        """Called by Trades inside its transaction when a trade's status changes."""
        if not trade.notify_url or not self.wants(trade.method, trade_status):
            return
        app = self.accounts.app(trade.app_id)
        if app is None:
            return
        now = self.clock.now()
        notify_id = new_notify_id(now)
        refund_fee = extra.get("refund_fee")
        form = notification_form(
            trade,
            app,
            self.accounts.signer(trade.sign_type),
            now=now,
            notify_id=notify_id,
            trade_status=trade_status,
            out_biz_no=str(extra.get("out_biz_no", "")),
            refund_fee=refund_fee if isinstance(refund_fee, Decimal) else None,
            refunded_at=extra.get("refunded_at"),
        )
        kind = "refund" if refund_fee is not None else trade_status.lower()
        db.execute(
            "INSERT INTO notifications (trade_id, app_id, out_trade_no, notify_id, kind, "
            "trade_status, url, form, charset, created_at, next_attempt_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                trade.id,
                trade.app_id,
                trade.out_trade_no,
                notify_id,
                kind,
                trade_status,
                trade.notify_url,
                json.dumps(form, ensure_ascii=False),
                trade.charset,
                now,
                now,
            ),
        )
        self._wake.set()

    # -- delivering -----------------------------------------------------------------------------

    def _claim_due(self) -> list[sqlite3.Row]:
        now = self.clock.now()
        with self._cond:
            rows = self.store.query(
                "SELECT * FROM notifications WHERE state = 'pending' AND next_attempt_at <= ? "
                "ORDER BY next_attempt_at, id",
                (now,),
            )
            claimed = [r for r in rows if r["id"] not in self._in_flight]
            self._in_flight.update(r["id"] for r in claimed)
            return claimed

    def _release(self, notification_id: int) -> None:
        with self._cond:
            self._in_flight.discard(notification_id)
            self._cond.notify_all()

    def _deliver_and_release(self, row: sqlite3.Row) -> None:
        try:
            self.deliver(row)
        except Exception as exc:  # noqa: BLE001 - a bug here must not kill the notifier
            print(f"zhifu sandbox: notification {row['id']} failed: {exc!r}", file=sys.stderr)
        finally:
            self._release(row["id"])
            self._wake.set()

    def deliver(self, row: sqlite3.Row) -> None:
        """One attempt (possibly several concurrent copies) of one notification."""
        attempt_no = int(row["attempts"]) + 1
        scheduled_at = float(row["next_attempt_at"])
        form: dict[str, str] = json.loads(row["form"])
        url = str(row["url"])
        results: list[tuple[int | None, str, str, str, float, dict[str, str]]] = []
        if self.faults.take("drop_notifications"):
            sent_at = self.clock.now()
            results.append((None, "", "dropped by fault injection", "dropped", sent_at, form))
        else:
            if self.faults.take("corrupt_notifications"):
                form = dict(form, sign=_corrupt(form.get("sign", "")))
            delay = float(self.faults.value("notification_delay"))
            if delay > 0:
                self._stop.wait(delay)
            copies = int(self.faults.value("notification_copies"))
            body = urlencode(form, encoding=codec(str(row["charset"]))).encode("ascii")
            headers = {
                "Content-Type": f"application/x-www-form-urlencoded; charset={row['charset']}",
                "User-Agent": "Mozilla/4.0 (zhifu sandbox)",
            }
            outcomes: list[tuple[int | None, str, str, str, float, dict[str, str]]] = [
                (None, "", "not sent", "error", 0.0, form)
            ] * copies

            def send(i: int) -> None:
                sent_at = self.clock.now()
                try:
                    response = self._http.post(url, content=body, headers=headers)
                except httpx.HTTPError as exc:
                    outcomes[i] = (None, "", f"{type(exc).__name__}: {exc}", "error", sent_at, form)
                    return
                reply = response.text[:2000]
                outcome = "success" if reply == "success" else "failure"
                outcomes[i] = (response.status_code, reply, "", outcome, sent_at, form)

            if copies == 1:
                send(0)
            else:
                threads = [threading.Thread(target=send, args=(i,)) for i in range(copies)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            results.extend(outcomes)
        delivered = any(r[3] == "success" for r in results)
        with self.store.transaction() as db:
            for copy_no, (status, reply, error, outcome, sent_at, sent_form) in enumerate(
                results, 1
            ):
                db.execute(
                    "INSERT INTO attempts (notification_id, attempt_no, copy_no, scheduled_at, "
                    "sent_at, url, form, status_code, reply, error, outcome) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        row["id"],
                        attempt_no,
                        copy_no,
                        scheduled_at,
                        sent_at,
                        url,
                        json.dumps(sent_form, ensure_ascii=False),
                        status,
                        reply,
                        error,
                        outcome,
                    ),
                )
            if delivered:
                state, next_at = "delivered", scheduled_at
            elif attempt_no >= MAX_ATTEMPTS:
                state, next_at = "failed", scheduled_at
            else:
                state, next_at = "pending", scheduled_at + RETRY_INTERVALS[attempt_no - 1]
            # Conditional: a notification abandoned while this attempt was in flight stays so.
            db.execute(
                "UPDATE notifications SET attempts = ?, state = ?, next_attempt_at = ? "
                "WHERE id = ? AND state = 'pending'",
                (attempt_no, state, next_at, row["id"]),
            )

    def run_due(self, timeout: float = 60.0) -> None:
        """Deliver, in this thread, everything due now (and retries that fall due meanwhile,
        e.g. after the clock jumped a day); wait for deliveries already under way."""
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
        self, app_id: str | None = None, out_trade_no: str | None = None, timeout: float = 30.0
    ) -> int:
        """Stop retrying pending notifications (they become ``abandoned``) and wait until no
        delivery is under way, so that nothing reaches a notify URL after this returns: what a
        test suite needs between tests that share one sandbox."""
        sql = "UPDATE notifications SET state = 'abandoned' WHERE state = 'pending'"
        args: list[str] = []
        for column, value in (("app_id", app_id), ("out_trade_no", out_trade_no)):
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
        self._thread = threading.Thread(target=self._loop, name="sandbox-notifier", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        last_save = 0.0
        while not self._stop.is_set():
            try:
                self.on_tick()
                for row in self._claim_due():
                    self._pool.submit(self._deliver_and_release, row)
                if time.monotonic() - last_save > 2:
                    self.store.set_meta("clock_offset", repr(self.clock.offset()))
                    last_save = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - keep the loop alive, say what happened
                print(f"zhifu sandbox: notifier error: {exc!r}", file=sys.stderr)
            self._wake.wait(self._sleep_time())
            self._wake.clear()

    def _sleep_time(self) -> float:
        row = self.store.one(
            "SELECT MIN(next_attempt_at) AS due FROM notifications WHERE state = 'pending'"
        )
        wait = 0.5
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
        self, app_id: str | None = None, out_trade_no: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        rows = self.store.select(
            "SELECT a.*, n.notify_id, n.app_id, n.out_trade_no, n.kind, n.trade_status, "
            "n.state FROM attempts a JOIN notifications n ON n.id = a.notification_id",
            {"n.app_id": app_id, "n.out_trade_no": out_trade_no},
            "a.id",
            limit,
        )
        return [
            {
                "notification_id": r["notification_id"],
                "notify_id": r["notify_id"],
                "app_id": r["app_id"],
                "out_trade_no": r["out_trade_no"],
                "kind": r["kind"],
                "trade_status": r["trade_status"],
                "attempt": r["attempt_no"],
                "copy": r["copy_no"],
                "scheduled_at": _iso(r["scheduled_at"]),
                "time": _iso(r["sent_at"]),
                "scheduled_ts": r["scheduled_at"],
                "time_ts": r["sent_at"],
                "url": r["url"],
                "form": json.loads(r["form"]),
                "status_code": r["status_code"],
                "reply": r["reply"],
                "error": r["error"],
                "outcome": r["outcome"],
            }
            for r in rows
        ]

    def notifications(
        self, app_id: str | None = None, out_trade_no: str | None = None
    ) -> list[dict[str, Any]]:
        rows = self.store.select(
            "SELECT * FROM notifications",
            {"app_id": app_id, "out_trade_no": out_trade_no},
            "id",
        )
        return [
            {
                "id": r["id"],
                "notify_id": r["notify_id"],
                "app_id": r["app_id"],
                "out_trade_no": r["out_trade_no"],
                "kind": r["kind"],
                "trade_status": r["trade_status"],
                "url": r["url"],
                "state": r["state"],
                "attempts": r["attempts"],
                "created_at": _iso(r["created_at"]),
                "next_attempt_at": _iso(r["next_attempt_at"]) if r["state"] == "pending" else None,
                "form": json.loads(r["form"]),
            }
            for r in rows
        ]


def _iso(ts: float) -> str:
    return fmt(ts)


def _corrupt(sign: str) -> str:
    """A signature that is still valid base64 but does not verify."""
    if not sign:
        return "AAAA"
    head = "A" if sign[0] != "A" else "B"
    return head + sign[1:]
