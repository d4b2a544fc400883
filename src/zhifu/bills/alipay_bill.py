"""Alipay's daily bills (对账单), read into neutral :class:`~zhifu.bills.lines.BillLine` rows.

``alipay.data.dataservice.bill.downloadurl.query`` gives a URL (alive 30 seconds) of a zip of
GBK-encoded CSV files:

- ``bill_type=trade`` (业务账单): ``<pid>_<yyyyMMdd>_业务明细.csv`` — ``#`` comment lines
  (``#支付宝业务明细查询``, ``#账号：[...]``, the period), a header row starting with
  ``支付宝交易号``, one row per payment (业务类型 ``交易``) or refund (``退款``), then ``#`` footer
  lines (``#交易合计：…``, ``#导出时间：…``) — and ``…_业务明细(汇总).csv`` whose ``合计`` row
  states the day's 服务费 (fee) total.
- ``bill_type=signcustomer`` (账务账单): ``…_账务明细.csv`` — the account's money movements
  (收入/支出 columns, 业务类型 ``在线支付``, ``交易退款``, ``收费`` for fees...).

Cells may end in a tab (Alipay adds one so that spreadsheets keep long numbers as text); it is
stripped. Columns are found by their names, not positions. No Django import.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from io import BytesIO

from .csvtext import Row, parse_time, read_sections, yuan
from .lines import Bill, BillFormatError, BillLine, LineKind

__all__ = [
    "PROVIDER",
    "account_fee_total",
    "parse_account_csv",
    "parse_trade_csv",
    "parse_trade_summary",
    "read_bill",
    "read_zip",
]

PROVIDER = "alipay"
TRADE_NO = "支付宝交易号"
OUT_TRADE_NO = "商户订单号"
BIZ_TYPE = "业务类型"
FINISHED = "完成时间"
AMOUNT = "订单金额（元）"
REFUND_NO = "退款批次号/请求号"
FEE = "服务费（元）"
STORE = "门店编号"
ACCOUNT_FLOW_NO = "账务流水号"
INCOME = "收入金额（+元）"
EXPENSE = "支出金额（-元）"
# 账务明细 business types that are fees charged (收费) or given back (退费).
FEE_CHARGED = "收费"
FEE_RETURNED = "退费"
PAYMENT_TYPES = frozenset({"交易"})
REFUND_TYPES = frozenset({"退款"})

MAX_FILES = 64
MAX_FILE_SIZE = 256 << 20


def _strip(cell: str) -> str:
    return cell.strip().strip("\t").strip()


def _decode_name(info: zipfile.ZipInfo) -> str:
    """Alipay's zip names files in GBK without the UTF-8 flag; zipfile read them as cp437."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def read_zip(data: bytes) -> dict[str, str]:
    """The CSV files of a bill zip, decoded from GBK (GB18030, its superset), by file name."""
    try:
        archive = zipfile.ZipFile(BytesIO(data))
    except zipfile.BadZipFile:
        raise BillFormatError("the Alipay bill is not a zip file") from None
    files: dict[str, str] = {}
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > MAX_FILES:
            raise BillFormatError(f"the Alipay bill zip holds {len(infos)} files; expected a few")
        for info in infos:
            name = _decode_name(info)
            if not name.lower().endswith(".csv"):
                continue
            if info.file_size > MAX_FILE_SIZE:
                raise BillFormatError(f"{name}: {info.file_size} bytes is too large for a bill")
            raw = archive.read(info)
            try:
                files[name] = raw.decode("gb18030")
            except UnicodeDecodeError as exc:
                raise BillFormatError(f"{name}: not GBK text ({exc.reason})") from None
    return files


def _line(row: Row, kind: LineKind) -> BillLine:
    where = row.where
    amount = abs(yuan(row.require(AMOUNT), where, AMOUNT))
    fee = abs(yuan(row.get(FEE), where, FEE))
    return BillLine(
        provider=PROVIDER,
        kind=kind,
        out_trade_no=row.require(OUT_TRADE_NO),
        gateway_trade_no=row.require(TRADE_NO),
        amount=amount,
        fee=fee if kind == LineKind.PAYMENT else -fee,
        time=parse_time(row.get(FINISHED), where, FINISHED),
        out_refund_no=row.get(REFUND_NO) if kind == LineKind.REFUND else "",
        source=where,
        raw=dict(row.cells),
    )


