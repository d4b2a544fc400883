"""A provider added from outside the core (tests/core/fake_gateway.py, one settings line) runs the
whole pipeline: purchase, duplicate and forged notifications, refund, reconcile.

The core has no idea the fake gateway exists: no file under src/zhifu names it, no migration is
needed (channels are not database choices), and the notify URL is the generic
``/zhifu/<provider>/notify/``. The last test keeps the core honest about that.
"""

from __future__ import annotations

import ast
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.core import fake_gateway
from tests.core.factories import make_order
from zhifu.conf import DEFAULTS
from zhifu.models import Notification, Order, PaymentAttempt, Refund
from zhifu.providers import registry
from zhifu.services.payments import start_payment
from zhifu.services.reconcile import reconcile_payments
from zhifu.services.refunds import refund_order

pytestmark = pytest.mark.django_db(transaction=True)
NOTIFY = "/zhifu/fake/notify/"


@pytest.fixture
def gateway(fake_alipay, settings):
    settings.ZHIFU = {
        **fake_alipay.config,
        "PROVIDERS": [*DEFAULTS["PROVIDERS"], "tests.core.fake_gateway.FakeGatewayProvider"],
    }
    fake_gateway.GATEWAY.__init__()  # a fresh gateway for every test
    return fake_gateway.GATEWAY


def notify(body: bytes, headers: dict[str, str] | None = None):
    headers = fake_gateway.FakeGateway.headers(body) if headers is None else headers
    return Client().post(NOTIFY, data=body, content_type="application/json", headers=headers)


def test_purchase_duplicate_and_forged_notifications(gateway, user, fulfilled):
    assert "fake_qr" in registry.channels()
    order = make_order(user)
    start = start_payment(order, "fake_qr", user=user)
    assert start.qr_code == f"fake://pay/{start.attempt.out_trade_no}"
    assert start.attempt.provider == "fake"

    forged = gateway.notification(gateway.trades[start.attempt.out_trade_no], state="paid")
    answer = notify(forged, headers={"X-Fake-Signature": "0" * 64})
    assert answer.status_code == 400 and json.loads(answer.content)["code"] == "FAIL"
    assert Order.objects.get(pk=order.pk).status == Order.Status.PENDING

    body = gateway.pay(start.attempt.out_trade_no)
    first, again = notify(body), notify(body)
    assert (first.status_code, again.status_code) == (204, 204)
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert fulfilled == [("paid", order.out_trade_no)]
    outcomes = list(Notification.objects.order_by("id").values_list("outcome", "reason"))
    assert outcomes == [("rejected", "bad_signature"), ("applied", ""), ("duplicate", "")]
    assert {n.provider for n in Notification.objects.all()} == {"fake"}


def test_amount_and_merchant_are_compared_for_any_provider(gateway, user):
    order = make_order(user)
    start = start_payment(order, "fake_qr", user=user)
    trade = gateway.trades[start.attempt.out_trade_no]
    trade.state = fake_gateway.PaymentState.PAID
    assert notify(gateway.notification(trade, amount_fen=1)).status_code == 400
    assert notify(gateway.notification(trade, merchant="M-9999")).status_code == 400
    reasons = list(Notification.objects.order_by("id").values_list("reason", flat=True))
    assert reasons == ["amount", "merchant"]
    assert Order.objects.get(pk=order.pk).status == Order.Status.PENDING


def test_refund_is_confirmed_by_the_gateways_notification(gateway, user, fulfilled):
    order = make_order(user)
    start = start_payment(order, "fake_qr", user=user)
    notify(gateway.pay(start.attempt.out_trade_no))
    refund = refund_order(Order.objects.get(pk=order.pk), amount="2.30")
    assert refund.status == Refund.Status.PENDING  # the gateway accepted it, not done yet
    trade = gateway.trades[start.attempt.out_trade_no]
    body = gateway.notification(
        trade, refund_no=refund.out_request_no, refund_state="succeeded", refund_fen=230
    )
    assert notify(body).status_code == 204
    assert notify(body).status_code == 204  # a repeat changes nothing
    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert order.status == Order.Status.PARTIALLY_REFUNDED and str(order.refunded_amount) == "2.30"
    assert fulfilled == [("paid", order.out_trade_no), ("refunded", order.out_trade_no)]


def test_reconcile_finds_a_payment_whose_notification_was_lost(gateway, user, fulfilled):
    order = make_order(user)
    start = start_payment(order, "fake_qr", user=user)
    gateway.pay(start.attempt.out_trade_no)  # the notification never arrives
    gateway.down = True
    assert reconcile_payments(now=timezone.now() + timedelta(hours=1)).errors == 1
    gateway.down = False
    report = reconcile_payments(now=timezone.now() + timedelta(hours=2))
    assert report.paid == 1 and report.orders == [order.out_trade_no]
    assert fulfilled == [("paid", order.out_trade_no)]


def test_the_api_offers_the_new_channel(gateway, user):
    order = make_order(user)
    api = APIClient()
    api.force_authenticate(user)
    answer = api.post(f"/api/orders/{order.out_trade_no}/pay/", {"channel": "fake_qr"}, "json")
    assert answer.status_code in (200, 201), answer.content
    assert answer.json()["qr_code"].startswith("fake://pay/")
    assert PaymentAttempt.objects.get(order=order).provider == "fake"


def test_a_provider_says_which_channels_need_the_buyers_gateway_id(gateway, user, monkeypatch):
    """The API asks for ``openid`` up front for any provider's channel that declares it needs
    one, without the core naming the channel."""
    api = APIClient()
    api.force_authenticate(user)
    order = make_order(user)
    assert not registry.needs_payer_id("fake_qr")
    monkeypatch.setattr(
        registry.get("fake"), "payer_id_channels", frozenset({"fake_qr"}), raising=False
    )
    assert registry.needs_payer_id("fake_qr")
    answer = api.post(f"/api/orders/{order.out_trade_no}/pay/", {"channel": "fake_qr"}, "json")
    assert answer.status_code == 400 and "openid" in answer.json()["error"]["fields"], answer.json()
    answer = api.post(
        f"/api/orders/{order.out_trade_no}/pay/", {"channel": "fake_qr", "openid": "o-1_x"}, "json"
    )
    assert answer.status_code in (200, 201), answer.content


def test_nothing_in_the_core_names_a_provider_it_does_not_own():
    """Above the seam (services, API, views, admin, tasks) no module imports a concrete provider
    or uses a gateway's wire words; the fake gateway needed none of them changed."""
    src = Path(__file__).resolve().parents[2] / "src" / "zhifu"
    above = [*(src / "services").glob("*.py"), *(src / "api").glob("*.py")]
    above += [src / name for name in ("views.py", "admin.py", "tasks.py", "signals.py")]
    wire = {"TRADE_SUCCESS", "TRADE_FINISHED", "TRADE_CLOSED", "WAIT_BUYER_PAY", "out_biz_no"}
    for path in above:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                assert "alipay" not in module and "wechat" not in module, (path, module)
                assert not module.startswith("providers.") or module == "providers.base", (
                    path,
                    module,
                )
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value not in wire, (path, node.value)
