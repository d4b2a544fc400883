"""Alipay's official alipay-sdk-python (``alipay.aop.api``) against a real sandbox over HTTP.

Proved here: a page-pay request built by its ``page_execute`` (POST form and GET URL, gateway
given as ``AlipayClientConfig.server_url``) is accepted by the sandbox and payable; its
``execute`` of ``alipay.trade.query`` (and refund) works against the sandbox and verifies the
sandbox's response signature, refusing a corrupted one; its signature utilities verify the
sandbox's return parameters and notifications.

What the SDK needs, and why some tests may skip:

* python-alipay-sdk and this SDK both install the top-level package ``alipay``; this SDK lives
  in ``alipay.aop.api`` and imports whatever ``alipay/__init__.py`` won (see
  test_sdk_signatures.py).
* Its keys must be bare PKCS#1 private keys ("non-Java" format): the sandbox's PKCS#8 key is
  converted for it (it cannot load PKCS#8).
* It stamps requests with ``datetime.now()``, local time: the process time zone is set to
  Beijing for these tests, as its users must on their servers.
* ``WebUtils.get_http_connection`` connects every ``http://`` URL to port 80 and crashes on an
  explicit port (``url += url_parse_result.port``, str + int), so ``execute`` can only reach a
  gateway at ``http://127.0.0.1/gateway.do``: those tests run a sandbox on port 80 and skip,
  saying so, when port 80 cannot be bound. ``page_execute`` only builds URLs and works anywhere.
"""

from __future__ import annotations

import html
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from tests.sandbox.conftest import Receiver
from zhifu.alipay import load_private_key
from zhifu.alipay.keys import one_line
from zhifu.sandbox.server import SandboxStartError
from zhifu.sandbox.testing import SandboxServer

try:
    from alipay.aop.api.AlipayClientConfig import AlipayClientConfig
    from alipay.aop.api.DefaultAlipayClient import DefaultAlipayClient
    from alipay.aop.api.domain.AlipayTradePagePayModel import AlipayTradePagePayModel
    from alipay.aop.api.domain.AlipayTradeQueryModel import AlipayTradeQueryModel
    from alipay.aop.api.domain.AlipayTradeRefundModel import AlipayTradeRefundModel
    from alipay.aop.api.exception.Exception import ResponseException
    from alipay.aop.api.request.AlipayTradePagePayRequest import AlipayTradePagePayRequest
    from alipay.aop.api.request.AlipayTradeQueryRequest import AlipayTradeQueryRequest
    from alipay.aop.api.request.AlipayTradeRefundRequest import AlipayTradeRefundRequest
    from alipay.aop.api.response.AlipayTradeQueryResponse import AlipayTradeQueryResponse
    from alipay.aop.api.response.AlipayTradeRefundResponse import AlipayTradeRefundResponse
    from alipay.aop.api.util import SignatureUtils as official
except ImportError as exc:  # pragma: no cover - depends on the environment
    pytest.skip(f"alipay-sdk-python cannot be imported: {exc}", allow_module_level=True)

import rsa  # the official SDK's RSA library (a dependency of alipay-sdk-python)

BUYER = {"login": "buyer1@sandbox.com", "password": "111111"}
PORT_80_REASON = (
    "alipay-sdk-python's WebUtils.get_http_connection connects every http:// gateway to port "
    "80 and fails on an explicit port (str + int), so its execute() can only reach a sandbox "
    "listening on port 80, which cannot be bound here"
)


@pytest.fixture(autouse=True)
def beijing_local_time() -> Iterator[None]:
    """The SDK stamps requests with local time: make local time Beijing's."""
    original = os.environ.get("TZ")
    os.environ["TZ"] = "CST-8"  # a POSIX rule: no time zone database needed
    time.tzset()
    yield
    if original is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = original
    time.tzset()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def sb(tmp_path: Path) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path / "sandbox") as server:
        yield server


@pytest.fixture
def sb80(tmp_path: Path) -> Iterator[SandboxServer]:
    server = SandboxServer(tmp_path / "sandbox80", port=80)
    try:
        server.start()
    except SandboxStartError as exc:
        server.close()
        print(f"SKIP: {PORT_80_REASON} ({exc})")
        pytest.skip(f"{PORT_80_REASON} ({exc})")
    try:
        yield server
    finally:
        server.close()


def official_client(sb: SandboxServer, server_url: str | None = None) -> Any:
    app = sb.default_app
    pkcs1 = (
        load_private_key(app.app_private_key_pem)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        .decode("ascii")
    )
    config = AlipayClientConfig()
    config.server_url = server_url or sb.gateway_url
    config.app_id = app.app_id
    config.app_private_key = one_line(pkcs1)
    config.alipay_public_key = one_line(app.alipay_public_key_pem)
    config.sign_type = "RSA2"
    return DefaultAlipayClient(config)


def page_pay_request(out_trade_no: str, notify_url: str | None = None) -> Any:
    model = AlipayTradePagePayModel()
    model.out_trade_no = out_trade_no
    model.total_amount = "9.90"
    model.subject = "官方 SDK 测试"
    model.product_code = "FAST_INSTANT_TRADE_PAY"
    request = AlipayTradePagePayRequest(biz_model=model)
    request.return_url = "http://shop.test/return"
    if notify_url:
        request.notify_url = notify_url
    return request


