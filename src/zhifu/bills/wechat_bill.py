"""WeChat Pay's daily bills (API v3), read into neutral :class:`~zhifu.bills.lines.BillLine` rows.

``GET /v3/bill/tradebill`` and ``GET /v3/bill/fundflowbill`` give a ``download_url`` and the SHA1
of the bill (of the plain text, a gzip download is unpacked first). The file is UTF-8 CSV: a
header row, detail rows whose every cell starts with a backtick (`````) so that spreadsheets
keep long numbers as text, then a summary header row and one summary row (backticks too).

- trade bill (``bill_type=ALL``): 交易状态 ``SUCCESS`` rows are payments (订单金额), ``REFUND``
  rows are refunds (申请退款金额, 商户退款单号, 退款状态); 手续费 has five decimals; the
  summary states 手续费总金额.
- fund flow bill: the account's movements (收支类型 收入/支出); rows whose 业务类型 names a
  手续费 (fee) give the account's fee total.

No Django import.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from datetime import date
from decimal import Decimal

from .csvtext import Row, Section, parse_time, read_sections, yuan
from .lines import Bill, BillFormatError, BillLine, LineKind

__all__ = [
    "PROVIDER",
    "check_sha1",
    "fundflow_fee_total",
    "parse_fundflow",
    "parse_tradebill",
    "read_bill",
    "unpack",
]

PROVIDER = "wechatpay"
TIME = "交易时间"
TRANSACTION_ID = "微信订单号"
OUT_TRADE_NO = "商户订单号"
STATE = "交易状态"
ORDER_AMOUNT = "订单金额"
SETTLED_AMOUNT = "应结订单金额"
OUT_REFUND_NO = "商户退款单号"
REFUND_AMOUNT = "申请退款金额"
REFUND_SETTLED = "退款金额"
REFUND_STATE = "退款状态"
FEE = "手续费"
SUMMARY_FIRST = "总交易单数"
SUMMARY_FEE = "手续费总金额"
FLOW_FIRST = "记账时间"
FLOW_SUMMARY_FIRST = "资金流水总笔数"
FLOW_TYPE = "业务类型"
FLOW_DIRECTION = "收支类型"
FLOW_AMOUNT = "收支金额（元）"

MAX_SIZE = 256 << 20


def _strip(cell: str) -> str:
    text = cell.strip()
    return text[1:].strip() if text.startswith("`") else text


def unpack(data: bytes) -> bytes:
    """The bill's text bytes: gzip is unpacked (``tar_type=GZIP``), plain text passes."""
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            plain = stream.read(MAX_SIZE + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise BillFormatError(f"the WeChat Pay bill is not valid gzip ({exc})") from None
    if len(plain) > MAX_SIZE:
        raise BillFormatError("the WeChat Pay bill is too large")
    return plain


def check_sha1(plain: bytes, expected: str) -> None:
    """WeChat's ``hash_value`` (SHA1 of the plain bill); BillFormatError if it differs."""
    actual = hashlib.sha1(plain, usedforsecurity=False).hexdigest()
    if actual.lower() != expected.strip().lower():
        raise BillFormatError(
            f"the WeChat Pay bill's SHA1 is {actual}, but WeChat said {expected}: the download "
            "is incomplete or altered"
        )


def _text(data: bytes | str, name: str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BillFormatError(f"{name}: not UTF-8 text ({exc.reason})") from None


def _sections(text: str, name: str, firsts: tuple[str, ...]) -> list[Section]:
    return list(
        read_sections(
            text, name, is_header=lambda cells: bool(cells) and cells[0] in firsts, strip=_strip
        )
    )


def parse_tradebill(
    data: bytes | str, name: str = "tradebill.csv"
) -> tuple[list[BillLine], Decimal | None]:
    """The payment and refund lines of a trade bill, and the fee total its summary states."""
    text = _text(data, name)
    sections = _sections(text, name, (TIME, SUMMARY_FIRST))
    detail = [s for s in sections if s.header[0] == TIME]
    if not detail:
        raise BillFormatError(f"{name}: no header row starting with {TIME!r}")
    lines: list[BillLine] = []
    for section in detail:
        for column in (TRANSACTION_ID, OUT_TRADE_NO, STATE, ORDER_AMOUNT):
            if column not in section.header:
                raise BillFormatError(f"{name}:{section.line}: no column {column!r}")
        for row in section.rows:
            line = _line(row)
            if line is not None:
                lines.append(line)
    stated: Decimal | None = None
    for section in sections:
        if section.header[0] == SUMMARY_FIRST and section.rows and SUMMARY_FEE in section.header:
            row = section.rows[0]
            stated = yuan(row.get(SUMMARY_FEE), row.where, SUMMARY_FEE)
    return lines, stated


def _line(row: Row) -> BillLine | None:
    where = row.where
    state = row.get(STATE)
    if state == "REFUND":
        if row.get(REFUND_STATE) not in ("SUCCESS", ""):
            return None  # a refund still processing (or failed) moved no money yet
        kind = LineKind.REFUND
        amount = abs(yuan(row.get(REFUND_AMOUNT) or row.get(REFUND_SETTLED), where, REFUND_AMOUNT))
    elif state in ("SUCCESS", "REVOKED"):
        kind = LineKind.PAYMENT
        amount = abs(yuan(row.get(ORDER_AMOUNT) or row.get(SETTLED_AMOUNT), where, ORDER_AMOUNT))
    else:
        return None
    fee = abs(yuan(row.get(FEE), where, FEE))
    return BillLine(
        provider=PROVIDER,
        kind=kind,
        out_trade_no=row.require(OUT_TRADE_NO),
        gateway_trade_no=row.require(TRANSACTION_ID),
        amount=amount,
        fee=fee if kind == LineKind.PAYMENT else -fee,
        time=parse_time(row.get(TIME), where, TIME),
        out_refund_no=row.get(OUT_REFUND_NO) if kind == LineKind.REFUND else "",
        source=where,
        raw=dict(row.cells),
    )


def parse_fundflow(data: bytes | str, name: str = "fundflowbill.csv") -> list[Row]:
    """The detail rows of a fund flow bill, by column name."""
    text = _text(data, name)
    sections = _sections(text, name, (FLOW_FIRST, FLOW_SUMMARY_FIRST))
    detail = [s for s in sections if s.header[0] == FLOW_FIRST]
    if not detail:
        raise BillFormatError(f"{name}: no header row starting with {FLOW_FIRST!r}")
    rows: list[Row] = []
    for section in detail:
        for column in (FLOW_TYPE, FLOW_DIRECTION, FLOW_AMOUNT):
            if column not in section.header:
                raise BillFormatError(f"{name}:{section.line}: no column {column!r}")
        rows.extend(section.rows)
    return rows


def fundflow_fee_total(rows: list[Row]) -> Decimal:
    """Fees taken (支出) minus fees given back (收入), from rows whose 业务类型 is a 手续费."""
    total = Decimal("0.00")
    for row in rows:
        if "手续费" not in row.get(FLOW_TYPE):
            continue
        amount = abs(yuan(row.get(FLOW_AMOUNT), row.where, FLOW_AMOUNT))
        total += amount if row.get(FLOW_DIRECTION) == "支出" else -amount
    return total


def read_bill(day: date, tradebill: bytes | str, fundflow: bytes | str | None = None) -> Bill:
    """A :class:`Bill` from the plain trade bill (and fund flow bill, for its fee total).
    ``fee_totals`` holds ``"summary"`` (手续费总金额) and ``"account"`` (fund flow)."""
    lines, stated = parse_tradebill(tradebill)
    totals: dict[str, Decimal] = {}
    files = ["tradebill"]
    if stated is not None:
        totals["summary"] = stated
    if fundflow is not None:
        totals["account"] = fundflow_fee_total(parse_fundflow(fundflow))
        files.append("fundflowbill")
    return Bill(PROVIDER, day, tuple(lines), totals, tuple(files))
