"""Notifications: encrypted, re-signed per attempt with the same id, retried on WeChat's
schedule, faults the site must survive; verified and decrypted with the site's client."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest

from zhifu.sandbox.testing import SandboxServer
from zhifu.sandbox.wechat.notifier import RETRY_INTERVALS
from zhifu.wechatpay import SignatureError, WechatPayClient

from .conftest import WechatReceiver

FAIL = json.dumps({"code": "FAIL", "message": "失败"}).encode()


def _pay(sb: SandboxServer, client: WechatPayClient, number: str) -> None:
    client.native(out_trade_no=number, total="9.90", description="课程")
    sb.wechat_pay(number)


def test_payment_notification_verifies_and_decrypts_with_the_site_client(
    sb: SandboxServer, wxc: WechatPayClient, wx_receiver: WechatReceiver
) -> None:
    _pay(sb, wxc, "ZFT00001")
    attempts = sb.wait_for_wechat_notifications("ZFT00001")
    assert [a["outcome"] for a in attempts] == ["success"]
    assert len(wx_receiver.bodies) == 1
    notification = wxc.verify_notification(wx_receiver.headers[0], wx_receiver.bodies[0])
    assert notification.event_type == "TRANSACTION.SUCCESS"
    assert notification.envelope["resource"]["associated_data"] == "transaction"
    payment = notification.payment
    assert payment is not None
    assert (payment.out_trade_no, payment.trade_state, str(payment.total)) == (
        "ZFT00001",
        "SUCCESS",
        "9.90",
    )
    assert payment.mchid == sb.wechat_info["mchid"] and payment.transaction_id
    assert notification.signature is not None and notification.signature.key_kind == "public_key"


def test_retries_carry_the_same_id_and_a_fresh_signature(
    sb: SandboxServer, wxc: WechatPayClient, wx_receiver: WechatReceiver
) -> None:
    wx_receiver.replies = [(500, FAIL, 0.0)]
    _pay(sb, wxc, "ZFT00002")
    first = sb.wait_for_wechat_notifications("ZFT00002")
    assert [a["outcome"] for a in first] == ["failure"]
    sb.advance_clock(RETRY_INTERVALS[0])
    attempts = sb.wait_for_wechat_notifications("ZFT00002", 2)
    assert [a["outcome"] for a in attempts] == ["failure", "success"]
    assert wx_receiver.bodies[0] == wx_receiver.bodies[1]  # same id, same encrypted resource
    nonces = {h["Wechatpay-Nonce"] for h in wx_receiver.headers}
    assert len(nonces) == 2
    ids = {
        wxc.verify_notification(h, b).id for h, b in zip(wx_receiver.headers, wx_receiver.bodies)
    }
    assert len(ids) == 1


def test_the_whole_schedule_then_failed(
    sb: SandboxServer, wxc: WechatPayClient, wx_receiver: WechatReceiver
) -> None:
    wx_receiver.replies = [(503, b"", 0.0)] * 20
    _pay(sb, wxc, "ZFT00003")
    sb.wait_for_wechat_notifications("ZFT00003")
    sb.advance_clock(2 * 86400)
    attempts = sb.wechat_notifications("ZFT00003")
    assert len(attempts) == len(RETRY_INTERVALS) + 1 == 16
    gaps = [round(b["scheduled_ts"] - a["scheduled_ts"]) for a, b in pairwise(attempts)]
    assert gaps == [
        15,
        15,
        30,
        180,
        600,
        1200,
        1800,
        1800,
        1800,
        3600,
        10800,
        10800,
        10800,
        21600,
        21600,
    ]
    notes = sb._call(
        "GET", "/sandbox/api/wechat/notifications", params={"out_trade_no": "ZFT00003"}
    )
    assert notes["notifications"][0]["state"] == "failed"


def test_a_200_with_fail_in_the_body_counts_as_delivered(
    sb: SandboxServer, wxc: WechatPayClient, wx_receiver: WechatReceiver
) -> None:
    wx_receiver.replies = [(200, FAIL, 0.0)]
    _pay(sb, wxc, "ZFT00004")
    assert [a["outcome"] for a in sb.wait_for_wechat_notifications("ZFT00004")] == ["success"]


def test_an_answer_slower_than_five_seconds_is_a_failure(
    sb: SandboxServer, wxc: WechatPayClient, wx_receiver: WechatReceiver
) -> None:
    wx_receiver.replies = [(204, b"", 5.5)]
    _pay(sb, wxc, "ZFT00005")
    attempts = sb.wait_for_wechat_notifications("ZFT00005", timeout=15)
    assert attempts[0]["outcome"] == "error" and "5 s" in attempts[0]["error"]


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("signtest_notifications", "SIGNTEST"),
        ("corrupt_notifications", "does not hold"),
        ("stale_notifications", "s from now"),
        ("other_key_notifications", "platform certificate"),
    ],
)
def test_faulty_notifications_are_refused_by_the_site_client(
    sb: SandboxServer, wxc: WechatPayClient, wx_receiver: WechatReceiver, fault: str, words: str
) -> None:
    sb.wechat_faults(**{fault: 1})
    _pay(sb, wxc, "ZFT00006")
    sb.wait_for_wechat_notifications("ZFT00006")
    with pytest.raises(SignatureError) as caught:
        wxc.verify_notification(wx_receiver.headers[0], wx_receiver.bodies[0])
    assert words in caught.value.message
    assert caught.value.probe == (fault == "signtest_notifications")
    assert sb.wechat_notifications("ZFT00006")[0]["fault"]


def test_dropped_and_duplicated_notifications(
    sb: SandboxServer, wxc: WechatPayClient, wx_receiver: WechatReceiver
) -> None:
    sb.wechat_faults(drop_notifications=1, notification_copies=3)
    _pay(sb, wxc, "ZFT00007")
    assert sb.wait_for_wechat_notifications("ZFT00007")[0]["outcome"] == "dropped"
    assert wx_receiver.bodies == []
    sb.advance_clock(15)
    attempts = sb.wait_for_wechat_notifications("ZFT00007", 4)
    assert [a["copy"] for a in attempts[1:]] == [1, 2, 3]
    assert len(wx_receiver.bodies) == 3 and len(set(wx_receiver.bodies)) == 1


@pytest.mark.parametrize(("share", "kind"), [(1.0, "public_key"), (0.0, "platform_certificate")])
def test_migration_signs_notifications_with_either_key(
    sb: SandboxServer, wx_receiver: WechatReceiver, share: float, kind: str
) -> None:
    sb.wechat_mode("migration", public_key_share=share)
    client = sb.wechat_client(notify_url=wx_receiver.url)  # accepts both keys
    _pay(sb, client, "ZFT00008")
    sb.wait_for_wechat_notifications("ZFT00008")
    notification = client.verify_notification(wx_receiver.headers[0], wx_receiver.bodies[0])
    assert notification.signature is not None and notification.signature.key_kind == kind
