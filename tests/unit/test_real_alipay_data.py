"""zhifu.alipay verifies data that Alipay's own sandbox signed (December 2023).

The data and the sandbox public-key certificate come from yansongda/pay's test suite (see
tests/fixtures/README.md). This is the strongest evidence available offline that the rules
implemented here are Alipay's rules.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import pytest

from zhifu.alipay import SignatureError, Verifier, notification_content

from .conftest import FIXTURES

DATA = json.loads((FIXTURES / "yansongda" / "sandbox_2023.json").read_text(encoding="utf-8"))
CERT = FIXTURES / "yansongda" / "alipayPublicCert.crt"


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return Verifier(CERT)  # the public key inside Alipay's sandbox public-key certificate


def test_real_notification_with_plus_in_subject(verifier: Verifier) -> None:
    notification = DATA["notification"]
    assert "+" in notification["subject"]
    data = verifier.verify_notification(notification)
    assert data["trade_status"] == "TRADE_SUCCESS" and data["total_amount"] == "0.01"
    # It is the documented variant (without sign_type) that Alipay signed, not the other one.
    assert verifier.verify(notification_content(notification), notification["sign"])
    assert not verifier.verify(
        notification_content(notification, keep_sign_type=True), notification["sign"]
    )


def test_real_notification_as_the_form_body_alipay_posted(verifier: Verifier) -> None:
    from urllib.parse import urlencode

    body = urlencode(DATA["notification"])  # '+' in the subject travels as %2B
    assert "yansongda%2B" in body
    params = dict(parse_qsl(body, keep_blank_values=True))
    assert verifier.verify_notification(params)["subject"] == "yansongda+测试 - 1"
    # Decoding '+' wrongly (as a literal plus left in, or %2B turned into a space) fails.
    broken = {**params, "subject": "yansongda 测试 - 1"}
    with pytest.raises(SignatureError):
        verifier.verify_notification(broken)


def test_real_notification_tampered_fails(verifier: Verifier) -> None:
    with pytest.raises(SignatureError):
        verifier.verify_notification({**DATA["notification"], "total_amount": "100.00"})


def test_real_return_url(verifier: Verifier) -> None:
    params = dict(parse_qsl(urlsplit(DATA["return_url"]).query, keep_blank_values=True))
    assert params["method"] == "alipay.trade.page.pay.return"
    assert "trade_status" not in params  # returns never carry the status
    assert verifier.verify_notification(params)["trade_no"] == "2023122122001499160501586202"
    assert not verifier.verify(notification_content(params, keep_sign_type=True), params["sign"])


def test_real_sync_response_node(verifier: Verifier) -> None:
    response = DATA["response"]
    method = response["method"]
    node = response["node"]
    body = (
        '{"'
        + method.replace(".", "_")
        + '_response":'
        + node
        + ',"alipay_cert_sn":"6f1e366a31d9575cd546914add04f4af","sign":"'
        + response["sign"]
        + '"}'
    )
    result = verifier.verify_response(body, method)
    assert result.signed and result.data["status"] == "SUCCESS"
    assert result.alipay_cert_sn == "6f1e366a31d9575cd546914add04f4af"
    with pytest.raises(SignatureError):
        verifier.verify_response(body.replace('"0.01"', '"0.02"'), method)
