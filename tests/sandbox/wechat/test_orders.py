"""Orders: Native, H5 and JSAPI placed, re-placed, queried, closed, expired."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from zhifu.sandbox.testing import SandboxError, SandboxServer
from zhifu.wechatpay import BEIJING, WechatPayAPIError, WechatPayClient

from .helpers import raw_call


def _api_error(call: object) -> WechatPayAPIError:
    with pytest.raises(WechatPayAPIError) as caught:
        call()  # type: ignore[operator]
    return caught.value


def test_first_start_writes_the_files_a_site_is_configured_from(sb: SandboxServer) -> None:
    info = json.loads((sb.data_dir / "sandbox.json").read_text(encoding="utf-8"))
    wechat = info["wechatpay"]
    assert info["app_id"]  # the Alipay part is still there
    assert wechat["mchid"] == sb.wechat_info["mchid"]
    assert wechat["wechatpay_public_key_id"].startswith("PUB_KEY_ID_")
    key_file = Path(wechat["merchant_private_key_file"])
    assert "PRIVATE KEY" in key_file.read_text(encoding="ascii")
    assert key_file.stat().st_mode & 0o077 == 0
    assert len(Path(wechat["apiv3_key_file"]).read_text(encoding="ascii").strip()) == 32
    assert "PUBLIC KEY" in Path(wechat["wechatpay_public_key_file"]).read_text(encoding="ascii")
    certs = list(Path(wechat["platform_certificates_dir"]).glob("*.pem"))
    assert [p.stem for p in certs] == wechat["platform_certificate_serials"]
    assert [u["openid"] for u in wechat["users"]] == [u["openid"] for u in sb.wechat_info["users"]]
    # a client built from the files alone works
    client = WechatPayClient(
        mchid=wechat["mchid"],
        appid=wechat["appid"],
        merchant_private_key=wechat["merchant_private_key_file"],
        merchant_serial_no=wechat["merchant_serial_no"],
        apiv3_key=Path(wechat["apiv3_key_file"]).read_text(encoding="ascii"),
        wechatpay_public_key=wechat["wechatpay_public_key_file"],
        wechatpay_public_key_id=wechat["wechatpay_public_key_id"],
        base_url=wechat["base_url"],
        notify_url="http://127.0.0.1:9/notify",
    )
    assert client.native(out_trade_no="ZFFILES1", total="0.01", description="x").code_url


def test_native_order_lifecycle(sb: SandboxServer, wxc: WechatPayClient) -> None:
    prepay = wxc.native(out_trade_no="ZFN00001", total="12.30", description="课程", attach="a=1")
    assert prepay.code_url.startswith("weixin://wxpay/bizpayurl?pr=")
    unpaid = wxc.query(out_trade_no="ZFN00001")
    assert (unpaid.trade_state, unpaid.total, unpaid.transaction_id) == (
        "NOTPAY",
        Decimal("12.30"),
        "",
    )
    assert unpaid.attach == "a=1" and unpaid.trade_type == "NATIVE"
    sb.wechat_pay("ZFN00001", buyer="buyer2@sandbox.com")
    paid = wxc.query(out_trade_no="ZFN00001")
    assert paid.is_paid and paid.trade_state == "SUCCESS"
    assert len(paid.transaction_id) == 28 and paid.success_time is not None
    assert paid.payer_openid.startswith("o") and paid.payer_total == paid.total
    assert wxc.query(transaction_id=paid.transaction_id).out_trade_no == "ZFN00001"
    error = _api_error(lambda: wxc.close("ZFN00001"))
    assert (error.status, error.code) == (400, "ORDERPAID")
    error = _api_error(
        lambda: wxc.native(out_trade_no="ZFN00001", total="12.30", description="课程")
    )
    assert error.code == "ORDERPAID"


def test_placing_the_same_order_again(sb: SandboxServer, wxc: WechatPayClient) -> None:
    first = wxc.native(out_trade_no="ZFN00002", total="1.00", description="x")
    again = wxc.native(out_trade_no="ZFN00002", total="1.00", description="x")
    assert again.code_url == first.code_url
    error = _api_error(lambda: wxc.native(out_trade_no="ZFN00002", total="2.00", description="x"))
    assert (error.status, error.code, error.message) == (403, "OUT_TRADE_NO_USED", "商户订单号重复")
    wxc.close("ZFN00002")
    wxc.close("ZFN00002")  # closing again is still 204
    assert wxc.query(out_trade_no="ZFN00002").trade_state == "CLOSED"
    error = _api_error(lambda: wxc.native(out_trade_no="ZFN00002", total="1.00", description="x"))
    assert (error.status, error.code) == (400, "ORDER_CLOSED")
    with pytest.raises(SandboxError) as caught:
        sb.wechat_pay("ZFN00002")
    assert caught.value.code == "order_closed"


def test_unknown_orders(sb: SandboxServer, wxc: WechatPayClient) -> None:
    error = _api_error(lambda: wxc.query(out_trade_no="ZFNOPE01"))
    assert (error.status, error.code) == (404, "ORDER_NOT_EXIST")
    error = _api_error(lambda: wxc.query(transaction_id="4200000000202612010000000000"))
    assert error.code == "ORDER_NOT_EXIST"
    assert _api_error(lambda: wxc.close("ZFNOPE01")).code == "ORDER_NOT_EXIST"


def test_time_expire_closes_the_order_on_the_sandbox_clock(
    sb: SandboxServer, wxc: WechatPayClient
) -> None:
    soon = datetime.now(BEIJING) + timedelta(seconds=5)  # raised to one minute, as WeChat does
    wxc.native(out_trade_no="ZFN00003", total="1.00", description="x", time_expire=soon)
    sb.advance_clock(30)
    assert wxc.query(out_trade_no="ZFN00003").trade_state == "NOTPAY"
    sb.advance_clock(40)
    assert wxc.query(out_trade_no="ZFN00003").trade_state == "CLOSED"
    assert sb.wechat_order("ZFN00003")["close_reason"] == "expired"


def test_payerror_and_insufficient_balance(sb: SandboxServer, wxc: WechatPayClient) -> None:
    wxc.native(out_trade_no="ZFN00004", total="5.00", description="x")
    with pytest.raises(SandboxError) as caught:
        sb.wechat_pay("ZFN00004", buyer="poor@sandbox.com")
    assert (caught.value.status, caught.value.code) == (409, "NOT_ENOUGH")
    assert wxc.query(out_trade_no="ZFN00004").trade_state == "NOTPAY"
    sb.wechat_pay("ZFN00004", result="PAYERROR")
    failed = wxc.query(out_trade_no="ZFN00004")
    assert failed.trade_state == "PAYERROR" and failed.is_closed


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"description": None}, "/description"),
        ({"out_trade_no": "short"}, "/out_trade_no"),
        ({"amount": {"total": 0}}, "/amount/total"),
        ({"amount": {"total": 1.5}}, "/amount/total"),
        ({"amount": {"total": 1, "currency": "USD"}}, "/amount/currency"),
        ({"notify_url": "https://shop.test/n?x=1"}, "/notify_url"),
        ({"time_expire": "tomorrow"}, "/time_expire"),
    ],
)
def test_bad_bodies_are_param_errors_naming_the_field(
    sb: SandboxServer, change: dict[str, object], pointer: str
) -> None:
    info = sb.wechat_info
    body: dict[str, object] = {
        "appid": info["appid"],
        "mchid": info["mchid"],
        "description": "课程",
        "out_trade_no": "ZFBAD001",
        "notify_url": "https://shop.test/notify",
        "amount": {"total": 100, "currency": "CNY"},
    }
    for key, value in change.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    answer = raw_call(sb, "POST", "/v3/pay/transactions/native", body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "PARAM_ERROR"
    assert answer.json()["detail"]["field"] == pointer


def test_appid_not_bound_to_the_merchant(sb: SandboxServer) -> None:
    client = sb.wechat_client(appid="wx0000000000000000", notify_url="http://127.0.0.1:9/n")
    error = _api_error(lambda: client.native(out_trade_no="ZFAPP001", total="1", description="x"))
    assert (error.status, error.code) == (400, "APPID_MCHID_NOT_MATCH")


def test_h5_order_requires_scene_info_and_answers_a_five_minute_url(
    sb: SandboxServer, wxc: WechatPayClient
) -> None:
    prepay = wxc.h5(
        out_trade_no="ZFH50001", total="3.00", description="x", payer_client_ip="1.2.3.4"
    )
    assert "/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx" in prepay.h5_url
    assert wxc.query(out_trade_no="ZFH50001").trade_type == "MWEB"
    info = sb.wechat_info
    body = {
        "appid": info["appid"],
        "mchid": info["mchid"],
        "description": "x",
        "out_trade_no": "ZFH50002",
        "notify_url": "https://shop.test/notify",
        "amount": {"total": 1},
    }
    answer = raw_call(sb, "POST", "/v3/pay/transactions/h5", body)
    assert answer.json()["detail"]["field"] == "/scene_info"


def test_jsapi_order_needs_the_openid_of_a_sandbox_user(
    sb: SandboxServer, wxc: WechatPayClient
) -> None:
    openid = sb.wechat_info["users"][0]["openid"]
    prepay = wxc.jsapi(out_trade_no="ZFJS0001", total="2.00", description="x", openid=openid)
    assert prepay.prepay_id.startswith("wx")
    assert prepay.pay_params["package"] == f"prepay_id={prepay.prepay_id}"
    again = wxc.jsapi(out_trade_no="ZFJS0001", total="2.00", description="x", openid=openid)
    assert again.prepay_id == prepay.prepay_id  # it lives two hours
    unpaid = wxc.query(out_trade_no="ZFJS0001")
    assert (unpaid.trade_type, unpaid.payer_openid) == ("JSAPI", openid)
    error = _api_error(
        lambda: wxc.jsapi(out_trade_no="ZFJS0002", total="2", description="x", openid="oNOBODY")
    )
    assert (error.status, error.code) == (400, "PARAM_ERROR")
    paid = sb.wechat_pay("ZFJS0001")  # paid by the user the order names
    assert paid["trade_state"] == "SUCCESS" and paid["payer_openid"] == openid


def test_out_trade_no_with_every_allowed_character_round_trips(
    sb: SandboxServer, wxc: WechatPayClient
) -> None:
    number = "ZF|a*B-1_9"  # "|" travels percent-encoded; the signature covers the raw path
    wxc.native(out_trade_no=number, total="1.00", description="x")
    assert wxc.query(out_trade_no=number).out_trade_no == number
    wxc.close(number)
    assert sb.wechat_order(number)["trade_state"] == "CLOSED"
