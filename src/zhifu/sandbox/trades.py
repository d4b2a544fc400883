"""Trades and refunds: Alipay's statuses and transitions (reference section 6).

``WAIT_BUYER_PAY -> TRADE_SUCCESS -> TRADE_FINISHED`` (refund period over),
``WAIT_BUYER_PAY -> TRADE_CLOSED`` (timeout, close, cancel), ``TRADE_SUCCESS -> TRADE_CLOSED``
(refunds reach the total or cancel). A page/wap/precreate trade exists only once the buyer opens
the cashier. Every change happens in one SQLite transaction, with the notification it triggers.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from zhifu.money import AmountError, from_fen, parse_amount, to_fen

from .accounts import Accounts, Buyer
from .clock import BEIJING, Clock, parse_beijing
from .store import Store

__all__ = [
    "CANCEL_WINDOW",
    "DEFAULT_TIMEOUT",
    "PAGE_METHODS",
    "REFUND_PERIOD",
    "PayError",
    "Session",
    "Trade",
    "TradeError",
    "TradeRequest",
    "Trades",
    "parse_trade_request",
]

PAGE_METHODS = ("alipay.trade.page.pay", "alipay.trade.wap.pay")
DEFAULT_TIMEOUT = 15 * 86400.0  # "若为空，则默认为15d"
REFUND_PERIOD = 90 * 86400.0  # TRADE_SUCCESS becomes TRADE_FINISHED after this (3 months)
CANCEL_WINDOW = 86400.0  # alipay.trade.cancel refunds a paid trade only within a day
PRODUCT_CODES = {
    "alipay.trade.page.pay": ("FAST_INSTANT_TRADE_PAY",),
    "alipay.trade.wap.pay": (
        "QUICK_WAP_WAY",
        "QUICK_WAP_PAY",
    ),  # python-alipay-sdk sends the latter
    "alipay.trade.precreate": ("FACE_TO_FACE_PAYMENT", "OFFLINE_PAYMENT"),
}
# Letters, digits, "_" and "-" (Alipay takes UUIDs and "SO-2022-..."), at most 64.
_OUT_NO = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
_TIMEOUT_EXPRESS = re.compile(r"([1-9][0-9]*)([mhd])|1c")
_UNIT = {"m": 60, "h": 3600, "d": 86400}


class TradeError(Exception):
    """A business failure answered as ``40004`` with Alipay's ``sub_code``."""

    def __init__(self, sub_code: str, sub_msg: str) -> None:
        super().__init__(f"{sub_code}: {sub_msg}")
        self.sub_code = sub_code
        self.sub_msg = sub_msg