def browser_attribute(raw: str) -> str:
    """An attribute value decoded as a browser does (HTML5 "character reference in attribute").

    The SDK leaves ``&`` unescaped in the action URL. Browsers keep ``&notify_url=`` as is:
    in an attribute a reference without ``;`` followed by a letter or ``=`` is not decoded.
    Python's HTMLParser decodes it anyway (``&not`` + ``ify_url`` -> ``¬ify_url``), so only
    ``;``-terminated references are decoded here.
    """
    return re.sub(r"&#?[A-Za-z0-9]+;", lambda m: html.unescape(m.group(0)), raw)


class Form:
    def __init__(self, page: str) -> None:
        form = re.search(r'<form [^>]*method="([^"]*)"[^>]*action="([^"]*)"', page)
        assert form is not None, page
        self.method = form.group(1)
        self.action = browser_attribute(form.group(2))
        self.fields = {
            name: browser_attribute(value)
            for name, value in re.findall(
                r'<input type="hidden" name="([^"]*)" value="([^"]*)"', page
            )
        }


def official_verify(sb: SandboxServer, params: dict[str, str]) -> bool:
    """Verify return/notification parameters with the official SDK's own utilities."""
    signed = {k: v for k, v in params.items() if k not in ("sign", "sign_type")}
    content = official.get_sign_content(signed).encode("utf-8")
    public = one_line(sb.default_app.alipay_public_key_pem)
    try:
        return official.verify_with_rsa(public, content, params["sign"])
    except rsa.VerificationError:
        return False


def test_page_execute_form_is_accepted_payable_and_verifiable(sb, receiver) -> None:
    client = official_client(sb)
    page = client.page_execute(page_pay_request("off1", receiver.url))  # POST form by default
    form = Form(page)
    assert form.method == "post" and form.action.startswith(sb.gateway_url + "?")
    assert "biz_content" in form.fields and "sign=" in form.action
    # the browser submits the form: system parameters in the action URL, biz_content in the body
    first = httpx.post(form.action, data=form.fields)
    assert first.status_code == 302, first.text
    cashier = httpx.get(first.headers["location"])
    assert "官方 SDK 测试" in cashier.text and "9.90" in cashier.text
    paid = httpx.post(str(cashier.url), data=BUYER)
    assert paid.status_code == 303

    returned = dict(parse_qsl(urlsplit(paid.headers["location"]).query))
    assert (
        returned["method"] == "alipay.trade.page.pay.return" and returned["out_trade_no"] == "off1"
    )
    assert official_verify(sb, returned)
    assert not official_verify(sb, dict(returned, total_amount="0.01"))

    attempts = sb.wait_for_notifications("off1")
    assert attempts and attempts[0]["outcome"] == "success"
    notification = receiver.received[0]
    assert notification["trade_status"] == "TRADE_SUCCESS"
    assert official_verify(sb, notification)
    assert not official_verify(sb, dict(notification, trade_status="TRADE_FINISHED"))


def test_page_execute_get_url_is_accepted(sb) -> None:
    url = official_client(sb).page_execute(page_pay_request("off2"), http_method="GET")
    assert url.startswith(sb.gateway_url + "?")
    first = httpx.get(url)
    assert first.status_code == 302, first.text
    assert httpx.get(first.headers["location"]).status_code == 200
    assert sb.trade("off2")["trade_status"] == "WAIT_BUYER_PAY"
    sb.pay("off2")
    assert sb.trade("off2")["trade_status"] == "TRADE_SUCCESS"


def query(client: Any, out_trade_no: str) -> Any:
    model = AlipayTradeQueryModel()
    model.out_trade_no = out_trade_no
    response = AlipayTradeQueryResponse()
    response.parse_response_content(client.execute(AlipayTradeQueryRequest(biz_model=model)))
    return response


def test_execute_query_and_refund_verify_the_sandboxs_signatures(sb80) -> None:
    gateway = sb80.gateway_url.replace("127.0.0.1:80/", "127.0.0.1/")  # no explicit port
    client = official_client(sb80, gateway)
    url = client.page_execute(page_pay_request("off3"), http_method="GET")
    httpx.get(httpx.get(url).headers["location"])  # the buyer opens the cashier

    waiting = query(client, "off3")
    assert waiting.is_success() and waiting.trade_status == "WAIT_BUYER_PAY"
    sb80.pay("off3")
    paid = query(client, "off3")
    assert paid.trade_status == "TRADE_SUCCESS" and paid.total_amount == "9.90"
    assert paid.trade_no == sb80.trade("off3")["trade_no"]

    missing = query(client, "nothing")  # a signed business failure is returned, not raised
    assert not missing.is_success() and missing.sub_code == "ACQ.TRADE_NOT_EXIST"

    model = AlipayTradeRefundModel()
    model.out_trade_no = "off3"
    model.refund_amount = "1.00"
    model.out_request_no = "offr1"
    refund = AlipayTradeRefundResponse()
    refund.parse_response_content(client.execute(AlipayTradeRefundRequest(biz_model=model)))
    assert refund.is_success() and refund.fund_change == "Y" and refund.refund_fee == "1.00"

    sb80.faults(corrupt_responses=1)
    with pytest.raises(ResponseException, match="sign verify failed"):
        query(client, "off3")
    assert query(client, "off3").trade_status == "TRADE_SUCCESS"  # the fault was used up
