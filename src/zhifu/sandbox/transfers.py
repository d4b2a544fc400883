"""Fund transfers to an Alipay account: ``alipay.fund.trans.uni.transfer`` and
``alipay.fund.trans.common.query``, as Alipay answers them.

- Certificate mode only: a transfer signed in public-key mode (no ``app_cert_sn``) is refused
  with ``40002 isv.missing-app-cert-sn`` (缺少应用公钥证书序列号), the answer Alipay gives
  (reports: yansongda/pay#325 and #378, "转账方法必须使用 API证书").
- Product ``TRANS_ACCOUNT_NO_PWD``, scene ``DIRECT_TRANSFER``; the payee is a sandbox buyer, by
  ``ALIPAY_LOGON_ID`` (login; ``name`` must be the buyer's name) or ``ALIPAY_USER_ID``:
  ``PAYEE_NOT_EXIST`` / ``PAYEE_USER_INFO_ERROR`` otherwise.
- Paid from the app's (merchant's) balance: ``PAYER_BALANCE_NOT_ENOUGH`` when it is short (set it
  with ``POST /sandbox/api/apps/<app_id>/balance``); the payee's balance grows by the amount.
- Idempotent per (app, ``out_biz_no``): the same request answers the first result again; the
  same number with another amount or payee is refused (``INVALID_PARAMETER``).
- Faults: ``gateway_errors`` (answer ``SYSTEM_ERROR`` before acting) and ``gateway_timeouts``
  (act, then hold the answer) apply to these methods like any other, with ``methods`` naming
  ``alipay.fund.trans.uni.transfer``: the site's "unknown outcome → query" path can be tested.
- The query answers ``status`` ``SUCCESS`` with ``pay_date`` for a transfer made, and
  ``40004 ORDER_NOT_EXIST`` for a number it never received.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request

from zhifu.money import AmountError, format_amount, from_fen, parse_amount, to_fen

from .clock import BEIJING, fmt

if TYPE_CHECKING:
    import sqlite3

    from .app import Sandbox

__all__ = ["TRANSFER_METHODS", "forget_transfers", "transfer", "transfer_query", "transfers"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS transfers (
    id INTEGER PRIMARY KEY,
    app_id TEXT NOT NULL,
    out_biz_no TEXT NOT NULL,
    order_id TEXT NOT NULL,
    pay_fund_order_id TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    payee_login TEXT NOT NULL,
    payee_id TEXT NOT NULL,
    order_title TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (app_id, out_biz_no)
)
"""


def _error(code: str, sub_code: str, sub_msg: str) -> Exception:
    from .gateway import GatewayError

    return GatewayError(code, sub_code, sub_msg)


def _require_cert_mode(params: dict[str, str]) -> None:
    if not params.get("app_cert_sn"):
        raise _error("40002", "isv.missing-app-cert-sn", "缺少应用公钥证书序列号")
    if not params.get("alipay_root_cert_sn"):
        raise _error("40002", "isv.missing-alipay-root-cert-sn", "缺少支付宝根证书序列号")


def _ensure_table(db: sqlite3.Connection) -> None:
    db.execute(SCHEMA)


def forget_transfers(db: sqlite3.Connection) -> None:
    """The sandbox's reset: no transfer is remembered (the table may not exist yet)."""
    _ensure_table(db)
    db.execute("DELETE FROM transfers")


def _no(prefix: str) -> str:
    """32 digits, as Alipay's transfer numbers: the Beijing date, ``prefix``, random digits."""
    day = datetime.now(BEIJING).strftime("%Y%m%d")
    return day + prefix + "".join(secrets.choice("0123456789") for _ in range(24 - len(prefix)))


def _payee(db: sqlite3.Connection, info: Any) -> sqlite3.Row:
    if not isinstance(info, dict):
        raise _error("40004", "INVALID_PARAMETER", "参数有误 payee_info (a JSON object)")
    identity = info.get("identity")
    kind = info.get("identity_type")
    if not isinstance(identity, str) or not identity:
        raise _error("40004", "INVALID_PARAMETER", "参数有误 payee_info.identity")
    if kind == "ALIPAY_LOGON_ID":
        row: sqlite3.Row | None = db.execute(
            "SELECT * FROM buyers WHERE login = ?", (identity,)
        ).fetchone()
        if row is None:
            raise _error("40004", "PAYEE_NOT_EXIST", "收款账号不存在")
        name = info.get("name")
        if not isinstance(name, str) or not name:
            raise _error(
                "40004", "PAYEE_USER_INFO_ERROR", "支付宝账号和姓名不匹配 (name is required)"
            )
        if name != row["name"]:
            raise _error("40004", "PAYEE_USER_INFO_ERROR", "支付宝账号和姓名不匹配")
        return row
    if kind == "ALIPAY_USER_ID":
        row = db.execute("SELECT * FROM buyers WHERE user_id = ?", (identity,)).fetchone()
        if row is None:
            raise _error("40004", "PAYEE_NOT_EXIST", "收款账号不存在")
        name = info.get("name")
        if isinstance(name, str) and name and name != row["name"]:
            raise _error("40004", "PAYEE_USER_INFO_ERROR", "支付宝账号和姓名不匹配")
        return row
    raise _error(
        "40004", "INVALID_PARAMETER", "参数有误 identity_type (ALIPAY_LOGON_ID or ALIPAY_USER_ID)"
    )


