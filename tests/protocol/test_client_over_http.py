"""zhifu.alipay.AlipayClient against a real sandbox over HTTP: typed results, the error family
(retryable business errors, timeouts, bad signatures) and certificate mode."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tests.sandbox.conftest import open_page_pay
from tests.sandbox.helpers import test_keys
from zhifu.alipay import (
    AlipayBusinessError,
    AlipayClient,
    AlipayTimeoutError,
    AlipayTransportError,
    SignatureError,
    Verifier,
    cert_sn,
    request_content,
    root_cert_sn,
)
from zhifu.sandbox.testing import SandboxServer

FZ = Path(__file__).parent.parent / "fixtures" / "fzlee"


def paid_trade(sb: SandboxServer, client: AlipayClient, out_trade_no: str, total: str) -> None:
    open_page_pay(client.page_pay(out_trade_no=out_trade_no, total_amount=total, subject="s").url)
    sb.pay(out_trade_no)


def balance(sb: SandboxServer, login: str = "buyer1@sandbox.com") -> Decimal:
    found = httpx.get(sb.url + "/sandbox/api/buyers").json()["buyers"]
    return Decimal(next(b["balance"] for b in found if b["login"] == login))


# -- typed results --------------------------------------------------------------------------


def test_every_api_returns_typed_results(sb, client):
    pre = client.precreate(out_trade_no="p1", total_amount=Decimal("20.00"), subject="二维码")
    assert pre.out_trade_no == "p1" and pre.qr_code.startswith(sb.url + "/cashier/")
    httpx.get(pre.qr_code)  # the buyer scans: the trade now exists
    waiting = client.query(out_trade_no="p1")
    assert waiting.trade_status == "WAIT_BUYER_PAY" and not waiting.is_paid
    sb.pay("p1")
    paid = client.query(out_trade_no="p1")
    assert paid.is_paid and paid.total_amount == Decimal("20.00")
    assert paid.buyer_pay_amount == Decimal("20.00") and paid.trade_no.startswith("20")
    assert client.query(trade_no=paid.trade_no).out_trade_no == "p1"

    partial = client.refund(out_trade_no="p1", refund_amount="5.00", out_request_no="r1")
    assert partial.fund_change and partial.refund_fee == Decimal("5.00")
    found = client.refund_query(out_trade_no="p1", out_request_no="r1")
    assert found.succeeded and found.refund_amount == Decimal("5.00")
    assert not client.refund_query(out_trade_no="p1", out_request_no="never").succeeded

    cancelled = client.cancel(out_trade_no="p1")  # a paid face-to-face trade: refunded
    assert cancelled.action == "refund" and not cancelled.retry_flag
    assert client.query(out_trade_no="p1").trade_status == "TRADE_CLOSED"

    open_page_pay(client.page_pay(out_trade_no="p2", total_amount="1.00", subject="s").url)
    closed = client.close(out_trade_no="p2")
    assert closed.out_trade_no == "p2" and closed.trade_no


def test_wap_pay_url_is_a_quick_wap_way_trade(sb, client):
    request = client.wap_pay(
        out_trade_no="w1", total_amount="3.00", subject="手机", quit_url="http://q"
    )
    open_page_pay(request.url)
    assert sb.trade("w1")["method"] == "alipay.trade.wap.pay"
    returned = dict(parse_qsl(urlsplit(sb.pay("w1")).query))
    assert client.verify_return(returned)["method"] == "alipay.trade.wap.pay.return"


@pytest.mark.parametrize(("charset", "sign_type"), [("gbk", "RSA2"), ("utf-8", "RSA")])
def test_gbk_and_rsa_clients(sb, receiver, charset, sign_type):
    client = sb.client(charset=charset, sign_type=sign_type, notify_url=receiver.url)
    open_page_pay(client.page_pay(out_trade_no="g1", total_amount="2.00", subject="中文标题").url)
    sb.pay("g1")
    result = client.query(out_trade_no="g1")  # the answer is in the charset, signed with it
    assert result.is_paid
    sb.wait_for_notifications("g1")
    codec = "gb18030" if charset == "gbk" else "utf-8"
    form = dict(parse_qsl(receiver.raw[0].decode("ascii"), encoding=codec))
    assert form["charset"] == charset
    assert client.verify_notification(form)["subject"] == "中文标题"


# -- errors -----------------------------------------------------------------------------------


def test_business_failure_carries_method_codes_and_is_never_a_result(client):
    with pytest.raises(AlipayBusinessError) as info:
        client.close(out_trade_no="never_created")
    error = info.value
    assert (error.method, error.code, error.sub_code) == (
        "alipay.trade.close",
        "40004",
        "ACQ.TRADE_NOT_EXIST",
    )
    assert error.sub_msg and not error.retryable


def test_refund_after_system_error_is_retryable_and_succeeds_with_the_same_number(sb, client):
    paid_trade(sb, client, "r1", "10.00")
    before = balance(sb)
    sb.faults(gateway_errors=1, methods=["alipay.trade.refund"])
    with pytest.raises(AlipayBusinessError) as info:
        client.refund(out_trade_no="r1", refund_amount="4.00", out_request_no="rq1")
    assert info.value.sub_code == "ACQ.SYSTEM_ERROR" and info.value.retryable
    assert info.value.method == "alipay.trade.refund"
    retried = client.refund(out_trade_no="r1", refund_amount="4.00", out_request_no="rq1")
    assert retried.fund_change and retried.refund_fee == Decimal("4.00")
    again = client.refund(out_trade_no="r1", refund_amount="4.00", out_request_no="rq1")
    assert not again.fund_change and again.refund_fee == Decimal("4.00")
    assert balance(sb) == before + Decimal("4.00")  # the money moved once


def test_gateway_timeout_is_a_transport_error(sb, client):
    sb.faults(gateway_timeouts=1, gateway_timeout_seconds=2, methods=["alipay.trade.query"])
    slow = sb.client(timeout=0.3)
    with pytest.raises(AlipayTimeoutError) as info:
        slow.query(out_trade_no="t1")
    assert isinstance(info.value, AlipayTransportError) and info.value.retryable
    assert info.value.method == "alipay.trade.query" and info.value.code is None


def test_nobody_listening_is_a_transport_error(sb):
    gone = SandboxServer(time_scale=1.0, keys=test_keys()).start()
    url = gone.gateway_url
    gone.close()
    client = sb.client(gateway_url=url)
    with pytest.raises(AlipayTransportError) as info:
        client.query(out_trade_no="x")
    assert not isinstance(info.value, AlipayTimeoutError) and info.value.retryable


def test_corrupt_response_signature_is_an_error_not_a_result(sb, client):
    paid_trade(sb, client, "c1", "1.00")
    sb.faults(corrupt_responses=1, methods=["alipay.trade.query"])
    with pytest.raises(SignatureError) as info:
        client.query(out_trade_no="c1")
    assert info.value.method == "alipay.trade.query"
    assert client.query(out_trade_no="c1").is_paid


def test_a_client_trusting_another_alipay_key_gets_signature_errors(sb):
    impostor = sb.client(alipay_public_key=FZ / "app_public_key.pem")
    with pytest.raises(SignatureError):
        impostor.query(out_trade_no="x")  # even a business failure must be signed right


# -- certificate mode ---------------------------------------------------------------------------


class Recording(httpx.HTTPTransport):
    """A real HTTP transport that remembers requests and can alter them before sending."""

    def __init__(self, alter: dict[str, str] | None = None) -> None:
        super().__init__()
        self.sent: list[dict[str, str]] = []
        self.bodies: list[bytes] = []
        self.alter = alter or {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        params.update(dict(parse_qsl(request.content.decode("ascii"))))
        self.sent.append(params)
        if self.alter:
            request.url = request.url.copy_merge_params(self.alter)
        response = super().handle_request(request)
        response.read()
        self.bodies.append(response.content)
        return response


def test_certificate_mode_with_the_sandbox_certificates(sb):
    recording = Recording()
    client = sb.cert_client(transport=recording)
    info = sb.info["certificates"]
    assert client.app_cert_sn == info["app_cert_sn"] == cert_sn(sb.default_app.app_cert_pem)
    assert client.alipay_cert_sn == info["alipay_cert_sn"]
    # the sandbox's root bundle holds an ECDSA root beside the RSA one, as Alipay's: one SN
    assert client.alipay_root_cert_sn == info["alipay_root_cert_sn"]
    assert "_" not in client.alipay_root_cert_sn
    assert sb.default_app.alipay_root_cert_pem.count("BEGIN CERTIFICATE") == 2

    pre = client.precreate(out_trade_no="cert-1", total_amount="1.00", subject="证书模式")
    httpx.get(pre.qr_code)
    sb.pay("cert-1")
    assert client.query(out_trade_no="cert-1").is_paid
    sent = recording.sent[-1]
    signed = request_content(sent)
    assert "app_cert_sn=" in signed and "alipay_root_cert_sn=" in signed
    assert Verifier(sb.default_app.app_public_key_pem).verify(signed, sent["sign"])
    # responses name the certificate that signed them, between the node and the sign
    body = recording.bodies[-1].decode()
    assert f'}},"alipay_cert_sn":"{client.alipay_cert_sn}","sign":"' in body
    # failures too
    with pytest.raises(AlipayBusinessError):
        client.query(out_trade_no="cert-none")
    assert '"alipay_cert_sn":"' in recording.bodies[-1].decode()
    # without certificates the same app works in public-key mode, and no SN comes back
    plain = Recording()
    assert sb.client(transport=plain).query(out_trade_no="cert-1").is_paid
    assert b"alipay_cert_sn" not in plain.bodies[-1]


def test_a_client_expecting_another_alipay_certificate_refuses_the_response(sb):
    info = sb.info["certificates"]
    client = sb.client(
        app_cert_sn=info["app_cert_sn"],
        alipay_root_cert_sn=info["alipay_root_cert_sn"],
        alipay_cert_sn="0" * 32,  # the sandbox signs under another certificate
    )
    with pytest.raises(SignatureError, match=r"alipay\.open\.app\.alipaycert\.download"):
        client.query(out_trade_no="x")


@pytest.mark.parametrize(
    ("altered", "sub_code"),
    [
        ({"app_cert_sn": "0" * 32}, "isv.app-cert-not-exist"),
        ({"alipay_root_cert_sn": "0" * 32}, "isv.invalid-alipay-root-cert-sn"),
        (
            {
                "alipay_root_cert_sn": "687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6"
            },
            "isv.invalid-alipay-root-cert-sn",
        ),
    ],
)
def test_certificate_sns_that_match_nothing_registered_are_refused(sb, altered, sub_code):
    client = sb.cert_client(transport=Recording(altered))
    with pytest.raises(AlipayBusinessError) as info:
        client.query(out_trade_no="x")
    assert (info.value.code, info.value.sub_code) == ("40002", sub_code)
    # checked before the signature (Alipay verifies with the key in the named certificate)
    assert "验签" not in str(info.value.sub_msg)


def test_an_app_registered_by_its_certificate_uses_that_certificate(sb):
    app_id = sb.register_app((FZ / "app_public_key_cert.crt").read_text(), "2016101300678256")[
        "app_id"
    ]
    options = {
        "app_id": app_id,
        "app_private_key": FZ / "app_private_key_pkcs1.pem",
        "app_cert": FZ / "app_public_key_cert.crt",
        "alipay_public_cert": sb.default_app.alipay_public_cert_pem,
        "alipay_root_cert": sb.default_app.alipay_root_cert_pem,
        "gateway_url": sb.gateway_url,
    }
    recording = Recording()
    client = AlipayClient.from_certificates(**options, transport=recording)
    pre = client.precreate(out_trade_no="cert2", total_amount="1.00", subject="证书模式")
    httpx.get(pre.qr_code)
    sb.pay(app_id, "cert2")
    assert client.query(out_trade_no="cert2").is_paid
    assert recording.sent[-1]["app_cert_sn"] == "75852781c31e6a29e6551915a592dcb3"
    # FZ's root (SM2 + RSA + ECDSA) is not the sandbox's: refused like any unknown root
    assert root_cert_sn(FZ / "alipay_root_cert.crt") == "6bc29aa3b4d406c43483ffea81e08d22"
    foreign_root = AlipayClient.from_certificates(
        **{**options, "alipay_root_cert": FZ / "alipay_root_cert.crt"}
    )
    with pytest.raises(AlipayBusinessError) as info:
        foreign_root.query(out_trade_no="cert2")
    assert info.value.sub_code == "isv.invalid-alipay-root-cert-sn"
