"""The notify and checkout paths stay lean: a test fails when a change adds database round trips.

Counted with Django's query capture on the database the suite runs on (SQLite or PostgreSQL),
as ``bench/counts.py`` counts them for ``make bench``: every statement, the BEGIN and COMMIT of
each transaction included. A notification is stored in its own autocommitted INSERT, then
verified and applied in one transaction that locks the order once and, in one more statement,
the attempt with the order's other pending attempts. A checkout through the API creates the order,
its line and its first payment attempt in one transaction and reads nothing back.

This project has no fulfilment receivers; the demo's goods fulfilment adds 2 statements to a
notification (reading the lines, counting the goods sold): 10 round trips in ``make bench``.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from tests.core.factories import make_attempt, make_order
from tests.core.test_wechatpay_provider import (  # the WeChat fixtures, for the last test
    merchant,  # noqa: F401
    paid_notification,
    peer,  # noqa: F401
    platform_key,  # noqa: F401
    wechat,  # noqa: F401
    wechat_key,  # noqa: F401
)
from tests.core.test_wechatpay_provider import notify as wechat_notify
from zhifu.models import Order, PaymentAttempt

pytestmark = pytest.mark.django_db(transaction=True)

# INSERT (raw, autocommitted); BEGIN; lock the order; lock the attempt (and the order's other
# pending attempts); UPDATE attempt; UPDATE order; UPDATE notification; COMMIT.
NOTIFY_ROUND_TRIPS = 8
# The same notification again: INSERT; BEGIN; the two locks; UPDATE notification; COMMIT (an
# asynchronous TRADE_SUCCESS repeated is not final: nothing else is written).
DUPLICATE_ROUND_TRIPS = 6
# SELECT the user (JWT); BEGIN; SELECT the product; INSERT order, line, attempt; COMMIT.
CHECKOUT_ROUND_TRIPS = 7

CONTROL = ("BEGIN", "BEGIN IMMEDIATE", "COMMIT")


def statements(queries: CaptureQueriesContext) -> list[str]:
    """What was sent, without transaction control."""
    return [q["sql"] for q in queries.captured_queries if q["sql"] not in CONTROL]


def transactions(queries: CaptureQueriesContext) -> int:
    return sum(q["sql"] == "COMMIT" for q in queries.captured_queries)


def round_trips(queries: CaptureQueriesContext) -> int:
    """Statements plus a BEGIN and a COMMIT per transaction (whether or not the backend's
    capture lists them)."""
    return len(statements(queries)) + 2 * transactions(queries)


def _post(fake_alipay, params):
    return Client().post(
        "/zhifu/alipay/notify/",
        fake_alipay.body(params),
        content_type="application/x-www-form-urlencoded",
    )


def test_a_notification_costs_eight_round_trips_in_one_transaction(fake_alipay, user):
    order = make_order(user)
    attempt = make_attempt(order)
    params = fake_alipay.notification(attempt)
    with CaptureQueriesContext(connection) as queries:
        assert _post(fake_alipay, params).content == b"success"
    sql = statements(queries)
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert transactions(queries) == 1, "the raw INSERT is autocommitted; one apply transaction"
    assert round_trips(queries) <= NOTIFY_ROUND_TRIPS, "\n".join(sql)
    assert sql[0].startswith('INSERT INTO "zhifu_notification"'), "stored before anything else"
    assert not [s for s in sql if "SAVEPOINT" in s], "no savepoints inside the pipeline"
    if connection.features.has_select_for_update:
        locks = [s for s in sql if "FOR UPDATE" in s]
        assert len(locks) == 2, locks
        # the order first (found by its attempt's number), then the attempts
        assert 'FROM "zhifu_order"' in locks[0].split("WHERE")[0], locks[0]
        assert 'FROM "zhifu_paymentattempt"' in locks[1].split("WHERE")[0], locks[1]
        assert f"'{attempt.out_trade_no}'" in locks[1]


def test_a_first_success_closes_the_other_pending_attempts_it_locked(fake_alipay, user):
    order = make_order(user)
    other = make_attempt(order, 1, channel="alipay_wap")
    attempt = make_attempt(order, 2)
    params = fake_alipay.notification(attempt)
    with CaptureQueriesContext(connection) as queries:
        assert _post(fake_alipay, params).content == b"success"
    other.refresh_from_db()
    assert other.status == PaymentAttempt.Status.CLOSED
    # closing it is one more UPDATE, not one more lock statement
    assert round_trips(queries) <= NOTIFY_ROUND_TRIPS + 1, "\n".join(statements(queries))
    if connection.features.has_select_for_update:
        assert len([s for s in statements(queries) if "FOR UPDATE" in s]) == 2


def test_a_duplicate_costs_no_more(fake_alipay, user):
    order = make_order(user)
    attempt = make_attempt(order)
    params = fake_alipay.notification(attempt)
    _post(fake_alipay, params)
    with CaptureQueriesContext(connection) as queries:
        assert _post(fake_alipay, params).content == b"success"
    assert round_trips(queries) <= DUPLICATE_ROUND_TRIPS, statements(queries)


def test_checkout_through_the_api_costs_seven_round_trips_in_one_transaction(
    fake_alipay, user, product
):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    body = {"items": [{"sku": product.sku, "quantity": 1}], "channel": "alipay_page"}
    api.post("/api/orders/", body, format="json")  # warm: content types are cached per process
    with CaptureQueriesContext(connection) as queries:
        answer = api.post("/api/orders/", body, format="json")
    assert answer.status_code == 201, answer.content
    payment = answer.json()["payment"]
    assert "sign=" in payment["pay_url"]
    sql = statements(queries)
    assert transactions(queries) == 1, "order, line and first attempt in one transaction"
    assert round_trips(queries) <= CHECKOUT_ROUND_TRIPS, "\n".join(sql)
    assert not [s for s in sql if "SAVEPOINT" in s or "FOR UPDATE" in s], sql
    # the answer shows the attempt that was created, without reading it back
    attempt = PaymentAttempt.objects.get(out_trade_no=payment["payment_out_trade_no"])
    assert attempt.order.out_trade_no == answer.json()["out_trade_no"]
    assert [a["out_trade_no"] for a in answer.json()["payments"]] == [attempt.out_trade_no]


def test_model_save_receivers_still_run_when_a_site_has_them(fake_alipay, user):
    """Status writes and the raw insert skip ``save()`` only while nothing listens to
    ``pre_save``/``post_save``; a site's receivers see the same calls as before."""
    from django.db.models.signals import post_save

    from zhifu.models import Notification

    saved: list[tuple[str, bool, frozenset[str] | None]] = []

    def receiver(sender, instance, created, update_fields=None, **kwargs):
        saved.append((sender.__name__, created, update_fields and frozenset(update_fields)))

    order = make_order(user)
    attempt = make_attempt(order)
    for model in (Order, PaymentAttempt, Notification):
        post_save.connect(receiver, sender=model, weak=False)
    try:
        assert _post(fake_alipay, fake_alipay.notification(attempt)).content == b"success"
    finally:
        for model in (Order, PaymentAttempt, Notification):
            post_save.disconnect(receiver, sender=model)
    assert ("Notification", True, None) in saved
    assert any(n == "Order" and not c and f and {"status", "paid_at"} <= f for n, c, f in saved)
    assert any(n == "PaymentAttempt" and f and "status" in f for n, c, f in saved)
    assert any(n == "Notification" and not c and f and "outcome" in f for n, c, f in saved)
    assert Order.objects.get(pk=order.pk).status == "paid"


