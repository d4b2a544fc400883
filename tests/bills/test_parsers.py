"""The bill parsers on hand-written files in the gateways' formats (GBK zips with GBK member
names and tab-suffixed cells; backticked WeChat CSV, gzipped or not) and on broken ones."""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest

from tests.bills import samples
from zhifu.bills import alipay_bill, wechat_bill
from zhifu.bills.csvtext import BEIJING
from zhifu.bills.lines import BillFormatError, LineKind

DAY = date(2024, 1, 5)


def test_alipay_zip_with_gbk_member_names_is_read() -> None:
    files = alipay_bill.read_zip(samples.alipay_trade_zip())
    assert sorted(files) == [
        f"{samples.PID}_{samples.DAY}_业务明细(汇总).csv",
        f"{samples.PID}_{samples.DAY}_业务明细.csv",
    ]
    assert files[f"{samples.PID}_{samples.DAY}_业务明细.csv"].startswith("#支付宝业务明细查询")


def test_alipay_trade_bill_lines() -> None:
    bill = alipay_bill.read_bill(DAY, samples.alipay_trade_zip(), samples.alipay_account_zip())
    assert bill.provider == "alipay" and bill.day == DAY
    pay, tip, refund = bill.lines
    assert (pay.kind, pay.out_trade_no, pay.gateway_trade_no) == (
        LineKind.PAYMENT,
        "SO-2024-0001_1",
        "2024010522001411111111111111",
    )
    assert (pay.amount, pay.fee) == (Decimal("100.00"), Decimal("0.60"))
    assert pay.time == datetime(2024, 1, 5, 9, 0, 30, tzinfo=BEIJING)
    assert pay.raw["商品名称"] == "《Python 入门》"  # tab stripped, GBK decoded
    assert (tip.amount, tip.fee) == (Decimal("0.01"), Decimal("0.00"))
    assert refund.kind == LineKind.REFUND
    assert (refund.out_trade_no, refund.out_refund_no) == ("SO-2024-0001_1", "RF-0001")
    assert (refund.amount, refund.fee) == (Decimal("30.00"), Decimal("-0.18"))
    assert refund.source.endswith("_业务明细.csv:8")
    assert bill.fee_total == Decimal("0.42")
    assert dict(bill.fee_totals) == {"summary": Decimal("0.42"), "account": Decimal("0.42")}
    assert (bill.payment_total, bill.refund_total) == (Decimal("100.01"), Decimal("30.00"))


def test_alipay_trade_csv_needs_its_header_and_columns() -> None:
    with pytest.raises(BillFormatError, match="no header row starting with '支付宝交易号'"):
        alipay_bill.parse_trade_csv("#支付宝业务明细查询\r\n#导出时间：[x]\r\n")
    broken = samples.ALIPAY_TRADE.replace("订单金额（元）", "金额")
    with pytest.raises(BillFormatError, match="no column '订单金额（元）'"):
        alipay_bill.parse_trade_csv(broken, "x.csv")
    bad_amount = samples.ALIPAY_TRADE.replace(",100.00\t,100.00\t", ",1O0.00\t,100.00\t", 1)
    with pytest.raises(BillFormatError, match=r"x\.csv:6: .*not a number"):
        alipay_bill.parse_trade_csv(bad_amount, "x.csv")
    bad_time = samples.ALIPAY_TRADE.replace("2024-01-05 09:00:30", "2024/01/05 09:00:30", 1)
    with pytest.raises(BillFormatError, match="完成时间 '2024/01/05 09:00:30' is not a time"):
        alipay_bill.parse_trade_csv(bad_time, "x.csv")


def test_alipay_bill_refuses_what_is_not_a_bill_zip() -> None:
    with pytest.raises(BillFormatError, match="not a zip file"):
        alipay_bill.read_zip(b"<html>expired</html>")
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("readme.txt", "x")
    with pytest.raises(BillFormatError, match=r"no …_业务明细\.csv"):
        alipay_bill.read_bill(DAY, empty.getvalue())
    utf8 = io.BytesIO()
    with zipfile.ZipFile(utf8, "w") as archive:
        archive.writestr("a_业务明细.csv", "支付宝交易号\r\n\xff".encode() + b"\xff\xfe")
    with pytest.raises(BillFormatError, match="not GBK text"):
        alipay_bill.read_zip(utf8.getvalue())


def test_wechat_trade_bill_lines_and_summary() -> None:
    lines, stated = wechat_bill.parse_tradebill(samples.WECHAT_TRADE.encode("utf-8"))
    assert stated == Decimal("0.45")
    assert [(line.kind, line.out_trade_no, line.amount, line.fee) for line in lines] == [
        (LineKind.PAYMENT, "SO-2024-0003_1", Decimal("100.00"), Decimal("0.60")),
        (LineKind.PAYMENT, "SO-2024-0004_1", Decimal("0.01"), Decimal("0.00")),
        (LineKind.REFUND, "SO-2024-0003_1", Decimal("25.00"), Decimal("-0.15")),
    ]  # the refund still PROCESSING moved no money: not a line
    refund = lines[2]
    assert refund.out_refund_no == "RF-0003"
    assert refund.gateway_trade_no == "4200002024010512345678901234"  # backtick stripped
    assert refund.time == datetime(2024, 1, 5, 20, 0, tzinfo=BEIJING)


def test_wechat_bill_gzip_and_hash() -> None:
    plain = samples.WECHAT_TRADE.encode("utf-8")
    packed = gzip.compress(plain)
    assert wechat_bill.unpack(packed) == plain
    assert wechat_bill.unpack(plain) == plain
    wechat_bill.check_sha1(plain, hashlib.sha1(plain).hexdigest().upper())
    with pytest.raises(BillFormatError, match="SHA1"):
        wechat_bill.check_sha1(plain[:-3], hashlib.sha1(plain).hexdigest())
    with pytest.raises(BillFormatError, match="not valid gzip"):
        wechat_bill.unpack(packed[:20])
    bill = wechat_bill.read_bill(DAY, plain, samples.WECHAT_FLOW.encode("utf-8"))
    assert bill.provider == "wechatpay"
    assert bill.fee_total == Decimal("0.45")
    assert dict(bill.fee_totals) == {"summary": Decimal("0.45"), "account": Decimal("0.45")}


def test_wechat_bill_errors_name_the_place() -> None:
    with pytest.raises(BillFormatError, match="no header row starting with '交易时间'"):
        wechat_bill.parse_tradebill("总交易单数,手续费总金额\r\n`0,`0.00000\r\n")
    broken = samples.WECHAT_TRADE.replace("`0.60%,`100.00,", "`0.60%,`10O.00,", 1)
    with pytest.raises(BillFormatError, match=r"tradebill\.csv:2"):
        wechat_bill.parse_tradebill(broken)
    with pytest.raises(BillFormatError, match="not UTF-8"):
        wechat_bill.parse_tradebill(samples.WECHAT_TRADE.encode("gbk"))
    with pytest.raises(BillFormatError, match="no column '收支类型'"):
        wechat_bill.parse_fundflow(samples.WECHAT_FLOW.replace("收支类型", "方向"))


def test_parsers_import_without_django() -> None:
    import subprocess
    import sys

    code = (
        "import sys, zhifu.bills.alipay_bill, zhifu.bills.wechat_bill; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert run.stdout.strip() == "[]"
