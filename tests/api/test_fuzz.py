"""No 5xx from bad input: random and malformed requests to every API endpoint, the notify
endpoint and the return endpoint (hypothesis). Every API error keeps the
``{"error": {"code", "message"}}`` shape; every notification is stored raw whatever it holds.

The fake gateway (port 9) does not answer, so paying by QR code honestly answers 503
``gateway_unavailable``: that, and only that, 5xx is allowed.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.factories import make_attempt, make_order
from zhifu.models import Notification

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["12.30", "-1", "1e9", "0.001", "NaN", "", " ", "1" * 80, "٣", "¥5"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
channels = st.one_of(
    st.sampled_from(["alipay_page", "alipay_wap", "alipay_qr", "balance", "cash", ""]), scalars
)
skus = st.one_of(st.sampled_from(["book-1", "BOOK-1", " book-1 ", "nope"]), scalars)
items = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "sku": skus,
            "quantity": st.one_of(st.integers(-5, 20000), scalars),
            "price": scalars,
            "unit_price": scalars,
        },
    ),
    max_size=4,
)
order_payloads = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"items": st.one_of(items, json_values)},
        optional={"channel": channels, "total_amount": scalars, "amount": scalars},
    ),
)
out_trade_nos = st.one_of(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
        min_size=1,
        max_size=80,
    ),
    st.sampled_from(["NOSUCH", "Z" * 64, "Z" * 65, "..", "%00", "' OR 1=1 --"]),
)


def check(response, *, allow_gateway_down: bool = False) -> Any:
    """No 5xx (but an honest 503 gateway_unavailable if allowed); errors in Zhifu's shape."""
    status = response.status_code
    body = (
        response.json() if response.get("Content-Type", "").startswith("application/json") else None
    )
    if status >= 500:
        assert allow_gateway_down and status == 503, (status, response.content[:500])
        assert body["error"]["code"] == "gateway_unavailable"
    if status >= 400:
        assert body is not None, (status, response.content[:300])
        error = body["error"]
        assert isinstance(error["code"], str) and error["code"]
        assert isinstance(error["message"], str) and error["message"]
    return body


@FUZZ
@given(payload=order_payloads)
def test_create_order_with_anything(buyer_api, product, payload):
    response = buyer_api.post("/api/orders/", payload, format="json")
    body = check(response, allow_gateway_down=True)
    if response.status_code == 201:
        # prices come from the catalog whatever was sent
        lines = body["lines"]
        assert lines and all(line["unit_price"] == "12.30" for line in lines)
        assert Decimal(body["total_amount"]) == sum(Decimal(x["amount"]) for x in lines)


@FUZZ
@given(
    raw=st.binary(max_size=200),
    content_type=st.sampled_from(
        [
            "application/json",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "text/plain",
            "application/json; charset=gbk",
        ]
    ),
)
def test_raw_bodies_to_every_post_endpoint(buyer_api, user, raw, content_type):
    order = make_order(user)
    for url in (
        "/api/orders/",
        f"/api/orders/{order.out_trade_no}/pay/",
        f"/api/orders/{order.out_trade_no}/cancel/",
        "/api/wallet/top-up/",
        "/api/token/",
        "/api/token/refresh/",
    ):
        check(buyer_api.post(url, raw, content_type=content_type), allow_gateway_down=True)


@FUZZ
@given(out_trade_no=out_trade_nos, payload=json_values, channel=channels)
def test_bad_out_trade_no_in_urls(buyer_api, user, out_trade_no, payload, channel):
    base = f"/api/orders/{quote(out_trade_no, safe='')}/"
    for response in (
        buyer_api.get(base),
        buyer_api.post(base + "pay/", {"channel": channel}, format="json"),
        buyer_api.post(base + "pay/", payload, format="json"),
        buyer_api.post(base + "cancel/", payload, format="json"),
    ):
        body = check(response, allow_gateway_down=True)
        assert response.status_code in (400, 404), body
        if response.status_code == 404:
            assert body["error"]["code"] == "order_not_found"


@FUZZ
@given(channel=channels, extra=st.dictionaries(st.text(max_size=10), scalars, max_size=3))
def test_pay_my_order_with_any_channel(buyer_api, user, channel, extra):
    order = make_order(user)
    response = buyer_api.post(
        f"/api/orders/{order.out_trade_no}/pay/", {**extra, "channel": channel}, format="json"
    )
    check(response, allow_gateway_down=True)


