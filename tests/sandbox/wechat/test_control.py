"""The WeChat control API, reset, restarts and the answer-held fault."""

from __future__ import annotations

import pytest

from zhifu.sandbox.testing import SandboxError, SandboxServer
from zhifu.wechatpay import (
    WechatPayAPIError,
    WechatPayClient,
    WechatPayTimeoutError,
    generate_merchant_certificate,
)

from .conftest import WechatReceiver


def test_register_a_merchant_with_its_own_certificate(sb: SandboxServer) -> None:
    made = generate_merchant_certificate("1600000001")
    merchant = sb._call(
        "POST",
        "/sandbox/api/wechat/merchants",
        json={"certificate": made.certificate_pem, "mchid": "1600000001", "appid": "wxtest0001"},
    )
    assert (merchant["mchid"], merchant["merchant_serial_no"]) == ("1600000001", made.serial)
    client = sb.wechat_client(
        mchid="1600000001",
        appid="wxtest0001",
        merchant_private_key=made.private_pem,
        merchant_serial_no=made.serial,
        apiv3_key=merchant["apiv3_key"],
        notify_url="http://127.0.0.1:9/n",
    )
    assert client.native(out_trade_no="ZFM00001", total="1", description="x").code_url
    with pytest.raises(SandboxError) as bad:
        sb._call("POST", "/sandbox/api/wechat/merchants", json={"certificate": "not a cert"})
    assert (bad.value.status, bad.value.code) == (400, "invalid_certificate")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"mode": "both"}, 400, "invalid_mode"),
        ({"public_key_share": 2}, 400, "invalid_field"),
        ({"colour": "red"}, 400, "invalid_field"),
    ],
)
def test_bad_mode_changes_are_refused(
    sb: SandboxServer, body: dict[str, object], status: int, code: str
) -> None:
    mchid = sb.wechat_info["mchid"]
    with pytest.raises(SandboxError) as caught:
        sb._call("POST", f"/sandbox/api/wechat/merchants/{mchid}/mode", json=body)
    assert (caught.value.status, caught.value.code) == (status, code)
    with pytest.raises(SandboxError) as unknown:
        sb._call("POST", "/sandbox/api/wechat/merchants/999999/mode", json={"mode": "certificate"})
    assert unknown.value.status == 404


def test_bad_faults_are_refused(sb: SandboxServer) -> None:
    for body in ({"drop_notification": 1}, {"api_errors": -1}, {"paths": ["refunds"]}):
        with pytest.raises(SandboxError) as caught:
            sb.wechat_faults(**body)
        assert (caught.value.status, caught.value.code) == (400, "invalid_fault")
    assert sb.wechat_faults(api_errors=2)["api_errors"] == 2
    assert sb.wechat_faults(reset=True)["api_errors"] == 0


def test_reset_forgets_wechat_orders_but_keeps_the_mode(
    sb: SandboxServer, wxc: WechatPayClient
) -> None:
    wxc.native(out_trade_no="ZFC00001", total="1", description="x")
    sb.wechat_mode("migration", public_key_share=0.25)
    sb.wechat_faults(api_errors=3)
    sb.reset()
    assert sb._call("GET", "/sandbox/api/wechat/orders")["orders"] == []
    info = sb.wechat_info
    assert (info["mode"], info["public_key_share"], info["faults"]["api_errors"]) == (
        "migration",
        0.25,
        0,
    )


def test_pending_retries_survive_a_restart(
    sb: SandboxServer, wxc: WechatPayClient, wx_receiver: WechatReceiver
) -> None:
    wx_receiver.replies = [(500, b"", 0.0)]
    wxc.native(out_trade_no="ZFC00002", total="1", description="x")
    sb.wechat_pay("ZFC00002")
    sb.wait_for_wechat_notifications("ZFC00002")
    sb.restart()
    sb.advance_clock(15)
    attempts = sb.wait_for_wechat_notifications("ZFC00002", 2)
    assert [a["outcome"] for a in attempts] == ["failure", "success"]
    assert len({a["id"] for a in attempts}) == 1


def test_a_held_answer_is_a_timeout_after_the_call_took_effect(sb: SandboxServer) -> None:
    client = sb.wechat_client(timeout=0.5, notify_url="http://127.0.0.1:9/n")
    sb.wechat_faults(api_timeouts=1, api_timeout_seconds=1.5, paths=["/v3/pay/transactions/native"])
    with pytest.raises(WechatPayTimeoutError):
        client.native(out_trade_no="ZFC00003", total="1", description="x")
    assert client.query(out_trade_no="ZFC00003").trade_state == "NOTPAY"  # it was placed


def test_the_answer_for_a_paid_order_is_configurable(
    sb: SandboxServer, wxc: WechatPayClient
) -> None:
    wxc.native(out_trade_no="ZFC00004", total="1", description="x")
    sb.wechat_pay("ZFC00004")
    custom = {"status": 403, "code": "TRADE_ERROR", "message": "订单已支付"}
    assert sb._call("POST", "/sandbox/api/wechat/settings", json={"paid_order_error": custom}) == {
        "paid_order_error": custom
    }
    with pytest.raises(WechatPayAPIError) as caught:
        wxc.close("ZFC00004")
    assert (caught.value.status, caught.value.code) == (403, "TRADE_ERROR")
    with pytest.raises(SandboxError):
        sb._call("POST", "/sandbox/api/wechat/settings", json={"paid_order_error": {"status": 200}})
    sb.reset()
    setting = sb._call("GET", "/sandbox/api/wechat/settings")["paid_order_error"]
    assert (setting["status"], setting["code"]) == (400, "ORDERPAID")
