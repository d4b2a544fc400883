"""WeChat Pay's daily bills (API v3), made by the sandbox from its own orders and refunds.

``GET /v3/bill/tradebill?bill_date=yyyy-MM-dd[&bill_type=ALL|SUCCESS|REFUND][&tar_type=GZIP]`` and
``GET /v3/bill/fundflowbill?bill_date=…[&account_type=BASIC|OPERATION|FEES][&tar_type=GZIP]``
answer ``{"hash_type": "SHA1", "hash_value": <SHA1 of the plain bill>, "download_url": …}``;
``GET /v3/billdownload/file?token=…`` (signed like any request; the answer is the file itself,
not signed JSON) gives the bill, gzipped when asked, for 30 real seconds.

The file is WeChat's CSV: a header row, detail rows whose cells each start with a backtick,
a summary header and a summary row. A payment is billed on the day it was paid, a refund on the
day it succeeded. The fee (手续费) is 0.6% of a payment rounded to the fen, written with five
decimals as WeChat does, and given back in proportion on refunds (negative). The sandbox bills
any day up to its own today (WeChat answers ``NO_STATEMENT_EXIST`` before the next morning).
Bills are made when asked for, so the hash matches the download.

Also :func:`make_paid_order`: an order paid at the sandbox and announced nowhere (control API
``POST /sandbox/api/wechat/bills/paid-trade``).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import secrets
import time
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from werkzeug.wrappers import Request, Response

from zhifu.money import AmountError, format_amount, from_fen, parse_amount, to_fen
from zhifu.wechatpay import BEIJING

from ..accounts import DEFAULT_BUYERS
from .errors import WechatApiError, missing, param_error
from .keys import Merchant
from .orders import _OUT_TRADE_NO, openid_for

if TYPE_CHECKING:
    from .service import WechatSandbox

__all__ = [
    "DOWNLOAD_PATH",
    "FEE_RATE",
    "bill_answer",
    "download",
    "fundflow_text",
    "make_paid_order",
    "tradebill_text",
]

TRADEBILL_PATH = "/v3/bill/tradebill"
FUNDFLOW_PATH = "/v3/bill/fundflowbill"
DOWNLOAD_PATH = "/v3/billdownload/file"
URL_LIFETIME = 30.0  # real seconds
FEE_RATE = Decimal("0.006")
_META = "wechat_bill_downloads"

TRADE_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
    "交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,"
    "充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
).split(",")
TRADE_SUMMARY = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
).split(",")
FLOW_HEADER = (
    "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额（元）,"
    "账户结余（元）,资金变更提交申请人,备注,业务凭证号"
).split(",")
FLOW_SUMMARY = "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额".split(",")
_CENT = Decimal("0.01")


def fee_of(amount: Decimal) -> Decimal:
    return (amount * FEE_RATE).quantize(_CENT, rounding=ROUND_HALF_UP)


def _fee5(value: Decimal) -> str:
    return f"{value:.5f}"


def _yuan(value: Decimal) -> str:
    return format_amount(value) if value >= 0 else "-" + format_amount(-value)


def _tick(cells: list[str]) -> list[str]:
    return ["`" + cell for cell in cells]


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _bounds(day: date) -> tuple[float, float]:
    start = datetime(day.year, day.month, day.day, tzinfo=BEIJING)
    return start.timestamp(), (start + timedelta(days=1)).timestamp()


def _time(ts: float) -> str:
    return datetime.fromtimestamp(ts, BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _activity(
    wx: WechatSandbox, mchid: str, day: date
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    start, end = _bounds(day)
    paid = [
        dict(r)
        for r in wx.store.query(
            "SELECT * FROM wx_orders WHERE mchid = ? AND paid_at >= ? AND paid_at < ? "
            "ORDER BY paid_at, id",
            (mchid, start, end),
        )
    ]
    refunded = [
        dict(r)
        for r in wx.store.query(
            "SELECT wx_refunds.*, wx_orders.appid, wx_orders.transaction_id, "
            "wx_orders.out_trade_no, wx_orders.openid, wx_orders.trade_type, "
            "wx_orders.description, wx_orders.attach, wx_orders.total_fen "
            "FROM wx_refunds JOIN wx_orders ON wx_orders.id = wx_refunds.order_id "
            "WHERE wx_refunds.mchid = ? AND wx_refunds.status = 'SUCCESS' "
            "AND wx_refunds.settled_at >= ? AND wx_refunds.settled_at < ? "
            "ORDER BY wx_refunds.settled_at, wx_refunds.id",
            (mchid, start, end),
        )
    ]
    return paid, refunded


def tradebill_text(wx: WechatSandbox, mchid: str, day: date, bill_type: str = "ALL") -> str:
    """The trade bill of ``day`` (ALL, SUCCESS: payments only, REFUND: refunds only)."""
    paid, refunded = _activity(wx, mchid, day)
    if bill_type == "SUCCESS":
        refunded = []
    elif bill_type == "REFUND":
        paid = []
    rows: list[list[str]] = []
    settle = refunds = fees = orders = Decimal("0.00")
    for o in paid:
        total = from_fen(o["total_fen"])
        fee = fee_of(total)
        settle += total
        orders += total
        fees += fee
        rows.append(
            _tick(
                [
                    _time(o["paid_at"]),
                    o["appid"],
                    mchid,
                    "0",
                    "",
                    o["transaction_id"],
                    o["out_trade_no"],
                    o["openid"],
                    o["trade_type"],
                    "SUCCESS",
                    "OTHERS",
                    "CNY",
                    format_amount(total),
                    "0.00",
                    "0",
                    "0",
                    "0.00",
                    "0.00",
                    "",
                    "",
                    o["description"],
                    o["attach"],
                    _fee5(fee),
                    "0.60%",
                    format_amount(total),
                    "0.00",
                    "",
                ]
            )
        )
    for r in refunded:
        amount = from_fen(r["amount_fen"])
        fee = fee_of(amount)
        refunds += amount
        fees -= fee
        rows.append(
            _tick(
                [
                    _time(r["settled_at"]),
                    r["appid"],
                    mchid,
                    "0",
                    "",
                    r["transaction_id"],
                    r["out_trade_no"],
                    r["openid"],
                    r["trade_type"],
                    "REFUND",
                    "OTHERS",
                    "CNY",
                    "0.00",
                    "0.00",
                    r["refund_id"],
                    r["out_refund_no"],
                    format_amount(amount),
                    "0.00",
                    "ORIGINAL",
                    "SUCCESS",
                    r["description"],
                    r["attach"],
                    _fee5(-fee),
                    "0.60%",
                    "0.00",
                    format_amount(amount),
                    "",
                ]
            )
        )
    summary = _tick(
        [
            str(len(rows)),
            _yuan(settle),
            _yuan(refunds),
            "0.00",
            _fee5(fees),
            _yuan(orders),
            _yuan(refunds),
        ]
    )
    return _csv([TRADE_HEADER, *rows, TRADE_SUMMARY, summary])


def fundflow_text(wx: WechatSandbox, mchid: str, day: date, account_type: str = "BASIC") -> str:
    """The fund flow bill of the basic account (other accounts: no movements)."""
    paid, refunded = _activity(wx, mchid, day)
    if account_type != "BASIC":
        paid, refunded = [], []
    events: list[tuple[float, str, str, str, Decimal, str]] = []
    for o in paid:
        total = from_fen(o["total_fen"])
        events.append((o["paid_at"], o["transaction_id"], "交易", "交易", total, o["out_trade_no"]))
        fee = fee_of(total)
        if fee:
            events.append(
                (o["paid_at"], o["transaction_id"], "扣除交易手续费", "扣除交易手续费", -fee, "")
            )
    for r in refunded:
        amount = from_fen(r["amount_fen"])
        events.append(
            (r["settled_at"], r["refund_id"], "退款", "退款", -amount, r["out_refund_no"])
        )
        fee = fee_of(amount)
        if fee:
            events.append(
                (r["settled_at"], r["refund_id"], "退还交易手续费", "退还交易手续费", fee, "")
            )
    events.sort(key=lambda e: e[0])
    balance = Decimal("0.00")
    rows: list[list[str]] = []
    income = expense = Decimal("0.00")
    n_in = n_out = 0
    for when, number, name, kind, amount, voucher in events:
        balance += amount
        if amount >= 0:
            income += amount
            n_in += 1
        else:
            expense -= amount
            n_out += 1
        rows.append(
            _tick(
                [
                    _time(when),
                    number,
                    mchid
                    + datetime.fromtimestamp(when, BEIJING).strftime("%Y%m%d")
                    + "".join(secrets.choice("0123456789") for _ in range(10)),
                    name,
                    kind,
                    "收入" if amount >= 0 else "支出",
                    format_amount(abs(amount)),
                    _yuan(balance),
                    "system",
                    "",
                    voucher,
                ]
            )
        )
    summary = _tick(
        [f"{len(rows)}.0", f"{n_in}.0", format_amount(income), f"{n_out}.0", format_amount(expense)]
    )
    return _csv([FLOW_HEADER, *rows, FLOW_SUMMARY, summary])


def _args(request: Request) -> dict[str, str]:
    query = parse_qs(request.environ.get("QUERY_STRING", ""), keep_blank_values=True)
    return {k: v[0] for k, v in query.items()}


def bill_answer(
    wx: WechatSandbox, request: Request, merchant: Merchant, path: str
) -> dict[str, Any]:
    """``GET /v3/bill/tradebill`` / ``/v3/bill/fundflowbill``: make the bill, answer its hash
    and a download URL."""
    args = _args(request)
    text_date = args.get("bill_date")
    if not text_date:
        raise missing("/bill_date", "账单日期", location="query")
    try:
        day = datetime.strptime(text_date, "%Y-%m-%d").date()
    except ValueError:
        raise param_error("/bill_date", "yyyy-MM-dd", value=text_date, location="query") from None
    today = datetime.fromtimestamp(wx.clock.now(), BEIJING).date()
    if day > today:
        raise WechatApiError(400, "NO_STATEMENT_EXIST", "要查询的账单文件不存在，请确认账单日期")
    tar = args.get("tar_type", "")
    if tar not in ("", "GZIP"):
        raise param_error("/tar_type", "GZIP or nothing", value=tar, location="query")
    if path == TRADEBILL_PATH:
        bill_type = args.get("bill_type") or "ALL"
        if bill_type not in ("ALL", "SUCCESS", "REFUND"):
            raise param_error(
                "/bill_type", "ALL, SUCCESS or REFUND", value=bill_type, location="query"
            )
        text = tradebill_text(wx, merchant.mchid, day, bill_type)
    else:
        account = args.get("account_type") or "BASIC"
        if account not in ("BASIC", "OPERATION", "FEES"):
            raise param_error(
                "/account_type", "BASIC, OPERATION or FEES", value=account, location="query"
            )
        text = fundflow_text(wx, merchant.mchid, day, account)
    plain = text.encode("utf-8")
    token = secrets.token_urlsafe(24)
    real_now = time.time()
    pending: dict[str, Any] = wx.store.get_json(_META, {})
    pending = {k: v for k, v in pending.items() if v["expires"] > real_now}
    pending[token] = {
        "mchid": merchant.mchid,
        "text": text,
        "gzip": tar == "GZIP",
        "expires": real_now + URL_LIFETIME,
    }
    wx.store.set_json(_META, pending)
    return {
        "hash_type": "SHA1",
        "hash_value": hashlib.sha1(plain, usedforsecurity=False).hexdigest(),
        "download_url": f"{request.host_url.rstrip('/')}{DOWNLOAD_PATH}?token={token}",
    }


def download(wx: WechatSandbox, request: Request, merchant: Merchant, request_id: str) -> Response:
    """``GET /v3/billdownload/file?token=…``: the bill's bytes (the answer is not signed)."""
    token = _args(request).get("token", "")
    pending: dict[str, Any] = wx.store.get_json(_META, {})
    entry = pending.get(token)
    if entry is None or entry["expires"] <= time.time() or entry["mchid"] != merchant.mchid:
        body = json.dumps(
            {"code": "RESOURCE_NOT_EXISTS", "message": "账单下载地址已失效或不存在，请重新申请"},
            ensure_ascii=False,
        ).encode()
        return Response(
            body,
            status=404,
            headers={"Request-ID": request_id},
            content_type="application/json; charset=utf-8",
        )
    plain = str(entry["text"]).encode("utf-8")
    if entry["gzip"]:
        return Response(
            gzip.compress(plain, mtime=0),
            status=200,
            headers={"Request-ID": request_id},
            content_type="application/x-gzip",
        )
    return Response(
        plain,
        status=200,
        headers={"Request-ID": request_id},
        content_type="text/plain; charset=utf-8",
    )


