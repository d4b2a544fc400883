"""No row lock is held over the network, and nothing is acknowledged before commit, even on a
site with ``ATOMIC_REQUESTS``."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.utils.functional import SimpleLazyObject, empty
from rest_framework.test import APIClient

from tests.core.factories import make_attempt, make_order, pay
from zhifu import signals
from zhifu.providers import registry
from zhifu.providers.base import PaymentAction, RefundResult, RefundState
from zhifu.services.payments import start_payment

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def atomic_requests(monkeypatch):
    """A site with ``ATOMIC_REQUESTS = True``."""
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)


def _paid_depths(fake_alipay, user) -> int:
    depths: list[int] = []

    def receiver(sender, order, **kwargs):
        depths.append(len(connection.atomic_blocks))

    order = make_order(user)
    attempt = make_attempt(order)
    signals.order_paid.connect(receiver, weak=False)
    try:
        reply = Client().post(
            "/zhifu/alipay/notify/",
            fake_alipay.body(fake_alipay.notification(attempt)),
            content_type="application/x-www-form-urlencoded",
        )
    finally:
        signals.order_paid.disconnect(receiver)
    assert reply.content == b"success"
    return depths[0]


def test_notify_is_not_wrapped_in_atomic_requests(fake_alipay, user, monkeypatch):
    """With ATOMIC_REQUESTS the view would answer "success" before its transaction commits."""
    plain = _paid_depths(fake_alipay, user)
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    assert _paid_depths(fake_alipay, user) == plain


def test_api_refund_is_sent_at_once_even_with_atomic_requests(
    fake_alipay, atomic_requests, user, refund_staff, monkeypatch
):
    calls = []

    def refund(refund):
        calls.append(connection.in_atomic_block)
        return RefundResult(RefundState.SUCCEEDED)

    monkeypatch.setattr(registry.get("alipay"), "refund", refund)
    order = make_order(user)
    pay(make_attempt(order), trade_no="T1")
    api = APIClient()
    api.force_authenticate(refund_staff)
    body = api.post("/api/refunds/", {"out_trade_no": order.out_trade_no}, format="json").json()
    assert body["status"] == "succeeded" and body["amount"] == "12.30"
    assert calls == [False]  # no transaction (so no row lock) open while Alipay was called


def test_api_qr_pay_calls_alipay_outside_any_transaction(
    fake_alipay, atomic_requests, user, monkeypatch
):
    seen = []

    def start(order, attempt, *, return_url=None, payer=None):
        seen.append(connection.in_atomic_block)
        return PaymentAction(qr_code="https://qr.example/1")

    monkeypatch.setattr(registry.get("alipay"), "start", start)
    order = make_order(user)
    api = APIClient()
    api.force_authenticate(user)
    body = api.post(
        f"/api/orders/{order.out_trade_no}/pay/", {"channel": "alipay_qr"}, format="json"
    ).json()
    assert body["qr_code"] == "https://qr.example/1"
    assert seen == [False]


def test_api_checkout_with_a_channel_calls_alipay_after_the_order_committed(
    fake_alipay, atomic_requests, user, product, monkeypatch
):
    """Order, line and first attempt are made in one transaction; the gateway is called after
    it committed, with the attempt visible to every other connection."""
    from zhifu.models import PaymentAttempt

    seen = []

    def start(order, attempt, *, return_url=None, payer=None):
        committed = PaymentAttempt.objects.filter(out_trade_no=attempt.out_trade_no).exists()
        seen.append((connection.in_atomic_block, committed))
        return PaymentAction(qr_code="https://qr.example/2")

    monkeypatch.setattr(registry.get("alipay"), "start", start)
    api = APIClient()
    api.force_authenticate(user)
    body = {"items": [{"sku": product.sku}], "channel": "alipay_qr"}
    answer = api.post("/api/orders/", body, format="json")
    assert answer.status_code == 201, answer.content
    assert answer.json()["payment"]["qr_code"] == "https://qr.example/2"
    assert seen == [(False, True)]
    attempt = PaymentAttempt.objects.get(
        out_trade_no=answer.json()["payment"]["payment_out_trade_no"]
    )
    assert attempt.qr_code == "https://qr.example/2" and attempt.status == "pending"


def test_a_database_outage_is_a_503_with_the_error_shape(fake_alipay, user, monkeypatch):
    from django.db import OperationalError

    from zhifu.services import orders

    def down(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(orders, "create_order_from_skus", down)
    api = APIClient()
    api.force_authenticate(user)
    answer = api.post("/api/orders/", {"items": [{"sku": "book-1"}]}, format="json")
    assert answer.status_code == 503 and answer["Retry-After"] == "5"
    assert answer.json()["error"]["code"] == "service_unavailable"

    from zhifu.services import returns

    monkeypatch.setattr(returns.PaymentAttempt.objects, "select_related", down)
    params = fake_alipay.sign({"out_trade_no": "Z1_1", "app_id": fake_alipay.app_id})
    page = Client().get("/zhifu/alipay/return/", params, headers={"Accept": "application/json"})
    assert page.status_code == 503 and page.json()["error"]["code"] == "service_unavailable"


def test_return_links_query_the_gateway_at_most_once_per_interval(fake_alipay, user, monkeypatch):
    """A signed return link works as a bearer link: replaying it must not hammer the gateway."""
    from django.core.cache import cache

    asked = []
    monkeypatch.setattr(registry.get("alipay"), "query", lambda a: asked.append(a) or None)
    cache.clear()
    attempt = make_attempt(make_order(user))
    params = fake_alipay.sign(
        {
            "out_trade_no": attempt.out_trade_no,
            "app_id": fake_alipay.app_id,
            "total_amount": "12.30",
        }
    )
    for _ in range(5):
        page = Client().get("/zhifu/alipay/return/", params, headers={"Accept": "application/json"})
        assert page.status_code == 200 and page.json() == {"confirming": True, "sign_in": True}
    assert len(asked) == 1


def test_the_pay_form_carries_the_pages_csp_nonce(fake_alipay, user):
    from django.template import Context, Template

    order = make_order(user)
    start = start_payment(order, "alipay_page", user=user)
    assert start.form is not None and "biz_content" in start.form.fields
    assert "<script>" in start.form_html  # for API clients that embed it
    page = Template("{% load zhifu %}{% zhifu_pay_form start %}").render(
        Context({"start": start, "csp_nonce": "n0nce+/="})
    )
    assert '<script nonce="n0nce+/=">' in page and 'method="POST"' in page
    assert "sign=" in page  # the signed system parameters are in the action URL
    assert start.form.action.startswith(fake_alipay.config["GATEWAY_URL"])


class _LazyNonce(SimpleLazyObject):
    """What django-csp 4 (CheckableLazyObject) and Django 6 (LazyNonce) put in request.csp_nonce:
    false until read; reading it is what puts the nonce in the header."""

    def __bool__(self) -> bool:
        return self._wrapped is not empty


def test_the_pay_form_reads_a_lazy_nonce_nobody_has_read_yet(fake_alipay, user, rf):
    # found in the demo: a payment link's cashier redirect had a bare <script>, blocked by CSP,
    # because the tag tested the unread lazy nonce for truth and found it false
    from django.template import RequestContext, Template

    order = make_order(user)
    start = start_payment(order, "alipay_page", user=user)
    request = rf.get("/")
    request.csp_nonce = _LazyNonce(lambda: "lazy+n0nce")
    for context in ({"start": start}, {"start": start, "csp_nonce": request.csp_nonce}):
        page = Template("{% load zhifu %}{% zhifu_pay_form start %}").render(
            RequestContext(request, context)
        )
        assert '<script nonce="lazy+n0nce">' in page


def test_a_refused_checkout_inside_the_sites_transaction_leaves_it_usable(fake_alipay, user):
    """A site may create orders inside its own transaction and turn a refusal into a form
    error: the refusal must not leave that transaction unusable ("An error occurred in the
    current transaction"), as a savepoint-free block around the SKU lookup did."""
    from django.db import transaction

    from zhifu.exceptions import ZhifuError
    from zhifu.models import Order
    from zhifu.services.payments import create_order_to_pay

    with transaction.atomic():
        with pytest.raises(ZhifuError) as refused:
            create_order_to_pay(user, [{"sku": "no-such-sku"}], "alipay_page")
        assert refused.value.code == "unknown_sku"
        assert Order.objects.filter(user=user).count() == 0  # the transaction still answers