@FUZZ
@given(payload=json_values, page=st.one_of(scalars, st.text(max_size=20)))
def test_wallet_top_up_and_listing_pages(buyer_api, payload, page):
    check(buyer_api.post("/api/wallet/top-up/", payload, format="json"))
    check(buyer_api.post("/api/wallet/top-up/", {"amount": payload}, format="json"))
    for url in ("/api/orders/", "/api/wallet/ledger/"):
        check(buyer_api.get(url, {"page": str(page)}))
    check(buyer_api.get("/api/wallet/"))


@FUZZ
@given(payload=json_values, amount=scalars, out_trade_no=out_trade_nos)
def test_refunds_endpoint_for_staff(api, staff, user, payload, amount, out_trade_no):
    staff.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="zhifu", codename__endswith="_refund")
    )
    api.force_authenticate(staff)
    order = make_order(user)
    check(api.post("/api/refunds/", payload, format="json"))
    for target in (order.out_trade_no, out_trade_no):
        response = api.post(
            "/api/refunds/", {"out_trade_no": target, "amount": amount}, format="json"
        )
        check(response)
        assert response.status_code in (400, 404, 409)  # a pending order cannot be refunded
    check(api.get("/api/refunds/", {"out_trade_no": out_trade_no}))


@FUZZ
@given(payload=json_values)
def test_token_endpoints(api, user, payload):
    check(api.post("/api/token/", payload, format="json"))
    check(api.post("/api/token/refresh/", payload, format="json"))
    check(api.post("/api/token/", {"username": payload, "password": payload}, format="json"))


# -- the endpoints Alipay and the buyer's browser call -------------------------------------------

form_fields = st.dictionaries(
    st.one_of(
        st.sampled_from(
            [
                "sign",
                "sign_type",
                "out_trade_no",
                "total_amount",
                "trade_status",
                "app_id",
                "charset",
                "notify_id",
                "out_biz_no",
                "refund_fee",
            ]
        ),
        st.text(max_size=10),
    ),
    st.text(max_size=60),
    max_size=8,
)


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=300),
        form_fields.map(lambda d: "&".join(f"{k}={v}" for k, v in d.items()).encode("utf-8")),
    ),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=gbk",
            "text/plain",
            "application/json",
            "",
        ]
    ),
)
def test_notify_never_500_and_stores_everything(fake_alipay, body, content_type):
    before = Notification.objects.count()
    # generic(): the bytes go out exactly as given (post() would re-encode them to the charset)
    response = Client().generic("POST", "/zhifu/alipay/notify/", body, content_type=content_type)
    assert response.status_code == 400, (response.status_code, response.content)
    assert response.content == b"fail"
    assert Notification.objects.count() == before + 1
    note = Notification.objects.order_by("-id").first()
    assert note.outcome == "rejected" and note.reason


@FUZZ
@given(mutations=form_fields)
def test_notify_with_a_genuine_notification_altered_at_random(fake_alipay, user, mutations):
    order = make_order(user)
    attempt = make_attempt(order)
    params = {**fake_alipay.notification(attempt), **mutations}
    response = Client().post(
        "/zhifu/alipay/notify/",
        fake_alipay.body(params),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code in (200, 400), response.content
    order.refresh_from_db()
    if order.is_paid:  # only an untouched signature, amount, app and seller can pay
        assert response.content == b"success"
        genuine = fake_alipay.notification(attempt)
        for key, value in mutations.items():
            # Alipay signs every non-empty parameter but sign and sign_type
            assert (
                genuine.get(key) == value
                or (key not in genuine and value == "")
                or (key == "sign_type" and value in ("RSA2", ""))
            ), (key, value)


@FUZZ
@given(query=form_fields, as_json=st.booleans())
def test_return_never_500(fake_alipay, query, as_json):
    headers = {"HTTP_ACCEPT": "application/json"} if as_json else {}
    response = Client().get("/zhifu/alipay/return/", query, **headers)
    assert response.status_code in (400, 404), response.status_code
    if as_json:
        error = json.loads(response.content)["error"]
        assert error["code"] and error["message"]


def test_notify_body_with_nul_bytes_is_stored(fake_alipay):
    """PostgreSQL text and jsonb cannot hold NUL: the body is still stored (NUL replaced)."""
    response = Client().generic(
        "POST",
        "/zhifu/alipay/notify/",
        b"out_trade_no=Z1%00&trade_status=\x00TRADE_SUCCESS&sign=\x00",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400 and response.content == b"fail"
    note = Notification.objects.get()
    assert note.outcome == "rejected"
    assert "\x00" not in note.body and "trade_status=" in note.body
    assert note.out_trade_no == ""  # nothing parsed from a body that did not verify is kept