def test_lean_writes_accept_expressions_as_save_does(user):
    """A flag written with an expression (``F("n") + 1``) goes through ``save()``, which resolves
    it; plain values take the one-statement UPDATE."""
    from django.db.models import F

    from zhifu.services.transitions import save_flags

    attempt = make_attempt(make_order(user))
    save_flags(attempt, check_count=F("check_count") + 1)
    attempt.refresh_from_db()
    assert attempt.check_count == 1
    with CaptureQueriesContext(connection) as queries:
        save_flags(attempt, check_count=5)
    assert len(statements(queries)) == 1 and statements(queries)[0].startswith("UPDATE")
    attempt.refresh_from_db()
    assert attempt.check_count == 5


def test_a_wechat_notification_costs_the_same(wechat, user):  # noqa: F811 - the fixture
    """WeChat Pay's notification goes through the same pipeline: the same budget, two locks."""
    from zhifu.services.payments import start_payment

    order = make_order(user)
    attempt = start_payment(order, "wechat_native", user=user).attempt
    headers, body = paid_notification(wechat, attempt.out_trade_no)
    with CaptureQueriesContext(connection) as queries:
        assert wechat_notify(headers, body).status_code == 204
    sql = statements(queries)
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert transactions(queries) == 1
    assert round_trips(queries) <= NOTIFY_ROUND_TRIPS, "\n".join(sql)
    if connection.features.has_select_for_update:
        assert len([s for s in sql if "FOR UPDATE" in s]) == 2
