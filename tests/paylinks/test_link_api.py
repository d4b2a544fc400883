"""The staff API of payment links: who may, creating (once per Idempotency-Key), listing,
detail, errors in the API's one shape, and the schema."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from zhifu.models import Order
from zhifu.paylinks.models import PaymentLink
from zhifu.paylinks.services import create_link

pytestmark = pytest.mark.django_db

URL = "/api/links/"


@pytest.fixture
def staff_api(fake_alipay, link_staff):
    client = APIClient()
    client.force_authenticate(link_staff)
    return client


def test_staff_create_a_link(staff_api, user):
    response = staff_api.post(
        URL,
        {"amount": "12.30", "subject": "定制课程", "buyer": user.username, "expires_in": 3600},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    link = PaymentLink.objects.get()
    assert body["code"] == link.code
    assert body["url"] == f"http://testserver/zhifu/link/{link.code}/"
    assert body["amount"] == "12.30" and body["subject"] == "定制课程"
    assert body["status"] == "pending" and body["buyer"] == user.username
    assert body["out_trade_no"] == link.order.out_trade_no
    assert body["created_by"] == "cashier"
    assert body["qr_svg"].startswith("<svg")
    assert link.order.user == user


def test_a_buyer_is_refused_with_403(fake_alipay, user, link_staff):
    client = APIClient()
    client.force_authenticate(user)
    response = client.post(URL, {"amount": "1", "subject": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert client.get(URL).status_code == 403
    link = create_link(created_by=link_staff, amount="1", subject="x")
    assert client.get(f"{URL}{link.code}/").status_code == 403
    assert not Order.objects.exclude(pk=link.order_id).exists()


def test_anonymous_is_401(fake_alipay):
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_staff_without_the_permission_is_refused(fake_alipay, django_user_model):
    member = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    client = APIClient()
    client.force_authenticate(member)
    assert client.post(URL, {"amount": "1", "subject": "x"}, format="json").status_code == 403
    assert client.get(URL).status_code == 403


def test_same_idempotency_key_gives_one_link(staff_api):
    data = {"amount": "5", "subject": "打赏"}
    first = staff_api.post(URL, data, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = staff_api.post(
        URL, {"amount": "5.00", "subject": "打赏"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert first.status_code == again.status_code == 201
    assert again.json()["code"] == first.json()["code"]
    assert again["Idempotent-Replayed"] == "true"
    assert PaymentLink.objects.count() == 1 and Order.objects.count() == 1
    other = staff_api.post(
        URL, {"amount": "6", "subject": "打赏"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert PaymentLink.objects.count() == 1
    without = staff_api.post(URL, data, format="json")
    assert without.status_code == 201 and PaymentLink.objects.count() == 2


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"amount": "0", "subject": "x"}, "amount"),
        ({"amount": 12.3, "subject": "x"}, "amount"),
        ({"amount": "1.005", "subject": "x"}, "amount"),
        ({"amount": "1", "subject": "   "}, "subject"),
        ({"amount": "1"}, "subject"),
        ({"amount": "1", "subject": "x", "buyer": "nobody"}, "buyer"),
        ({"amount": "1", "subject": "x", "expires_in": 5}, "expires_in"),
        ({"amount": "1", "subject": "x", "expires_in": 99999999}, "expires_in"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(staff_api, data, field):
    response = staff_api.post(URL, data, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert field in error["fields"] and error["message"].startswith(field)
    assert not PaymentLink.objects.exists()


def test_list_and_detail(staff_api, link_staff):
    old = create_link(created_by=link_staff, amount="1", subject="old")
    new = create_link(created_by=link_staff, amount="2", subject="new")
    listing = staff_api.get(URL)
    assert listing.status_code == 200
    assert [row["code"] for row in listing.json()["results"]] == [new.code, old.code]
    detail = staff_api.get(f"{URL}{old.code}/")
    assert detail.status_code == 200 and detail.json()["subject"] == "old"
    missing = staff_api.get(f"{URL}nope-nope-nope/")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "link_not_found"
    pending = staff_api.get(URL, {"status": "pending"}).json()["results"]
    assert len(pending) == 2
    assert staff_api.get(URL, {"status": "paid"}).json()["results"] == []
    bad = staff_api.get(URL, {"status": "whatever"})
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]


def test_schema_describes_the_endpoints(staff_api):
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    links = schema["paths"]["/api/links/"]
    assert {"get", "post"} <= set(links)
    assert "201" in links["post"]["responses"] and "403" in links["post"]["responses"]
    assert any(p["name"] == "Idempotency-Key" for p in links["post"]["parameters"])
    assert "/api/links/{code}/" in schema["paths"]
    request = links["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    name = request.rsplit("/", 1)[1]
    fields = schema["components"]["schemas"][name]["properties"]
    assert {"amount", "subject", "buyer", "expires_in"} <= set(fields)
    assert "pattern" in fields["amount"]


def test_schemathesis_finds_nothing_on_the_link_endpoints_as_staff(fake_alipay, link_staff):
    """Every check of schemathesis (the repository's schemathesis.toml) against /api/links/,
    in-process, as a staff member who may create links: no 5xx, answers as the schema says."""
    from pathlib import Path

    schemathesis = pytest.importorskip("schemathesis", reason="schemathesis not installed")
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections
    from rest_framework_simplejwt.tokens import RefreshToken
    from schemathesis.config import SchemathesisConfig

    config = SchemathesisConfig.from_path(
        str(Path(__file__).resolve().parents[2] / "schemathesis.toml")
    )
    token = RefreshToken.for_user(link_staff).access_token
    failures: dict[str, str] = {}
    # The WSGI handler closes "old" connections per request: that would close this test's own.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler(), config=config)
        operations = [
            result.ok()
            for result in schema.get_all_operations()
            if result.ok().path.startswith("/api/links/")
        ]
        assert len(operations) == 3
        _run_all(operations, {"Authorization": f"Bearer {token}"}, failures)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


def _run_all(operations, headers, failures) -> None:
    from hypothesis import HealthCheck, given, settings

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def run(case) -> None:
            case.call_and_validate(headers=headers)

        try:
            run()
        except Exception as exc:  # one failure must not hide the next
            failures[operation.label] = str(exc)[:3000]
