"""Garbage in gives a named WechatPayError, never another exception (hypothesis), and captures."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zhifu.wechatpay import (
    SignatureError,
    Verifier,
    WechatPayError,
    decrypt_resource,
    parse_authorization,
    parse_notification,
    response_headers,
)
from zhifu.wechatpay.capture import CaptureError, parse_captured_request, parse_header_lines

from .conftest import APIV3_KEY
from .peer import WechatKey

HEADER_NAMES = st.sampled_from(
    [
        "Wechatpay-Timestamp",
        "Wechatpay-Nonce",
        "Wechatpay-Signature",
        "Wechatpay-Serial",
        "Wechatpay-Signature-Type",
        "wechatpay-serial",
        "HTTP_WECHATPAY_SIGNATURE",
        "X",
    ]
)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(st.text(max_size=300))
def test_authorization_garbage(header: str) -> None:
    try:
        parse_authorization(header)
    except SignatureError:
        pass


@FUZZ
@given(
    st.dictionaries(HEADER_NAMES, st.text(max_size=60), max_size=6),
    st.binary(max_size=100) | st.text(max_size=100),
)
def test_verifier_garbage(
    wechat_public_key: WechatKey, headers: dict[str, str], body: bytes | str
) -> None:
    verifier = Verifier(
        public_key=wechat_public_key.private_key.public_key(),
        public_key_id=wechat_public_key.serial,
    )
    with pytest.raises(SignatureError):
        verifier.verify(headers, body)


@FUZZ
@given(st.binary(max_size=200) | JSONISH.map(json.dumps))
def test_notification_garbage(body: bytes | str) -> None:
    with pytest.raises(WechatPayError):
        parse_notification(body, APIV3_KEY.encode())


@FUZZ
@given(JSONISH)
def test_resource_garbage(resource: object) -> None:
    with pytest.raises(WechatPayError):
        decrypt_resource(APIV3_KEY.encode(), resource)


@FUZZ
@given(st.binary(max_size=300))
def test_capture_garbage(data: bytes) -> None:
    try:
        headers, body = parse_captured_request(data)
    except CaptureError:
        return
    assert headers and body in data


def test_capture_keeps_the_body_byte_for_byte(wechat_public_key: WechatKey) -> None:
    body = b'{"id":"1"}\r\n\r\n'  # even blank lines inside the body belong to it
    headers = response_headers(wechat_public_key.private_key, wechat_public_key.serial, body)
    head = "POST /notify HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    parsed, parsed_body = parse_captured_request(head.encode() + b"\r\n" + body)
    assert parsed_body == body
    assert parsed["Wechatpay-Serial"] == wechat_public_key.serial
    verifier = Verifier(
        public_key=wechat_public_key.private_key.public_key(),
        public_key_id=wechat_public_key.serial,
    )
    assert verifier.verify(parsed, parsed_body).key_kind == "public_key"


def test_header_lines_and_json_headers() -> None:
    assert parse_header_lines("POST /n HTTP/1.1\nA: 1\n\nB:  two words \n") == {
        "A": "1",
        "B": "two words",
    }
    assert parse_header_lines('{"A": "1"}') == {"A": "1"}
    with pytest.raises(CaptureError, match="line 1 is not 'Name: value'"):
        parse_header_lines("no colon here")
    with pytest.raises(CaptureError, match="string values"):
        parse_header_lines('{"A": 1}')
    with pytest.raises(CaptureError, match="none found"):
        parse_header_lines("GET / HTTP/1.1")
