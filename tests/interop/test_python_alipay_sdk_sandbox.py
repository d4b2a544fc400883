"""Interop with a client nobody here wrote: python-alipay-sdk (fzlee/alipay) against the sandbox.

Its page-pay URL is accepted and payable; it verifies the sandbox's return parameters,
notifications and synchronous responses (issue 2, section 6, the sandbox half).

The SDK stamps requests with ``datetime.now()``: local time. Like Alipay, the sandbox refuses a
timestamp hours away from Beijing time, so these tests run it with the process time zone set to
Beijing (what its users must do on their servers), and one test shows the failure on a UTC host.
"""

from __future__ import annotations

import os
import time
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tests.sandbox.conftest import Receiver
from zhifu.sandbox.testing import SandboxServer

alipay = pytest.importorskip("alipay", reason="python-alipay-sdk is a dev dependency")


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def sb(tmp_path):
    with SandboxServer(tmp_path / "sandbox") as server:
        yield server


def set_process_tz(name: str | None) -> None:
    if name is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = name
    time.tzset()


@pytest.fixture(autouse=True)
def beijing_local_time():
    """The SDK formats local time: make local time Beijing's ("CST-8" needs no tz database)."""
    original = os.environ.get("TZ")
    set_process_tz("CST-8")
    yield
    set_process_tz(original)


@pytest.fixture
def sdk(sb, receiver):
    client = alipay.AliPay(
        appid=sb.default_app.app_id,
        app_notify_url=receiver.url,
        app_private_key_string=sb.default_app.app_private_key_pem,
        alipay_public_key_string=sb.default_app.alipay_public_key_pem,
        sign_type="RSA2",
    )
    client._gateway = sb.gateway_url  # the only way to point it at another gateway
    return client


def sdk_verify(sdk, params: dict[str, str]) -> bool:
    data = dict(params)
    sign = data.pop("sign")
    return bool(sdk.verify(data, sign))


def test_page_pay_url_is_accepted_payable_and_verifiable(sb, sdk, receiver):
    signed = sdk.api_alipay_trade_page_pay(
        subject="python-alipay-sdk 测试",
        out_trade_no="fz1",
        total_amount=0.01,  # the SDK passes floats straight into biz_content
        return_url="http://shop.test/return",
    )
    first = httpx.get(sb.gateway_url + "?" + signed)
    assert first.status_code == 302, first.text
    cashier = httpx.get(first.headers["location"])
    assert "python-alipay-sdk 测试" in cashier.text and "0.01" in cashier.text
    paid = httpx.post(str(cashier.url), data={"login": "buyer1@sandbox.com", "password": "111111"})
    assert paid.status_code == 303

    returned = dict(parse_qsl(urlsplit(paid.headers["location"]).query))
    assert returned["method"] == "alipay.trade.page.pay.return"
    assert sdk_verify(sdk, returned)
    tampered = dict(returned, total_amount="100.00")
    assert not sdk_verify(sdk, tampered)

    sb.wait_for_notifications("fz1")
    notification = receiver.received[0]
    assert notification["trade_status"] == "TRADE_SUCCESS"
    assert sdk_verify(sdk, notification)


def test_server_calls_and_response_signatures(sb, sdk, receiver):
    signed = sdk.api_alipay_trade_page_pay(subject="s", out_trade_no="fz2", total_amount="5.00")
    httpx.get(httpx.get(sb.gateway_url + "?" + signed).headers["location"])  # open the cashier
    assert sdk.api_alipay_trade_query(out_trade_no="fz2")["trade_status"] == "WAIT_BUYER_PAY"
    sb.pay("fz2")
    result = sdk.api_alipay_trade_query(out_trade_no="fz2")  # GET gateway?..., response verified
    assert result["code"] == "10000" and result["trade_status"] == "TRADE_SUCCESS"
    assert result["total_amount"] == "5.00"

    refund = sdk.api_alipay_trade_refund(
        refund_amount="2.00", out_trade_no="fz2", out_request_no="fzr1"
    )
    assert refund["code"] == "10000" and refund["fund_change"] == "Y"
    again = sdk.api_alipay_trade_refund(
        refund_amount="2.00", out_trade_no="fz2", out_request_no="fzr1"
    )
    assert again["fund_change"] == "N"
    query = sdk.api_alipay_trade_fastpay_refund_query("fzr1", out_trade_no="fz2")
    assert query["refund_amount"] == "2.00"
    # business failures come back signed (python-alipay-sdk returns them, code 40004)
    missing = sdk.api_alipay_trade_query(out_trade_no="nope")
    assert (missing["code"], missing["sub_code"]) == ("40004", "ACQ.TRADE_NOT_EXIST")

    precreate = sdk.api_alipay_trade_precreate(
        subject="qr", out_trade_no="fz3", total_amount="1.00"
    )
    assert precreate["qr_code"].startswith(sb.url + "/cashier/")
    assert sdk.api_alipay_trade_cancel(out_trade_no="fz3")["action"] == "close"


def test_wap_pay_with_the_sdks_product_code(sb, sdk):
    signed = sdk.api_alipay_trade_wap_pay(
        subject="s", out_trade_no="fz4", total_amount="1.00", return_url="http://shop.test/r"
    )
    first = httpx.get(sb.gateway_url + "?" + signed)  # product_code QUICK_WAP_PAY
    assert first.status_code == 302
    httpx.get(first.headers["location"])
    returned = dict(parse_qsl(urlsplit(sb.pay("fz4")).query))
    assert returned["method"] == "alipay.trade.wap.pay.return" and sdk_verify(sdk, returned)


def test_sdk_rejects_a_corrupted_response_signature(sb, sdk):
    from alipay.exceptions import AliPayValidationError

    sb.faults(corrupt_responses=1)
    with pytest.raises(AliPayValidationError):
        sdk.api_alipay_trade_query(out_trade_no="nope")


def test_on_a_utc_host_its_local_timestamps_are_refused(sb, sdk):
    set_process_tz("UTC0")  # restored by the autouse fixture
    answer = sdk.api_alipay_trade_query(out_trade_no="fz5")
    assert (answer["code"], answer["sub_code"]) == ("40002", "isv.invalid-timestamp")
    assert "8 h behind Beijing time" in answer["sub_msg"]
