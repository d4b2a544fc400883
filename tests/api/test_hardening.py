"""Issue 9 for the API: one request is one order (Idempotency-Key), refunds need their
permissions, token endpoints are throttled, refresh tokens rotate and log out blacklists them,
oversized bodies and bad pages get clear errors, and the schema says all of that."""

from __future__ import annotations

import threading
import time
import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.core.factories import make_order
from zhifu.models import IdempotencyKey, LedgerEntry, Order
from zhifu.services import wallet

pytestmark = pytest.mark.django_db

BOOK = {"items": [{"sku": "book-1", "quantity": 1}]}


def error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def post(client, path, data, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(path, data, format="json", **headers)


# -- Idempotency-Key ------------------------------------------------------------------------------


def test_same_key_and_body_give_the_same_order_and_answer(buyer_api, product):
    key = str(uuid.uuid4())
    first = post(buyer_api, "/api/orders/", BOOK, key)
    again = post(buyer_api, "/api/orders/", BOOK, key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert Order.objects.count() == 1
    # without a key, every request is a new order
    post(buyer_api, "/api/orders/", BOOK)
    assert Order.objects.count() == 2


def test_same_key_with_another_body_is_refused(buyer_api, product):
    key = "order-1"
    assert post(buyer_api, "/api/orders/", BOOK, key).status_code == 201
    other = {"items": [{"sku": "book-1", "quantity": 2}]}
    err = error(post(buyer_api, "/api/orders/", other, key), 409, "idempotency_key_reused")
    assert "Idempotency-Key" in err["message"]
    # the same key on another endpoint is another key
    assert post(buyer_api, "/api/wallet/top-up/", {"amount": "5"}, key).status_code == 201
    assert Order.objects.count() == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "订单"], ids=repr)
def test_bad_keys_get_a_clear_400(buyer_api, product, key):
    headers = {"HTTP_IDEMPOTENCY_KEY": key.encode("utf-8").decode("latin-1")}
    response = buyer_api.post("/api/orders/", BOOK, format="json", **headers)
    err = error(response, 400, "invalid_idempotency_key")
    assert "255" in err["message"]
    assert Order.objects.count() == 0


def test_top_up_honours_the_key(buyer_api):
    a = post(buyer_api, "/api/wallet/top-up/", {"amount": "10"}, "t-1")
    b = post(buyer_api, "/api/wallet/top-up/", {"amount": "10.00"}, "t-1")  # the same amount
    assert a.status_code == b.status_code == 201 and a.json() == b.json()
    error(
        post(buyer_api, "/api/wallet/top-up/", {"amount": "11"}, "t-1"),
        409,
        "idempotency_key_reused",
    )
    assert Order.objects.filter(kind="topup").count() == 1


def test_wallet_payment_in_the_creating_call_is_made_once(buyer_api, user, product):
    wallet.post_entry(user, "30.00", "adjustment")
    body = {**BOOK, "channel": "balance"}
    first = post(buyer_api, "/api/orders/", body, "pay-once")
    again = post(buyer_api, "/api/orders/", body, "pay-once")
    assert first.status_code == again.status_code == 201, again.content
    assert first.json()["payment"]["paid"] is True
    assert again.json() == first.json()
    assert wallet.balance(user) == Decimal("17.70")
    assert LedgerEntry.objects.filter(kind="payment").count() == 1


def test_a_retry_after_a_failed_answer_tries_again_at_once(buyer_api, product):
    """The order was made but starting the payment failed (the gateway is down): a retry with
    the same key does not wait for an answer that will never come, and makes no second order."""
    body = {**BOOK, "channel": "alipay_qr"}
    error(post(buyer_api, "/api/orders/", body, "qr-1"), 503, "gateway_unavailable")
    started = time.monotonic()
    error(post(buyer_api, "/api/orders/", body, "qr-1"), 503, "gateway_unavailable")
    assert time.monotonic() - started < 5
    assert Order.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_requests_create_one_order(fake_alipay, user, product):
    n = 5
    token = str(RefreshToken.for_user(user).access_token)
    barrier = threading.Barrier(n)
    answers: list[object] = []

    def send() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Bearer " + token)
        try:
            barrier.wait()
            response = post(client, "/api/orders/", BOOK, "same-submit")
            answers.append((response.status_code, response.json()["out_trade_no"]))
        except Exception as exc:  # reported by the assertion below
            answers.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    order = Order.objects.get()
    assert answers == [(201, order.out_trade_no)] * n
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_wallet_payments_pay_once_and_answer_alike(fake_alipay, user, product):
    """The wallet payment happens after the order's transaction (the answer's phase): the
    requests that did not create the order wait for the first one's answer."""
    wallet.post_entry(user, "100.00", "adjustment")
    n = 4
    token = str(RefreshToken.for_user(user).access_token)
    barrier = threading.Barrier(n)
    answers: list[object] = []

    def send() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Bearer " + token)
        try:
            barrier.wait()
            response = post(client, "/api/orders/", {**BOOK, "channel": "balance"}, "pay-1")
            answers.append((response.status_code, response.json()))
        except Exception as exc:  # reported by the assertion below
            answers.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    first = answers[0]
    assert isinstance(first, tuple) and first[0] == 201, answers
    assert answers == [first] * n
    assert first[1]["payment"]["paid"] is True
    assert wallet.balance(user) == Decimal("87.70")
    assert Order.objects.count() == 1 and LedgerEntry.objects.filter(kind="payment").count() == 1


