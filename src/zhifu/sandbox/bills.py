"""Alipay's daily bills, made by the sandbox from its own trades and refunds.

``alipay.data.dataservice.bill.downloadurl.query`` (``bill_type`` ``trade`` or ``signcustomer``,
a daily ``bill_date`` ``yyyy-MM-dd``) answers a ``bill_download_url`` on this sandbox
(``/downloadBillFile.resource?...``) that lives 30 real seconds; the download is a zip of GBK CSV
files as Alipay makes them: ``#`` header lines, a header row, rows whose cells end in a tab, ``#``
footer lines (业务明细 + 业务明细(汇总) for ``trade``, 账务明细 + 账务明细(汇总) for
``signcustomer``). The fee (服务费) is 0.6% of each payment, rounded to the fen, and given back
in proportion on refunds. The sandbox bills any day up to its own today (Alipay only bills days
that are over, from the next morning): tests need not wait.

Also the control behind ``POST /sandbox/api/bills/paid-trade``: a paid trade made in the sandbox
alone (no cashier, no notification) — a trade the site never heard of, or, with the number of an
attempt the site did start, a payment whose news never reached it.
"""

from __future__ import annotations

import csv
import io
import secrets
import time
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from zhifu.money import AmountError, format_amount, from_fen, parse_amount, to_fen

from .accounts import DEFAULT_BUYERS, mask_login
from .clock import BEIJING, fmt
from .trades import TradeError, _new_trade_no

if TYPE_CHECKING:
    from .app import Sandbox

__all__ = [
    "BILL_TYPES",
    "DOWNLOAD_PATH",
    "FEE_RATE",
    "BillRequestError",
    "account_bill_zip",
    "bill_download_url",
    "download",
    "fee_of",
    "make_paid_trade",
    "trade_bill_zip",
]

BILL_TYPES = ("trade", "signcustomer")
DOWNLOAD_PATH = "/downloadBillFile.resource"
URL_LIFETIME = 30.0  # real seconds, as Alipay's
FEE_RATE = Decimal("0.006")
_META = "alipay_bill_downloads"
_RULE = "-" * 41

TRADE_HEADER = (
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,"
    "对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,"
    "商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,"
    "退款批次号/请求号,服务费（元）,分润（元）,备注"
).split(",")
SUMMARY_HEADER = (
    "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,"
    "支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）"
).split(",")
ACCOUNT_HEADER = (
    "账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,"
    "支出金额（-元）,账户余额（元）,交易渠道,业务类型,备注"
).split(",")
ACCOUNT_SUMMARY_HEADER = "业务类型,收入笔数,收入金额（+元）,支出笔数,支出金额（-元）,备注".split(
    ","
)


class BillRequestError(TradeError):
    """A bill request Alipay refuses (answered 40004 with ``sub_code``, ``sub_msg``)."""


def fee_of(amount: Decimal) -> Decimal:
    return (amount * FEE_RATE).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class _Payment:
    trade_no: str
    out_trade_no: str
    subject: str
    created_at: float
    paid_at: float
    buyer: str
    total: Decimal


@dataclass(frozen=True)
class _Refund:
    trade_no: str
    out_trade_no: str
    subject: str
    created_at: float
    refunded_at: float
    buyer: str
    amount: Decimal
    out_request_no: str
    trade_total: Decimal


def _bounds(day: date) -> tuple[float, float]:
    start = datetime(day.year, day.month, day.day, tzinfo=BEIJING)
    return start.timestamp(), (start + timedelta(days=1)).timestamp()


def _activity(sandbox: Sandbox, app_id: str, day: date) -> tuple[list[_Payment], list[_Refund]]:
    start, end = _bounds(day)
    payments = [
        _Payment(
            r["trade_no"],
            r["out_trade_no"],
            r["subject"],
            float(r["created_at"]),
            float(r["paid_at"]),
            r["buyer_login"],
            from_fen(r["total_fen"]),
        )
        for r in sandbox.store.query(
            "SELECT * FROM trades WHERE app_id = ? AND paid_at >= ? AND paid_at < ? "
            "ORDER BY paid_at, id",
            (app_id, start, end),
        )
    ]
    refunds = [
        _Refund(
            r["trade_no"],
            r["out_trade_no"],
            r["subject"],
            float(r["trade_created_at"]),
            float(r["created_at"]),
            r["buyer_login"],
            from_fen(r["amount_fen"]),
            r["out_request_no"],
            from_fen(r["total_fen"]),
        )
        for r in sandbox.store.query(
            "SELECT refunds.*, trades.trade_no, trades.out_trade_no, trades.subject, "
            "trades.created_at AS trade_created_at, trades.buyer_login, trades.total_fen "
            "FROM refunds JOIN trades ON trades.id = refunds.trade_id "
            "WHERE trades.app_id = ? AND refunds.created_at >= ? AND refunds.created_at < ? "
            "ORDER BY refunds.created_at, refunds.id",
            (app_id, start, end),
        )
    ]
    return payments, refunds


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows)
    return out.getvalue()


