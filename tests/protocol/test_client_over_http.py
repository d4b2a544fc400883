"""zhifu.alipay.AlipayClient against a real sandbox over HTTP: typed results, the error family
(retryable business errors, timeouts, bad signatures) and certificate mode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.sandbox.conftest import open_page_pay
from zhifu.alipay import (
    AlipayBusinessError,
    AlipayClient,
    AlipayTimeoutError,
    AlipayTransportError,
    SignatureError,
    Verifier,
    cert_sn,
    load_public_key,
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
    gone = SandboxServer(time_scale=1.0).start()
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


def alipay_cert_for(public_pem: str, tmp_path: Path) -> Path:
    """An 'Alipay public-key certificate' carrying the sandbox's key, issued by a test CA."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Zhifu Test"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Zhifu Test Class 2 R1"),
        ]
    )
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "zhifu sandbox")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(load_public_key(public_pem))
        .serial_number(4242424242)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(ca_key, hashes.SHA256())
    )
    path = tmp_path / "alipayCertPublicKey_RSA2.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


class Recording(httpx.HTTPTransport):
    """A real HTTP transport that remembers requests and can alter them before sending."""

    def __init__(self, alter: dict[str, str] | None = None) -> None:
        super().__init__()
        self.sent: list[dict[str, str]] = []
        self.alter = alter or {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        params.update(dict(parse_qsl(request.content.decode("ascii"))))
        self.sent.append(params)
        if self.alter:
            request.url = request.url.copy_merge_params(self.alter)
        return super().handle_request(request)


def test_certificate_mode_requests_carry_signed_sns_and_are_accepted(sb, tmp_path):
    app_id = sb.register_app((FZ / "app_public_key_cert.crt").read_text(), "2016101300678256")[
        "app_id"
    ]
    alipay_cert = alipay_cert_for(sb.default_app.alipay_public_key_pem, tmp_path)
    options = {
        "app_id": app_id,
        "app_private_key": FZ / "app_private_key_pkcs1.pem",
        "app_cert": FZ / "app_public_key_cert.crt",
        "alipay_public_cert": alipay_cert,
        "alipay_root_cert": FZ / "alipay_root_cert.crt",  # SM2 + RSA + ECDSA, as Alipay's
        "gateway_url": sb.gateway_url,
    }
    recording = Recording()
    client = AlipayClient.from_certificates(**options, transport=recording)
    assert client.alipay_cert_sn == cert_sn(alipay_cert)

    pre = client.precreate(out_trade_no="cert1", total_amount="1.00", subject="证书模式")
    assert pre.qr_code
    httpx.get(pre.qr_code)
    sb.pay(app_id, "cert1")
    assert client.query(out_trade_no="cert1").is_paid
    sent = recording.sent[-1]
    assert sent["app_cert_sn"] == "75852781c31e6a29e6551915a592dcb3"
    assert sent["alipay_root_cert_sn"] == root_cert_sn(FZ / "alipay_root_cert.crt")
    assert sent["alipay_root_cert_sn"] == "6bc29aa3b4d406c43483ffea81e08d22"
    signed = request_content(sent)
    assert "app_cert_sn=" in signed and "alipay_root_cert_sn=" in signed
    assert Verifier(FZ / "app_public_key_cert.crt").verify(signed, sent["sign"])

    # the SNs are signed: changing one in flight breaks the request signature
    forged = AlipayClient.from_certificates(
        **options, transport=Recording({"app_cert_sn": "0" * 32})
    )
    with pytest.raises(AlipayBusinessError) as info:
        forged.query(out_trade_no="cert1")
    assert info.value.sub_code == "isv.invalid-signature"
