"""WeChat Pay through the provider seam: the whole pipeline against a faithful fake WeChat.

The fake (``tests/wechatpay/peer.py``) checks every request as WeChat does (signature over the
exact bytes, serial, timestamp, required fields) and signs every answer and notification with
WeChat's key; the provider talks to it through the real client with an ``httpx.MockTransport``.
Notifications go through Django's test client to ``/zhifu/wechatpay/notify/``, as WeChat posts
them. Runs on SQLite and, with ``DATABASE_URL``, on PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from tests.conftest import wait_until
from tests.core.factories import make_order
from tests.wechatpay.peer import FakeWechatPay, WechatKey, new_platform_certificate, new_public_key
from zhifu.conf import DEFAULTS
from zhifu.exceptions import ConfigurationError, PaymentError, RefundError
from zhifu.models import Notification, Order, PaymentAttempt, Refund
from zhifu.providers import registry
from zhifu.providers.base import Payer, PaymentState
from zhifu.providers.wechatpay_config import build_client, check_settings
from zhifu.services.orders import attempt_out_trade_no, expire_orders, new_out_trade_no
from zhifu.services.payments import start_payment
from zhifu.services.reconcile import reconcile_payments
from zhifu.services.refunds import refund_order, retry_refunds
from zhifu.wechatpay import (
    MerchantCertificate,
    encrypt_resource,
    generate_merchant_certificate,
    load_certificate,
    response_headers,
)
from zhifu.wechatpay.signing import jsapi_message, rsa_verify

pytestmark = pytest.mark.django_db(transaction=True)

MCHID = "1900000109"
APPID = "wxd678efh567hg6787"
APIV3_KEY = "a9B8c7D6e5F4g3H2i1J0k9L8m7N6o5P4"
NOTIFY = "/zhifu/wechatpay/notify/"
PROVIDER = "zhifu.providers.wechatpay.WechatPayProvider"


@pytest.fixture(scope="session")
def merchant() -> MerchantCertificate:
    return generate_merchant_certificate(MCHID)


@pytest.fixture(scope="session")
def wechat_key() -> WechatKey:
    return new_public_key()


@pytest.fixture(scope="session")
def platform_key() -> WechatKey:
    return new_platform_certificate()


def wechatpay_settings(merchant: MerchantCertificate, key: WechatKey, **extra: Any) -> dict:
    from cryptography.hazmat.primitives import serialization

    public_pem = (
        key.private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return {
        "MCHID": MCHID,
        "APPID": APPID,
        "MERCHANT_PRIVATE_KEY": merchant.private_pem,
        "MERCHANT_SERIAL": merchant.serial,
        "MERCHANT_CERT": merchant.certificate_pem,
        "APIV3_KEY": APIV3_KEY,
        "PUBLIC_KEY": public_pem,
        "PUBLIC_KEY_ID": key.serial,
        "NOTIFY_URL": "https://shop.example.com/zhifu/wechatpay/notify/",
        **extra,
    }


@pytest.fixture
def peer(merchant, wechat_key, platform_key) -> FakeWechatPay:
    return FakeWechatPay(
        mchid=MCHID,
        merchant_certificate=load_certificate(merchant.certificate_pem),
        merchant_serial=merchant.serial,
        apiv3_key=APIV3_KEY.encode(),
        public_key=wechat_key,
        platform=[platform_key],
    )


@pytest.fixture
def wechat(fake_alipay, settings, merchant, wechat_key, peer) -> FakeWechatPay:
    """A site selling with Alipay, the wallet and WeChat Pay (one settings line adds it)."""
    settings.ZHIFU = {
        **fake_alipay.config,
        "PROVIDERS": [*DEFAULTS["PROVIDERS"], PROVIDER],
        "WECHATPAY": wechatpay_settings(merchant, wechat_key),
    }
    use_transport(peer.transport())
    return peer


def use_transport(transport: httpx.BaseTransport) -> None:
    registry.get("wechatpay").use_client(build_client(transport=transport))  # type: ignore[attr-defined]


def notify(headers: dict[str, str], body: bytes):
    return Client().post(NOTIFY, data=body, content_type="application/json", headers=headers)


def paid_notification(peer: FakeWechatPay, number: str, **changes: Any):
    resource = {**peer.pay(number), **changes}
    return peer.notification("TRANSACTION.SUCCESS", resource)


def requests_to(peer: FakeWechatPay, path: str) -> list[dict[str, Any]]:
    return [json.loads(r.content) for r in peer.requests if r.url.path == path and r.content]


# --- paying ------------------------------------------------------------------------------------


def test_native_purchase_then_duplicate_forged_and_probe_notifications(wechat, user, fulfilled):
    assert {"wechat_native", "wechat_h5", "wechat_jsapi"} <= set(registry.channels())
    order = make_order(user, "12.30")
    start = start_payment(order, "wechat_native", user=user)
    attempt = start.attempt
    assert start.qr_code.startswith("weixin://wxpay/bizpayurl?pr=")
    assert attempt.provider == "wechatpay" and len(attempt.out_trade_no) <= 32
    placed = requests_to(wechat, "/v3/pay/transactions/native")[0]
    assert placed["amount"] == {"total": 1230, "currency": "CNY"}
    assert (placed["mchid"], placed["appid"]) == (MCHID, APPID)
    assert placed["time_expire"].endswith("+08:00")

    headers, body = paid_notification(wechat, attempt.out_trade_no)
    forger = WechatKey(wechat.public_key.serial, rsa.generate_private_key(65537, 2048))
    forged_headers, forged_body = wechat.notification(
        "TRANSACTION.SUCCESS", wechat.orders[attempt.out_trade_no].as_json(MCHID), key=forger
    )
    probe = {
        **headers,
        "Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"],
    }

    for bad_headers, bad_body in ((forged_headers, forged_body), (probe, body)):
        answer = notify(bad_headers, bad_body)
        assert answer.status_code == 400
        assert json.loads(answer.content)["code"] == "FAIL"
    assert Order.objects.get(pk=order.pk).status == Order.Status.PENDING

    first, again = notify(headers, body), notify(headers, body)
    assert (first.status_code, again.status_code) == (204, 204)
    assert first.content == b""
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert fulfilled == [("paid", order.out_trade_no)]
    attempt.refresh_from_db()
    assert attempt.trade_no == wechat.orders[attempt.out_trade_no].transaction_id
    rows = list(Notification.objects.order_by("id").values_list("outcome", "reason", "detail"))
    assert [(o, r) for o, r, _ in rows] == [
        ("rejected", "bad_signature"),
        ("rejected", "bad_signature"),
        ("applied", ""),
        ("duplicate", ""),
    ]
    assert rows[1][2].startswith("signature probe")
    assert all(n.provider == "wechatpay" for n in Notification.objects.all())


@pytest.mark.parametrize("mode", ["certificate", "migration"])
def test_certificate_and_migration_modes_verify_by_serial(
    mode, fake_alipay, settings, merchant, wechat_key, peer, tmp_path, user
):
    """Certificate mode downloads WeChat's platform certificates (and keeps them in
    PLATFORM_CERT_DIR); while migrating, notifications signed by either key are accepted."""
    wx = wechatpay_settings(merchant, wechat_key, PLATFORM_CERT_DIR=str(tmp_path))
    if mode == "certificate":
        wx = {k: v for k, v in wx.items() if not k.startswith("PUBLIC_KEY")}
    settings.ZHIFU = {
        **fake_alipay.config,
        "PROVIDERS": [*DEFAULTS["PROVIDERS"], PROVIDER],
        "WECHATPAY": wx,
    }
    peer.mode = mode
    use_transport(peer.transport())
    assert registry.get("wechatpay").check() == []
    order = make_order(user)
    attempt = start_payment(order, "wechat_native", user=user).attempt
    resource = peer.pay(attempt.out_trade_no)
    keys = [peer.platform[0]] + ([peer.public_key] if mode == "migration" else [])
    for key in keys:
        assert (
            notify(*peer.notification("TRANSACTION.SUCCESS", resource, key=key)).status_code == 204
        )
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert peer.certificate_downloads == 1  # on the first certificate-signed message
    assert (tmp_path / f"{peer.platform[0].serial}.pem").exists()
    if mode == "certificate":  # the public key is not configured: its signature is not trusted
        answer = notify(*peer.notification("TRANSACTION.SUCCESS", resource, key=peer.public_key))
        assert answer.status_code == 400


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"amount": {"total": 1, "currency": "CNY", "payer_total": 1}}, "amount"),
        ({"mchid": "1900009999"}, "merchant"),
        ({"appid": "wx0000000000000000"}, "app_id"),
        ({"out_trade_no": "Z000000000000000000_1"}, "unknown_order"),
    ],
)
def test_genuine_notifications_that_do_not_match_the_order_are_refused(
    wechat, user, changes, reason
):
    order = make_order(user)
    attempt = start_payment(order, "wechat_native", user=user).attempt
    answer = notify(*paid_notification(wechat, attempt.out_trade_no, **changes))
    assert answer.status_code == 400
    assert Notification.objects.get().reason == reason
    assert Order.objects.get(pk=order.pk).status == Order.Status.PENDING


def test_a_notification_that_does_not_decrypt_is_retried_not_rejected(wechat, user):
    """Signed by WeChat but not decryptable: our APIv3 key is wrong. WeChat must retry (5xx)."""
    order = make_order(user)
    attempt = start_payment(order, "wechat_native", user=user).attempt
    resource = wechat.pay(attempt.out_trade_no)
    envelope = {
        "id": "EV-1",
        "create_time": resource["success_time"],
        "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS",
        "summary": "支付成功",
        "resource": encrypt_resource(
            b"0" * 32, json.dumps(resource).encode(), "transaction", original_type="transaction"
        ),
    }
    body = json.dumps(envelope).encode()
    key = wechat.public_key
    answer = notify(response_headers(key.private_key, key.serial, body), body)
    assert answer.status_code == 500 and json.loads(answer.content)["code"] == "FAIL"
    assert Notification.objects.get().outcome == Notification.Outcome.ERROR
    assert "APIV3_KEY" in Notification.objects.get().detail


def test_h5_and_jsapi_take_what_they_need_from_the_order(wechat, user, merchant):
    order = make_order(user, metadata={"client_ip": "203.0.113.7"})
    start = start_payment(
        order, "wechat_h5", user=user, return_url="https://shop.example.com/zhifu/wechatpay/return/"
    )
    assert start.pay_url.startswith("https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?")
    back = f"https%3A%2F%2Fshop.example.com%2Fzhifu%2Fwechatpay%2Freturn%2F%3Fout_trade_no%3D{start.attempt.out_trade_no}"
    assert start.pay_url.endswith("&redirect_url=" + back)
    h5 = requests_to(wechat, "/v3/pay/transactions/h5")[0]
    assert h5["scene_info"] == {"payer_client_ip": "203.0.113.7", "h5_info": {"type": "Wap"}}

    with pytest.raises(PaymentError) as missing:
        start_payment(make_order(user), "wechat_jsapi", user=user)
    assert missing.value.code == "invalid_payment_request"
    assert "wechat_openid" in missing.value.english_message

    order = make_order(user, metadata={"wechat_openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"})
    params = start_payment(order, "wechat_jsapi", user=user).js_params
    assert params["appId"] == APPID and params["package"].startswith("prepay_id=wx")
    message = jsapi_message(APPID, params["timeStamp"], params["nonceStr"], params["package"])
    public = load_certificate(merchant.certificate_pem).public_key()
    assert isinstance(public, rsa.RSAPublicKey) and rsa_verify(public, message, params["paySign"])
    jsapi = requests_to(wechat, "/v3/pay/transactions/jsapi")[0]
    assert jsapi["payer"] == {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}


def test_h5_and_jsapi_take_the_payer_known_when_paying(wechat, user):
    """An order created on one device can be paid on another: the IP and openid of the moment
    of paying are passed to start_payment rather than stored on the order."""
    start_payment(make_order(user), "wechat_h5", user=user, payer=Payer(ip="198.51.100.9"))
    h5 = requests_to(wechat, "/v3/pay/transactions/h5")[-1]
    assert h5["scene_info"]["payer_client_ip"] == "198.51.100.9"

    openid = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6p"
    start = start_payment(make_order(user), "wechat_jsapi", user=user, payer=Payer(openid=openid))
    assert start.js_params["package"].startswith("prepay_id=wx")
    assert requests_to(wechat, "/v3/pay/transactions/jsapi")[-1]["payer"] == {"openid": openid}


def test_the_unsigned_return_is_a_hint_that_queries_wechat(wechat, user, client):
    order = make_order(user, metadata={"client_ip": "203.0.113.7"})
    attempt = start_payment(order, "wechat_h5", user=user).attempt
    wechat.pay(attempt.out_trade_no)  # paid; the notification has not come yet
    cache.clear()  # the return's queries are rate-limited per attempt id
    client.force_login(user)
    page = client.get(
        "/zhifu/wechatpay/return/",
        {"out_trade_no": attempt.out_trade_no},
        headers={"Accept": "application/json"},
    )
    assert page.status_code == 200 and page.json()["paid"] is True  # from WeChat's answer
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    refused = client.get("/zhifu/wechatpay/return/", {"out_trade_no": "<script>"})
    assert refused.status_code == 400


# --- after paying ------------------------------------------------------------------------------


def test_query_states_map_to_neutral_states(wechat, user):
    order = make_order(user)
    attempt = start_payment(order, "wechat_native", user=user).attempt
    provider = registry.get("wechatpay")
    expected = {
        "NOTPAY": PaymentState.PENDING,
        "USERPAYING": PaymentState.PENDING,
        "SUCCESS": PaymentState.PAID,
        "REFUND": PaymentState.PAID,
        "CLOSED": PaymentState.CLOSED,
        "REVOKED": PaymentState.CLOSED,
        "PAYERROR": PaymentState.CLOSED,
    }
    for trade_state, state in expected.items():
        wechat.orders[attempt.out_trade_no].state = trade_state
        event = provider.query(attempt)
        assert event is not None and event.state == state, trade_state
        assert (event.identity.merchant_id, event.identity.app_id) == (MCHID, APPID)
        assert event.amount == Decimal("12.30")
    attempt.out_trade_no = "Z000000000000000000_9"
    assert provider.query(attempt) is None  # ORDER_NOT_EXIST


def test_reconcile_finds_a_payment_whose_notification_was_lost(wechat, user, fulfilled):
    order = make_order(user)
    attempt = start_payment(order, "wechat_native", user=user).attempt
    wechat.pay(attempt.out_trade_no)  # the notification never arrives
    wechat.fail_next = (500, "SYSTEM_ERROR", "系统错误")
    assert reconcile_payments(now=timezone.now() + timedelta(hours=1)).errors == 1
    report = reconcile_payments(now=timezone.now() + timedelta(hours=2))
    assert report.paid == 1 and report.orders == [order.out_trade_no]
    assert fulfilled == [("paid", order.out_trade_no)]


def test_expiry_closes_the_trade_at_wechat(wechat, user, fulfilled):
    order = make_order(user)
    attempt = start_payment(order, "wechat_native", user=user).attempt
    assert expire_orders(now=order.expires_at + timedelta(seconds=1)) == 1
    assert wechat.orders[attempt.out_trade_no].state == "CLOSED"
    attempt.refresh_from_db()
    assert attempt.status == PaymentAttempt.Status.CLOSED and attempt.closed_at_gateway
    assert fulfilled == [("expired", order.out_trade_no)]


def test_expiry_of_an_order_paid_at_wechat_applies_the_payment(wechat, user, fulfilled):
    order = make_order(user)
    attempt = start_payment(order, "wechat_native", user=user).attempt
    wechat.pay(attempt.out_trade_no)  # close answers ORDERPAID: the payment is queried
    assert expire_orders(now=order.expires_at + timedelta(seconds=1)) == 0
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert fulfilled == [("paid", order.out_trade_no)]


def _paid(wechat: FakeWechatPay, user) -> Order:
    order = make_order(user)
    attempt = start_payment(order, "wechat_native", user=user).attempt
    assert notify(*paid_notification(wechat, attempt.out_trade_no)).status_code == 204
    return Order.objects.get(pk=order.pk)


def test_refund_is_confirmed_by_wechats_notification(wechat, user, fulfilled):
    order = _paid(wechat, user)
    refund = refund_order(order, amount="2.30", reason="退课 🙂")
    assert refund.status == Refund.Status.PENDING  # PROCESSING at WeChat
    sent = requests_to(wechat, "/v3/refund/domestic/refunds")[0]
    assert sent["amount"] == {"refund": 230, "total": 1230, "currency": "CNY"}
    assert sent["reason"] == "退课"  # WeChat refuses emoji
    resource = wechat.settle_refund(refund.out_request_no)
    headers, body = wechat.notification("REFUND.SUCCESS", resource)
    assert notify(headers, body).status_code == 204
    assert notify(headers, body).status_code == 204  # a repeat changes nothing
    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert order.status == Order.Status.PARTIALLY_REFUNDED and order.refunded_amount == Decimal(
        "2.30"
    )
    assert fulfilled == [("paid", order.out_trade_no), ("refunded", order.out_trade_no)]
    outcomes = list(Notification.objects.order_by("id").values_list("outcome", flat=True))
    assert outcomes == ["applied", "applied", "duplicate"]


class LoseRefundAnswers(httpx.BaseTransport):
    """The refund request reaches WeChat (or not), but its answer is lost: a timeout."""

    def __init__(self, peer: FakeWechatPay, *, deliver: bool, times: int = 1) -> None:
        self.peer, self.deliver, self.left = peer, deliver, times

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v3/refund/domestic/refunds" and self.left:
            self.left -= 1
            if self.deliver:
                self.peer.handle(request)
            raise httpx.ReadTimeout("timed out", request=request)
        return self.peer.handle(request)


@pytest.mark.parametrize("delivered", [True, False], ids=["answer-lost", "request-lost"])
def test_a_refund_without_answer_is_asked_again_with_the_same_number(wechat, user, delivered):
    order = _paid(wechat, user)
    use_transport(LoseRefundAnswers(wechat, deliver=delivered))
    refund = refund_order(order, amount="12.30")
    assert refund.status == Refund.Status.UNKNOWN
    retry_refunds(now=timezone.now() + timedelta(minutes=5))
    refund.refresh_from_db()
    # WeChat has it now, PROCESSING: no longer unknown, waiting for the notification or a query
    assert refund.status == Refund.Status.PENDING
    assert refund.error_code == ""
    assert list(wechat.refunds) == [refund.out_request_no]  # one refund, never two
    numbers = {r["out_refund_no"] for r in requests_to(wechat, "/v3/refund/domestic/refunds")}
    assert numbers <= {refund.out_request_no}
    wechat.settle_refund(refund.out_request_no)
    retry_refunds(now=timezone.now() + timedelta(minutes=10))  # query: SUCCESS
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert Order.objects.get(pk=order.pk).status == Order.Status.REFUNDED


def test_refund_states_map_to_neutral_states(wechat, user):
    order = _paid(wechat, user)
    refund = refund_order(order, amount="1.00")
    provider = registry.get("wechatpay")
    for status, state in (
        ("PROCESSING", "pending"),
        ("SUCCESS", "succeeded"),
        ("ABNORMAL", "pending"),  # held up, not final: a person settles it at WeChat
        ("CLOSED", "failed"),
    ):
        wechat.refunds[refund.out_request_no]["status"] = status
        assert provider.query_refund(refund).state == state, status
        assert provider.refund(refund).state == state, status  # same number: the same refund
    assert len(wechat.refunds) == 1
    wechat.refunds[refund.out_request_no]["status"] = "NEW_STATUS"  # one WeChat adds later
    assert provider.query_refund(refund).state == "unknown"


@pytest.mark.parametrize(
    ("status", "core"),
    [
        ("PROCESSING", Refund.Status.PENDING),
        ("SUCCESS", Refund.Status.SUCCEEDED),
        ("ABNORMAL", Refund.Status.PENDING),
        ("CLOSED", Refund.Status.FAILED),
    ],
)
def test_wechats_answer_to_a_refund_sets_the_core_refund(wechat, user, monkeypatch, status, core):
    """What WeChat answers to POST /v3/refund/domestic/refunds becomes the refund's status:
    PROCESSING is pending (the REFUND.* notification or a query will settle it), never unknown."""
    order = _paid(wechat, user)
    original = wechat.refund

    def answer_with(body, serial):
        original(body, serial)
        wechat.refunds[body["out_refund_no"]]["status"] = status
        return original(body, serial)  # the same refund number: its stored state, re-signed

    monkeypatch.setattr(wechat, "refund", answer_with)
    refund = refund_order(order, amount="1.00")
    assert refund.status == core
    problem = status in ("ABNORMAL", "CLOSED")
    assert refund.error_code == (status if problem else "")
    order.refresh_from_db()
    if core == Refund.Status.SUCCEEDED:
        assert order.status == Order.Status.PARTIALLY_REFUNDED
    else:
        assert order.status == Order.Status.PAID and order.refunded_amount == 0
    # ABNORMAL: the order is flagged for a person, and the amount stays taken
    assert order.needs_attention is (status == "ABNORMAL")
    if status == "ABNORMAL":
        assert "ABNORMAL" in order.attention_reason
        with pytest.raises(RefundError):
            refund_order(order, amount="12.30")  # 1.00 is still out: at most 11.30


@pytest.mark.parametrize(
    ("event", "core", "outcome"),
    [
        ("REFUND.SUCCESS", Refund.Status.SUCCEEDED, "applied"),
        ("REFUND.ABNORMAL", Refund.Status.PENDING, "ignored"),  # not final (see below)
        ("REFUND.CLOSED", Refund.Status.FAILED, "applied"),
    ],
)
def test_refund_notifications_settle_a_pending_refund(wechat, user, event, core, outcome):
    order = _paid(wechat, user)
    refund = refund_order(order, amount="1.00")
    assert refund.status == Refund.Status.PENDING
    resource = wechat.settle_refund(refund.out_request_no, event.split(".")[1])
    assert notify(*wechat.notification(event, resource)).status_code == 204
    refund.refresh_from_db()
    assert refund.status == core
    assert Notification.objects.order_by("-id").first().outcome == outcome


def test_an_abnormal_refund_stays_pending_until_wechat_settles_it(wechat, user, fulfilled):
    """REFUND.ABNORMAL (the buyer's card refused the money) is not final at WeChat: the refund
    stays pending with its amount taken, the retry job's query flags the order for a person, and
    once the merchant has settled it at WeChat, REFUND.SUCCESS completes it."""
    order = _paid(wechat, user)
    refund = refund_order(order, amount="2.00")
    resource = wechat.settle_refund(refund.out_request_no, "ABNORMAL")
    assert notify(*wechat.notification("REFUND.ABNORMAL", resource)).status_code == 204
    refund.refresh_from_db()
    assert refund.status == Refund.Status.PENDING
    retry_refunds(now=timezone.now() + timedelta(minutes=5))  # asks WeChat: ABNORMAL
    refund.refresh_from_db()
    order.refresh_from_db()
    assert (refund.status, refund.error_code) == (Refund.Status.PENDING, "ABNORMAL")
    assert order.needs_attention and refund.out_request_no in order.attention_reason
    assert len(requests_to(wechat, "/v3/refund/domestic/refunds")) == 1  # never sent twice

    resource = wechat.settle_refund(refund.out_request_no, "SUCCESS")  # settled at WeChat
    assert notify(*wechat.notification("REFUND.SUCCESS", resource)).status_code == 204
    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert order.refunded_amount == Decimal("2.00")
    assert fulfilled == [("paid", order.out_trade_no), ("refunded", order.out_trade_no)]


def test_a_pending_refund_is_asked_about_by_the_retry_job(wechat, user):
    """The REFUND.* notification is lost: the retry job queries pending refunds older than
    REFUND_RETRY_AFTER; PROCESSING leaves them pending, SUCCESS completes them."""
    order = _paid(wechat, user)
    refund = refund_order(order, amount="1.00")
    assert refund.status == Refund.Status.PENDING
    assert retry_refunds(now=timezone.now()) == 0  # too recent: not asked yet
    assert not any(r.url.path.endswith(refund.out_request_no) for r in wechat.requests)
    later = timezone.now() + timedelta(minutes=5)
    assert retry_refunds(now=later) == 0
    asked = [r for r in wechat.requests if r.url.path.endswith("/" + refund.out_request_no)]
    assert len(asked) == 1 and asked[0].method == "GET"  # asked, not sent again
    refund.refresh_from_db()
    assert refund.status == Refund.Status.PENDING
    wechat.settle_refund(refund.out_request_no)
    assert retry_refunds(now=later + timedelta(minutes=5)) == 1
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert len(requests_to(wechat, "/v3/refund/domestic/refunds")) == 1  # sent once


# --- numbering and settings --------------------------------------------------------------------


def test_order_and_attempt_numbers_fit_wechat(settings, fake_alipay, user):
    settings.ZHIFU = {**fake_alipay.config, "ORDER_NO_PREFIX": "SHOP2026"}
    number = new_out_trade_no()
    assert number.startswith("SHOP2026") and len(number) == 28
    order = make_order(user)
    assert len(attempt_out_trade_no(order, 999)) == 32
    with pytest.raises(PaymentError):
        attempt_out_trade_no(order, 1000)
    settings.ZHIFU = {**fake_alipay.config, "ORDER_NO_PREFIX": "SHOP-2026"}
    with pytest.raises(ConfigurationError, match="ORDER_NO_PREFIX"):
        new_out_trade_no()


def test_the_default_site_has_no_wechat_pay(fake_alipay):
    assert "wechatpay" not in {p.name for p in registry.all_providers()}


def _ids(conf: dict) -> set[str]:
    return {m.id for m in check_settings({"WECHATPAY": conf})}


def test_checks_of_the_wechatpay_setting(merchant, wechat_key, platform_key, tmp_path):
    good = wechatpay_settings(merchant, wechat_key)
    assert _ids(good) == set()
    other = generate_merchant_certificate(MCHID)
    assert _ids({**good, "MERCHANT_CERT": other.certificate_pem}) == {"zhifu.E021"}  # pair, serial
    assert _ids({**good, "MERCHANT_SERIAL": "not-hex"}) == {"zhifu.E021"}
    assert _ids({**good, "APIV3_KEY": "short"}) == {"zhifu.E021"}
    assert _ids({**good, "PUBLIC_KEY": merchant.certificate_pem}) == {"zhifu.E021"}  # ours
    assert _ids({**good, "PUBLIC_KEY_ID": ""}) == {"zhifu.E020"}
    assert _ids({**good, "MCHID": ""}) == {"zhifu.E020"}
    assert _ids({**good, "PLATFORM_CERT_DIR": str(tmp_path / "none")}) == {"zhifu.E020"}
    assert _ids({**good, "NOTIFY_URL": "https://shop.example.com/n/?a=1"}) == {"zhifu.E022"}
    assert _ids({**good, "GATEWAY_URL": "http://pay.example.com"}) == {"zhifu.E022"}
    assert _ids({**good, "SECRET": 1}) == {"zhifu.W001"}
    # certificate mode and migration are consistent settings too
    cert_mode = {k: v for k, v in good.items() if not k.startswith("PUBLIC_KEY")}
    assert _ids({**cert_mode, "PLATFORM_CERT_DIR": str(tmp_path)}) == set()
    assert _ids({**good, "PLATFORM_CERT_DIR": str(tmp_path)}) == set()
    assert {m.id for m in check_settings({"WECHATPAY": "yes"})} == {"zhifu.E020"}


def test_the_site_checks_run_the_wechatpay_checks(settings, fake_alipay, merchant, wechat_key):
    from zhifu.checks import check_zhifu_settings

    settings.ZHIFU = {
        **fake_alipay.config,
        "PROVIDERS": [*DEFAULTS["PROVIDERS"], PROVIDER],
        "WECHATPAY": wechatpay_settings(merchant, wechat_key, APIV3_KEY="too-short"),
    }
    assert "zhifu.E021" in {m.id for m in check_zhifu_settings()}


# --- over real HTTP, against the sandbox's WeChat Pay ------------------------------------------


def test_purchase_and_refund_against_the_sandbox_over_http(
    sandbox_zhifu, settings, live_server, user, fulfilled
):
    """The site (live server) and the local sandbox talk HTTP both ways: the order is placed,
    the sandbox wallet pays, its notification is verified and applied, then a refund settles
    by the sandbox's REFUND.SUCCESS notification."""
    sb = sandbox_zhifu
    sb.wechat_mode("public_key")
    settings.ZHIFU = {
        **settings.ZHIFU,
        "PROVIDERS": [*DEFAULTS["PROVIDERS"], PROVIDER],
        "WECHATPAY": sb.wechatpay_settings(live_server.url + NOTIFY),
    }
    assert [m.id for m in registry.get("wechatpay").check()] == []
    order = make_order(user, "12.30")
    attempt = start_payment(order, "wechat_native", user=user).attempt
    assert attempt.qr_code.startswith("weixin://wxpay/bizpayurl")
    sb.wechat_pay(attempt.out_trade_no)
    assert wait_until(lambda: Order.objects.get(pk=order.pk).status == Order.Status.PAID)
    assert fulfilled == [("paid", order.out_trade_no)]

    refund = refund_order(Order.objects.get(pk=order.pk), amount="2.30")
    assert refund.status in (Refund.Status.PENDING, Refund.Status.SUCCEEDED)
    assert wait_until(
        lambda: Refund.objects.get(pk=refund.pk).status == Refund.Status.SUCCEEDED, timeout=30
    )
    assert Order.objects.get(pk=order.pk).refunded_amount == Decimal("2.30")
    reasons = set(Notification.objects.values_list("outcome", flat=True))
    assert reasons <= {"applied", "duplicate"}, reasons


def test_a_stored_notification_swept_later_is_checked_against_its_arrival(
    wechat, user, fulfilled, monkeypatch
):
    """The worker died after storing it; the sweep runs ten minutes later, past WeChat's
    300-second timestamp window: the signature is checked against when it arrived."""
    from types import SimpleNamespace

    from zhifu.services.notifications import record_notification
    from zhifu.wechatpay import verification

    order = make_order(user)
    attempt = start_payment(order, "wechat_native", user=user).attempt
    headers, body = paid_notification(wechat, attempt.out_trade_no)
    note = record_notification(provider="wechatpay", body=body, headers=headers)
    later = timezone.now() + timedelta(minutes=10)
    # the verifier's clock says ten minutes later, as it would when the sweep runs
    monkeypatch.setattr(verification, "time", SimpleNamespace(time=later.timestamp))
    assert reconcile_payments(now=later).swept == 1
    assert Notification.objects.get(pk=note.pk).outcome == "applied"
    assert fulfilled == [("paid", order.out_trade_no)]


# --- surplus payments, against the sandbox's WeChat Pay ----------------------------------------

CLOSE_PATH = "/v3/pay/transactions/out-trade-no/"  # closing (and querying) an order


def _refunds_settled(sb, out_trade_no: str):
    """The refunds WeChat holds for the order, once every one of them is settled."""

    def settled():
        refunds = sb.wechat_order(out_trade_no)["refunds"]
        return refunds if refunds and all(r["status"] != "PROCESSING" for r in refunds) else None

    return settled


def test_a_second_wechat_payment_is_refunded_automatically_at_the_sandbox(
    sandbox_wechat, user, fulfilled
):
    """The buyer has the QR code (Native) open and pays on the phone (H5) too; closing the QR
    code's order at WeChat failed when the H5 payment started, so both are paid. The order is
    paid once; the second payment becomes extra and its whole amount is refunded at WeChat."""
    sb = sandbox_wechat
    order = make_order(user, "12.30")
    first = start_payment(order, "wechat_native", user=user).attempt
    sb.wechat_faults(api_errors=1, paths=[CLOSE_PATH])
    second = start_payment(order, "wechat_h5", user=user, payer=Payer(ip="203.0.113.7")).attempt
    sb.wechat_faults(api_errors=0, paths=[])
    assert first.out_trade_no != second.out_trade_no
    assert sb.wechat_order(first.out_trade_no)["trade_state"] == "NOTPAY"  # not closed there

    sb.wechat_pay(second.out_trade_no)  # the phone
    assert wait_until(lambda: Order.objects.get(pk=order.pk).status == Order.Status.PAID)
    sb.wechat_pay(first.out_trade_no)  # the QR code, scanned as well
    refunds = wait_until(_refunds_settled(sb, first.out_trade_no), timeout=30)
    assert [(r["refund"], r["status"]) for r in refunds or []] == [("12.30", "SUCCESS")]
    assert sb.wechat_order(second.out_trade_no)["refunds"] == []

    refund = Refund.objects.get(order=order)
    assert wait_until(
        lambda: Refund.objects.get(pk=refund.pk).status == Refund.Status.SUCCEEDED, timeout=30
    )  # by WeChat's REFUND.SUCCESS notification
    assert refund.automatic and refund.attempt_id == first.pk
    assert refund.out_request_no == refunds[0]["out_refund_no"]
    assert refund.amount == Decimal("12.30")
    assert PaymentAttempt.objects.get(pk=first.pk).status == PaymentAttempt.Status.EXTRA
    assert PaymentAttempt.objects.get(pk=second.pk).status == PaymentAttempt.Status.SUCCEEDED
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert fulfilled == [("paid", order.out_trade_no)]  # fulfilled once, never reversed
    outcomes = set(Notification.objects.values_list("outcome", flat=True))
    assert outcomes <= {"applied", "duplicate"}, outcomes


@pytest.mark.parametrize("policy", ["refund", "flag"])
def test_a_wechat_payment_after_expiry_follows_the_late_payment_policy(
    sandbox_wechat, settings, user, fulfilled, policy
):
    """The order expired, but closing its order at WeChat failed, and the buyer paid the QR code
    anyway. ``LATE_PAYMENT_POLICY``: ``refund`` sends the whole amount back through WeChat;
    ``flag`` keeps it and marks the order for a person. The order stays expired either way."""
    sb = sandbox_wechat
    settings.ZHIFU = {**settings.ZHIFU, "LATE_PAYMENT_POLICY": policy}
    order = make_order(user, "8.80")
    attempt = start_payment(order, "wechat_native", user=user).attempt
    sb.wechat_faults(api_errors=1, paths=[CLOSE_PATH])
    assert expire_orders(now=order.expires_at + timedelta(seconds=1)) == 1
    sb.wechat_faults(api_errors=0, paths=[])
    assert sb.wechat_order(attempt.out_trade_no)["trade_state"] == "NOTPAY"

    sb.wechat_pay(attempt.out_trade_no)  # scanned after the order expired
    assert wait_until(
        lambda: PaymentAttempt.objects.get(pk=attempt.pk).status == PaymentAttempt.Status.EXTRA
    )
    order.refresh_from_db()
    assert order.status == Order.Status.EXPIRED
    if policy == "refund":
        refunds = wait_until(_refunds_settled(sb, attempt.out_trade_no), timeout=30)
        assert [(r["refund"], r["status"]) for r in refunds or []] == [("8.80", "SUCCESS")]
        refund = Refund.objects.get(order=order)
        assert refund.automatic and refund.out_request_no == refunds[0]["out_refund_no"]
        assert wait_until(
            lambda: Refund.objects.get(pk=refund.pk).status == Refund.Status.SUCCEEDED,
            timeout=30,
        )
        assert not order.needs_attention
    else:
        assert not Refund.objects.exists()  # made with the payment's transaction, or never
        assert order.needs_attention and attempt.out_trade_no in order.attention_reason
        assert sb.wechat_order(attempt.out_trade_no)["refunds"] == []
        assert sb.wechat_order(attempt.out_trade_no)["trade_state"] == "SUCCESS"  # money kept
    assert fulfilled == [("expired", order.out_trade_no)]