def make_paid_order(
    wx: WechatSandbox,
    *,
    out_trade_no: str,
    amount: str,
    description: str = "sandbox-only order",
    buyer: str | None = None,
    mchid: str | None = None,
) -> dict[str, Any]:
    """An order paid at the sandbox and announced nowhere: no prepay, no notification.
    ValueError if the merchant has an order of that number already, or the input is wrong."""
    merchant = wx.keys.merchant(mchid) if mchid else wx.keys.default()
    if merchant is None:
        raise LookupError(f"no merchant {mchid!r} in this sandbox")
    if not _OUT_TRADE_NO.fullmatch(out_trade_no):
        raise ValueError(f"out_trade_no {out_trade_no!r}: 6-32 letters, digits or _-|*")
    try:
        total = parse_amount(amount, field="amount")
    except AmountError as exc:
        raise ValueError(str(exc)) from None
    login = buyer or DEFAULT_BUYERS[0][0]
    if wx.accounts.buyer(login) is None:
        raise LookupError(f"no sandbox buyer {login!r}")
    now = wx.clock.now()
    day = datetime.fromtimestamp(now, BEIJING).strftime("%Y%m%d")
    transaction_id = "420000" + "".join(secrets.choice("0123456789") for _ in range(4))
    transaction_id += day + "".join(secrets.choice("0123456789") for _ in range(10))
    with wx.store.transaction() as db:
        row = db.execute(
            "SELECT trade_state FROM wx_orders WHERE mchid = ? AND out_trade_no = ?",
            (merchant.mchid, out_trade_no),
        ).fetchone()
        if row is not None:
            raise ValueError(
                f"merchant {merchant.mchid} already has an order {out_trade_no!r} "
                f"({row['trade_state']}): pay it through the sandbox's pay control instead"
            )
        db.execute(
            "INSERT INTO wx_orders (mchid, appid, out_trade_no, transaction_id, trade_type, "
            "trade_state, request, description, notify_url, total_fen, openid, buyer_login, "
            "pay_token, created_at, expires_at, paid_at) "
            "VALUES (?, ?, ?, ?, 'NATIVE', 'SUCCESS', '{}', ?, '', ?, ?, ?, ?, ?, ?, ?)",
            (
                merchant.mchid,
                merchant.appid,
                out_trade_no,
                transaction_id,
                description,
                to_fen(total),
                openid_for(merchant.appid, login),
                login,
                secrets.token_urlsafe(9),
                now,
                now,
                now,
            ),
        )
    order = wx.orders.get(merchant.mchid, out_trade_no)
    assert order is not None
    return order.as_json()