class PayError(Exception):
    """The buyer cannot pay (wrong password, insufficient balance, trade not payable...)."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class TradeRequest:
    """The validated business content of a page pay, wap pay or precreate request."""

    out_trade_no: str
    total: Decimal
    subject: str
    body: str
    passback_params: str
    product_code: str
    timeout_express: str
    time_expire: float | None

    def expires_at(self, opened_at: float) -> float:
        if self.time_expire is not None:
            return self.time_expire
        if self.timeout_express == "1c":
            day = datetime.fromtimestamp(opened_at, BEIJING).date() + timedelta(days=1)
            return datetime(day.year, day.month, day.day, tzinfo=BEIJING).timestamp()
        match = _TIMEOUT_EXPRESS.fullmatch(self.timeout_express)
        if match and match.group(1):
            return opened_at + int(match.group(1)) * _UNIT[match.group(2)]
        return opened_at + DEFAULT_TIMEOUT


def _text(biz: Mapping[str, Any], key: str, *, required: bool = False, limit: int = 0) -> str:
    value = biz.get(key)
    if value is None or value == "":
        if required:
            raise TradeError(
                "ACQ.INVALID_PARAMETER", f"参数无效: {key} 不能为空 ({key} is required)"
            )
        return ""
    if not isinstance(value, str):
        raise TradeError(
            "ACQ.INVALID_PARAMETER", f"参数无效: {key} 必须是字符串 ({key} must be a string)"
        )
    if limit and len(value) > limit:
        raise TradeError("ACQ.INVALID_PARAMETER", f"参数无效: {key} 超过 {limit} 个字符")
    return value


def out_no(biz: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = _text(biz, key, required=required)
    if value and not _OUT_NO.fullmatch(value):
        raise TradeError(
            "ACQ.INVALID_PARAMETER",
            f"参数无效: {key} 只能包含字母、数字、下划线或中划线，长度不超过64 ({key} {value!r})",
        )
    return value


def amount(biz: Mapping[str, Any], key: str) -> Decimal:
    value = biz.get(key)
    if value is None or value == "":
        raise TradeError("ACQ.INVALID_PARAMETER", f"参数无效: {key} 不能为空 ({key} is required)")
    if isinstance(value, float):  # JSON numbers arrive as Decimal; never trust a float
        value = Decimal(repr(value))
    try:
        return parse_amount(value if isinstance(value, Decimal) else str(value), field=key)
    except AmountError as exc:
        raise TradeError("ACQ.INVALID_PARAMETER", f"参数无效: {exc}") from None


def parse_trade_request(method: str, biz: Mapping[str, Any]) -> TradeRequest:
    """Validate the biz_content of page pay, wap pay or precreate (raises TradeError)."""
    out_trade_no = out_no(biz, "out_trade_no")
    total = amount(biz, "total_amount")
    subject = _text(biz, "subject", required=True, limit=256)
    product_code = _text(biz, "product_code", required=method == "alipay.trade.page.pay")
    allowed = PRODUCT_CODES.get(method, ())
    if product_code and product_code not in allowed:
        raise TradeError(
            "ACQ.INVALID_PARAMETER",
            f"参数无效: product_code {product_code!r} (expected {' or '.join(allowed)})",
        )
    timeout_express = _text(biz, "timeout_express")
    if timeout_express:
        match = _TIMEOUT_EXPRESS.fullmatch(timeout_express)
        seconds = int(match.group(1)) * _UNIT[match.group(2)] if match and match.group(1) else 0
        if match is None or (match.group(1) and not 60 <= seconds <= DEFAULT_TIMEOUT):
            raise TradeError(
                "ACQ.INVALID_PARAMETER",
                f"参数无效: timeout_express {timeout_express!r} (use 1m-15d, e.g. 90m, 2h, 1c)",
            )
    time_expire_text = _text(biz, "time_expire")
    time_expire = None
    if time_expire_text:
        time_expire = parse_beijing(time_expire_text, ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"))
        if time_expire is None:
            raise TradeError(
                "ACQ.INVALID_PARAMETER",
                f"参数无效: time_expire {time_expire_text!r} (use yyyy-MM-dd HH:mm:ss)",
            )
    return TradeRequest(
        out_trade_no=out_trade_no,
        total=total,
        subject=subject,
        body=_text(biz, "body", limit=128),
        passback_params=_text(biz, "passback_params", limit=512),
        product_code=product_code or allowed[0],
        timeout_express=timeout_express,
        time_expire=time_expire,
    )


@dataclass(frozen=True)
class Trade:
    id: int
    app_id: str
    out_trade_no: str
    trade_no: str
    method: str
    product_code: str
    status: str
    total: Decimal
    refunded: Decimal
    subject: str
    body: str
    passback_params: str
    notify_url: str
    return_url: str
    charset: str
    sign_type: str
    expires_at: float
    created_at: float
    paid_at: float | None
    closed_at: float | None
    finished_at: float | None
    close_reason: str
    buyer_login: str
    buyer_id: str
    session_token: str

    @property
    def is_paid(self) -> bool:
        return self.paid_at is not None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Trade:
        return cls(
            id=row["id"],
            app_id=row["app_id"],
            out_trade_no=row["out_trade_no"],
            trade_no=row["trade_no"],
            method=row["method"],
            product_code=row["product_code"],
            status=row["status"],
            total=from_fen(row["total_fen"]),
            refunded=from_fen(row["refunded_fen"]),
            subject=row["subject"],
            body=row["body"],
            passback_params=row["passback_params"],
            notify_url=row["notify_url"],
            return_url=row["return_url"],
            charset=row["charset"],
            sign_type=row["sign_type"],
            expires_at=row["expires_at"],
            created_at=row["created_at"],
            paid_at=row["paid_at"],
            closed_at=row["closed_at"],
            finished_at=row["finished_at"],
            close_reason=row["close_reason"],
            buyer_login=row["buyer_login"],
            buyer_id=row["buyer_id"],
            session_token=row["session_token"],
        )


@dataclass(frozen=True)
class Session:
    """A cashier session: a page/wap pay request that reached the gateway, or a precreate QR."""

    token: str
    app_id: str
    out_trade_no: str
    method: str
    params: dict[str, str]  # notify_url, return_url, charset, sign_type, quit_url
    biz: dict[str, Any]
    created_at: float
    opened_at: float | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Session:
        return cls(
            row["token"],
            row["app_id"],
            row["out_trade_no"],
            row["method"],
            json.loads(row["params"]),
            json.loads(row["biz"], parse_float=Decimal),
            row["created_at"],
            row["opened_at"],
        )

    @property
    def request(self) -> TradeRequest:
        return parse_trade_request(self.method, self.biz)


@dataclass(frozen=True)
class Refund:
    out_request_no: str
    amount: Decimal
    reason: str
    created_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Refund:
        return cls(
            row["out_request_no"], from_fen(row["amount_fen"]), row["reason"], row["created_at"]
        )


# (db, trade, trade_status, extra notification fields) -> None; called inside the transaction.
NotifyHook = Callable[[sqlite3.Connection, Trade, str, dict[str, Any]], None]


def _new_trade_no(now: float) -> str:
    """28 digits starting with the date, like ``2023122122001499160501586202``."""
    day = datetime.fromtimestamp(now, BEIJING).strftime("%Y%m%d")
    return day + "22001" + "".join(secrets.choice("0123456789") for _ in range(15))


class Trades:
    def __init__(self, store: Store, clock: Clock, accounts: Accounts, notify: NotifyHook) -> None:
        self.store = store
        self.clock = clock
        self.accounts = accounts
        self._notify = notify

    # -- reading ----------------------------------------------------------------------------

    def _get(self, db: sqlite3.Connection, trade_id: int) -> Trade:
        return Trade.from_row(
            db.execute("SELECT * FROM trades WHERE id = ?", (trade_id,)).fetchone()
        )

    def by_out_trade_no(self, app_id: str, out_trade_no: str) -> Trade | None:
        row = self.store.one(
            "SELECT * FROM trades WHERE app_id = ? AND out_trade_no = ?", (app_id, out_trade_no)
        )
        return None if row is None else Trade.from_row(row)

    def find(self, db: sqlite3.Connection, app_id: str, biz: Mapping[str, Any]) -> Trade:
        """The trade named by ``trade_no`` (preferred) or ``out_trade_no``; TradeError if none."""
        trade_no = _text(biz, "trade_no", limit=64)
        out_trade_no = out_no(biz, "out_trade_no", required=False)
        if not trade_no and not out_trade_no:
            raise TradeError(
                "ACQ.INVALID_PARAMETER", "参数无效: out_trade_no 和 trade_no 不能同时为空"
            )
        if trade_no:
            row = db.execute(
                "SELECT * FROM trades WHERE app_id = ? AND trade_no = ?", (app_id, trade_no)
            ).fetchone()
            if row is not None and out_trade_no and row["out_trade_no"] != out_trade_no:
                row = None
        else:
            row = db.execute(
                "SELECT * FROM trades WHERE app_id = ? AND out_trade_no = ?",
                (app_id, out_trade_no),
            ).fetchone()
        if row is None:
            raise TradeError("ACQ.TRADE_NOT_EXIST", "交易不存在")
        return Trade.from_row(row)

    def refunds(self, trade_id: int) -> list[Refund]:
        rows = self.store.query("SELECT * FROM refunds WHERE trade_id = ? ORDER BY id", (trade_id,))
        return [Refund.from_row(r) for r in rows]

    def refund_row(self, trade_id: int, out_request_no: str) -> Refund | None:
        row = self.store.one(
            "SELECT * FROM refunds WHERE trade_id = ? AND out_request_no = ?",
            (trade_id, out_request_no),
        )
        return None if row is None else Refund.from_row(row)

    def session(self, token: str) -> Session | None:
        row = self.store.one("SELECT * FROM sessions WHERE token = ?", (token,))
        return None if row is None else Session.from_row(row)

    def latest_session(self, app_id: str, out_trade_no: str) -> Session | None:
        row = self.store.one(
            "SELECT * FROM sessions WHERE app_id = ? AND out_trade_no = ? "
            "ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (app_id, out_trade_no),
        )
        return None if row is None else Session.from_row(row)

    # -- time passing -----------------------------------------------------------------------

    def expire_due(self) -> None:
        """Close unpaid trades past their expiry; finish paid ones past the refund period."""
        now = self.clock.now()
        with self.store.transaction() as db:
            rows = db.execute(
                "SELECT id, expires_at FROM trades WHERE status = 'WAIT_BUYER_PAY' "
                "AND expires_at <= ?",
                (now,),
            ).fetchall()
            for row in rows:
                db.execute(
                    "UPDATE trades SET status = 'TRADE_CLOSED', closed_at = ?, "
                    "close_reason = 'timeout' WHERE id = ?",
                    (row["expires_at"], row["id"]),
                )
                self._notify(db, self._get(db, row["id"]), "TRADE_CLOSED", {})
            rows = db.execute(
                "SELECT id, paid_at FROM trades WHERE status = 'TRADE_SUCCESS' AND paid_at <= ?",
                (now - REFUND_PERIOD,),
            ).fetchall()
            for row in rows:
                db.execute(
                    "UPDATE trades SET status = 'TRADE_FINISHED', finished_at = ? WHERE id = ?",
                    (row["paid_at"] + REFUND_PERIOD, row["id"]),
                )
                self._notify(db, self._get(db, row["id"]), "TRADE_FINISHED", {})

    # -- creating ---------------------------------------------------------------------------

    @staticmethod
    def _check_reuse(row: sqlite3.Row | None, method: str, request: TradeRequest) -> None:
        """Alipay's rules for a second request with the same out_trade_no."""
        if row is None:
            return
        status = row["status"]
        if status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
            raise TradeError("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
        if to_fen(request.total) != row["total_fen"] or request.subject != row["subject"]:
            raise TradeError(
                "ACQ.CONTEXT_INCONSISTENT",
                "交易信息被篡改 (out_trade_no reused with a different total_amount or subject)",
            )
        if status == "TRADE_CLOSED":
            reopenable = (
                row["close_reason"] == "timeout"
                and row["paid_at"] is None
                and method in PAGE_METHODS
            )
            if not reopenable:
                raise TradeError("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")

    def check_request(self, app_id: str, method: str, request: TradeRequest) -> None:
        """At the gateway: may this page pay / wap pay / precreate proceed?"""
        self.expire_due()
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT * FROM trades WHERE app_id = ? AND out_trade_no = ?",
                (app_id, request.out_trade_no),
            ).fetchone()
            self._check_reuse(row, method, request)

    def create_session(
        self, app_id: str, method: str, params: Mapping[str, str], biz: Mapping[str, Any]
    ) -> Session:
        """Record a page-pay request (or precreate) that reached the gateway."""
        request = parse_trade_request(method, biz)
        kept = {
            k: params[k]
            for k in ("notify_url", "return_url", "charset", "sign_type", "quit_url")
            if params.get(k)
        }
        now = self.clock.now()
        with self.store.transaction() as db:
            if method == "alipay.trade.precreate":
                # the same precreate again gives the same QR code while nobody scanned it
                row = db.execute(
                    "SELECT * FROM sessions WHERE app_id = ? AND out_trade_no = ? AND method = ? "
                    "AND opened_at IS NULL ORDER BY created_at DESC LIMIT 1",
                    (app_id, request.out_trade_no, method),
                ).fetchone()
                if row is not None:
                    db.execute(
                        "UPDATE sessions SET params = ?, biz = ? WHERE token = ?",
                        (json.dumps(kept), _dump_biz(biz), row["token"]),
                    )
                    return Session(
                        row["token"],
                        app_id,
                        request.out_trade_no,
                        method,
                        kept,
                        dict(biz),
                        row["created_at"],
                        None,
                    )
            token = secrets.token_urlsafe(18)
            db.execute(
                "INSERT INTO sessions (token, app_id, out_trade_no, method, params, biz, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    token,
                    app_id,
                    request.out_trade_no,
                    method,
                    json.dumps(kept),
                    _dump_biz(biz),
                    now,
                ),
            )
        return Session(token, app_id, request.out_trade_no, method, kept, dict(biz), now, None)

    def open_session(self, token: str) -> Trade:
        """The buyer opened the cashier: the trade now exists (or is reopened). TradeError if
        the trade can no longer be paid through this session."""
        session = self.session(token)
        if session is None:
            raise TradeError("ACQ.TRADE_NOT_EXIST", "收银台会话不存在 (unknown cashier session)")
        request = session.request
        self.expire_due()
        now = self.clock.now()
        params = session.params
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT * FROM trades WHERE app_id = ? AND out_trade_no = ?",
                (session.app_id, session.out_trade_no),
            ).fetchone()
            if (
                row is not None
                and row["session_token"] == token
                and row["status"] != "WAIT_BUYER_PAY"
            ):
                return Trade.from_row(row)  # reloading the cashier of a paid or closed trade
            self._check_reuse(row, session.method, request)
            common = (
                session.method,
                request.product_code,
                request.body,
                request.passback_params,
                params.get("notify_url", ""),
                params.get("return_url", ""),
                params.get("charset", "utf-8"),
                params.get("sign_type", "RSA2"),
                request.expires_at(now),
                token,
            )
            if row is None:
                cur = db.execute(
                    "INSERT INTO trades (method, product_code, body, passback_params, notify_url, "
                    "return_url, charset, sign_type, expires_at, session_token, app_id, "
                    "out_trade_no, trade_no, status, total_fen, subject, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'WAIT_BUYER_PAY', ?, ?, ?)",
                    (
                        *common,
                        session.app_id,
                        session.out_trade_no,
                        _new_trade_no(now),
                        to_fen(request.total),
                        request.subject,
                        now,
                    ),
                )
                trade_id = cur.lastrowid
                assert trade_id is not None
            else:
                trade_id = row["id"]
                if row["session_token"] != token and session.method not in PAGE_METHODS:
                    pass  # a second precreate QR of a live trade: keep its countdown
                # page pay: each cashier session restarts the countdown (and may reopen)
                db.execute(
                    "UPDATE trades SET method = ?, product_code = ?, body = ?, passback_params = ?, "
                    "notify_url = ?, return_url = ?, charset = ?, sign_type = ?, expires_at = ?, "
                    "session_token = ?, status = 'WAIT_BUYER_PAY', closed_at = NULL, "
                    "close_reason = '' WHERE id = ?",
                    (*common, trade_id),
                )
            db.execute(
                "UPDATE sessions SET opened_at = COALESCE(opened_at, ?) WHERE token = ?",
                (now, token),
            )
            return self._get(db, trade_id)

    # -- paying -----------------------------------------------------------------------------

    def pay(self, trade_id: int, buyer: Buyer) -> Trade:
        """The buyer pays the whole amount from their sandbox balance."""
        self.expire_due()
        now = self.clock.now()
        with self.store.transaction() as db:
            trade = self._get(db, trade_id)
            if trade.status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
                raise PayError("already_paid", "this trade has already been paid")
            if trade.status == "TRADE_CLOSED":
                reason = {"timeout": "it expired"}.get(trade.close_reason, "it was closed")
                raise PayError("trade_closed", f"this trade cannot be paid: {reason}")
            row = db.execute("SELECT * FROM buyers WHERE login = ?", (buyer.login,)).fetchone()
            if row is None:
                raise PayError("unknown_buyer", f"no sandbox buyer {buyer.login!r}", 404)
            total_fen = to_fen(trade.total)
            if row["balance_fen"] < total_fen:
                raise PayError(
                    "insufficient_balance",
                    f"余额不足: {buyer.login} has {from_fen(row['balance_fen'])} yuan, "
                    f"the trade costs {trade.total} yuan",
                )
            db.execute(
                "UPDATE buyers SET balance_fen = balance_fen - ? WHERE login = ?",
                (total_fen, buyer.login),
            )
            db.execute(
                "UPDATE apps SET balance_fen = balance_fen + ? WHERE app_id = ?",
                (total_fen, trade.app_id),
            )
            db.execute(
                "UPDATE trades SET status = 'TRADE_SUCCESS', paid_at = ?, buyer_login = ?, "
                "buyer_id = ? WHERE id = ?",
                (now, buyer.login, row["user_id"], trade_id),
            )
            paid = self._get(db, trade_id)
            self._notify(db, paid, "TRADE_SUCCESS", {})
            return paid

    # -- server APIs ------------------------------------------------------------------------

    def close(self, app_id: str, biz: Mapping[str, Any]) -> Trade:
        self.expire_due()
        now = self.clock.now()
        with self.store.transaction() as db:
            trade = self.find(db, app_id, biz)
            if trade.status != "WAIT_BUYER_PAY":
                raise TradeError("ACQ.TRADE_STATUS_ERROR", f"交易状态不合法 ({trade.status})")
            db.execute(
                "UPDATE trades SET status = 'TRADE_CLOSED', closed_at = ?, close_reason = 'close' "
                "WHERE id = ?",
                (now, trade.id),
            )
            closed = self._get(db, trade.id)
            self._notify(db, closed, "TRADE_CLOSED", {})
            return closed

    def cancel(self, app_id: str, biz: Mapping[str, Any]) -> tuple[Trade, str, bool]:
        """(trade, action, money_moved): ``close`` for unpaid, ``refund`` for paid trades."""
        self.expire_due()
        now = self.clock.now()
        with self.store.transaction() as db:
            try:
                trade = self.find(db, app_id, biz)
            except TradeError as exc:
                if exc.sub_code != "ACQ.TRADE_NOT_EXIST":
                    raise
                trade = self._close_unopened(db, app_id, biz, now)
                return trade, "close", False
            if trade.status == "TRADE_FINISHED":
                raise TradeError("ACQ.TRADE_HAS_FINISHED", "交易已完结")
            if trade.status == "TRADE_CLOSED":
                action = "refund" if trade.is_paid else "close"
                return trade, action, False
            if trade.status == "WAIT_BUYER_PAY":
                db.execute(
                    "UPDATE trades SET status = 'TRADE_CLOSED', closed_at = ?, "
                    "close_reason = 'cancel' WHERE id = ?",
                    (now, trade.id),
                )
                closed = self._get(db, trade.id)
                self._notify(db, closed, "TRADE_CLOSED", {})
                return closed, "close", False
            assert trade.paid_at is not None
            if now - trade.paid_at > CANCEL_WINDOW:
                raise TradeError("ACQ.TRADE_CANCEL_TIME_OUT", "超过撤销时间范围，请使用退款接口")
            remaining = trade.total - trade.refunded
            refunded = self._apply_refund(
                db, trade, trade.out_trade_no + "_cancel", remaining, "撤销", now
            )
            db.execute("UPDATE trades SET close_reason = 'cancel' WHERE id = ?", (refunded.id,))
            return self._get(db, trade.id), "refund", True

    def _close_unopened(
        self, db: sqlite3.Connection, app_id: str, biz: Mapping[str, Any], now: float
    ) -> Trade:
        """Cancel of a QR nobody scanned yet: record a closed trade so it can't be paid later."""
        out_trade_no = out_no(biz, "out_trade_no", required=False)
        row = None
        if out_trade_no:
            row = db.execute(
                "SELECT * FROM sessions WHERE app_id = ? AND out_trade_no = ? "
                "ORDER BY created_at DESC LIMIT 1",
                (app_id, out_trade_no),
            ).fetchone()
        if row is None:
            raise TradeError("ACQ.TRADE_NOT_EXIST", "交易不存在")
        session = Session.from_row(row)
        request = session.request
        params = session.params
        cur = db.execute(
            "INSERT INTO trades (app_id, out_trade_no, trade_no, method, product_code, status, "
            "total_fen, subject, body, passback_params, notify_url, return_url, charset, "
            "sign_type, expires_at, created_at, closed_at, close_reason, session_token) "
            "VALUES (?, ?, ?, ?, ?, 'TRADE_CLOSED', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'cancel', ?)",
            (
                app_id,
                session.out_trade_no,
                _new_trade_no(now),
                session.method,
                request.product_code,
                to_fen(request.total),
                request.subject,
                request.body,
                request.passback_params,
                params.get("notify_url", ""),
                params.get("return_url", ""),
                params.get("charset", "utf-8"),
                params.get("sign_type", "RSA2"),
                now,
                now,
                now,
                session.token,
            ),
        )
        assert cur.lastrowid is not None
        return self._get(db, cur.lastrowid)

    def refund(self, app_id: str, biz: Mapping[str, Any]) -> tuple[Trade, Refund, bool]:
        """(trade, refund, fund_change) for ``alipay.trade.refund`` (reference section 5.9)."""
        self.expire_due()
        now = self.clock.now()
        with self.store.transaction() as db:
            trade = self.find(db, app_id, biz)
            refund_amount = amount(biz, "refund_amount")
            given_no = out_no(biz, "out_request_no", required=False)
            request_no = given_no or trade.out_trade_no
            reason = _text(biz, "refund_reason", limit=256)
            existing = db.execute(
                "SELECT * FROM refunds WHERE trade_id = ? AND out_request_no = ?",
                (trade.id, request_no),
            ).fetchone()
            if existing is not None:
                if existing["amount_fen"] != to_fen(refund_amount):
                    # same out_request_no, different refund_amount
                    raise TradeError("ACQ.DISCORDANT_REPEAT_REQUEST", "退款金额不一致")
                return trade, Refund.from_row(existing), False
            if trade.status == "TRADE_FINISHED":
                raise TradeError("ACQ.TRADE_HAS_FINISHED", "交易已完结，不允许退款")
            if not trade.is_paid:
                raise TradeError("ACQ.TRADE_STATUS_ERROR", f"交易状态不合法 ({trade.status})")
            if not given_no and refund_amount != trade.total:
                # without out_request_no, only the whole amount can be refunded
                raise TradeError("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "撤销或退款金额与订单金额不一致")
            if trade.refunded + refund_amount > trade.total:
                raise TradeError(
                    "ACQ.REASON_TRADE_REFUND_FEE_ERR",
                    f"退款金额无效: {refund_amount} + {trade.refunded} already refunded "
                    f"exceeds the total {trade.total}",
                )
            updated = self._apply_refund(db, trade, request_no, refund_amount, reason, now)
            refund = Refund(request_no, refund_amount, reason, now)
            return updated, refund, True

    def _apply_refund(
        self,
        db: sqlite3.Connection,
        trade: Trade,
        request_no: str,
        refund_amount: Decimal,
        reason: str,
        now: float,
    ) -> Trade:
        fen = to_fen(refund_amount)
        seller = db.execute(
            "SELECT balance_fen FROM apps WHERE app_id = ?", (trade.app_id,)
        ).fetchone()
        if seller is None or seller["balance_fen"] < fen:
            raise TradeError("ACQ.SELLER_BALANCE_NOT_ENOUGH", "卖家余额不足")
        db.execute(
            "UPDATE apps SET balance_fen = balance_fen - ? WHERE app_id = ?", (fen, trade.app_id)
        )
        db.execute(
            "INSERT INTO refunds (trade_id, out_request_no, amount_fen, reason, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (trade.id, request_no, fen, reason, now),
        )
        db.execute(
            "UPDATE buyers SET balance_fen = balance_fen + ? WHERE login = ?",
            (fen, trade.buyer_login),
        )
        full = trade.refunded + refund_amount >= trade.total
        db.execute(
            "UPDATE trades SET refunded_fen = refunded_fen + ?, status = ?, closed_at = ?, "
            "close_reason = ? WHERE id = ?",
            (
                fen,
                "TRADE_CLOSED" if full else trade.status,
                now if full else trade.closed_at,
                "refund" if full else trade.close_reason,
                trade.id,
            ),
        )
        updated = self._get(db, trade.id)
        extra = {"out_biz_no": request_no, "refund_fee": updated.refunded, "refunded_at": now}
        self._notify(db, updated, updated.status, extra)
        return updated

    # -- listing ----------------------------------------------------------------------------

    def list(
        self, app_id: str | None = None, out_trade_no: str | None = None, limit: int = 200
    ) -> list[Trade]:
        rows = self.store.select(
            "SELECT * FROM trades",
            {"app_id": app_id, "out_trade_no": out_trade_no},
            "id DESC",
            limit,
        )
        return [Trade.from_row(r) for r in rows]


def _dump_biz(biz: Mapping[str, Any]) -> str:
    return json.dumps(biz, ensure_ascii=False, default=str)
