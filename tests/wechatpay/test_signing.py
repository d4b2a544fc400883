"""The signed messages, the Authorization header, and the JSAPI paySign."""

from __future__ import annotations

import pytest

from zhifu.wechatpay import (
    MerchantCertificate,
    RequestSigner,
    SignatureError,
    WechatPayClient,
    load_private_key,
    parse_authorization,
    request_message,
    response_headers,
    response_message,
)
from zhifu.wechatpay.signing import jsapi_message, rsa_verify

from .conftest import APPID, MCHID


def test_messages_end_every_line_with_a_newline() -> None:
    assert request_message("get", "/v3/certificates", 1554208460, "N", b"") == (
        b"GET\n/v3/certificates\n1554208460\nN\n\n"
    )
    assert request_message("POST", "/v3/x?a=1", "1", "N", '{"金额":1}') == (
        'POST\n/v3/x?a=1\n1\nN\n{"金额":1}\n'.encode()
    )
    assert response_message("1", "N", b"") == b"1\nN\n\n"  # 204: an empty last line
    assert jsapi_message("wx1", "2", "N", "prepay_id=wx3") == b"wx1\n2\nN\nprepay_id=wx3\n"


def test_authorization_round_trip(merchant: MerchantCertificate) -> None:
    signer = RequestSigner(mchid=MCHID, serial_no=merchant.serial, private_key=merchant.private_pem)
    body = b'{"mchid":"1900000109"}'
    header = signer.authorization("POST", "/v3/pay/transactions/out-trade-no/A1/close", body)
    assert header.startswith('WECHATPAY2-SHA256-RSA2048 mchid="1900000109",')
    auth = parse_authorization(header)
    assert (auth.mchid, auth.serial_no) == (MCHID, merchant.serial)
    assert len(auth.nonce_str) == 32
    key = load_private_key(merchant.private_pem).public_key()
    message = request_message(
        "POST", "/v3/pay/transactions/out-trade-no/A1/close", auth.timestamp, auth.nonce_str, body
    )
    assert rsa_verify(key, message, auth.signature)
    assert not rsa_verify(key, message.replace(b"A1", b"A2"), auth.signature)
    assert not rsa_verify(key, message + b" ", auth.signature)  # the exact bytes, not "same JSON"


def test_authorization_pairs_in_any_order() -> None:
    # wechatpayv3's order: mchid, nonce_str, signature, timestamp, serial_no.
    header = (
        'WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",'
        'signature="c2ln",timestamp="1554208460",serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C"'
    )
    auth = parse_authorization(header)
    assert auth.timestamp == "1554208460" and auth.signature == "c2ln"
    assert parse_authorization(auth.header()) == auth


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("", "scheme"),
        ('Bearer mchid="1"', "scheme"),
        ('WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n"', "missing timestamp"),
        ('WECHATPAY2-SHA256-RSA2048 mchid=1,nonce_str="n"', "malformed pair"),
        (
            'WECHATPAY2-SHA256-RSA2048 mchid="1",mchid="2",nonce_str="n",timestamp="1",'
            'serial_no="A",signature="s"',
            "mchid given twice",
        ),
        (
            'WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n",timestamp="1",serial_no="A",'
            'signature="s",extra="x"',
            "unknown field extra",
        ),
    ],
)
def test_bad_authorization_headers_are_named(header: str, message: str) -> None:
    with pytest.raises(SignatureError, match=message):
        parse_authorization(header)


def test_response_headers_carry_all_five(merchant: MerchantCertificate) -> None:
    key = load_private_key(merchant.private_pem)
    headers = response_headers(key, "PUB_KEY_ID_0114232134912410000", b"{}", timestamp=7, nonce="n")
    assert headers["Wechatpay-Timestamp"] == "7"
    assert headers["Wechatpay-Signature-Type"] == "WECHATPAY2-SHA256-RSA2048"
    assert rsa_verify(key.public_key(), b"7\nn\n{}\n", headers["Wechatpay-Signature"])


def test_jsapi_pay_params_are_signed_with_the_merchant_key(
    client: WechatPayClient, merchant: MerchantCertificate
) -> None:
    params = client.jsapi_pay_params("wx201410272009395522657a690389285100", timestamp=1414561699)
    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["appId"] == APPID
    assert params["timeStamp"] == "1414561699"  # a string, as getBrandWCPayRequest wants
    assert params["package"] == "prepay_id=wx201410272009395522657a690389285100"
    assert params["signType"] == "RSA"
    message = f"{APPID}\n1414561699\n{params['nonceStr']}\n{params['package']}\n".encode()
    public = load_private_key(merchant.private_pem).public_key()
    assert rsa_verify(public, message, params["paySign"])
    other = client.jsapi_pay_params("wx201410272009395522657a690389285100", timestamp=1414561699)
    assert other["nonceStr"] != params["nonceStr"]


def test_gateway_side_request_check(merchant: MerchantCertificate) -> None:
    from zhifu.wechatpay import verify_request

    signer = RequestSigner(mchid=MCHID, serial_no=merchant.serial, private_key=merchant.private_pem)
    public = load_private_key(merchant.private_pem).public_key()
    url, body = "/v3/pay/transactions/native", b'{"a":1}'
    header = signer.authorization("POST", url, body, timestamp=1_800_000_000)
    auth = verify_request(header, "POST", url, body, public, now=1_800_000_100)
    assert auth.mchid == MCHID
    with pytest.raises(SignatureError, match="does not match"):
        verify_request(header, "POST", url, b'{"a":2}', public, now=1_800_000_100)
    with pytest.raises(SignatureError, match="does not match"):
        verify_request(header, "POST", url + "?x=1", body, public, now=1_800_000_100)
    with pytest.raises(SignatureError, match="more than 300 s"):
        verify_request(header, "POST", url, body, public, now=1_800_000_300)
