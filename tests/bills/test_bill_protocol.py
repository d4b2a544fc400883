"""The bill APIs over real HTTP against the sandbox: Alipay's downloadurl query and zip of GBK
CSV files, WeChat's tradebill / fundflowbill with a signed download checked by its SHA1; what
the sandbox makes from its own trades reads back through the parsers."""

from __future__ import annotations

import hashlib
import secrets
import zipfile
from datetime import date
from decimal import Decimal
from io import BytesIO

import httpx
import pytest

from zhifu.alipay.errors import AlipayBusinessError, AlipayResponseError, InvalidRequestError
from zhifu.bills import alipay_bill, wechat_bill
from zhifu.bills.lines import LineKind
from zhifu.sandbox.testing import SandboxError
from zhifu.wechatpay.errors import WechatPayAPIError, WechatPayResponseError
from zhifu.wechatpay.results import BillDownload

DAY = date(2025, 3, 7)  # a day of its own on the shared sandbox clock


@pytest.fixture
def billing_day(sandbox):
    """The sandbox clock at the start of DAY (it runs 1000x: a test stays within the day)."""
    sandbox.faults(reset=True)
    sandbox.set_clock(f"{DAY.isoformat()} 00:00:00")
    yield sandbox
    sandbox._call("POST", "/sandbox/api/wechat/notifications/abandon", json={})
    sandbox.abandon_notifications()
    sandbox.reset_clock()


def _number(prefix: str) -> str:
    return prefix + secrets.token_hex(6).upper()


def test_alipay_bills_of_the_sandbox_read_back(billing_day) -> None:
    sb = billing_day
    client = sb.client(notify_url="http://127.0.0.1:9/notify")
    paid, stray = _number("BP"), _number("BS")
    page = client.page_pay(out_trade_no=paid, total_amount="123.45", subject="《入门》课程")
    assert httpx.get(page.url, follow_redirects=True, timeout=10).status_code == 200
    sb.pay(paid)
    client.refund(out_trade_no=paid, refund_amount="23.45", out_request_no=paid + "R1")
    made = sb.paid_trade(stray, "8.88", subject="无人知晓")
    assert made["trade_status"] == "TRADE_SUCCESS" and made["notify_url"] == ""
    assert sb.notifications(out_trade_no=stray) == []  # announced nowhere

    answer = client.bill_download_url(bill_type="trade", bill_date=DAY)
    assert "/downloadBillFile.resource?" in answer.bill_download_url
    trade_zip = client.download_bill(answer)
    account_zip = client.download_bill(
        client.bill_download_url(bill_type="signcustomer", bill_date=DAY.isoformat())
    )

    with zipfile.ZipFile(BytesIO(trade_zip)) as archive:
        raw = {info.filename: archive.read(info) for info in archive.infolist()}
    detail = next(body for name, body in raw.items() if name.endswith("_业务明细.csv"))
    with pytest.raises(UnicodeDecodeError):
        detail.decode("utf-8")  # GBK, as Alipay's
    text = detail.decode("gbk")
    assert text.startswith("#支付宝业务明细查询\r\n#账号：[")
    assert "#交易合计：" in text and "\t," in text  # footer; tab-suffixed cells

    bill = alipay_bill.read_bill(DAY, trade_zip, account_zip)
    mine = [line for line in bill.lines if line.out_trade_no in (paid, stray)]
    trade_no = sb.trade(paid)["trade_no"]
    assert [(x.kind, x.out_trade_no, x.gateway_trade_no, x.amount, x.fee) for x in mine] == [
        (LineKind.PAYMENT, paid, trade_no, Decimal("123.45"), Decimal("0.74")),
        (LineKind.PAYMENT, stray, made["trade_no"], Decimal("8.88"), Decimal("0.05")),
        (LineKind.REFUND, paid, trade_no, Decimal("23.45"), Decimal("-0.14")),
    ]
    assert mine[2].out_refund_no == paid + "R1"
    assert mine[0].raw["商品名称"] == "《入门》课程"
    assert bill.fee_totals["summary"] == bill.fee_total == bill.fee_totals["account"]


