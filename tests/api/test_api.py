from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from tests.core.factories import make_order
from zhifu.models import Order, PaymentAttempt
from zhifu.services import wallet

pytestmark = pytest.mark.django_db


def error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def test_token_obtain_and_refresh(api, user, token_for):
    tokens = token_for(user, "pw-buyer-1")
    refreshed = api.post("/api/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 200 and refreshed.json()["access"]
    error(
        api.post("/api/token/", {"username": "buyer", "password": "wrong"}, format="json"),
        401,
        "authentication_failed",
    )
    error(
        api.post("/api/token/refresh/", {"refresh": "garbage"}, format="json"), 401, "token_invalid"
    )


def test_anonymous_and_bad_tokens_get_json_errors(api):
    error(api.get("/api/orders/"), 401, "not_authenticated")
    api.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    error(api.get("/api/orders/"), 401, "token_invalid")


def test_session_auth_works_too(fake_alipay, user):
    client = APIClient()
    client.force_login(user)
    assert client.get("/api/orders/").status_code == 200


def test_create_order_prices_on_the_server(buyer_api, product):
    response = buyer_api.post(
        "/api/orders/",
        {"items": [{"sku": "book-1", "quantity": 2, "price": "0.01"}], "total_amount": "0.01"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["total_amount"] == "24.60"
    assert body["status"] == "pending"
    assert body["out_trade_no"]
    assert body["lines"] == [
        {
            "sku": "book-1",
            "title": "Python 入门",
            "unit_price": "12.30",
            "quantity": 2,
            "amount": "24.60",
        }
    ]
    assert Order.objects.get().total_amount == Decimal("24.60")


def test_create_order_and_start_paying_in_one_call(buyer_api, product):
    response = buyer_api.post(
        "/api/orders/", {"items": [{"sku": "book-1"}], "channel": "alipay_page"}, format="json"
    )
    assert response.status_code == 201
    payment = response.json()["payment"]
    assert payment["pay_url"].startswith("http://127.0.0.1:9/gateway.do?")
    assert payment["payment_out_trade_no"].endswith("_1")


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({}, 400, "invalid_request"),
        ({"items": []}, 400, "invalid_request"),
        ({"items": [{"sku": "book-1", "quantity": 0}]}, 400, "invalid_request"),
        ({"items": [{"sku": "book-1", "quantity": "lots"}]}, 400, "invalid_request"),
        ({"items": [{"sku": "nope"}]}, 400, "unknown_sku"),
        ({"items": [{"sku": "book-1"}], "channel": "paypal"}, 400, "invalid_request"),
        ({"items": "book-1"}, 400, "invalid_request"),
    ],
)
def test_bad_order_requests(buyer_api, product, payload, status, code):
    err = error(buyer_api.post("/api/orders/", payload, format="json"), status, code)
    if code == "invalid_request":
        assert "fields" in err


def test_malformed_json_and_wrong_method(buyer_api):
    error(
        buyer_api.post("/api/orders/", "{not json", content_type="application/json"),
        400,
        "malformed_request",
    )
    error(buyer_api.delete("/api/orders/"), 405, "method_not_allowed")


def test_list_is_mine_newest_first_paginated_in_constant_queries(
    buyer_api, user, other_user, django_assert_num_queries
):
    make_order(other_user)
    first = make_order(user, "1.00")
    with django_assert_num_queries(5):  # user (JWT), count, orders, lines, adjustments
        one = buyer_api.get("/api/orders/")
    assert [o["out_trade_no"] for o in one.json()["results"]] == [first.out_trade_no]
    for i in range(6):
        make_order(user, f"{i + 2}.00")
    with django_assert_num_queries(5):
        many = buyer_api.get("/api/orders/")
    body = many.json()
    assert body["count"] == 7
    amounts = [o["total_amount"] for o in body["results"]]
    assert amounts == ["7.00", "6.00", "5.00", "4.00", "3.00", "2.00", "1.00"]
    assert all(o["lines"] and o["status"] == "pending" for o in body["results"])


def test_another_users_order_is_404_everywhere(buyer_api, other_user):
    theirs = make_order(other_user)
    base = f"/api/orders/{theirs.out_trade_no}/"
    error(buyer_api.get(base), 404, "order_not_found")
    error(
        buyer_api.post(base + "pay/", {"channel": "alipay_page"}, format="json"),
        404,
        "order_not_found",
    )
    error(buyer_api.post(base + "cancel/"), 404, "order_not_found")
    error(buyer_api.get("/api/orders/NOSUCH/"), 404, "order_not_found")
    assert Order.objects.get(pk=theirs.pk).status == "pending"
    assert not PaymentAttempt.objects.exists()


def test_detail_pay_reuse_and_cancel(buyer_api, user):
    order = make_order(user)
    url = f"/api/orders/{order.out_trade_no}/"
    detail = buyer_api.get(url).json()
    assert detail["out_trade_no"] == order.out_trade_no and detail["payments"] == []
    first = buyer_api.post(url + "pay/", {"channel": "alipay_page"}, format="json").json()
    second = buyer_api.post(url + "pay/", {"channel": "alipay_page"}, format="json").json()
    assert first["payment_out_trade_no"] == second["payment_out_trade_no"]
    error(buyer_api.post(url + "pay/", {"channel": "cash"}, format="json"), 400, "invalid_request")
    cancelled = buyer_api.post(url + "cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    error(buyer_api.post(url + "cancel/"), 409, "order_not_pending")
    error(
        buyer_api.post(url + "pay/", {"channel": "alipay_page"}, format="json"),
        409,
        "order_not_payable",
    )


def test_balance_payment_and_wallet(buyer_api, user):
    order = make_order(user, "10.00")
    url = f"/api/orders/{order.out_trade_no}/pay/"
    error(buyer_api.post(url, {"channel": "balance"}, format="json"), 409, "insufficient_balance")
    assert Order.objects.get(pk=order.pk).status == "pending"
    assert not PaymentAttempt.objects.exists()  # nothing half-done
    wallet.post_entry(user, "15.00", "adjustment", memo="welcome")
    paid = buyer_api.post(url, {"channel": "balance"}, format="json")
    assert (
        paid.status_code == 200 and paid.json()["paid"] is True and paid.json()["status"] == "paid"
    )
    error(buyer_api.post(url, {"channel": "balance"}, format="json"), 409, "order_not_payable")
    assert buyer_api.get("/api/wallet/").json() == {"balance": "5.00", "currency": "CNY"}
    ledger = buyer_api.get("/api/wallet/ledger/").json()
    assert [(e["kind"], e["amount"]) for e in ledger["results"]] == [
        ("payment", "-10.00"),
        ("adjustment", "15.00"),
    ]
    assert ledger["results"][0]["out_trade_no"] == order.out_trade_no


def test_top_up_creates_a_topup_order(buyer_api):
    response = buyer_api.post("/api/wallet/top-up/", {"amount": "50.00"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "topup" and body["total_amount"] == "50.00"
    error(
        buyer_api.post("/api/wallet/top-up/", {"amount": "-1"}, format="json"),
        400,
        "invalid_request",
    )
    error(
        buyer_api.post("/api/wallet/top-up/", {"amount": "1.001"}, format="json"),
        400,
        "invalid_request",
    )
    pay = buyer_api.post(
        f"/api/orders/{body['out_trade_no']}/pay/", {"channel": "balance"}, format="json"
    )
    error(pay, 400, "invalid_channel")


def test_refunds_need_the_refund_permissions(buyer_api, api, user, staff, token_for, fake_alipay):
    order = make_order(user)
    error(buyer_api.get("/api/refunds/"), 403, "permission_denied")
    error(
        buyer_api.post("/api/refunds/", {"out_trade_no": order.out_trade_no}, format="json"),
        403,
        "permission_denied",
    )
    # staff, without the permissions: refused too (tests/api/test_hardening.py has the details)
    staff.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="zhifu", codename__in=["add_refund", "view_refund"]
        )
    )
    staff_api = APIClient()
    staff_api.credentials(HTTP_AUTHORIZATION="Bearer " + token_for(staff, "pw-staff-1")["access"])
    error(
        staff_api.post("/api/refunds/", {"out_trade_no": order.out_trade_no}, format="json"),
        409,
        "order_not_refundable",
    )
    error(
        staff_api.post("/api/refunds/", {"out_trade_no": "NOSUCH"}, format="json"),
        404,
        "order_not_found",
    )
    # a paid (balance) order is refunded at once, into the wallet
    wallet.post_entry(user, "12.30", "adjustment")
    from zhifu.services.payments import pay_with_balance

    pay_with_balance(order, user=user)
    error(
        staff_api.post(
            "/api/refunds/", {"out_trade_no": order.out_trade_no, "amount": "99.00"}, format="json"
        ),
        409,
        "refund_exceeds_paid",
    )
    response = staff_api.post(
        "/api/refunds/",
        {"out_trade_no": order.out_trade_no, "amount": "2.30", "reason": "late"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] in ("pending", "succeeded")
    assert staff_api.get("/api/refunds/").json()["count"] == 1


def test_schema_and_docs(buyer_api):
    schema = buyer_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/orders/",
        "/api/orders/{out_trade_no}/pay/",
        "/api/wallet/",
        "/api/refunds/",
        "/api/token/",
    ):
        assert path in paths
    assert buyer_api.get("/api/docs/").status_code == 200


def test_unexpected_errors_are_json_500(buyer_api, monkeypatch):
    from zhifu.services import wallet as wallet_service

    def boom(user):
        raise RuntimeError("bug")

    monkeypatch.setattr(wallet_service, "balance", boom)
    error(buyer_api.get("/api/wallet/"), 500, "internal_error")


def test_error_shape_and_auth_do_not_depend_on_the_sites_drf_defaults(
    settings, fake_alipay, user, other_user
):
    settings.REST_FRAMEWORK = {
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"]
    }
    client = APIClient()
    error(client.get("/api/orders/"), 401, "not_authenticated")
    client.force_login(user)
    theirs = make_order(other_user)
    error(client.get(f"/api/orders/{theirs.out_trade_no}/"), 404, "order_not_found")