def _answer(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "out_biz_no": row["out_biz_no"],
        "order_id": row["order_id"],
        "pay_fund_order_id": row["pay_fund_order_id"],
        "status": row["status"],
        "trans_amount": format_amount(from_fen(int(row["amount_fen"]))),
        "pay_date": fmt(float(row["created_at"])),
    }


def transfer(
    sandbox: Sandbox, request: Request, app_id: str, params: dict[str, str], biz: dict[str, Any]
) -> dict[str, Any]:
    _require_cert_mode(params)
    if biz.get("product_code") != "TRANS_ACCOUNT_NO_PWD":
        raise _error("40004", "INVALID_PARAMETER", "参数有误 product_code (TRANS_ACCOUNT_NO_PWD)")
    if biz.get("biz_scene") != "DIRECT_TRANSFER":
        raise _error("40004", "INVALID_PARAMETER", "参数有误 biz_scene (DIRECT_TRANSFER)")
    out_biz_no = biz.get("out_biz_no")
    if not isinstance(out_biz_no, str) or not out_biz_no or len(out_biz_no) > 64:
        raise _error("40004", "INVALID_PARAMETER", "参数有误 out_biz_no")
    try:
        amount = parse_amount(str(biz.get("trans_amount", "")), field="trans_amount")
    except AmountError as exc:
        raise _error("40004", "INVALID_PARAMETER", f"参数有误 trans_amount ({exc})") from None
    if amount < Decimal("0.10"):
        raise _error("40004", "EXCEED_LIMIT_SM_MIN_AMOUNT", "单笔最低转账金额0.1元")
    title = biz.get("order_title")
    if not isinstance(title, str) or not title:
        raise _error("40004", "INVALID_PARAMETER", "参数有误 order_title")
    with sandbox.store.transaction() as db:
        _ensure_table(db)
        payee = _payee(db, biz.get("payee_info"))
        row = db.execute(
            "SELECT * FROM transfers WHERE app_id = ? AND out_biz_no = ?", (app_id, out_biz_no)
        ).fetchone()
        if row is not None:
            if int(row["amount_fen"]) != to_fen(amount) or row["payee_login"] != payee["login"]:
                raise _error(
                    "40004",
                    "INVALID_PARAMETER",
                    "out_biz_no 已使用，且金额或收款方不同 (same out_biz_no, other request)",
                )
            return _answer(row)  # the same request again: the first answer
        balance = db.execute("SELECT balance_fen FROM apps WHERE app_id = ?", (app_id,)).fetchone()
        if balance is None or int(balance["balance_fen"]) < to_fen(amount):
            raise _error("40004", "PAYER_BALANCE_NOT_ENOUGH", "付款方余额不足")
        now = sandbox.clock.now()
        db.execute(
            "UPDATE apps SET balance_fen = balance_fen - ? WHERE app_id = ?",
            (to_fen(amount), app_id),
        )
        db.execute(
            "UPDATE buyers SET balance_fen = balance_fen + ? WHERE login = ?",
            (to_fen(amount), payee["login"]),
        )
        db.execute(
            "INSERT INTO transfers (app_id, out_biz_no, order_id, pay_fund_order_id, amount_fen, "
            "payee_login, payee_id, order_title, status, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'SUCCESS', ?)",
            (
                app_id,
                out_biz_no,
                _no("110070"),
                _no("110070001"),
                to_fen(amount),
                payee["login"],
                payee["user_id"],
                title[:128],
                now,
            ),
        )
        row = db.execute(
            "SELECT * FROM transfers WHERE app_id = ? AND out_biz_no = ?", (app_id, out_biz_no)
        ).fetchone()
    return _answer(row)


def transfer_query(
    sandbox: Sandbox, request: Request, app_id: str, params: dict[str, str], biz: dict[str, Any]
) -> dict[str, Any]:
    _require_cert_mode(params)
    clauses: list[tuple[str, str]] = []
    for key in ("pay_fund_order_id", "order_id", "out_biz_no"):
        value = biz.get(key)
        if isinstance(value, str) and value:
            clauses.append((key, value))
    if not clauses:
        raise _error(
            "40004", "INVALID_PARAMETER", "out_biz_no、order_id、pay_fund_order_id 不能同时为空"
        )
    key, value = clauses[0]  # Alipay: pay_fund_order_id, then order_id, then out_biz_no
    if key == "out_biz_no" and (
        biz.get("product_code") != "TRANS_ACCOUNT_NO_PWD"
        or biz.get("biz_scene") != "DIRECT_TRANSFER"
    ):
        raise _error(
            "40004", "INVALID_PARAMETER", "传 out_biz_no 时 product_code 与 biz_scene 必填"
        )
    with sandbox.store.transaction() as db:
        _ensure_table(db)
        row = db.execute(
            f"SELECT * FROM transfers WHERE app_id = ? AND {key} = ?",  # noqa: S608 - fixed keys
            (app_id, value),
        ).fetchone()
    if row is None:
        raise _error("40004", "ORDER_NOT_EXIST", "转账订单不存在")
    return _answer(row)


def transfers(sandbox: Sandbox, limit: int = 50) -> list[dict[str, Any]]:
    """The latest transfers (for the dashboard and the control API)."""
    with sandbox.store.transaction() as db:
        _ensure_table(db)
        rows = db.execute("SELECT * FROM transfers ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [
        {**_answer(r), "app_id": r["app_id"], "payee": r["payee_login"], "title": r["order_title"]}
        for r in rows
    ]


TRANSFER_METHODS = {
    "alipay.fund.trans.uni.transfer": transfer,
    "alipay.fund.trans.common.query": transfer_query,
}
