"""Refunds: idempotent by out_refund_no, never above the total, PROCESSING then an outcome."""

from __future__ import annotations

from decimal import Decimal

import pytest

from zhifu.sandbox.testing import SandboxServer
from zhifu.wechatpay import WechatPayAPIError, WechatPayClient

from .conftest import WechatReceiver


def _paid(sb: SandboxServer, client: WechatPayClient, number: str, total: str = "10.00") -> str:
    client.native(out_trade_no=number, total=total, description="x")
    return str(sb.wechat_pay(number)["transaction_id"])


def _buyer_balance(sb: SandboxServer, login: str = "buyer1@sandbox.com") -> Decimal:
    buyers = sb._call("GET", "/sandbox/api/buyers")["buyers"]
    return Decimal(next(b["balance"] for b in buyers if b["login"] == login))


def test_refund_processing_then_success_with_its_notification(
    sb: SandboxServer, wxc: WechatPayClient, wx_receiver: WechatReceiver
) -> None:
    _paid(sb, wxc, "ZFR00001")
    before = _buyer_balance(sb)
    refund = wxc.refund(out_trade_no="ZFR00001", out_refund_no="RF1", refund="3.00", total="10.00")
    assert (refund.status, refund.refund, refund.total) == (
        "PROCESSING",
        Decimal("3.00"),
        Decimal("10.00"),
    )
    assert wxc.query(out_trade_no="ZFR00001").trade_state == "REFUND"
    sb.advance_clock(10)
    done = wxc.refund_query("RF1")
    assert done.succeeded and done.success_time is not None
    assert _buyer_balance(sb) == before + Decimal("3.00")
    attempts = sb.wait_for_wechat_notifications("ZFR00001", 2)
    refund_attempt = next(a for a in attempts if a["event_type"] == "REFUND.SUCCESS")
    notification = wxc.verify_notification(refund_attempt["headers"], refund_attempt["body"])
    assert notification.refund is not None
    assert (notification.refund.out_refund_no, notification.refund.status) == ("RF1", "SUCCESS")
    assert notification.refund.refund == Decimal("3.00")


def test_the_same_out_refund_no_is_the_same_refund(sb: SandboxServer, wxc: WechatPayClient) -> None:
    _paid(sb, wxc, "ZFR00002")
    first = wxc.refund(out_trade_no="ZFR00002", out_refund_no="RF2", refund="4.00", total="10.00")
    again = wxc.refund(out_trade_no="ZFR00002", out_refund_no="RF2", refund="4.00", total="10.00")
    assert again.refund_id == first.refund_id
    assert sb.wechat_order("ZFR00002")["refunded"] == "4.00"
    with pytest.raises(WechatPayAPIError) as caught:
        wxc.refund(out_trade_no="ZFR00002", out_refund_no="RF2", refund="5.00", total="10.00")
    assert (caught.value.status, caught.value.code) == (400, "INVALID_REQUEST")


def test_refunds_never_exceed_the_total(sb: SandboxServer, wxc: WechatPayClient) -> None:
    transaction_id = _paid(sb, wxc, "ZFR00003")
    wxc.refund(transaction_id=transaction_id, out_refund_no="RF3a", refund="6.00", total="10.00")
    with pytest.raises(WechatPayAPIError) as caught:
        wxc.refund(out_trade_no="ZFR00003", out_refund_no="RF3b", refund="4.01", total="10.00")
    assert (caught.value.status, caught.value.code) == (403, "NOT_ENOUGH")
    wxc.refund(out_trade_no="ZFR00003", out_refund_no="RF3c", refund="4.00", total="10.00")
    with pytest.raises(WechatPayAPIError) as wrong_total:
        wxc.refund(out_trade_no="ZFR00003", out_refund_no="RF3d", refund="0.01", total="9.00")
    assert wrong_total.value.code == "PARAM_ERROR"


def test_refund_errors(sb: SandboxServer, wxc: WechatPayClient) -> None:
    with pytest.raises(WechatPayAPIError) as unknown:
        wxc.refund(out_trade_no="ZFNOPE01", out_refund_no="RF4", refund="1", total="1")
    assert (unknown.value.status, unknown.value.code) == (404, "RESOURCE_NOT_EXISTS")
    wxc.native(out_trade_no="ZFR00004", total="1.00", description="x")
    with pytest.raises(WechatPayAPIError) as unpaid:
        wxc.refund(out_trade_no="ZFR00004", out_refund_no="RF4", refund="1", total="1")
    assert unpaid.value.code == "INVALID_REQUEST"
    with pytest.raises(WechatPayAPIError) as no_refund:
        wxc.refund_query("RFNOPE")
    assert (no_refund.value.status, no_refund.value.code) == (404, "RESOURCE_NOT_EXISTS")


@pytest.mark.parametrize("outcome", ["ABNORMAL", "CLOSED"])
def test_abnormal_and_closed_refunds_by_fault(
    sb: SandboxServer, wxc: WechatPayClient, outcome: str
) -> None:
    _paid(sb, wxc, "ZFR00005")
    before = _buyer_balance(sb)
    sb.wechat_faults(**{f"{outcome.lower()}_refunds": 1})
    wxc.refund(out_trade_no="ZFR00005", out_refund_no="RF5", refund="10.00", total="10.00")
    sb.advance_clock(10)
    assert wxc.refund_query("RF5").status == outcome
    assert _buyer_balance(sb) == before  # the money did not reach the buyer
    events = {a["event_type"] for a in sb.wait_for_wechat_notifications("ZFR00005", 2)}
    assert f"REFUND.{outcome}" in events
    if outcome == "CLOSED":  # a closed refund gives the amount back to refund again
        again = wxc.refund(
            out_trade_no="ZFR00005", out_refund_no="RF5b", refund="10.00", total="10.00"
        )
        assert again.status == "PROCESSING"
