"""The notify and checkout paths stay lean: a test fails when a change adds database round trips.

Counted with Django's query capture on the database the suite runs on (SQLite or PostgreSQL).
A notification is stored in its own committed write, then verified and applied in one
transaction that locks the order once and the attempt once.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.core.factories import make_attempt, make_order
from zhifu.models import Order

pytestmark = pytest.mark.django_db(transaction=True)

MAX_NOTIFY_QUERIES = 10
MAX_CHECKOUT_QUERIES = 8


def statements(queries: CaptureQueriesContext) -> list[str]:
    """What was sent, without transaction control (which SQLite's IMMEDIATE mode adds)."""
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"] not in ("BEGIN", "BEGIN IMMEDIATE", "COMMIT")
    ]


def _post(fake_alipay, params):
    return Client().post(
        "/zhifu/alipay/notify/",
        fake_alipay.body(params),
        content_type="application/x-www-form-urlencoded",
    )


def test_a_notification_costs_at_most_ten_round_trips(fake_alipay, user):
    order = make_order(user)
    attempt = make_attempt(order)
    params = fake_alipay.notification(attempt)
    with CaptureQueriesContext(connection) as queries:
        assert _post(fake_alipay, params).content == b"success"
    sql = statements(queries)
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert len(sql) <= MAX_NOTIFY_QUERIES, "\n".join(sql)
    locks = [s for s in sql if "FOR UPDATE" in s]
    if connection.features.has_select_for_update:
        # the order once, the attempt once (plus, for a first success, the order's other open
        # attempts, which it closes)
        order_locks = [s for s in locks if 'FROM "zhifu_order"' in s]
        attempt_locks = [
            s
            for s in locks
            if 'FROM "zhifu_paymentattempt"' in s
            and (f"'{attempt.out_trade_no}'" in s or f'"id" = {attempt.pk} ' in s)
        ]
        assert len(order_locks) == 1 and len(attempt_locks) == 1, locks
    assert not [s for s in sql if "SAVEPOINT" in s], "no savepoints inside the pipeline"


def test_a_duplicate_costs_no_more(fake_alipay, user):
    order = make_order(user)
    attempt = make_attempt(order)
    params = fake_alipay.notification(attempt)
    _post(fake_alipay, params)
    with CaptureQueriesContext(connection) as queries:
        assert _post(fake_alipay, params).content == b"success"
    assert len(statements(queries)) <= MAX_NOTIFY_QUERIES - 2, statements(queries)


def test_checkout_through_the_api_costs_at_most_eight_round_trips(fake_alipay, user, product):
    api = APIClient()
    api.force_authenticate(user)
    body = {"items": [{"sku": product.sku, "quantity": 1}], "channel": "alipay_page"}
    api.post("/api/orders/", body, format="json")  # warm: content types are cached per process
    with CaptureQueriesContext(connection) as queries:
        answer = api.post("/api/orders/", body, format="json")
    assert answer.status_code == 201, answer.content
    assert "sign=" in answer.json()["payment"]["pay_url"]
    sql = statements(queries)
    assert len(sql) <= MAX_CHECKOUT_QUERIES, "\n".join(sql)
