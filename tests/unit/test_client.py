"""AlipayClient against httpx.MockTransport standing in for Alipay's gateway.

The stand-in checks the request signature with the app public key and signs its answers with a
generated "Alipay" key through Signer, so every signature in these tests is real.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from zhifu.alipay import (
    AlipayBusinessError,
    AlipayClient,
    AlipayResponseError,
    AlipayTimeoutError,
    AlipayTransportError,
    InvalidRequestError,
    KeyPair,
    SignatureError,
    Signer,
    Verifier,
    request_content,
)
from zhifu.alipay import client as client_module

GATEWAY = "https://gateway.test/gateway.do"


class FakeAlipay:
    """Records requests; answers with a node built by ``reply`` and signed by ``alipay_keys``."""

    def __init__(self, app_keys: KeyPair, alipay_keys: KeyPair) -> None:
        self.app_verifier = Verifier(app_keys.public_pem)
        self.signer = Signer(alipay_keys.private_pem)
        self.requests: list[httpx.Request] = []
        self.reply: Callable[[dict[str, str]], dict[str, Any]] = lambda p: {
            "code": "10000",
            "msg": "Success",
        }
        self.sign_reply = True
        self.status = 200

    def params(self, request: httpx.Request) -> dict[str, str]:
        query = dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))
        body = dict(parse_qsl(request.content.decode(), keep_blank_values=True))
        return {**query, **body}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        params = self.params(request)
        assert self.app_verifier.verify(
            request_content(params), params["sign"], params["sign_type"]
        )
        name = params["method"].replace(".", "_") + "_response"
        node = json.dumps(self.reply(params), separators=(",", ":"), ensure_ascii=False)
        sign = f',"sign":"{self.signer.sign(node)}"' if self.sign_reply else ""
        return httpx.Response(self.status, content=f'{{"{name}":{node}{sign}}}'.encode())


@pytest.fixture
def fake(app_keys: KeyPair, alipay_keys: KeyPair) -> FakeAlipay:
    return FakeAlipay(app_keys, alipay_keys)


@pytest.fixture
def client(app_keys: KeyPair, alipay_keys: KeyPair, fake: FakeAlipay) -> AlipayClient:
    return AlipayClient(
        app_id="2021000000000001",
        app_private_key=app_keys.private_pem,
        alipay_public_key=alipay_keys.public_one_line,
        gateway_url=GATEWAY,
        seller_id="2088000000000001",
        notify_url="https://shop.test/notify",
        return_url="https://shop.test/return",
        transport=httpx.MockTransport(fake),
    )


@pytest.fixture
def tz() -> Iterator[Callable[[str], None]]:
    original = os.environ.get("TZ")

    def set_tz(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    yield set_tz
    if original is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = original
    time.tzset()


# -- timestamps ---------------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Asia/Kolkata"])
def test_timestamps_are_beijing_time_whatever_the_host_zone(
    client: AlipayClient, fake: FakeAlipay, tz: Callable[[str], None], zone: str
) -> None:
    tz(zone)
    client.query(out_trade_no="o1")
    sent = datetime.strptime(fake.params(fake.requests[0])["timestamp"], "%Y-%m-%d %H:%M:%S")
    beijing = datetime.now(UTC).astimezone(timezone(timedelta(hours=8))).replace(tzinfo=None)
    local = datetime.now()
    assert abs((beijing - sent).total_seconds()) < 60
    assert abs((local - sent).total_seconds()) > 3600  # it is not the host's local time


def test_time_expire_datetime_is_converted_to_beijing(client: AlipayClient) -> None:
    utc_noon = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
    page = client.page_pay(
        out_trade_no="o1", total_amount="1.00", subject="s", time_expire=utc_noon
    )
    assert json.loads(page.params["biz_content"])["time_expire"] == "2030-01-01 20:00:00"
    with pytest.raises(InvalidRequestError, match="aware datetime"):
        client.page_pay(
            out_trade_no="o1", total_amount="1.00", subject="s", time_expire=datetime(2030, 1, 1)
        )


# -- validation before sending ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"out_trade_no": "has space"}, "out_trade_no 'has space' is invalid"),
        ({"out_trade_no": "x" * 65}, "out_trade_no"),
        ({"out_trade_no": ""}, "out_trade_no"),
        ({"out_trade_no": "订单1"}, "out_trade_no"),
        ({"total_amount": 12.3}, "float"),
        ({"total_amount": "0"}, "below the minimum"),
        ({"total_amount": "1.001"}, "more than two decimal places"),
        ({"total_amount": "-5"}, "negative"),
        ({"total_amount": "100000000.01"}, "above the maximum"),
        ({"subject": ""}, "subject"),
        ({"subject": "x" * 257}, "256"),
        ({"timeout_express": "1.5h"}, "timeout_express"),
    ],
)
def test_invalid_requests_are_refused_before_anything_is_sent(
    client: AlipayClient, fake: FakeAlipay, kwargs: dict[str, Any], message: str
) -> None:
    args: dict[str, Any] = {"out_trade_no": "o1", "total_amount": "1.00", "subject": "s"}
    args.update(kwargs)
    with pytest.raises(InvalidRequestError, match=message):
        client.precreate(**args)
    with pytest.raises(InvalidRequestError, match=message):
        client.page_pay(**args)
    assert fake.requests == []


@pytest.mark.parametrize(
    "number", ["SO-2022-0001", "9f1c2a3e-5b6d-4e7f-8a9b-0c1d2e3f4a5b", "a_b-c", "-", "x" * 64]
)
def test_hyphens_are_allowed_in_order_and_refund_numbers(
    client: AlipayClient, fake: FakeAlipay, number: str
) -> None:
    # Alipay accepts letters, digits, '_' and '-' (UUIDs, "SO-2022-...")
    page = client.page_pay(out_trade_no=number, total_amount="1.00", subject="s")
    assert json.loads(page.params["biz_content"])["out_trade_no"] == number
    client.refund(out_trade_no=number, refund_amount="1.00", out_request_no=number)
    biz = json.loads(fake.params(fake.requests[-1])["biz_content"])
    assert biz["out_trade_no"] == biz["out_request_no"] == number


def test_refund_query_options_and_an_answer_without_refund_data(
    client: AlipayClient, fake: FakeAlipay
) -> None:
    # Alipay's answer for a refund that never happened: 10000 and nothing else
    fake.reply = lambda p: {"code": "10000", "msg": "Success"}
    result = client.refund_query(
        out_trade_no="o1", out_request_no="r-1", query_options=["gmt_refund_pay"]
    )
    assert not result.found and not result.succeeded
    assert result.refund_amount is None and result.out_trade_no == ""
    biz = json.loads(fake.params(fake.requests[-1])["biz_content"])
    assert biz == {
        "out_trade_no": "o1",
        "out_request_no": "r-1",
        "query_options": ["gmt_refund_pay"],
    }
    with pytest.raises(InvalidRequestError, match="query_options"):
        client.refund_query(out_trade_no="o1", out_request_no="r1", query_options="gmt_refund_pay")
    fake.reply = lambda p: {
        "code": "10000",
        "msg": "Success",
        "out_request_no": "r-1",
        "out_trade_no": "o1",
        "refund_amount": "1.50",
        "refund_status": "REFUND_SUCCESS",
        "gmt_refund_pay": "2023-05-29 17:31:05",
        "send_back_fee": "1.50",
        "total_amount": "3.00",
        "trade_no": "t1",
    }
    done = client.refund_query(out_trade_no="o1", out_request_no="r-1")
    assert done.found and done.succeeded
    assert done.gmt_refund_pay == "2023-05-29 17:31:05" and done.send_back_fee == Decimal("1.50")
    fake.reply = lambda p: {**done.raw, "refund_status": "REFUND_PROCESSING"}
    processing = client.refund_query(out_trade_no="o1", out_request_no="r-1")
    assert processing.found and not processing.succeeded


def test_refund_and_query_validation(client: AlipayClient, fake: FakeAlipay) -> None:
    with pytest.raises(InvalidRequestError, match="refund_amount"):
        client.refund(out_trade_no="o1", refund_amount=Decimal("0.001"), out_request_no="r1")
    with pytest.raises(InvalidRequestError, match="out_request_no"):
        client.refund(out_trade_no="o1", refund_amount="1.00", out_request_no="r 1")
    with pytest.raises(InvalidRequestError, match="give out_trade_no or trade_no"):
        client.query()
    with pytest.raises(InvalidRequestError, match="trade_no"):
        client.close(trade_no="bad trade no")
    assert fake.requests == []


def test_system_parameters_cannot_be_overridden(client: AlipayClient) -> None:
    with pytest.raises(InvalidRequestError, match="'app_id' is set by the client"):
        client.sign_request("alipay.trade.query", {"out_trade_no": "o1"}, app_id="other")


def test_constructor_validation_and_no_network(app_keys: KeyPair, alipay_keys: KeyPair) -> None:
    def explode(request: httpx.Request) -> httpx.Response:
        raise AssertionError("the constructor must not touch the network")

    options: dict[str, Any] = {
        "app_private_key": app_keys.private_pem,
        "alipay_public_key": alipay_keys.public_pem,
        "transport": httpx.MockTransport(explode),
    }
    AlipayClient(app_id="1", **options)
    with pytest.raises(InvalidRequestError, match="app_id"):
        AlipayClient(app_id="", **options)
    with pytest.raises(InvalidRequestError, match="app_id"):
        AlipayClient(app_id=2021, **options)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="gateway_url"):
        AlipayClient(app_id="1", gateway_url="ftp://x", **options)
    with pytest.raises(InvalidRequestError, match="charset"):
        AlipayClient(app_id="1", charset="latin-1", **options)


def test_keys_are_loaded_once(
    app_keys: KeyPair, alipay_keys: KeyPair, fake: FakeAlipay, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zhifu.alipay import signing

    calls = {"private": 0, "public": 0}
    real_private, real_public = signing.load_private_key, signing.load_public_key

    def count_private(source: Any) -> Any:
        calls["private"] += 1
        return real_private(source)

    def count_public(source: Any) -> Any:
        calls["public"] += 1
        return real_public(source)

    monkeypatch.setattr(signing, "load_private_key", count_private)
    monkeypatch.setattr(signing, "load_public_key", count_public)
    client = AlipayClient(
        app_id="1",
        app_private_key=app_keys.private_pem,
        alipay_public_key=alipay_keys.public_pem,
        gateway_url=GATEWAY,
        transport=httpx.MockTransport(fake),
    )
    for i in range(5):
        client.query(out_trade_no=f"o{i}")
        client.page_pay(out_trade_no=f"o{i}", total_amount="1.00", subject="s")
    assert calls == {"private": 1, "public": 1}


# -- page pay -----------------------------------------------------------------------------------


def test_page_pay_url_is_signed_and_complete(client: AlipayClient, app_keys: KeyPair) -> None:
    page = client.page_pay(out_trade_no="o_1", total_amount=Decimal("12.3"), subject="课程 A+B")
    split = urlsplit(page.url)
    assert f"{split.scheme}://{split.netloc}{split.path}" == GATEWAY
    params = dict(parse_qsl(split.query, keep_blank_values=True))
    assert params == page.params
    assert Verifier(app_keys.public_pem).verify(request_content(params), params["sign"])
    biz = json.loads(params["biz_content"])
    assert biz == {
        "out_trade_no": "o_1",
        "total_amount": "12.30",
        "subject": "课程 A+B",
        "product_code": "FAST_INSTANT_TRADE_PAY",
    }
    assert params["method"] == "alipay.trade.page.pay"
    assert params["notify_url"] == "https://shop.test/notify"
    assert params["return_url"] == "https://shop.test/return"
    assert (params["charset"], params["sign_type"], params["version"]) == ("utf-8", "RSA2", "1.0")


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.form: dict[str, str] = {}
        self.inputs: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.form = values
        elif tag == "input" and "name" in values:
            self.inputs[values["name"]] = values.get("value", "")


def test_page_pay_form_posts_biz_content_with_system_params_in_action(
    client: AlipayClient, app_keys: KeyPair
) -> None:
    page = client.page_pay(
        out_trade_no="o_2", total_amount="1.00", subject='quote " and <tag> & amp'
    )
    parser = _FormParser()
    parser.feed(page.form_html())
    assert parser.form["method"].upper() == "POST"
    action = urlsplit(parser.form["action"])
    query = dict(parse_qsl(action.query, keep_blank_values=True))
    assert "biz_content" not in query and "sign" in query
    assert parser.inputs["biz_content"] == page.params["biz_content"]
    merged = {**query, **parser.inputs}
    assert Verifier(app_keys.public_pem).verify(request_content(merged), merged["sign"])
    assert json.loads(merged["biz_content"])["subject"] == 'quote " and <tag> & amp'


def test_wap_pay_uses_quick_wap_way(client: AlipayClient) -> None:
    page = client.wap_pay(
        out_trade_no="o3", total_amount="2.00", subject="s", quit_url="https://shop.test/q"
    )
    biz = json.loads(page.params["biz_content"])
    assert biz["product_code"] == "QUICK_WAP_WAY" and biz["quit_url"] == "https://shop.test/q"
    assert page.method == page.params["method"] == "alipay.trade.wap.pay"


def test_gbk_client_encodes_url_in_gbk(app_keys: KeyPair, alipay_keys: KeyPair) -> None:
    client = AlipayClient(
        app_id="1",
        app_private_key=app_keys.private_pem,
        alipay_public_key=alipay_keys.public_pem,
        charset="gbk",
    )
    page = client.page_pay(out_trade_no="o1", total_amount="1.00", subject="测试")
    query = urlsplit(page.url).query
    params = dict(parse_qsl(query, encoding="gbk"))
    assert json.loads(params["biz_content"])["subject"] == "测试"
    assert Verifier(app_keys.public_pem).verify(
        request_content(params), params["sign"], "RSA2", "gbk"
    )


# -- server calls -------------------------------------------------------------------------------


def test_post_form_system_params_in_query_biz_content_in_body(
    client: AlipayClient, fake: FakeAlipay
) -> None:
    fake.reply = lambda p: {
        "code": "10000",
        "msg": "Success",
        "out_trade_no": "o1",
        "trade_no": "2024010122001400000000000001",
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "12.30",
    }
    result = client.query(out_trade_no="o1")
    request = fake.requests[0]
    assert request.method == "POST"
    assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
    query = dict(parse_qsl(request.url.query.decode()))
    body = dict(parse_qsl(request.content.decode()))
    assert set(body) == {"biz_content"}
    assert {"app_id", "method", "sign", "sign_type", "timestamp", "charset", "version"} <= set(
        query
    )
    assert "biz_content" not in query
    assert json.loads(body["biz_content"]) == {"out_trade_no": "o1"}
    assert result.is_paid and result.total_amount == Decimal("12.30")
    assert result.trade_no == "2024010122001400000000000001"


def test_every_api_returns_its_typed_result(client: AlipayClient, fake: FakeAlipay) -> None:
    fake.reply = lambda p: {
        "code": "10000",
        "msg": "Success",
        "out_trade_no": "o1",
        "trade_no": "t1",
        "qr_code": "https://qr.alipay.com/bax1",
        "action": "close",
        "retry_flag": "N",
        "fund_change": "Y",
        "refund_fee": "1.50",
        "out_request_no": "r1",
        "refund_amount": "1.50",
        "total_amount": "3.00",
    }
    assert client.precreate(out_trade_no="o1", total_amount="3", subject="s").qr_code.startswith(
        "https://qr.alipay.com/"
    )
    assert client.close(out_trade_no="o1").trade_no == "t1"
    assert client.cancel(out_trade_no="o1").action == "close"
    refund = client.refund(out_trade_no="o1", refund_amount="1.5", out_request_no="r1")
    assert refund.fund_change and refund.refund_fee == Decimal("1.50")
    assert client.refund_query(out_trade_no="o1", out_request_no="r1").succeeded
    methods = [fake.params(r)["method"] for r in fake.requests]
    assert methods == [
        "alipay.trade.precreate",
        "alipay.trade.close",
        "alipay.trade.cancel",
        "alipay.trade.refund",
        "alipay.trade.fastpay.refund.query",
    ]
    refund_biz = json.loads(fake.params(fake.requests[3])["biz_content"])
    assert refund_biz == {"out_trade_no": "o1", "refund_amount": "1.50", "out_request_no": "r1"}
    precreate = fake.params(fake.requests[0])
    assert json.loads(precreate["biz_content"])["seller_id"] == "2088000000000001"
    assert precreate["notify_url"] == "https://shop.test/notify"


# -- error mapping ------------------------------------------------------------------------------


def test_business_failure_raises_with_codes(client: AlipayClient, fake: FakeAlipay) -> None:
    fake.reply = lambda p: {
        "code": "40004",
        "msg": "Business Failed",
        "sub_code": "ACQ.TRADE_NOT_EXIST",
        "sub_msg": "交易不存在",
    }
    with pytest.raises(AlipayBusinessError) as info:
        client.query(out_trade_no="o1")
    error = info.value
    assert (error.code, error.sub_code, error.sub_msg) == (
        "40004",
        "ACQ.TRADE_NOT_EXIST",
        "交易不存在",
    )
    assert error.method == "alipay.trade.query" and error.retryable is False
    assert "ACQ.TRADE_NOT_EXIST" in str(error)


@pytest.mark.parametrize(
    ("code", "sub_code", "method", "retryable"),
    [
        ("40004", "ACQ.SYSTEM_ERROR", "query", True),
        ("20000", "isp.unknow-error", "query", True),
        ("40004", "ACQ.SYSTEM_ERROR", "precreate", False),  # Alipay: retry with a new out_trade_no
        ("40002", "isv.invalid-signature", "query", False),
    ],
)
def test_retryable_flag(
    client: AlipayClient, fake: FakeAlipay, code: str, sub_code: str, method: str, retryable: bool
) -> None:
    fake.reply = lambda p: {"code": code, "msg": "x", "sub_code": sub_code}
    with pytest.raises(AlipayBusinessError) as info:
        if method == "query":
            client.query(out_trade_no="o1")
        else:
            client.precreate(out_trade_no="o1", total_amount="1", subject="s")
    assert info.value.retryable is retryable


def test_unsigned_error_is_still_an_error(client: AlipayClient, fake: FakeAlipay) -> None:
    fake.sign_reply = False
    fake.reply = lambda p: {
        "code": "40002",
        "msg": "Invalid Arguments",
        "sub_code": "isv.invalid-app-id",
    }
    with pytest.raises(AlipayBusinessError, match="unsigned") as info:
        client.query(out_trade_no="o1")
    assert info.value.sub_code == "isv.invalid-app-id"


def test_unsigned_success_is_a_signature_error(client: AlipayClient, fake: FakeAlipay) -> None:
    fake.sign_reply = False
    fake.reply = lambda p: {"code": "10000", "msg": "Success", "trade_status": "TRADE_SUCCESS"}
    with pytest.raises(SignatureError):
        client.query(out_trade_no="o1")


def test_response_signed_by_someone_else_is_never_a_result(
    app_keys: KeyPair, other_keys: KeyPair, client: AlipayClient, fake: FakeAlipay
) -> None:
    fake.signer = Signer(other_keys.private_pem)
    fake.reply = lambda p: {"code": "10000", "msg": "Success", "trade_status": "TRADE_SUCCESS"}
    with pytest.raises(SignatureError, match="does not hold"):
        client.query(out_trade_no="o1")


def test_timeout_and_connection_refused(app_keys: KeyPair, alipay_keys: KeyPair) -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    def make(handler: Callable[[httpx.Request], httpx.Response]) -> AlipayClient:
        return AlipayClient(
            app_id="1",
            app_private_key=app_keys.private_pem,
            alipay_public_key=alipay_keys.public_pem,
            gateway_url=GATEWAY,
            transport=httpx.MockTransport(handler),
        )

    with pytest.raises(AlipayTimeoutError) as info:
        make(timeout).query(out_trade_no="o1")
    assert info.value.retryable and info.value.method == "alipay.trade.query"
    with pytest.raises(AlipayTransportError) as refused_info:
        make(refused).refund(out_trade_no="o1", refund_amount="1", out_request_no="r1")
    assert not isinstance(refused_info.value, AlipayTimeoutError)
    assert "Connection refused" in str(refused_info.value)


def test_connection_refused_for_real(app_keys: KeyPair, alipay_keys: KeyPair) -> None:
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago and has no listener
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = AlipayClient(
        app_id="1",
        app_private_key=app_keys.private_pem,
        alipay_public_key=alipay_keys.public_pem,
        gateway_url=f"http://127.0.0.1:{port}/gateway.do",
        timeout=5.0,
    )
    with pytest.raises(AlipayTransportError):
        client.query(out_trade_no="o1")


@pytest.mark.parametrize(("status", "retryable"), [(502, True), (503, True), (404, False)])
def test_http_errors(client: AlipayClient, fake: FakeAlipay, status: int, retryable: bool) -> None:
    fake.status = status
    with pytest.raises(AlipayResponseError, match=f"HTTP {status}") as info:
        client.query(out_trade_no="o1")
    assert info.value.retryable is retryable


def test_non_json_answer(app_keys: KeyPair, alipay_keys: KeyPair) -> None:
    client = AlipayClient(
        app_id="1",
        app_private_key=app_keys.private_pem,
        alipay_public_key=alipay_keys.public_pem,
        gateway_url=GATEWAY,
        transport=httpx.MockTransport(
            lambda r: httpx.Response(200, text="<html>maintenance</html>")
        ),
    )
    with pytest.raises(AlipayResponseError, match="not JSON"):
        client.query(out_trade_no="o1")


def test_rsa_client_signs_and_verifies_with_sha1(
    app_keys: KeyPair, alipay_keys: KeyPair, fake: FakeAlipay
) -> None:
    fake.signer = Signer(alipay_keys.private_pem, "RSA")
    client = AlipayClient(
        app_id="1",
        app_private_key=app_keys.private_pem,
        alipay_public_key=alipay_keys.public_pem,
        gateway_url=GATEWAY,
        sign_type="RSA",
        transport=httpx.MockTransport(fake),
    )
    fake.reply = lambda p: {"code": "10000", "msg": "Success", "trade_status": "WAIT_BUYER_PAY"}
    assert client.query(out_trade_no="o1").trade_status == "WAIT_BUYER_PAY"
    assert fake.params(fake.requests[0])["sign_type"] == "RSA"


def test_certificate_mode_sends_sns_and_checks_alipay_cert_sn(fake: FakeAlipay) -> None:
    from .conftest import FIXTURES

    fz = FIXTURES / "fzlee"
    client = AlipayClient.from_certificates(
        app_id="2016101300678256",
        app_private_key=fz / "app_private_key_pkcs1.pem",
        app_cert=fz / "app_public_key_cert.crt",
        alipay_public_cert=fz / "alipay_public_key_cert.crt",
        alipay_root_cert=fz / "alipay_root_cert.crt",
        gateway_url=GATEWAY,
    )
    params = client.sign_request("alipay.trade.query", {"out_trade_no": "o1"})
    assert params["app_cert_sn"] == "75852781c31e6a29e6551915a592dcb3"
    assert params["alipay_root_cert_sn"] == "6bc29aa3b4d406c43483ffea81e08d22"
    assert client.alipay_cert_sn == "abe4af5e686f52544fcd9d5592fce1f3"
    # The app cert's key is the key that signs.
    assert Verifier(fz / "app_public_key_cert.crt").verify(request_content(params), params["sign"])


def test_verify_notification_through_the_client(client: AlipayClient, alipay_keys: KeyPair) -> None:
    params = {"app_id": "2021000000000001", "out_trade_no": "o1", "sign_type": "RSA2"}
    params["sign"] = Signer(alipay_keys.private_pem).sign_notification(params)
    assert client.verify_notification(params)["out_trade_no"] == "o1"
    assert client.verify_return(params)["out_trade_no"] == "o1"
    with pytest.raises(SignatureError):
        client.verify_notification({**params, "out_trade_no": "o2"})


def test_beijing_now_is_utc_plus_8() -> None:
    now = client_module.beijing_now()
    assert now.utcoffset() == timedelta(hours=8)
