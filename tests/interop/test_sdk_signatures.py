"""Offline interop: signatures made by zhifu.alipay hold for SDKs nobody here wrote, and back.

* python-alipay-sdk (fzlee/alipay, import ``alipay.AliPay``);
* Alipay's official alipay-sdk-python (import ``alipay.aop.api``).

Both distributions install into the same top-level package ``alipay`` and both ship
``alipay/__init__.py``: whichever is installed last owns that file. The official SDK's own
``__init__`` is a stub, so the pair works only when python-alipay-sdk's file won. Each group of
tests below skips, saying why, when its SDK cannot be imported.

RSA PKCS#1 v1.5 signatures are deterministic, so for the same string and key the SDKs and
zhifu must produce the *same* base64 signature: that is asserted as well as mutual verification.
"""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import parse_qsl

import pytest
from cryptography.hazmat.primitives import serialization

from zhifu.alipay import (
    AlipayClient,
    KeyPair,
    SignatureError,
    Signer,
    Verifier,
    generate_key_pair,
    load_private_key,
    notification_content,
    request_content,
)
from zhifu.alipay.keys import one_line

try:
    from alipay import AliPay  # python-alipay-sdk
except ImportError as exc:  # pragma: no cover - depends on install order
    AliPay = None
    FZ_REASON = (
        f"python-alipay-sdk cannot be imported ({exc}); alipay-sdk-python, installed after it, "
        "probably replaced the shared alipay/__init__.py"
    )
else:
    FZ_REASON = ""

try:
    from alipay.aop.api.util import SignatureUtils as official
except ImportError as exc:  # pragma: no cover - depends on the environment
    official = None
    OFFICIAL_REASON = f"alipay-sdk-python cannot be imported: {exc}"
else:
    OFFICIAL_REASON = ""

needs_fz = pytest.mark.skipif(AliPay is None, reason=FZ_REASON or "available")
needs_official = pytest.mark.skipif(official is None, reason=OFFICIAL_REASON or "available")

APP_ID = "2021000000000001"


@pytest.fixture(scope="module")
def app() -> KeyPair:
    return generate_key_pair()


@pytest.fixture(scope="module")
def ali() -> KeyPair:
    return generate_key_pair()


def pkcs1_one_line(pair: KeyPair) -> str:
    key = load_private_key(pair.private_pem)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return one_line(pem)


def fz_client(private_pem: str, public_pem: str, sign_type: str = "RSA2") -> Any:
    assert AliPay is not None
    return AliPay(
        appid=APP_ID,
        app_notify_url=None,
        app_private_key_string=private_pem,
        alipay_public_key_string=public_pem,
        sign_type=sign_type,
    )


def zhifu_client(app: KeyPair, ali: KeyPair, sign_type: str = "RSA2") -> AlipayClient:
    return AlipayClient(
        app_id=APP_ID,
        app_private_key=app.private_pem,
        alipay_public_key=ali.public_pem,
        gateway_url="http://127.0.0.1:9/gateway.do",
        sign_type=sign_type,  # type: ignore[arg-type]
        notify_url="https://shop.test/notify",
        return_url="https://shop.test/return",
    )


def notification(signer: Signer | None = None) -> dict[str, str]:
    params = {
        "app_id": APP_ID,
        "charset": "utf-8",
        "notify_id": "2023122101222162644199160501632046",
        "notify_time": "2023-12-21 16:26:45",
        "notify_type": "trade_status_sync",
        "out_trade_no": "order_20240101_1",
        "seller_id": "2088721003899159",
        "subject": "yansongda+测试 - 1 & more",
        "total_amount": "12.30",
        "trade_no": "2023122122001499160501589436",
        "trade_status": "TRADE_SUCCESS",
        "fund_bill_list": '[{"amount":"12.30","fundChannel":"ALIPAYACCOUNT"}]',
        "version": "1.0",
        "sign_type": "RSA2",
    }
    if signer is not None:
        params["sign"] = signer.sign_notification(params)
    return params


# -- python-alipay-sdk --------------------------------------------------------------------------


@needs_fz
@pytest.mark.parametrize("sign_type", ["RSA2", "RSA"])
def test_fz_signs_zhifu_requests_identically_and_verifies_them(
    app: KeyPair, ali: KeyPair, sign_type: str
) -> None:
    page = zhifu_client(app, ali, sign_type).page_pay(
        out_trade_no="order_1", total_amount="12.30", subject="课程 A+B & co"
    )
    unsigned = {k: v for k, v in page.params.items() if k != "sign"}
    fz_signed = dict(
        parse_qsl(fz_client(app.private_pem, ali.public_pem, sign_type).sign_data(dict(unsigned)))
    )
    assert fz_signed["sign"] == page.params["sign"]
    # fzlee's verifier over zhifu's request string, with the app public key in Alipay's place.
    assert fz_client(app.private_pem, app.public_pem, sign_type)._verify(
        request_content(page.params), page.params["sign"]
    )


@needs_fz
def test_zhifu_verifies_fz_page_pay_url(app: KeyPair, ali: KeyPair) -> None:
    fz = fz_client(app.private_pem, ali.public_pem)
    query = fz.api_alipay_trade_page_pay(
        subject="测试 subject +1",
        out_trade_no="order_2",
        total_amount="0.01",
        return_url="https://shop.test/return",
        notify_url="https://shop.test/notify",
    )
    params = dict(parse_qsl(query, keep_blank_values=True))
    assert Verifier(app.public_pem).verify(request_content(params), params["sign"])
    assert not Verifier(ali.public_pem).verify(request_content(params), params["sign"])


