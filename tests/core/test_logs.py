"""Logs are structured, name the order and the trade, and never contain keys, signatures or
tokens: every record of a full flow (API token, order, page pay, sandbox pays, notification,
return, a forged notification, a staff refund) is captured and searched."""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest
from rest_framework.test import APIClient

from tests.conftest import get_as, wait_until
from zhifu.logs import JsonFormatter, redact
from zhifu.models import Order, PaymentAttempt

JWT = re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]{4,}")
SIGN_VALUE = re.compile(r"(?i)\bsign=(?!\[redacted\])[^&\s]+")
# The sandbox plays Alipay in this process; its own logs are Alipay's, not the site's.
NOT_THE_SITE = ("zhifu.sandbox", "werkzeug")


def test_redact():
    url = "POST http://gw/gateway.do?app_id=1&method=alipay.trade.query&sign=AbC%2B/x==&x=1"
    assert redact(url) == url.replace("AbC%2B/x==", "[redacted]")
    assert "MIIE" not in redact(
        "key: -----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----"
    )
    token = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.c2lnbmF0dXJlLXBhcnQ"
    assert token not in redact(f"token {token}") and "Bearer [redacted]" in redact("Bearer abc.d")
    assert redact('{"sign": "xyz", "a": 1}') == '{"sign": "[redacted]", "a": 1}'
    assert redact("out_trade_no=Z1 trade_no=2025") == "out_trade_no=Z1 trade_no=2025"


@pytest.mark.django_db(transaction=True)
def test_a_full_flow_logs_orders_and_trades_but_no_secrets(
    sandbox_zhifu, user, refund_staff, product, live_server, caplog
):
    sb = sandbox_zhifu
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="zhifu")  # tests/settings.py keeps it at WARNING
    api = APIClient()
    tokens = api.post(
        "/api/token/", {"username": "buyer", "password": "pw-buyer-1"}, format="json"
    ).json()
    api.credentials(HTTP_AUTHORIZATION="Bearer " + tokens["access"])
    created = api.post(
        "/api/orders/",
        {"items": [{"sku": product.sku, "quantity": 1}], "channel": "alipay_page"},
        format="json",
    ).json()
    out_trade_no = created["out_trade_no"]
    payment = created["payment"]
    assert "sign=" in payment["pay_url"]
    assert httpx.get(payment["pay_url"], follow_redirects=True, timeout=10).status_code == 200
    return_url = sb.pay(payment["payment_out_trade_no"])
    order = Order.objects.get(out_trade_no=out_trade_no)
    assert wait_until(lambda: Order.objects.get(pk=order.pk).status == "paid")
    assert get_as(order.user, return_url).json()["status"] == "paid"
    forged = {**sb.notifications(out_trade_no=payment["payment_out_trade_no"])[0]["form"]}
    forged["total_amount"] = "0.01"
    assert httpx.post(live_server.url + "/zhifu/alipay/notify/", data=forged).text == "fail"

    staff_api = APIClient()
    staff_access = staff_api.post(
        "/api/token/", {"username": "staff", "password": "pw-staff-1"}, format="json"
    ).json()["access"]
    staff_api.credentials(HTTP_AUTHORIZATION="Bearer " + staff_access)
    refund = staff_api.post(
        "/api/refunds/", {"out_trade_no": out_trade_no, "amount": "1.00"}, format="json"
    ).json()
    assert refund["status"] == "succeeded"

    attempt = PaymentAttempt.objects.get(out_trade_no=payment["payment_out_trade_no"])
    records = [r for r in caplog.records if not r.name.startswith(NOT_THE_SITE)]
    text = "\n".join(r.getMessage() for r in records)
    formatted = "\n".join(JsonFormatter().format(r) for r in records)
    assert "HTTP Request" in text  # httpx's lines are there, with their sign= redacted
    private_key = sb.default_app.app_private_key_pem.splitlines()[1:-1]
    for haystack in (text, formatted):
        assert not SIGN_VALUE.search(haystack), SIGN_VALUE.search(haystack)
        assert forged["sign"] not in haystack
        assert "PRIVATE KEY" not in haystack
        assert not any(line in haystack for line in private_key)
        assert not JWT.search(haystack)
        for secret in (tokens["access"], tokens["refresh"], staff_access):
            assert secret not in haystack
    # named: the order, the payment, Alipay's trade, the refund
    assert out_trade_no in text and attempt.trade_no in text
    paid = [r for r in records if getattr(r, "zhifu_event", "") == "paid"]
    assert len(paid) == 1
    assert paid[0].zhifu_order == out_trade_no
    assert paid[0].zhifu_payment == attempt.out_trade_no
    assert paid[0].zhifu_trade == attempt.trade_no
    refunded = [r for r in records if getattr(r, "zhifu_event", "") == "refunded"]
    assert refunded and refunded[0].zhifu_refund == refund["out_request_no"]
    rejected = [r for r in records if getattr(r, "zhifu_event", "") == "notification_rejected"]
    assert rejected and rejected[0].zhifu_payment == attempt.out_trade_no
    line = json.loads(JsonFormatter().format(paid[0]))
    assert line["zhifu_order"] == out_trade_no and line["zhifu_trade"] == attempt.trade_no