# -- refunds need permissions, not just is_staff --------------------------------------------------


def _client_for(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + str(RefreshToken.for_user(user).access_token))
    return client


def _grant(user, *codenames):
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="zhifu", codename__in=codenames)
    )


def test_staff_without_refund_permissions_cannot_list_or_refund(fake_alipay, staff, user):
    order = make_order(user)
    _grant(staff, "view_order", "change_order")
    client = _client_for(staff)
    error(client.get("/api/refunds/"), 403, "permission_denied")
    error(
        client.post("/api/refunds/", {"out_trade_no": order.out_trade_no}, format="json"),
        403,
        "permission_denied",
    )


def test_view_refund_lists_and_add_refund_refunds(fake_alipay, django_user_model, user):
    viewer = django_user_model.objects.create_user("viewer", password="pw")  # not even staff
    _grant(viewer, "view_refund")
    client = _client_for(viewer)
    assert client.get("/api/refunds/").status_code == 200
    order = make_order(user)
    error(
        client.post("/api/refunds/", {"out_trade_no": order.out_trade_no}, format="json"),
        403,
        "permission_denied",
    )
    refunder = django_user_model.objects.create_user("refunder", password="pw")
    _grant(refunder, "add_refund")
    error(  # past the permission: the order itself cannot be refunded (it is not paid)
        _client_for(refunder).post(
            "/api/refunds/", {"out_trade_no": order.out_trade_no}, format="json"
        ),
        409,
        "order_not_refundable",
    )
    error(_client_for(refunder).get("/api/refunds/"), 403, "permission_denied")


# -- tokens: throttled, rotated, revocable -------------------------------------------------------


def test_password_guessing_is_throttled_per_address(api, user):
    for _ in range(20):
        wrong = api.post(
            "/api/token/", {"username": "x" + uuid.uuid4().hex, "password": "no"}, format="json"
        )
        assert wrong.status_code in (400, 401), wrong.content
    blocked = api.post(
        "/api/token/", {"username": "buyer", "password": "pw-buyer-1"}, format="json"
    )
    err = error(blocked, 429, "throttled")
    assert int(blocked["Retry-After"]) > 0
    assert "seconds" in err["message"]
    error(api.post("/api/token/refresh/", {"refresh": "x"}, format="json"), 429, "throttled")


def test_password_guessing_is_throttled_per_username_from_many_addresses(api, user):
    for n in range(10):
        wrong = api.post(
            "/api/token/",
            {"username": "buyer", "password": f"guess-{n}"},
            format="json",
            REMOTE_ADDR=f"10.0.0.{n + 1}",
        )
        error(wrong, 401, "authentication_failed")
    right = api.post(
        "/api/token/",
        {"username": "BUYER ", "password": "pw-buyer-1"},
        format="json",
        REMOTE_ADDR="10.0.1.1",
    )
    error(right, 429, "throttled")
    other = api.post(  # another account from that address is not blocked
        "/api/token/",
        {"username": "nobody", "password": "x"},
        format="json",
        REMOTE_ADDR="10.0.1.1",
    )
    error(other, 401, "authentication_failed")


