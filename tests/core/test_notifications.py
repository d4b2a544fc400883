"""The notification pipeline, with a fake Alipay key (no network): store, verify, check, act."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

from tests.core.factories import make_attempt, make_order
from zhifu import signals
from zhifu.models import Notification, Order, PaymentAttempt, Refund
from zhifu.services import notifications as pipeline

pytestmark = pytest.mark.django_db(transaction=True)

NOTIFY = "/zhifu/alipay/notify/"


def post(fake, params, client=None):
    client = client or Client(enforce_csrf_checks=True)  # the view must not need a CSRF token
    return client.post(
        NOTIFY,
        data=fake.body(params),
        content_type="application/x-www-form-urlencoded",
        REMOTE_ADDR="110.75.1.2",
    )


@pytest.fixture
def paying(fake_alipay, user):
    order = make_order(user)
    return order, make_attempt(order)


def test_url_name_matches_contract():
    assert reverse("zhifu:alipay-notify") == NOTIFY
    assert reverse("zhifu:alipay-return") == "/zhifu/alipay/return/"


def test_valid_notification_pays_once_and_replies_success(fake_alipay, paying, fulfilled):
    order, attempt = paying
    params = fake_alipay.notification(attempt)
    response = post(fake_alipay, params)
    assert response.status_code == 200
    assert response.content == b"success"
    order.refresh_from_db()
    attempt.refresh_from_db()
    assert order.status == Order.Status.PAID and order.paid_at is not None
    assert attempt.status == PaymentAttempt.Status.SUCCEEDED
    assert attempt.trade_no == params["trade_no"]
    assert fulfilled == [("paid", order.out_trade_no)]
    note = Notification.objects.get(out_trade_no=attempt.out_trade_no)
    assert note.outcome == "applied"
    assert note.remote_addr == "110.75.1.2"
    assert note.body == fake_alipay.body(params).decode()
    assert note.order_id == order.pk and note.attempt_id == attempt.pk


def test_duplicate_and_trade_finished_never_fulfil_again(fake_alipay, paying, fulfilled):
    order, attempt = paying
    params = fake_alipay.notification(attempt)
    for _ in range(3):
        assert post(fake_alipay, params).content == b"success"
    finished = fake_alipay.notification(attempt, "TRADE_FINISHED", notify_id="n-finished")
    assert post(fake_alipay, finished).content == b"success"
    assert fulfilled == [("paid", order.out_trade_no)]
    outcomes = sorted(
        Notification.objects.filter(out_trade_no=attempt.out_trade_no).values_list(
            "outcome", flat=True
        )
    )
    assert outcomes == ["applied", "duplicate", "duplicate", "duplicate"]
    attempt.refresh_from_db()
    assert attempt.raw["trade_status"] == "TRADE_FINISHED"


def test_get_is_refused(fake_alipay):
    assert Client().get(NOTIFY).status_code == 405
    assert Notification.objects.count() == 0


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        ("alter_amount_after_signing", "bad_signature"),
        ("no_signature", "bad_signature"),
        ("other_app_id", "app_id"),
        ("other_seller", "merchant"),
        ("signed_other_amount", "amount"),
        ("unknown_order", "unknown_order"),
        ("duplicate_key", "bad_signature"),
    ],
)
def test_forged_and_altered_notifications_are_rejected_and_logged(
    fake_alipay, paying, fulfilled, caplog, mutate, reason
):
    order, attempt = paying
    good = fake_alipay.notification(attempt)
    if mutate == "alter_amount_after_signing":
        params = {**good, "total_amount": "0.01"}
    elif mutate == "no_signature":
        params = {k: v for k, v in good.items() if k != "sign"}
    elif mutate == "other_app_id":
        params = fake_alipay.notification(attempt, app_id="2021999999999999")
    elif mutate == "other_seller":
        params = fake_alipay.notification(attempt, seller_id="2088999999999999")
    elif mutate == "signed_other_amount":
        params = fake_alipay.notification(attempt, total_amount="0.01")
    elif mutate == "unknown_order":
        params = fake_alipay.notification(attempt, out_trade_no="NOSUCHORDER_1")
    else:
        params = good
    body = fake_alipay.body(params)
    if mutate == "duplicate_key":
        body += b"&total_amount=0.01"
    response = Client().post(NOTIFY, data=body, content_type="application/x-www-form-urlencoded")
    assert response.content != b"success"
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert fulfilled == []
    note = Notification.objects.get()
    assert note.outcome == "rejected"
    assert note.reason == reason
    assert note.body == body.decode()  # stored raw even though rejected
    assert any(reason in r.getMessage() for r in caplog.records if r.name.startswith("zhifu"))
    assert all(good["sign"] not in r.getMessage() for r in caplog.records)  # never log signatures


def test_empty_and_garbage_bodies_are_rejected_not_500(fake_alipay):
    for body in (b"", b"\xff\xfe garbage", b"a=1&b=2"):
        response = Client().post(
            NOTIFY, data=body, content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 400
        assert response.content == b"fail"
    assert set(Notification.objects.values_list("outcome", flat=True)) == {"rejected"}


def test_trade_closed_closes_the_pending_attempt(fake_alipay, paying):
    order, attempt = paying
    assert (
        post(fake_alipay, fake_alipay.notification(attempt, "TRADE_CLOSED")).content == b"success"
    )
    attempt.refresh_from_db()
    assert attempt.status == PaymentAttempt.Status.CLOSED and attempt.closed_at_gateway
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING  # the buyer may still pay another way


def test_transient_database_error_is_not_acknowledged_then_replay_applies(
    fake_alipay, paying, fulfilled, monkeypatch
):
    order, attempt = paying

    def broken(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(pipeline, "apply_payment_event", broken)
    response = post(fake_alipay, fake_alipay.notification(attempt))
    assert response.status_code == 503 and response.content == b"fail"
    note = Notification.objects.get()
    assert note.outcome == "error" and "OperationalError" in note.detail
    assert note.out_trade_no == attempt.out_trade_no  # verified before the database failed
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING

    monkeypatch.undo()
    pipeline.replay_notification(note)
    assert note.outcome == "applied"
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert fulfilled == [("paid", order.out_trade_no)]
    pipeline.replay_notification(note)  # replaying again is harmless
    assert note.outcome == "duplicate"
    assert fulfilled == [("paid", order.out_trade_no)]


def test_failing_fulfilment_rolls_back_and_is_retried(fake_alipay, paying):
    order, attempt = paying
    calls = []

    def receiver(sender, order, **kwargs):
        calls.append(order.out_trade_no)
        raise RuntimeError("mail server down")

    signals.order_paid.connect(receiver, weak=False)
    try:
        response = post(fake_alipay, fake_alipay.notification(attempt))
    finally:
        signals.order_paid.disconnect(receiver)
    assert response.content == b"fail"  # not acknowledged: Alipay will retry
    order.refresh_from_db()
    attempt.refresh_from_db()
    assert order.status == Order.Status.PENDING and attempt.status == PaymentAttempt.Status.PENDING
    note = Notification.objects.get()
    assert note.outcome == "error" and "mail server down" in note.detail
    assert calls == [order.out_trade_no]
    assert post(fake_alipay, fake_alipay.notification(attempt)).content == b"success"
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_second_payment_of_a_paid_order_is_recorded_and_refunded(
    fake_alipay, user, fulfilled, caplog
):
    order = make_order(user)
    first, second = make_attempt(order), make_attempt(order)
    assert post(fake_alipay, fake_alipay.notification(first, trade_no="T1")).content == b"success"
    with caplog.at_level("WARNING", logger="zhifu"):
        assert (
            post(fake_alipay, fake_alipay.notification(second, trade_no="T2")).content == b"success"
        )
    # honest wording: at this point the refund is only created (it is sent after commit)
    said = [r.getMessage() for r in caplog.records if "surplus payment" in r.getMessage()]
    assert len(said) == 1 and "created" in said[0] and "refunded" not in said[0], said
    second.refresh_from_db()
    assert second.status == PaymentAttempt.Status.EXTRA
    refund = Refund.objects.get(attempt=second)
    assert refund.automatic and refund.amount == order.total_amount
    # the gateway in these unit tests is unreachable: the outcome is unknown, to be retried
    assert refund.status == Refund.Status.UNKNOWN
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.refunded_amount == Decimal("0.00")
    assert fulfilled == [("paid", order.out_trade_no)]


@pytest.mark.parametrize("policy", ["refund", "flag"])
def test_payment_after_expiry_is_refunded_or_flagged(
    fake_alipay, settings, user, fulfilled, policy
):
    settings.ZHIFU = {**fake_alipay.config, "LATE_PAYMENT_POLICY": policy}
    order = make_order(user)
    attempt = make_attempt(order)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.EXPIRED)
    assert post(fake_alipay, fake_alipay.notification(attempt)).content == b"success"
    attempt.refresh_from_db()
    order.refresh_from_db()
    assert attempt.status == PaymentAttempt.Status.EXTRA
    assert order.status == Order.Status.EXPIRED
    assert fulfilled == []
    if policy == "refund":
        assert Refund.objects.filter(attempt=attempt, automatic=True).count() == 1
        assert not order.needs_attention
    else:
        assert not Refund.objects.exists()
        assert order.needs_attention and "expired" in order.attention_reason


def test_refund_notification_completes_a_pending_refund(fake_alipay, paying, fulfilled):
    order, attempt = paying
    assert post(fake_alipay, fake_alipay.notification(attempt)).content == b"success"
    refund = Refund.objects.create(
        order=order,
        attempt=attempt,
        out_request_no=f"{attempt.out_trade_no}R1",
        amount=Decimal("2.30"),
        status=Refund.Status.UNKNOWN,
    )
    params = fake_alipay.notification(
        attempt,
        notify_id="n-refund",
        out_biz_no=refund.out_request_no,
        refund_fee="2.30",
        gmt_refund="2025-01-01 12:10:00.000",
    )
    assert post(fake_alipay, params).content == b"success"
    assert post(fake_alipay, params).content == b"success"
    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert order.status == Order.Status.PARTIALLY_REFUNDED
    assert order.refunded_amount == Decimal("2.30")
    assert fulfilled == [("paid", order.out_trade_no), ("refunded", order.out_trade_no)]


def test_record_keeps_raw_request_but_not_secrets(fake_alipay):
    note = pipeline.record_notification(
        provider="alipay",
        body=b"a=1",
        headers={
            "Cookie": "sessionid=s3cret",
            "Authorization": "Bearer tok",
            "User-Agent": "Mozilla/4.0",
        },
        remote_addr="110.75.1.2",
    )
    note.refresh_from_db()
    assert note.body == "a=1" and note.remote_addr == "110.75.1.2"
    assert note.headers == {"User-Agent": "Mozilla/4.0"}