def test_alipay_bill_requests_refused_as_alipay_does(billing_day) -> None:
    client = billing_day.client()
    with pytest.raises(InvalidRequestError, match="bill_type"):
        client.bill_download_url(bill_type="fund", bill_date=DAY)
    with pytest.raises(InvalidRequestError, match="bill_date"):
        client.bill_download_url(bill_type="trade", bill_date="7/3/2025")
    with pytest.raises(AlipayBusinessError) as future:
        client.bill_download_url(bill_type="trade", bill_date="2099-01-01")
    assert future.value.sub_code == "isp.bill_not_exist"
    with pytest.raises(AlipayBusinessError) as wrong:
        client.execute(
            "alipay.data.dataservice.bill.downloadurl.query",
            {"bill_type": "fund", "bill_date": DAY.isoformat()},
        )
    assert wrong.value.sub_code == "isv.invalid-bill-type"
    url = client.bill_download_url(bill_type="trade", bill_date=DAY).bill_download_url
    forged = url.rsplit("token=", 1)[0] + "token=not-a-token"
    with pytest.raises(AlipayResponseError, match="HTTP 404"):
        client.download_bill(forged)


def test_sandbox_paid_trade_control_refuses_bad_input(billing_day) -> None:
    sb = billing_day
    number = _number("BD")
    sb.paid_trade(number, "1.00")
    with pytest.raises(SandboxError) as again:
        sb.paid_trade(number, "1.00")
    assert again.value.status == 409
    with pytest.raises(SandboxError) as bad:
        sb.paid_trade(_number("BD"), "-1")
    assert bad.value.status == 400 and "amount" in bad.value.message
    with pytest.raises(SandboxError) as wx_bad:
        sb.wechat_paid_trade("x", "1.00")
    assert wx_bad.value.status == 400 and "out_trade_no" in wx_bad.value.message


def _settled(client, out_refund_no: str) -> bool:
    return client.refund_query(out_refund_no).status == "SUCCESS"


def test_wechat_bills_of_the_sandbox_read_back(billing_day) -> None:
    sb = billing_day
    client = sb.wechat_client(notify_url="http://127.0.0.1:9/notify")
    paid, stray = _number("WP"), _number("WS")
    client.native(out_trade_no=paid, total="56.78", description="课程")
    sb.wechat_pay(paid)
    client.refund(out_trade_no=paid, out_refund_no=paid + "R1", refund="6.78", total="56.78")
    from tests.conftest import wait_until

    assert wait_until(lambda: _settled(client, paid + "R1"))
    made = sb.wechat_paid_trade(stray, "9.99")

    plain_answer = client.trade_bill(bill_date=DAY)
    plain = client.download_bill(plain_answer)
    assert hashlib.sha1(plain).hexdigest() == plain_answer.hash_value
    assert plain.decode("utf-8").splitlines()[0].startswith("交易时间,公众账号ID,商户号")
    packed_answer = client.trade_bill(bill_date=DAY, tar_type="GZIP")
    raw = httpx.get(packed_answer.download_url, timeout=10)
    assert raw.status_code == 401  # the download is a signed request like any other
    text = client.download_bill(packed_answer)
    flow = client.download_bill(client.fundflow_bill(bill_date=DAY, tar_type="GZIP"))

    bill = wechat_bill.read_bill(DAY, text, flow)
    mine = [line for line in bill.lines if line.out_trade_no in (paid, stray)]
    tx = client.query(out_trade_no=paid).transaction_id
    assert [(x.kind, x.out_trade_no, x.gateway_trade_no, x.amount, x.fee) for x in mine] == [
        (LineKind.PAYMENT, paid, tx, Decimal("56.78"), Decimal("0.34")),
        (LineKind.PAYMENT, stray, made["transaction_id"], Decimal("9.99"), Decimal("0.06")),
        (LineKind.REFUND, paid, tx, Decimal("6.78"), Decimal("-0.04")),
    ]
    assert mine[2].out_refund_no == paid + "R1"
    assert bill.fee_totals["summary"] == bill.fee_total == bill.fee_totals["account"]
    assert "`" + paid in text.decode("utf-8")  # backticked cells


def test_wechat_bill_download_is_checked(billing_day) -> None:
    sb = billing_day
    client = sb.wechat_client()
    answer = client.trade_bill(bill_date=DAY)
    altered = BillDownload(answer.download_url, "SHA1", "0" * 40, answer.raw)
    with pytest.raises(WechatPayResponseError, match="SHA1"):
        client.download_bill(altered)
    elsewhere = BillDownload(
        "https://evil.example/v3/billdownload/file?token=x", "SHA1", answer.hash_value, {}
    )
    with pytest.raises(WechatPayResponseError, match="refusing to send"):
        client.download_bill(elsewhere)
    gone = BillDownload(
        answer.download_url.split("token=")[0] + "token=nope", "SHA1", answer.hash_value, {}
    )
    with pytest.raises(WechatPayAPIError) as missing:
        client.download_bill(gone)
    assert missing.value.status == 404
    with pytest.raises(WechatPayAPIError) as future:
        client.trade_bill(bill_date="2099-01-01")
    assert future.value.code == "NO_STATEMENT_EXIST"