def test_refresh_rotates_and_the_old_refresh_token_is_dead(api, user, token_for):
    tokens = token_for(user, "pw-buyer-1")
    rotated = api.post("/api/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["access"] and new["refresh"] and new["refresh"] != tokens["refresh"]
    error(
        api.post("/api/token/refresh/", {"refresh": tokens["refresh"]}, format="json"),
        401,
        "token_invalid",
    )
    assert (
        api.post("/api/token/refresh/", {"refresh": new["refresh"]}, format="json").status_code
        == 200
    )


def test_logout_blacklists_the_refresh_token(api, user, token_for):
    tokens = token_for(user, "pw-buyer-1")
    out = api.post("/api/token/logout/", {"refresh": tokens["refresh"]}, format="json")
    assert out.status_code == 204, out.content
    error(
        api.post("/api/token/refresh/", {"refresh": tokens["refresh"]}, format="json"),
        401,
        "token_invalid",
    )
    error(
        api.post("/api/token/logout/", {"refresh": tokens["refresh"]}, format="json"),
        401,
        "token_invalid",
    )
    error(api.post("/api/token/logout/", {"refresh": ""}, format="json"), 400, "invalid_request")


# -- oversized and malformed requests -------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/token/", "/api/orders/", "/api/wallet/top-up/"])
def test_a_body_over_the_upload_limit_is_a_413(buyer_api, settings, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"username": "%s", "password": "p", "items": [], "amount": "1"}' % ("x" * 5000)
    response = buyer_api.generic("POST", path, body, content_type="application/json")
    error(response, 413, "request_too_large")


def test_form_bodies_are_refused_clearly(buyer_api):
    response = buyer_api.generic(
        "POST", "/api/orders/", "items=1", content_type="application/x-www-form-urlencoded"
    )
    error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("page", ["", "null", "0", "-1", "1.5", "²", "abc", "9" * 30])
def test_bad_page_numbers_get_a_clear_400(buyer_api, page):
    err = error(buyer_api.get("/api/orders/", {"page": page}), 400, "invalid_request")
    assert "page" in err["message"]


def test_good_and_missing_pages(buyer_api, user):
    make_order(user)
    assert buyer_api.get("/api/orders/", {"page": "1"}).json()["count"] == 1
    assert buyer_api.get("/api/orders/").json()["count"] == 1
    error(buyer_api.get("/api/orders/", {"page": "2"}), 404, "not_found")


# -- the schema tells the truth -------------------------------------------------------------------


def test_schema_declares_errors_limits_and_the_idempotency_header(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    create = paths["/api/orders/"]["post"]
    assert {"201", "400", "401", "403", "409"} <= set(create["responses"])
    header = next(p for p in create["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header" and header["schema"]["pattern"]
    assert {"200", "400", "401", "429"} <= set(paths["/api/token/"]["post"]["responses"])
    assert {"401", "404"} <= set(paths["/api/orders/{out_trade_no}/"]["get"]["responses"])
    assert {"401", "403"} <= set(paths["/api/refunds/"]["get"]["responses"])
    page = next(p for p in paths["/api/orders/"]["get"]["parameters"] if p["name"] == "page")
    assert page["schema"]["minimum"] == 1
    sku = schema["components"]["schemas"]["Item"]["properties"]["sku"]
    assert sku["minLength"] == 1 and sku["pattern"]
    error_shape = schema["components"]["schemas"]["Error"]
    assert error_shape["required"] == ["error"]


# -- amounts: plain decimal strings, the schema's pattern exact --------------------------------


@pytest.mark.parametrize("maximum", ["1", "1.50", "99.99", "10000.00", "12345.67", "100000000"])
def test_the_amount_pattern_is_exactly_the_accepted_amounts(maximum):
    import re

    from zhifu.api.amounts import amount_pattern

    top = Decimal(maximum)
    pattern = re.compile(amount_pattern(top))
    plain = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]{1,2})?")
    candidates = {"", "0.", "1.", "05", "00.5", "-1", "+1", "1e2", " 5", "5 ", "0.001", "٣"}
    for whole in [*range(0, 120), int(top) - 1, int(top), int(top) + 1, int(top) * 10]:
        for fraction in ("", ".0", ".00", ".01", ".1", ".10", ".5", ".05", ".09", ".99", ".9"):
            candidates.add(f"{whole}{fraction}")
    for text in candidates:
        expected = bool(plain.fullmatch(text)) and Decimal("0.01") <= Decimal(text) <= top
        assert bool(pattern.fullmatch(text)) == expected, (maximum, text)


@pytest.mark.parametrize("amount", [5, 5.5, "1e2", "+5", " 5", "5.001", "0", "0.00", ""])
def test_top_up_amounts_are_plain_strings(buyer_api, amount):
    error(post(buyer_api, "/api/wallet/top-up/", {"amount": amount}), 400, "invalid_request")
    assert not Order.objects.exists()
