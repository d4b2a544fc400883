"""Notifications: verify the signature over the raw body, decrypt, typed payment/refund results."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from zhifu.wechatpay import (
    DecryptionError,
    SignatureError,
    WechatPayClient,
    WechatPayResponseError,
    build_notification,
    failure_body,
    parse_notification,
)

from .conftest import APIV3_KEY, APPID, MCHID
from .peer import FakeWechatPay


def paid_order(client: WechatPayClient, peer: FakeWechatPay, number: str) -> dict[str, object]:
    client.native(out_trade_no=number, total="12.30", description="x", attach="order 7")
    return peer.pay(number)


def test_payment_notification(client: WechatPayClient, peer: FakeWechatPay) -> None:
    headers, body = peer.notification(
        "TRANSACTION.SUCCESS", paid_order(client, peer, "ZF20261202N001")
    )
    envelope = json.loads(body)
    assert envelope["resource"]["associated_data"] == "transaction"
    assert len(envelope["resource"]["nonce"]) == 12
    note = client.verify_notification(headers, body)
    assert note.is_payment and not note.is_refund
    assert note.event_type == "TRANSACTION.SUCCESS" and note.summary == "支付成功"
    assert note.id == envelope["id"]
    payment = note.payment
    assert payment is not None and note.refund is None
    assert (payment.mchid, payment.appid, payment.out_trade_no) == (MCHID, APPID, "ZF20261202N001")
    assert payment.total == Decimal("12.30") and payment.is_paid and payment.attach == "order 7"
    assert payment.transaction_id.startswith("42000")
    assert note.signature is not None and note.signature.key_kind == "public_key"


def test_refund_notification(client: WechatPayClient, peer: FakeWechatPay) -> None:
    paid_order(client, peer, "ZF20261202N002")
    client.refund(out_trade_no="ZF20261202N002", out_refund_no="RFN2", refund="2.30", total="12.30")
    headers, body = peer.notification("REFUND.SUCCESS", peer.settle_refund("RFN2"))
    note = client.verify_notification(headers, body)
    assert note.is_refund and note.refund is not None and note.payment is None
    assert note.refund.status == "SUCCESS"  # read from the notification's refund_status
    assert note.refund.refund == Decimal("2.30") and note.refund.out_refund_no == "RFN2"
    assert json.loads(body)["resource"]["original_type"] == "refund"


def test_tampered_notification_is_refused_before_decrypting(
    client: WechatPayClient, peer: FakeWechatPay
) -> None:
    headers, body = peer.notification(
        "TRANSACTION.SUCCESS", paid_order(client, peer, "ZF20261202N003")
    )
    forged = body.replace(b"TRANSACTION.SUCCESS", b"TRANSACTION.SUCCESS ")
    with pytest.raises(SignatureError, match="does not hold"):
        client.verify_notification(headers, forged)
    # A Python str of the same text verifies too (it is encoded back to the same UTF-8).
    assert client.verify_notification(headers, body.decode()).payment is not None


def test_signtest_notification_is_refused(client: WechatPayClient, peer: FakeWechatPay) -> None:
    headers, body = peer.notification(
        "TRANSACTION.SUCCESS", paid_order(client, peer, "ZF20261202N004")
    )
    headers["Wechatpay-Signature"] = "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"]
    with pytest.raises(SignatureError) as caught:
        client.verify_notification(headers, body)
    assert caught.value.probe


def test_replayed_old_notification_is_refused(client: WechatPayClient, peer: FakeWechatPay) -> None:
    peer.clock = lambda: 1_700_000_000.0
    headers, body = peer.notification(
        "TRANSACTION.SUCCESS", {"out_trade_no": "ZF20261202N005", "trade_state": "SUCCESS"}
    )
    with pytest.raises(SignatureError, match="apart"):
        client.verify_notification(headers, body)


def test_wrong_apiv3_key_is_a_decryption_error() -> None:
    body = build_notification(b"B" * 32, "TRANSACTION.SUCCESS", {"trade_state": "SUCCESS"})
    with pytest.raises(DecryptionError, match="wrong APIv3 key"):
        parse_notification(body, APIV3_KEY.encode())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"id":"1","resource_type":"plain"}', "resource_type"),
    ],
)
def test_malformed_envelopes(body: bytes, message: str) -> None:
    with pytest.raises(WechatPayResponseError, match=message):
        parse_notification(body, APIV3_KEY.encode())


def test_failure_body_is_wechats_shape() -> None:
    assert json.loads(failure_body("签名错误")) == {"code": "FAIL", "message": "签名错误"}
    assert len(json.loads(failure_body("x" * 100))["message"]) == 64
