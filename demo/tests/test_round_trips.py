"""The demo's notify path stays within issue 10's budget: a genuine sandbox-signed notification for
goods costs at most 10 database round trips (Zhifu's 8 — see tests/core/test_round_trips.py —
plus the goods fulfilment's lines read and its one ``sold`` UPDATE), in one transaction, counted
as ``make bench`` counts them. A change to the demo's fulfilment that adds a query fails here."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from shop.models import Goods

from zhifu.models import Order
from zhifu.services.orders import create_order_from_skus
from zhifu.services.payments import start_payment

pytestmark = pytest.mark.django_db(transaction=True)

GOODS_NOTIFY_ROUND_TRIPS = 10
CONTROL = ("BEGIN", "BEGIN IMMEDIATE", "COMMIT")


def test_a_goods_notification_costs_at_most_ten_round_trips(
    live_gateway: Any, settings: Any, seeded: dict[str, Any]
) -> None:
    # the sandbox delivers nowhere (a closed port); the test posts what it signed
    settings.ZHIFU = {**settings.ZHIFU, "NOTIFY_URL": "http://127.0.0.1:9/zhifu/alipay/notify/"}
    alice = seeded["alice"]
    mug = Goods.objects.get(code="mug")
    order = create_order_from_skus(alice, [{"sku": mug.sku, "quantity": 2}], subject=mug.name)
    start = start_payment(order, "alipay_page", user=alice)
    attempt = start.attempt
    assert httpx.get(start.pay_url, follow_redirects=True).status_code == 200  # the cashier
    live_gateway.pay(live_gateway.default_app.app_id, attempt.out_trade_no)
    attempts = live_gateway.wait_for_notifications(attempt.out_trade_no)
    form = attempts[0]["form"]
    sold_before = mug.sold

    with CaptureQueriesContext(connection) as queries:
        answer = Client().post(
            "/zhifu/alipay/notify/", urlencode(form), "application/x-www-form-urlencoded"
        )
    assert answer.content == b"success"
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    mug.refresh_from_db()
    assert mug.sold == sold_before + 2  # fulfilled, once

    sql = [q["sql"] for q in queries.captured_queries if q["sql"] not in CONTROL]
    commits = sum(q["sql"] == "COMMIT" for q in queries.captured_queries)
    assert commits == 1, "the raw INSERT is autocommitted; one apply transaction"
    assert len(sql) + 2 * commits <= GOODS_NOTIFY_ROUND_TRIPS, "\n".join(sql)
    assert not [s for s in sql if "SAVEPOINT" in s], sql
