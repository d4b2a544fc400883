"""The client against a faithful fake WeChat (tests/wechatpay/peer.py) through httpx's transport."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from zhifu.wechatpay import (
    InvalidRequestError,
    SignatureError,
    WechatPayAPIError,
    WechatPayClient,
    WechatPayResponseError,
    WechatPayTimeoutError,
    WechatPayTransportError,
)

from .conftest import APPID, MCHID, NOTIFY_URL
from .peer import FakeWechatPay


def sent_json(peer: FakeWechatPay) -> dict[str, object]:
    return json.loads(peer.requests[-1].content)


def test_native_sends_fen_and_returns_code_url(
    client: WechatPayClient, peer: FakeWechatPay
) -> None:
    result = client.native(
        out_trade_no="ZF20261202A001", total=Decimal("12.30"), description="课程"
    )
    assert result.code_url.startswith("weixin://wxpay/bizpayurl?pr=")
    body = sent_json(peer)
    assert body["amount"] == {"total": 1230, "currency": "CNY"}
    assert (body["appid"], body["mchid"], body["notify_url"]) == (APPID, MCHID, NOTIFY_URL)
    request = peer.requests[-1]
    # One serialisation, compact and UTF-8 (not \u escapes): the bytes signed are the bytes sent.
    assert "课程".encode() in request.content and b", " not in request.content
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Wechatpay-Serial"] == peer.public_key.serial


def test_amounts_are_yuan_at_the_api_and_floats_are_refused(client: WechatPayClient) -> None:
    with pytest.raises(InvalidRequestError, match="float"):
        client.native(out_trade_no="ZF20261202A002", total=0.1, description="x")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="more than two decimal places"):
        client.native(out_trade_no="ZF20261202A002", total="1.001", description="x")
    with pytest.raises(InvalidRequestError, match="below the minimum"):
        client.native(out_trade_no="ZF20261202A002", total="0", description="x")


@pytest.mark.parametrize("number", ["12345", "x" * 33, "ZF 2026", "ZF#20261202", "订单123456", ""])
def test_out_trade_no_rule_is_checked_before_sending(
    client: WechatPayClient, peer: FakeWechatPay, number: str
) -> None:
    with pytest.raises(InvalidRequestError, match="6-32 letters, digits or _-\\|\\*"):
        client.native(out_trade_no=number, total="1.00", description="x")
    assert peer.requests == []


def test_out_trade_no_with_every_allowed_character_round_trips(
    client: WechatPayClient, peer: FakeWechatPay
) -> None:
    number = "Ab9_-|*x"
    client.native(out_trade_no=number, total="1.00", description="x")
    found = client.query(out_trade_no=number)
    assert found.out_trade_no == number
    assert peer.requests[-1].url.raw_path.startswith(
        b"/v3/pay/transactions/out-trade-no/Ab9_-%7C*x?"
    )


def test_time_expire_is_beijing_rfc3339_whatever_the_zone(
    client: WechatPayClient, peer: FakeWechatPay
) -> None:
    utc_noon = datetime(2026, 12, 2, 12, 0, 0, 123456, tzinfo=UTC)
    client.native(
        out_trade_no="ZF20261202A003", total="1.00", description="x", time_expire=utc_noon
    )
    assert sent_json(peer)["time_expire"] == "2026-12-02T20:00:00+08:00"
    with pytest.raises(InvalidRequestError, match="aware datetime"):
        client.native(
            out_trade_no="ZF20261202A004",
            total="1.00",
            description="x",
            time_expire=datetime(2026, 1, 1),
        )


def test_emoji_is_refused_with_a_reason(client: WechatPayClient, peer: FakeWechatPay) -> None:
    with pytest.raises(InvalidRequestError, match="U\\+1F600"):
        client.native(out_trade_no="ZF20261202A005", total="1.00", description="课程😀")
    assert peer.requests == []


def test_notify_url_rules(client: WechatPayClient) -> None:
    with pytest.raises(InvalidRequestError, match="query string"):
        client.native(
            out_trade_no="ZF20261202A006",
            total="1",
            description="x",
            notify_url=NOTIFY_URL + "?a=1",
        )
    with pytest.raises(InvalidRequestError, match="absolute http"):
        client.native(out_trade_no="ZF20261202A006", total="1", description="x", notify_url="/n/")


def test_h5_url_with_redirect_url_appended_encoded(
    client: WechatPayClient, peer: FakeWechatPay
) -> None:
    result = client.h5(
        out_trade_no="ZF20261202H001", total="0.01", description="x", payer_client_ip="203.0.113.7"
    )
    assert sent_json(peer)["scene_info"] == {
        "payer_client_ip": "203.0.113.7",
        "h5_info": {"type": "Wap"},
    }
    url = result.url("https://shop.example.com/pay/done/?order=7&x=中")
    query = parse_qs(urlsplit(url).query)
    assert query["redirect_url"] == ["https://shop.example.com/pay/done/?order=7&x=中"]
    assert (
        "redirect_url=https%3A%2F%2Fshop.example.com%2Fpay%2Fdone%2F%3Forder%3D7%26x%3D%E4%B8%AD"
        in url
    )
    assert result.url() == result.h5_url
    assert result.expires_at - result.created_at == timedelta(minutes=5)
    with pytest.raises(InvalidRequestError, match="h5_type"):
        client.h5(
            out_trade_no="ZF20261202H002",
            total="1",
            description="x",
            payer_client_ip="1.1.1.1",
            h5_type="web",
        )


def test_jsapi_returns_prepay_id_and_signed_pay_params(
    client: WechatPayClient, peer: FakeWechatPay
) -> None:
    result = client.jsapi(
        out_trade_no="ZF20261202J001",
        total="8.00",
        description="x",
        openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
    )
    assert sent_json(peer)["payer"] == {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}
    assert result.pay_params["package"] == f"prepay_id={result.prepay_id}"
    assert result.pay_params["signType"] == "RSA"


def test_query_after_payment_by_both_keys(client: WechatPayClient, peer: FakeWechatPay) -> None:
    client.native(out_trade_no="ZF20261202Q001", total="12.30", description="x", attach="order 7")
    unpaid = client.query(out_trade_no="ZF20261202Q001")
    assert (unpaid.trade_state, unpaid.is_paid, unpaid.transaction_id) == ("NOTPAY", False, "")
    assert unpaid.total == Decimal("12.30") and unpaid.success_time is None
    assert parse_qs(urlsplit(str(peer.requests[-1].url)).query) == {"mchid": [MCHID]}
    peer.pay("ZF20261202Q001")
    paid = client.query(out_trade_no="ZF20261202Q001")
    assert paid.is_paid and paid.trade_state == "SUCCESS" and paid.attach == "order 7"
    assert paid.payer_total == Decimal("12.30") and paid.currency == "CNY"
    assert paid.success_time is not None and paid.success_time.utcoffset() == timedelta(hours=8)
    again = client.query(transaction_id=paid.transaction_id)
    assert again.out_trade_no == "ZF20261202Q001"
    with pytest.raises(InvalidRequestError, match="exactly one"):
        client.query()


def test_unknown_order_maps_to_order_not_exist(client: WechatPayClient) -> None:
    with pytest.raises(WechatPayAPIError) as caught:
        client.query(out_trade_no="ZF20261202NONE")
    error = caught.value
    assert (error.status, error.code, error.message) == (404, "ORDER_NOT_EXIST", "订单不存在")
    assert error.request_id and not error.retryable
    assert error.operation == "GET /v3/pay/transactions/out-trade-no/ZF20261202NONE"
    assert "code=ORDER_NOT_EXIST" in str(error)


def test_close_answers_204_and_a_closed_order_cannot_be_placed_again(
    client: WechatPayClient, peer: FakeWechatPay
) -> None:
    client.native(out_trade_no="ZF20261202C001", total="1.00", description="x")
    assert client.close("ZF20261202C001") is None
    assert sent_json(peer) == {"mchid": MCHID}
    assert client.query(out_trade_no="ZF20261202C001").is_closed
    with pytest.raises(WechatPayAPIError) as caught:
        client.native(out_trade_no="ZF20261202C001", total="1.00", description="x")
    assert (caught.value.status, caught.value.code) == (400, "ORDER_CLOSED")


def test_same_order_again_is_idempotent_different_is_refused(client: WechatPayClient) -> None:
    client.native(out_trade_no="ZF20261202I001", total="1.00", description="x")
    client.native(out_trade_no="ZF20261202I001", total="1.00", description="x")
    with pytest.raises(WechatPayAPIError) as caught:
        client.native(out_trade_no="ZF20261202I001", total="2.00", description="x")
    assert (caught.value.status, caught.value.code) == (403, "OUT_TRADE_NO_USED")


def test_refund_and_refund_query(client: WechatPayClient, peer: FakeWechatPay) -> None:
    client.native(out_trade_no="ZF20261202R001", total="12.30", description="x")
    peer.pay("ZF20261202R001")
    refund = client.refund(
        out_trade_no="ZF20261202R001",
        out_refund_no="RF1",
        refund="2.30",
        total="12.30",
        reason="退课",
    )
    assert sent_json(peer)["amount"] == {"refund": 230, "total": 1230, "currency": "CNY"}
    assert (refund.status, refund.succeeded, refund.is_final) == ("PROCESSING", False, False)
    assert refund.refund == Decimal("2.30") and refund.total == Decimal("12.30")
    same = client.refund(
        out_trade_no="ZF20261202R001", out_refund_no="RF1", refund="2.30", total="12.30"
    )
    assert same.refund_id == refund.refund_id  # out_refund_no is the idempotency key
    peer.settle_refund("RF1")
    settled = client.refund_query("RF1")
    assert settled.succeeded and settled.is_final and settled.success_time is not None
    with pytest.raises(WechatPayAPIError) as caught:
        client.refund(
            out_trade_no="ZF20261202R001", out_refund_no="RF2", refund="10.01", total="12.30"
        )
    assert (caught.value.status, caught.value.code) == (403, "NOT_ENOUGH")
    with pytest.raises(WechatPayAPIError) as missing:
        client.refund_query("RF404")
    assert (missing.value.status, missing.value.code) == (404, "RESOURCE_NOT_EXISTS")
    with pytest.raises(InvalidRequestError, match="more than the order total"):
        client.refund(
            out_trade_no="ZF20261202R001", out_refund_no="RF3", refund="13", total="12.30"
        )
    with pytest.raises(InvalidRequestError, match="out_refund_no"):
        client.refund(
            out_trade_no="ZF20261202R001", out_refund_no="退款1", refund="1", total="12.30"
        )


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (500, "SYSTEM_ERROR", True),
        (429, "FREQUENCY_LIMITED", True),
        (503, "SERVICE_UNAVAILABLE", True),
        (400, "PARAM_ERROR", False),
        (403, "NO_AUTH", False),
        (400, "INVALID_REQUEST", False),
    ],
)
def test_error_mapping(
    client: WechatPayClient, peer: FakeWechatPay, status: int, code: str, retryable: bool
) -> None:
    peer.fail_next = (status, code, "系统异常，请稍后重试")
    with pytest.raises(WechatPayAPIError) as caught:
        client.native(out_trade_no="ZF20261202E001", total="1.00", description="x")
    assert (caught.value.status, caught.value.code, caught.value.retryable) == (
        status,
        code,
        retryable,
    )
    assert caught.value.message == "系统异常，请稍后重试"


def test_peer_detail_is_kept(client: WechatPayClient, peer: FakeWechatPay) -> None:
    with pytest.raises(WechatPayAPIError) as caught:
        client.request("POST", "/v3/pay/transactions/native", body={"mchid": MCHID})
    assert caught.value.code == "PARAM_ERROR"
    bad_total = {
        "appid": APPID,
        "mchid": MCHID,
        "description": "x",
        "out_trade_no": "ZF20261202E002",
        "notify_url": NOTIFY_URL,
        "amount": {"total": 0},
    }
    with pytest.raises(WechatPayAPIError) as detail:
        client.request("POST", "/v3/pay/transactions/native", body=bad_total)
    assert detail.value.detail == {"field": "/amount/total", "location": "body"}


def test_wrong_merchant_key_gets_sign_error(
    peer: FakeWechatPay, make_client: Callable[..., WechatPayClient]
) -> None:
    from zhifu.wechatpay import generate_merchant_certificate

    other = generate_merchant_certificate()
    client = make_client(peer, merchant_private_key=other.private_pem)
    with pytest.raises(WechatPayAPIError) as caught:
        client.native(out_trade_no="ZF20261202S001", total="1.00", description="x")
    assert (caught.value.status, caught.value.code) == (401, "SIGN_ERROR")


def test_signtest_probe_on_a_response_is_refused(
    client: WechatPayClient, peer: FakeWechatPay
) -> None:
    peer.probe_next = True
    with pytest.raises(SignatureError) as caught:
        client.native(out_trade_no="ZF20261202P001", total="1.00", description="x")
    assert caught.value.probe and caught.value.status == 200 and caught.value.request_id
    assert caught.value.retryable  # WeChat may have acted: query or send the same again
    # The very same request again, correctly signed this time, gives the order's data.
    assert client.native(out_trade_no="ZF20261202P001", total="1.00", description="x").code_url


def test_stale_response_is_refused(client: WechatPayClient, peer: FakeWechatPay) -> None:
    peer.stale_next = True
    with pytest.raises(SignatureError, match="apart"):
        client.native(out_trade_no="ZF20261202T001", total="1.00", description="x")


def test_204_is_verified_too(client: WechatPayClient, peer: FakeWechatPay) -> None:
    client.native(out_trade_no="ZF20261202T002", total="1.00", description="x")
    peer.probe_next = True
    with pytest.raises(SignatureError):
        client.close("ZF20261202T002")


def test_unsigned_2xx_is_refused(
    make_client: Callable[..., WechatPayClient], peer: FakeWechatPay
) -> None:
    def unsigned(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"code_url": "weixin://wxpay/bizpayurl?pr=forged"})

    client = make_client(peer, transport=httpx.MockTransport(unsigned))
    with pytest.raises(SignatureError, match="missing header"):
        client.native(out_trade_no="ZF20261202U001", total="1.00", description="x")


def test_transport_failures(
    make_client: Callable[..., WechatPayClient], peer: FakeWechatPay
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(WechatPayTransportError) as caught:
        make_client(peer, transport=httpx.MockTransport(refuse)).query(
            out_trade_no="ZF20261202X001"
        )
    assert caught.value.retryable
    with pytest.raises(WechatPayTimeoutError):
        make_client(peer, transport=httpx.MockTransport(slow)).close("ZF20261202X001")


def test_non_json_error_body(
    make_client: Callable[..., WechatPayClient], peer: FakeWechatPay
) -> None:
    def gateway(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad Gateway</html>")

    with pytest.raises(WechatPayAPIError) as caught:
        make_client(peer, transport=httpx.MockTransport(gateway)).close("ZF20261202X002")
    assert (caught.value.status, caught.value.code, caught.value.retryable) == (502, None, True)
    assert caught.value.message == "WeChat Pay answered HTTP 502"


def test_signed_answer_that_is_not_json(
    make_client: Callable[..., WechatPayClient], peer: FakeWechatPay
) -> None:
    from zhifu.wechatpay import response_headers

    def gateway(request: httpx.Request) -> httpx.Response:
        body = b"[1,2]"
        return httpx.Response(
            200,
            content=body,
            headers=response_headers(peer.public_key.private_key, peer.public_key.serial, body),
        )

    with pytest.raises(WechatPayResponseError, match="not a JSON object"):
        make_client(peer, transport=httpx.MockTransport(gateway)).close("ZF20261202X003")


def test_base_url_with_a_path_prefix_is_signed_whole(
    make_client: Callable[..., WechatPayClient], peer: FakeWechatPay
) -> None:
    # e.g. a gateway mounted under /wechatpay on the sandbox's host: the signature covers the
    # path the server receives.
    prefix_peer = peer

    def strip_prefix(request: httpx.Request) -> httpx.Response:
        assert request.url.raw_path.startswith(b"/wechatpay/v3/")
        return prefix_peer.handle(request)

    client = make_client(
        peer,
        base_url="http://127.0.0.1:9000/wechatpay/",
        transport=httpx.MockTransport(strip_prefix),
    )
    with pytest.raises(
        WechatPayAPIError
    ) as caught:  # the peer routes /v3/... only: 404, but signed OK
        client.query(out_trade_no="ZF20261202X004")
    assert caught.value.code == "NOT_FOUND"


def test_constructor_does_no_io_and_validates(merchant, peer: FakeWechatPay) -> None:  # type: ignore[no-untyped-def]
    calls: list[httpx.Request] = []
    WechatPayClient(
        mchid=MCHID,
        appid=APPID,
        merchant_private_key=merchant.private_pem,
        merchant_serial_no=merchant.serial,
        apiv3_key="a9B8c7D6e5F4g3H2i1J0k9L8m7N6o5P4",
        transport=httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(500)),  # type: ignore[func-returns-value]
    )
    assert calls == []  # certificate mode, but nothing is downloaded until a serial is needed
    with pytest.raises(InvalidRequestError, match="base_url"):
        WechatPayClient(
            mchid=MCHID,
            appid=APPID,
            merchant_private_key=merchant.private_pem,
            merchant_serial_no=merchant.serial,
            apiv3_key="a9B8c7D6e5F4g3H2i1J0k9L8m7N6o5P4",
            base_url="api.mch.weixin.qq.com",
        )


@pytest.mark.parametrize("path", ["v3/x", "/v3/x?mchid=1", "/v3/订单", "/v3/a b", "/v3/x#y"])
def test_request_path_must_be_what_is_sent(
    client: WechatPayClient, peer: FakeWechatPay, path: str
) -> None:
    with pytest.raises(InvalidRequestError, match="path"):
        client.request("GET", path)
    assert peer.requests == []


def test_key_mode_arguments(
    peer: FakeWechatPay, make_client: Callable[..., WechatPayClient], tmp_path: object
) -> None:
    from zhifu.wechatpay import KeyFormatError

    with pytest.raises(KeyFormatError, match="platform_certificates=True"):
        make_client(peer, certificate_cache_dir=str(tmp_path))
    # One PEM (or path) is one certificate, not an iterable of characters.
    one = make_client(
        peer, public_key=False, platform_certificates=peer.platform[0].certificate_pem
    )
    assert one.verifier.certificates is not None
    assert one.verifier.certificates.serials == [peer.platform[0].serial]
    with pytest.raises(KeyFormatError, match="APIv3 key"):
        make_client(peer, apiv3_key="0123456789")