def _tab(cells: list[str]) -> list[str]:
    """Alipay ends each cell of a data row with a tab (spreadsheets keep numbers as text)."""
    return [f"{cell}\t" for cell in cells]


def _period(day: date) -> str:
    end = day + timedelta(days=1)
    return f"#起始日期：[{day:%Y年%m月%d日} 00:00:00]   终止日期：[{end:%Y年%m月%d日} 00:00:00]\r\n"


def _head(title: str, seller_id: str, day: date, section: str) -> str:
    return (
        f"#支付宝{title}查询\r\n#账号：[{seller_id}]\r\n{_period(day)}"
        f"#{_RULE}{section}列表{_RULE}\r\n"
    )


def _money(value: Decimal) -> str:
    return format_amount(value) if value >= 0 else "-" + format_amount(-value)


def _export(now: float) -> str:
    return f"#导出时间：[{datetime.fromtimestamp(now, BEIJING):%Y年%m月%d日 %H:%M:%S}]\r\n"


def _zip(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text.encode("gb18030"))
    return out.getvalue()


def trade_bill_zip(sandbox: Sandbox, app_id: str, day: date) -> bytes:
    """The ``trade`` bill (业务明细 and its 汇总) of ``app_id`` for ``day``, zipped."""
    app = sandbox.accounts.app(app_id)
    seller_id = app.seller_id if app is not None else ""
    payments, refunds = _activity(sandbox, app_id, day)
    rows: list[list[str]] = []
    fee_total = Decimal("0.00")
    paid_total = Decimal("0.00")
    refunded_total = Decimal("0.00")
    for p in payments:
        fee = fee_of(p.total)
        fee_total += fee
        paid_total += p.total
        rows.append(
            _tab(
                [
                    p.trade_no,
                    p.out_trade_no,
                    "交易",
                    p.subject,
                    fmt(p.created_at),
                    fmt(p.paid_at),
                    "",
                    "",
                    "",
                    "",
                    mask_login(p.buyer) if p.buyer else "",
                    _money(p.total),
                    _money(p.total),
                    "0.00",
                    "0.00",
                    "0.00",
                    "0.00",
                    "0.00",
                    "",
                    "0.00",
                    "0.00",
                    "",
                    _money(-fee),
                    "0.00",
                    "",
                ]
            )
        )
    for r in refunds:
        fee = fee_of(r.amount)
        fee_total -= fee
        refunded_total += r.amount
        rows.append(
            _tab(
                [
                    r.trade_no,
                    r.out_trade_no,
                    "退款",
                    r.subject,
                    fmt(r.created_at),
                    fmt(r.refunded_at),
                    "",
                    "",
                    "",
                    "",
                    mask_login(r.buyer) if r.buyer else "",
                    _money(-r.amount),
                    _money(-r.amount),
                    "0.00",
                    "0.00",
                    "0.00",
                    "0.00",
                    "0.00",
                    "",
                    "0.00",
                    "0.00",
                    r.out_request_no,
                    _money(fee),
                    "0.00",
                    "",
                ]
            )
        )
    now = sandbox.clock.now()
    detail = (
        _head("业务明细", seller_id, day, "业务明细")
        + _csv([TRADE_HEADER, *rows])
        + f"#{_RULE}业务明细列表结束{_RULE}\r\n"
        + f"#交易合计：{len(payments)}笔，退款合计：{len(refunds)}笔\r\n"
        + _export(now)
    )
    net = paid_total - refunded_total
    summary = (
        _head("业务汇总", seller_id, day, "业务汇总")
        + _csv(
            [
                SUMMARY_HEADER,
                [
                    "合计",
                    "",
                    str(len(payments)),
                    str(len(refunds)),
                    _money(net),
                    _money(net),
                    "0.00",
                    "0.00",
                    "0.00",
                    _money(-fee_total),
                    "0.00",
                    _money(net - fee_total),
                ],
            ]
        )
        + f"#{_RULE}业务汇总列表结束{_RULE}\r\n"
        + _export(now)
    )
    stem = f"{seller_id}_{day:%Y%m%d}"
    return _zip({f"{stem}_业务明细.csv": detail, f"{stem}_业务明细(汇总).csv": summary})


