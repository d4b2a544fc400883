"""Authentication as WeChat does it, and every answer signed with the mode's key."""

from __future__ import annotations

import time

import pytest

from zhifu.sandbox.testing import SandboxServer
from zhifu.wechatpay import (
    SignatureError,
    Verifier,
    WechatPayAPIError,
    WechatPayClient,
    generate_merchant_certificate,
    parse_authorization,
)

from ..helpers import test_keys
from .helpers import raw_call, signer

QUERY = "/v3/pay/transactions/out-trade-no/NOSUCHORDER?mchid={mchid}"


def _query_path(sb: SandboxServer) -> str:
    return QUERY.format(mchid=sb.wechat_info["mchid"])


def test_a_signed_request_gets_a_signed_answer_with_a_request_id(sb: SandboxServer) -> None:
    answer = raw_call(sb, "GET", _query_path(sb))
    assert answer.status_code == 404
    assert answer.json() == {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
    assert answer.headers["Request-ID"]
    info = sb.wechat_info
    verifier = Verifier(
        public_key=info["wechatpay_public_key"], public_key_id=info["wechatpay_public_key_id"]
    )
    assert verifier.verify(answer.headers, answer.content).key_kind == "public_key"


def test_authorization_pairs_in_any_order(sb: SandboxServer) -> None:
    path = _query_path(sb)
    auth = parse_authorization(signer(sb).authorization("GET", path, b""))
    # wpv3's order: mchid, nonce_str, signature, timestamp, serial_no
    header = (
        f'WECHATPAY2-SHA256-RSA2048 mchid="{auth.mchid}",nonce_str="{auth.nonce_str}",'
        f'signature="{auth.signature}",timestamp="{auth.timestamp}",serial_no="{auth.serial_no}"'
    )
    assert raw_call(sb, "GET", path, authorization=header).status_code == 404


@pytest.mark.parametrize("missing", ["Accept", "User-Agent"])
def test_missing_accept_or_user_agent_is_invalid_request(sb: SandboxServer, missing: str) -> None:
    answer = raw_call(sb, "GET", _query_path(sb), headers={missing: None})
    assert answer.status_code == 400
    assert answer.json()["code"] == "INVALID_REQUEST"
    assert "Accept或User-Agent" in answer.json()["message"]
    assert answer.headers["Request-ID"]


def test_malformed_authorization_is_sign_error(sb: SandboxServer) -> None:
    answer = raw_call(sb, "GET", _query_path(sb), authorization="WECHATPAY2-SHA256-RSA2048 mchid=1")
    assert answer.status_code == 401
    assert answer.json()["code"] == "SIGN_ERROR"
    assert "Authorization值格式错误" in answer.json()["message"]


def test_a_tampered_signature_is_sign_error_naming_what_was_checked(sb: SandboxServer) -> None:
    path = _query_path(sb)
    auth = parse_authorization(signer(sb).authorization("GET", path, b""))
    other = "B" if auth.signature.startswith("A") else "A"  # never the signature itself
    forged = auth.header().replace(auth.signature, other + auth.signature[1:])
    answer = raw_call(sb, "GET", path, authorization=forged)
    assert answer.status_code == 401
    body = answer.json()
    assert body["code"] == "SIGN_ERROR"
    assert body["detail"]["field"] == "signature"
    assert body["detail"]["sign_information"]["url"] == path


def test_a_body_other_than_the_signed_one_is_sign_error(sb: SandboxServer) -> None:
    info = sb.wechat_info
    path = "/v3/pay/transactions/out-trade-no/ZF0000X1/close"
    header = signer(sb).authorization("POST", path, b'{"mchid":"other"}')
    answer = raw_call(sb, "POST", path, {"mchid": info["mchid"]}, authorization=header)
    assert answer.status_code == 401
    assert answer.json()["code"] == "SIGN_ERROR"


def test_a_stale_timestamp_is_refused(sb: SandboxServer) -> None:
    answer = raw_call(sb, "GET", _query_path(sb), timestamp=int(time.time()) - 600)
    assert answer.status_code == 401
    assert answer.json()["code"] == "SIGN_ERROR"
    assert "300 s" in answer.json()["detail"]["detail"]["issue"]


def test_an_unknown_certificate_serial_is_sign_error(sb: SandboxServer) -> None:
    info = sb.wechat_info
    other = generate_merchant_certificate(info["mchid"])
    client = sb.wechat_client(
        merchant_private_key=other.private_pem, merchant_serial_no=other.serial
    )
    with pytest.raises(WechatPayAPIError) as caught:
        client.query(out_trade_no="ZF0000X1")
    assert (caught.value.status, caught.value.code) == (401, "SIGN_ERROR")
    assert caught.value.message == "商户证书序列号有误。"


def test_an_unknown_wechatpay_serial_header_is_invalid_request(sb: SandboxServer) -> None:
    answer = raw_call(
        sb, "GET", _query_path(sb), headers={"Wechatpay-Serial": "PUB_KEY_ID_0000000000"}
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "INVALID_REQUEST"


def test_certificates_in_public_key_mode_are_not_available(sb: SandboxServer) -> None:
    answer = raw_call(sb, "GET", "/v3/certificates")
    assert answer.status_code == 404
    assert answer.json()["code"] == "RESOURCE_NOT_EXISTS"
    assert "微信支付公钥" in answer.json()["message"]


def test_certificate_mode_serves_encrypted_certificates_and_signs_with_them(
    sb: SandboxServer,
) -> None:
    sb.wechat_mode("certificate")
    client = sb.wechat_client()  # no certificate yet: downloads /v3/certificates on first use
    certificates = client.download_certificates()
    serials = [c["serial_no"] for c in sb.wechat_info["platform_certificates"]]
    assert [c.serial for c in certificates] == serials
    with pytest.raises(WechatPayAPIError) as caught:
        client.query(out_trade_no="ZF0000X1")
    assert caught.value.code == "ORDER_NOT_EXIST"
    answer = raw_call(sb, "GET", _query_path(sb))
    assert answer.headers["Wechatpay-Serial"] == serials[-1]


def test_a_rotated_certificate_is_downloaded_by_the_client(sb: SandboxServer) -> None:
    sb.wechat_mode("certificate")
    client = sb.wechat_client(notify_url="http://127.0.0.1:9/n")
    client.native(out_trade_no="ZF0000R1", total="1.00", description="x")
    rotated = sb._call("POST", "/sandbox/api/wechat/certificates/rotate", json={})
    answer = raw_call(sb, "GET", _query_path(sb))
    assert answer.headers["Wechatpay-Serial"] == rotated["serial_no"]
    client._verifier.certificates._last_refresh = None  # type: ignore[union-attr]  # skip the 60 s guard
    assert client.query(out_trade_no="ZF0000R1").trade_state == "NOTPAY"


def test_migration_answers_with_the_key_the_request_names(sb: SandboxServer) -> None:
    sb.wechat_mode("migration")
    info = sb.wechat_info
    by_public_key = raw_call(
        sb, "GET", _query_path(sb), headers={"Wechatpay-Serial": info["wechatpay_public_key_id"]}
    )
    assert by_public_key.headers["Wechatpay-Serial"] == info["wechatpay_public_key_id"]
    by_certificate = raw_call(sb, "GET", _query_path(sb))
    assert (
        by_certificate.headers["Wechatpay-Serial"] == info["platform_certificates"][-1]["serial_no"]
    )


def test_a_public_key_client_refuses_a_certificate_signed_answer(sb: SandboxServer) -> None:
    client: WechatPayClient = sb.wechat_client()  # public-key mode
    sb.wechat_mode("certificate")
    with pytest.raises(SignatureError):
        client.native(
            out_trade_no="ZF0000M1",
            total="1.00",
            description="x",
            notify_url="http://127.0.0.1:9/n",
        )


def test_signtest_and_corrupt_answers_are_refused_by_the_client(sb: SandboxServer) -> None:
    client = sb.wechat_client(notify_url="http://127.0.0.1:9/n")
    sb.wechat_faults(signtest_responses=1, corrupt_responses=1)
    with pytest.raises(SignatureError) as probe:
        client.native(out_trade_no="ZF0000S1", total="1.00", description="x")
    assert probe.value.probe
    with pytest.raises(SignatureError) as corrupt:
        client.native(out_trade_no="ZF0000S1", total="1.00", description="x")
    assert not corrupt.value.probe
    # both took effect (WeChat may have acted): the same request again answers the order
    assert client.native(out_trade_no="ZF0000S1", total="1.00", description="x").code_url


def test_api_error_and_rate_limit_faults(sb: SandboxServer) -> None:
    client = sb.wechat_client()
    sb.wechat_faults(api_errors=1, rate_limits=1)
    with pytest.raises(WechatPayAPIError) as first:
        client.query(out_trade_no="ZF0000E1")
    assert (first.value.status, first.value.code, first.value.retryable) == (
        500,
        "SYSTEM_ERROR",
        True,
    )
    with pytest.raises(WechatPayAPIError) as second:
        client.query(out_trade_no="ZF0000E1")
    assert (second.value.status, second.value.code) == (429, "FREQUENCY_LIMITED")


def test_an_unknown_api_is_a_wechat_style_404(sb: SandboxServer) -> None:
    answer = raw_call(sb, "GET", "/v3/merchant/fund/balance/BASIC")
    assert answer.status_code == 404
    assert answer.json()["code"] == "NOT_FOUND"
    assert answer.headers["Request-ID"]


def test_timestamp_skew_zero_turns_the_window_off() -> None:
    with SandboxServer(timestamp_skew=0, keys=test_keys()) as unchecked:
        answer = raw_call(
            unchecked, "GET", _query_path(unchecked), timestamp=int(time.time()) - 86400
        )
        assert answer.status_code == 404  # past authentication: the order does not exist
