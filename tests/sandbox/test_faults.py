"""Fault injection over the control API."""

from __future__ import annotations

import time

import httpx
import pytest

from zhifu.alipay import AlipayBusinessError, AlipayTimeoutError, SignatureError, Verifier

from .conftest import open_page_pay


def page(sb, client, out_trade_no):
    open_page_pay(client.page_pay(out_trade_no=out_trade_no, total_amount="1.00", subject="s").url)


def test_drop_next_notification(sb, client, receiver):
    sb.faults(drop_notifications=1)
    page(sb, client, "f1")
    sb.pay("f1")
    attempts = sb.wait_for_notifications("f1", 1)
    assert attempts[0]["outcome"] == "dropped" and receiver.received == []
    sb.advance_clock(240)
    attempts = sb.notifications(out_trade_no="f1")
    assert [a["outcome"] for a in attempts] == ["dropped", "success"]
    assert len(receiver.received) == 1


def test_concurrent_copies(sb, client, receiver):
    sb.faults(notification_copies=3)
    page(sb, client, "f2")
    sb.pay("f2")
    attempts = sb.wait_for_notifications("f2", 3)
    assert len(attempts) == 3 and {a["attempt"] for a in attempts} == {1}
    assert len({r["notify_id"] for r in receiver.received}) == 1 and len(receiver.received) == 3


def test_corrupt_signature(sb, client, receiver):
    receiver.default_reply = "fail"
    sb.faults(corrupt_notifications=1)
    page(sb, client, "f3")
    sb.pay("f3")
    sb.wait_for_notifications("f3", 1)
    verifier = Verifier(sb.default_app.alipay_public_key_pem)
    with pytest.raises(SignatureError):
        verifier.verify_notification(receiver.received[0])
    receiver.default_reply = "success"
    sb.advance_clock(240)
    sb.wait_for_notifications("f3", 2)
    verifier.verify_notification(receiver.received[1])  # the retry is intact


def test_delay(sb, client, receiver):
    sb.faults(notification_delay=0.5)
    page(sb, client, "f4")
    started = time.monotonic()
    sb.pay("f4")
    assert receiver.received == []
    sb.wait_for_notifications("f4", 1, timeout=5)
    assert time.monotonic() - started >= 0.45


def test_gateway_system_error_for_the_next_calls_of_a_method(sb, client):
    page(sb, client, "f5")
    sb.faults(gateway_errors=2, methods=["alipay.trade.query"])
    client.close(out_trade_no="f5")  # other methods are unaffected
    for _ in range(2):
        with pytest.raises(AlipayBusinessError) as info:
            client.query(out_trade_no="f5")
        assert info.value.sub_code == "ACQ.SYSTEM_ERROR" and info.value.retryable
    assert client.query(out_trade_no="f5").trade_status == "TRADE_CLOSED"


def test_gateway_timeout_after_the_call_took_effect(sb, client):
    page(sb, client, "f6")
    sb.pay("f6")
    sb.faults(gateway_timeouts=1, gateway_timeout_seconds=1.5)
    slow = sb.client(timeout=0.5)
    with pytest.raises(AlipayTimeoutError):
        slow.refund(out_trade_no="f6", refund_amount="1.00", out_request_no="t")
    # the refund happened; retrying with the same out_request_no is safe
    assert not client.refund(
        out_trade_no="f6", refund_amount="1.00", out_request_no="t"
    ).fund_change


def test_corrupt_response_signature(sb, client):
    sb.faults(corrupt_responses=1)
    with pytest.raises(SignatureError):
        client.precreate(out_trade_no="f7", total_amount="1.00", subject="s")
    assert client.precreate(out_trade_no="f7", total_amount="1.00", subject="s").qr_code


def test_page_pay_under_system_error_shows_it(sb, client):
    sb.faults(gateway_errors=1)
    response = httpx.get(client.page_pay(out_trade_no="f8", total_amount="1.00", subject="s").url)
    assert "ACQ.SYSTEM_ERROR" in response.text


def test_reset(sb):
    sb.faults(drop_notifications=5, notification_copies=2)
    state = sb.faults(reset=True)
    assert state["drop_notifications"] == 0 and state["notification_copies"] == 1