@needs_fz
def test_fz_verifies_zhifu_signed_notifications(ali: KeyPair, app: KeyPair) -> None:
    params = notification(Signer(ali.private_pem))
    fz = fz_client(app.private_pem, ali.public_pem)
    data = {k: v for k, v in params.items() if k != "sign"}
    given = copy.deepcopy(data)
    assert fz.verify(given, params["sign"])
    assert "sign_type" not in given  # python-alipay-sdk pops it from the caller's dict
    tampered = {**data, "total_amount": "0.01"}
    assert not fz.verify(tampered, params["sign"])


@needs_fz
def test_empty_values_differ_between_fz_and_alipay(ali: KeyPair, app: KeyPair) -> None:
    """Alipay (and zhifu) drop empty values from the signed string; python-alipay-sdk keeps
    them, so a notification with an empty parameter verifies with zhifu but not with fzlee."""
    params = notification()
    params["body"] = ""
    params["sign"] = Signer(ali.private_pem).sign_notification(params)
    assert Verifier(ali.public_pem).verify_notification(params)
    data = {k: v for k, v in params.items() if k != "sign"}
    assert not fz_client(app.private_pem, ali.public_pem).verify(data, params["sign"])


@needs_fz
def test_zhifu_verifies_fz_signed_notifications(ali: KeyPair, app: KeyPair) -> None:
    # fzlee has no notification signer; a stand-in Alipay built on it signs the documented
    # string (everything but sign and sign_type) with its sign_data.
    params = notification()
    body = {k: v for k, v in params.items() if k != "sign_type"}
    signed = dict(parse_qsl(fz_client(ali.private_pem, app.public_pem).sign_data(body)))
    params["sign"] = signed["sign"]
    assert (
        Verifier(ali.public_pem).verify_notification(params)["subject"]
        == "yansongda+测试 - 1 & more"
    )
    with pytest.raises(SignatureError):
        Verifier(app.public_pem).verify_notification(params)


@needs_fz
def test_fz_verifies_zhifu_signed_sync_responses(ali: KeyPair, app: KeyPair) -> None:
    node = json.dumps(
        {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": "o1",
            "trade_status": "TRADE_SUCCESS",
            "total_amount": "12.30",
            "buyer_logon_id": "csq***@sandbox.com",
        },
        separators=(",", ":"),
    )
    sign = Signer(ali.private_pem).sign(node)
    body = f'{{"alipay_trade_query_response":{node},"sign":"{sign}"}}'
    fz = fz_client(app.private_pem, ali.public_pem)
    assert (
        fz._verify_and_return_sync_response(body, "alipay_trade_query_response")["trade_status"]
        == "TRADE_SUCCESS"
    )
    assert Verifier(ali.public_pem).verify_response(body, "alipay.trade.query").signed


@needs_fz
def test_zhifu_and_fz_agree_on_notification_signatures(ali: KeyPair, app: KeyPair) -> None:
    params = notification()
    zhifu_sign = Signer(ali.private_pem).sign(notification_content(params))
    body = {k: v for k, v in params.items() if k != "sign_type"}
    fz_sign = dict(parse_qsl(fz_client(ali.private_pem, app.public_pem).sign_data(body)))["sign"]
    assert zhifu_sign == fz_sign


# -- alipay-sdk-python (official) ---------------------------------------------------------------


@needs_official
def test_official_sign_content_matches_zhifu_request_content(app: KeyPair, ali: KeyPair) -> None:
    params = zhifu_client(app, ali).sign_request("alipay.trade.query", {"out_trade_no": "o1"})
    unsigned = {k: v for k, v in params.items() if k != "sign"}
    assert official.get_sign_content(unsigned) == request_content(params)


@needs_official
@pytest.mark.parametrize("sign_type", ["RSA2", "RSA"])
def test_official_signs_identically_and_verifies_zhifu(
    app: KeyPair, ali: KeyPair, sign_type: str
) -> None:
    params = zhifu_client(app, ali, sign_type).sign_request(
        "alipay.trade.precreate",
        {"out_trade_no": "o1", "total_amount": "1.00", "subject": "测试"},
    )
    content = request_content(params)
    sign_fn = official.sign_with_rsa2 if sign_type == "RSA2" else official.sign_with_rsa
    # The official SDK wants a bare PKCS#1 key ("non-Java" format from the Alipay key tool).
    assert sign_fn(pkcs1_one_line(app), content, "utf-8") == params["sign"]
    assert official.verify_with_rsa(app.public_one_line, content.encode("utf-8"), params["sign"])


@needs_official
def test_zhifu_verifies_official_signatures(app: KeyPair, ali: KeyPair) -> None:
    params = notification()
    content = notification_content(params)
    params["sign"] = official.sign_with_rsa2(pkcs1_one_line(ali), content, "utf-8")
    assert Verifier(ali.public_one_line).verify_notification(params)
    gbk = official.sign_with_rsa2(pkcs1_one_line(app), "subject=测试", "gbk")
    assert Verifier(app.public_pem).verify("subject=测试", gbk, "RSA2", "gbk")


@needs_official
def test_official_verifies_zhifu_signed_notifications(ali: KeyPair) -> None:
    params = notification(Signer(ali.private_pem))
    content = notification_content(params).encode("utf-8")
    assert official.verify_with_rsa(ali.public_one_line, content, params["sign"])
    import rsa

    with pytest.raises(rsa.VerificationError):
        official.verify_with_rsa(ali.public_one_line, content + b"x", params["sign"])