def account_bill_zip(sandbox: Sandbox, app_id: str, day: date) -> bytes:
    """The ``signcustomer`` bill (账务明细 and its 汇总): payments in, fees and refunds out."""
    app = sandbox.accounts.app(app_id)
    seller_id = app.seller_id if app is not None else ""
    payments, refunds = _activity(sandbox, app_id, day)
    events: list[tuple[float, str, str, str, str, Decimal, str]] = []
    for p in payments:
        events.append(
            (p.paid_at, p.trade_no, p.out_trade_no, p.subject, p.buyer, p.total, "在线支付")
        )
        fee = fee_of(p.total)
        if fee:
            events.append((p.paid_at, p.trade_no, p.out_trade_no, p.subject, "", -fee, "收费"))
    for r in refunds:
        events.append(
            (r.refunded_at, r.trade_no, r.out_trade_no, r.subject, r.buyer, -r.amount, "交易退款")
        )
        fee = fee_of(r.amount)
        if fee:
            events.append((r.refunded_at, r.trade_no, r.out_trade_no, r.subject, "", fee, "退费"))
    events.sort(key=lambda e: e[0])
    balance = Decimal("0.00")
    rows: list[list[str]] = []
    totals: dict[str, list[Any]] = {}
    for when, trade_no, out_trade_no, subject, buyer, amount, kind in events:
        balance += amount
        income = _money(amount) if amount > 0 else ""
        expense = _money(amount) if amount < 0 else ""
        rows.append(
            _tab(
                [
                    datetime.fromtimestamp(when, BEIJING).strftime("%Y%m%d")
                    + "".join(secrets.choice("0123456789") for _ in range(18)),
                    trade_no,
                    out_trade_no,
                    subject,
                    fmt(when),
                    mask_login(buyer) if buyer else "",
                    income,
                    expense,
                    _money(balance),
                    "",
                    kind,
                    "",
                ]
            )
        )
        entry = totals.setdefault(kind, [0, Decimal("0.00"), 0, Decimal("0.00")])
        if amount > 0:
            entry[0] += 1
            entry[1] += amount
        else:
            entry[2] += 1
            entry[3] += amount
    now = sandbox.clock.now()
    spent = [e for e in events if e[5] < 0]
    earned = [e for e in events if e[5] > 0]
    detail = (
        _head("账务明细", seller_id, day, "账务明细")
        + _csv([ACCOUNT_HEADER, *rows])
        + f"#{_RULE}账务明细列表结束{_RULE}\r\n"
        + f"#支出合计：{len(spent)}笔，共{_money(sum((e[5] for e in spent), Decimal('0.00')))}元\r\n"
        + f"#收入合计：{len(earned)}笔，共{_money(sum((e[5] for e in earned), Decimal('0.00')))}元\r\n"
        + _export(now)
    )
    summary_rows = [
        [kind, str(n_in), _money(s_in), str(n_out), _money(s_out), ""]
        for kind, (n_in, s_in, n_out, s_out) in sorted(totals.items())
    ]
    summary = (
        _head("账务汇总", seller_id, day, "账务汇总")
        + _csv([ACCOUNT_SUMMARY_HEADER, *summary_rows])
        + f"#{_RULE}账务汇总列表结束{_RULE}\r\n"
        + _export(now)
    )
    stem = f"{seller_id}_{day:%Y%m%d}"
    return _zip({f"{stem}_账务明细.csv": detail, f"{stem}_账务明细(汇总).csv": summary})


# -- the gateway method and the download ------------------------------------------------------