def parse_trade_csv(text: str, name: str = "业务明细.csv") -> list[BillLine]:
    """The payment and refund rows of a 业务明细 file (other business types are skipped)."""
    lines: list[BillLine] = []
    found = False
    for section in read_sections(
        text, name, is_header=lambda cells: bool(cells) and cells[0] == TRADE_NO, strip=_strip
    ):
        found = True
        for column in (TRADE_NO, OUT_TRADE_NO, BIZ_TYPE, AMOUNT):
            if column not in section.header:
                raise BillFormatError(f"{name}:{section.line}: no column {column!r}")
        for row in section.rows:
            biz = row.get(BIZ_TYPE)
            if biz in PAYMENT_TYPES:
                lines.append(_line(row, LineKind.PAYMENT))
            elif biz in REFUND_TYPES:
                lines.append(_line(row, LineKind.REFUND))
    if not found:
        raise BillFormatError(f"{name}: no header row starting with {TRADE_NO!r}")
    return lines


def parse_trade_summary(text: str, name: str = "业务明细(汇总).csv") -> Decimal | None:
    """The 服务费 total of the ``合计`` row of a 业务明细(汇总) file (None if it has none)."""
    for section in read_sections(
        text, name, is_header=lambda cells: bool(cells) and cells[0] == STORE, strip=_strip
    ):
        for row in section.rows:
            if row.get(STORE).startswith("合计") and FEE in section.header:
                return abs(yuan(row.get(FEE), row.where, FEE))
    return None


def parse_account_csv(text: str, name: str = "账务明细.csv") -> list[Row]:
    """The rows of a 账务明细 (signcustomer) file, by column name."""
    rows: list[Row] = []
    found = False
    for section in read_sections(
        text,
        name,
        is_header=lambda cells: bool(cells) and cells[0] == ACCOUNT_FLOW_NO,
        strip=_strip,
    ):
        found = True
        for column in (BIZ_TYPE, INCOME, EXPENSE):
            if column not in section.header:
                raise BillFormatError(f"{name}:{section.line}: no column {column!r}")
        rows.extend(section.rows)
    if not found:
        raise BillFormatError(f"{name}: no header row starting with {ACCOUNT_FLOW_NO!r}")
    return rows


def account_fee_total(rows: list[Row]) -> Decimal:
    """Fees charged minus fees given back, from 账务明细 rows."""
    total = Decimal("0.00")
    for row in rows:
        biz = row.get(BIZ_TYPE)
        if biz == FEE_CHARGED:
            total += abs(yuan(row.get(EXPENSE), row.where, EXPENSE))
            total -= abs(yuan(row.get(INCOME), row.where, INCOME))
        elif biz == FEE_RETURNED:
            total -= abs(yuan(row.get(INCOME), row.where, INCOME))
            total += abs(yuan(row.get(EXPENSE), row.where, EXPENSE))
    return total


def _pick(files: Mapping[str, str], suffix: str) -> tuple[str, str] | None:
    for name, text in files.items():
        if name.endswith(suffix):
            return name, text
    return None


def read_bill(day: date, trade_zip: bytes, account_zip: bytes | None = None) -> Bill:
    """A :class:`Bill` from the ``trade`` zip (and the ``signcustomer`` zip, for its fee
    total). ``fee_totals`` holds ``"summary"`` (业务明细(汇总)) and ``"account"`` (账务明细)."""
    trade_files = read_zip(trade_zip)
    detail = _pick(trade_files, "_业务明细.csv")
    if detail is None:
        raise BillFormatError(
            f"the trade bill zip has no …_业务明细.csv (files: {', '.join(sorted(trade_files))})"
        )
    lines = parse_trade_csv(detail[1], detail[0])
    totals: dict[str, Decimal] = {}
    summary = _pick(trade_files, "_业务明细(汇总).csv")
    if summary is not None:
        stated = parse_trade_summary(summary[1], summary[0])
        if stated is not None:
            totals["summary"] = stated
    names = list(trade_files)
    if account_zip is not None:
        account_files = read_zip(account_zip)
        account = _pick(account_files, "_账务明细.csv")
        if account is None:
            raise BillFormatError(
                "the signcustomer bill zip has no …_账务明细.csv "
                f"(files: {', '.join(sorted(account_files))})"
            )
        totals["account"] = account_fee_total(parse_account_csv(account[1], account[0]))
        names += list(account_files)
    return Bill(PROVIDER, day, tuple(lines), totals, tuple(names))
