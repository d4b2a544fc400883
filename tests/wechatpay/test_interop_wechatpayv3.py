"""Interop with ``wechatpayv3`` from PyPI, unmodified: its signatures and ours, both ways.

wechatpayv3 is what most Python merchants use today; if its requests verify with our rules and
its verifier, AES-GCM and callback accept what we produce, both sides read the protocol alike.
(Driving its HTTP client against the local sandbox is the sandbox's interop suite.)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from zhifu.wechatpay import (
    MerchantCertificate,
    Verifier,
    WechatPayClient,
    build_notification,
    encrypt_resource,
    load_private_key,
    parse_authorization,
    request_message,
    response_headers,
)
from zhifu.wechatpay.signing import rsa_verify

from .conftest import APIV3_KEY, APPID, MCHID, NOTIFY_URL
from .peer import FakeWechatPay, WechatKey

wechatpayv3 = pytest.importorskip(
    "wechatpayv3", reason="wechatpayv3 is not installed (pip install -e '.[dev]')"
)
utils = pytest.importorskip("wechatpayv3.utils")


def _one_line(pem: str) -> str:
    return "".join(line for line in pem.splitlines() if "-----" not in line)


def test_its_request_signature_verifies_with_our_message(merchant: MerchantCertificate) -> None:
    key = load_private_key(merchant.private_pem)
    data = {"mchid": MCHID, "description": "课程", "amount": {"total": 1}}
    header = utils.build_authorization(
        "/v3/pay/transactions/native", "POST", MCHID, merchant.serial, key, data=data
    )
    auth = parse_authorization(header)  # its pair order differs from ours
    assert (auth.mchid, auth.serial_no) == (MCHID, merchant.serial)
    body = json.dumps(data).encode()  # what requests(json=data) sends
    message = request_message(
        "POST", "/v3/pay/transactions/native", auth.timestamp, auth.nonce_str, body
    )
    assert rsa_verify(key.public_key(), message, auth.signature)


def test_our_response_signature_verifies_with_its_rsa_verify(wechat_public_key: WechatKey) -> None:
    body = '{"code_url":"weixin://wxpay/bizpayurl?pr=JyC91EIz1","备注":"中文"}'
    headers = response_headers(wechat_public_key.private_key, wechat_public_key.serial, body)
    assert utils.rsa_verify(
        headers["Wechatpay-Timestamp"],
        headers["Wechatpay-Nonce"],
        body,
        headers["Wechatpay-Signature"],
        wechat_public_key.private_key.public_key(),
    )


def test_its_rsa_sign_verifies_with_our_verifier(wechat_public_key: WechatKey) -> None:
    body = '{"trade_state":"SUCCESS","金额":1230}'
    stamp, nonce = str(int(time.time())), "EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz"
    signature = utils.rsa_sign(wechat_public_key.private_key, f"{stamp}\n{nonce}\n{body}\n")
    verifier = Verifier(
        public_key=wechat_public_key.private_key.public_key(),
        public_key_id=wechat_public_key.serial,
    )
    headers = {
        "Wechatpay-Timestamp": stamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": signature,
        "Wechatpay-Serial": wechat_public_key.serial,
    }
    assert verifier.verify(headers, body.encode()).key_kind == "public_key"


def test_its_aes_decrypt_opens_our_resource() -> None:
    resource = encrypt_resource(APIV3_KEY.encode(), "支付成功".encode(), "transaction")
    plain = utils.aes_decrypt(
        resource["nonce"], resource["ciphertext"], resource["associated_data"], APIV3_KEY
    )
    assert plain == "支付成功"
    assert utils.aes_decrypt(resource["nonce"], resource["ciphertext"], "refund", APIV3_KEY) is None


def _wechatpay(merchant: MerchantCertificate, **keys: object) -> object:
    return wechatpayv3.WeChatPay(
        wechatpay_type=wechatpayv3.WeChatPayType.NATIVE,
        mchid=MCHID,
        private_key=merchant.private_pem,
        cert_serial_no=merchant.serial,
        appid=APPID,
        apiv3_key=APIV3_KEY,
        notify_url=NOTIFY_URL,
        **keys,
    )


def test_its_callback_decrypts_our_notification_in_public_key_mode(
    merchant: MerchantCertificate, wechat_public_key: WechatKey
) -> None:
    resource = {
        "mchid": MCHID,
        "appid": APPID,
        "out_trade_no": "ZF20261202W001",
        "trade_state": "SUCCESS",
        "amount": {"total": 1230, "currency": "CNY"},
    }
    body = build_notification(APIV3_KEY.encode(), "TRANSACTION.SUCCESS", resource)
    headers = response_headers(wechat_public_key.private_key, wechat_public_key.serial, body)
    public_pem = _one_line(_public_pem(wechat_public_key))
    wxpay = _wechatpay(merchant, public_key=public_pem, public_key_id=wechat_public_key.serial)
    result = wxpay.callback(headers, body)  # type: ignore[attr-defined]
    assert result is not None, "wechatpayv3 refused our notification"
    assert result["event_type"] == "TRANSACTION.SUCCESS"
    assert result["resource"] == resource
    headers["Wechatpay-Signature"] = "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"]
    assert wxpay.callback(headers, body) is None  # type: ignore[attr-defined]


def test_its_certificate_mode_reads_our_certificate_cache(
    merchant: MerchantCertificate,
    make_peer: Callable[..., FakeWechatPay],
    make_client: Callable[..., WechatPayClient],
    tmp_path: Path,
) -> None:
    # Our cache directory holds <serial>.pem files: exactly what its cert_dir expects, so a
    # site moving between the two keeps the certificates it downloaded.
    peer = make_peer("certificate")
    cache = tmp_path / "certs"
    client = make_client(peer, public_key=False, certificate_cache_dir=str(cache))
    assert client.verifier.certificates is not None
    client.verifier.certificates.refresh()
    wxpay = _wechatpay(merchant, cert_dir=str(cache))  # reads the directory, no download
    resource = {"out_refund_no": "RF1", "refund_status": "SUCCESS", "mchid": MCHID}
    headers, body = peer.notification("REFUND.SUCCESS", resource)
    result = wxpay.callback(headers, body)  # type: ignore[attr-defined]
    assert result is not None and result["resource"] == resource


def test_our_pay_sign_equals_its_sign(
    merchant: MerchantCertificate, client: WechatPayClient
) -> None:
    # SHA256withRSA PKCS#1 v1.5 is deterministic: the same four lines give the same paySign.
    params = client.jsapi_pay_params("wx201410272009395522657a690389285100", timestamp=1414561699)
    wxpay = _wechatpay(
        merchant,
        public_key=_one_line(merchant.public_pem),
        public_key_id="PUB_KEY_ID_0114232134912410000",
    )
    theirs = wxpay.sign(
        [params["appId"], params["timeStamp"], params["nonceStr"], params["package"]]
    )  # type: ignore[attr-defined]
    assert theirs == params["paySign"]


def _public_pem(key: WechatKey) -> str:
    from cryptography.hazmat.primitives import serialization

    return (
        key.private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_its_requests_pass_our_gateway_check(merchant: MerchantCertificate) -> None:
    from zhifu.wechatpay import verify_request

    key = load_private_key(merchant.private_pem)
    path = "/v3/pay/transactions/out-trade-no/ZF20261202W002?mchid=1900000109"
    header = utils.build_authorization(path, "GET", MCHID, merchant.serial, key)
    assert verify_request(header, "GET", path, b"", key.public_key()).serial_no == merchant.serial