def bill_download_url(
    sandbox: Sandbox, request: Request, app_id: str, params: dict[str, str], biz: dict[str, Any]
) -> dict[str, Any]:
    """``alipay.data.dataservice.bill.downloadurl.query``: the answer's fields."""
    bill_type = biz.get("bill_type")
    bill_date = biz.get("bill_date")
    if not bill_type:
        raise BillRequestError("isv.missing-bill-type", "缺少必选参数 bill_type")
    if bill_type not in BILL_TYPES:
        raise BillRequestError(
            "isv.invalid-bill-type",
            f"账单类型不正确 (bill_type {bill_type!r}: trade or signcustomer)",
        )
    if not bill_date:
        raise BillRequestError("isv.missing-bill-date", "缺少必选参数 bill_date")
    try:
        day = datetime.strptime(str(bill_date), "%Y-%m-%d").date()
    except ValueError:
        raise BillRequestError(
            "isv.invalid-bill-date",
            f"账单日期格式不正确 ({bill_date!r}: the sandbox makes daily bills, yyyy-MM-dd)",
        ) from None
    today = datetime.fromtimestamp(sandbox.clock.now(), BEIJING).date()
    if day > today:
        raise BillRequestError("isp.bill_not_exist", "账单不存在 (a day still to come)")
    token = secrets.token_urlsafe(18)
    pending: dict[str, Any] = sandbox.store.get_json(_META, {})
    real_now = time.time()
    pending = {k: v for k, v in pending.items() if v["expires"] > real_now}
    pending[token] = {
        "app_id": app_id,
        "bill_type": bill_type,
        "day": day.isoformat(),
        "expires": real_now + URL_LIFETIME,
    }
    sandbox.store.set_json(_META, pending)
    app = sandbox.accounts.app(app_id)
    query = {
        "bizType": bill_type,
        "userId": app.seller_id if app is not None else "",
        "fileType": "csv.zip",
        "bizDates": f"{day:%Y%m%d}",
        "downloadFileName": f"{day:%Y%m%d}.csv.zip",
        "fileId": f"/{bill_type}/{day:%Y%m%d}",
        "timestamp": str(int(real_now)),
        "token": token,
    }
    url = sandbox.base_url(request) + DOWNLOAD_PATH + "?" + urlencode(query)
    return {"bill_download_url": url}


def download(sandbox: Sandbox, request: Request) -> Response:
    """``GET /downloadBillFile.resource?token=...``: the zip, while the URL lives."""
    token = request.args.get("token", "")
    pending: dict[str, Any] = sandbox.store.get_json(_META, {})
    entry = pending.get(token)
    if entry is None or entry["expires"] <= time.time():
        return Response(
            "账单下载地址已失效 (the bill download URL is unknown or older than 30 seconds; "
            "ask alipay.data.dataservice.bill.downloadurl.query again)\n",
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    day = date.fromisoformat(entry["day"])
    make = trade_bill_zip if entry["bill_type"] == "trade" else account_bill_zip
    body = make(sandbox, entry["app_id"], day)
    name = f"{day:%Y%m%d}.csv.zip"
    return Response(
        body,
        status=200,
        content_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# -- a trade only the sandbox knows ------------------------------------------------------------


def make_paid_trade(
    sandbox: Sandbox,
    *,
    app_id: str,
    out_trade_no: str,
    amount: str,
    subject: str = "sandbox-only trade",
    buyer: str | None = None,
) -> str:
    """A trade paid at the sandbox and nowhere announced: no cashier, no notification. Returns
    its trade_no. Refused (ValueError) if the app has a trade of that number already."""
    try:
        total = parse_amount(amount, field="amount")
    except AmountError as exc:
        raise ValueError(str(exc)) from None
    if sandbox.accounts.app(app_id) is None:
        raise LookupError(f"no app {app_id!r} in this sandbox")
    login = buyer or DEFAULT_BUYERS[0][0]
    payer = sandbox.accounts.buyer(login)
    if payer is None:
        raise LookupError(f"no sandbox buyer {login!r}")
    now = sandbox.clock.now()
    trade_no = _new_trade_no(now)
    with sandbox.store.transaction() as db:
        row = db.execute(
            "SELECT status FROM trades WHERE app_id = ? AND out_trade_no = ?",
            (app_id, out_trade_no),
        ).fetchone()
        if row is not None:
            raise ValueError(
                f"app {app_id} already has a trade {out_trade_no!r} ({row['status']}): pay it "
                "through its cashier instead"
            )
        db.execute(
            "INSERT INTO trades (app_id, out_trade_no, trade_no, method, product_code, status, "
            "total_fen, subject, expires_at, created_at, paid_at, buyer_login, buyer_id) "
            "VALUES (?, ?, ?, 'alipay.trade.page.pay', 'FAST_INSTANT_TRADE_PAY', 'TRADE_SUCCESS', "
            "?, ?, ?, ?, ?, ?, ?)",
            (
                app_id,
                out_trade_no,
                trade_no,
                to_fen(total),
                subject,
                now,
                now,
                now,
                payer.login,
                payer.user_id,
            ),
        )
        db.execute(
            "UPDATE apps SET balance_fen = balance_fen + ? WHERE app_id = ?",
            (to_fen(total), app_id),
        )
    return trade_no
