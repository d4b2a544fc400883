"""The demo's API, hardened (issue 9): rewards and course checkouts honour ``Idempotency-Key``,
and schemathesis, run in-process against the demo's own schema with a JWT, finds nothing: every
answer is one the schema declares, in its shape, and valid requests are accepted."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken
from rewards.models import Article
from schemathesis.config import SchemathesisConfig
from schemathesis.core.result import Ok

from zhifu.models import LedgerEntry, Order
from zhifu.services import wallet


def _jwt_client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def _someone_elses_article(user: Any) -> Article:
    article = Article.objects.exclude(author=user).first()
    assert article is not None
    return article


def test_reward_with_the_same_key_is_one_reward(seeded: dict[str, Any]) -> None:
    alice = seeded["alice"]
    article = _someone_elses_article(alice)
    client = _jwt_client(alice)
    before = wallet.balance(alice)
    path = f"/api/articles/{article.pk}/rewards/"
    body = {"amount": "5", "message": "thanks", "channel": "balance"}
    first = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="reward-1")
    again = client.post(
        path, {**body, "amount": "5.00"}, format="json", HTTP_IDEMPOTENCY_KEY="reward-1"
    )
    assert first.status_code == again.status_code == 201, again.content
    assert again.json() == first.json() and first.json()["paid"] is True
    assert wallet.balance(alice) == before - Decimal("5.00")
    assert Order.objects.filter(kind="reward").count() == 1
    assert LedgerEntry.objects.filter(kind="payment").count() == 1
    other = client.post(
        path, {**body, "amount": "6"}, format="json", HTTP_IDEMPOTENCY_KEY="reward-1"
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_course_checkout_with_the_same_key_is_one_order(seeded: dict[str, Any]) -> None:
    client = _jwt_client(seeded["alice"])
    sku = next(
        item["sku"]
        for item in client.get("/api/catalog/").json()
        if item["kind"] == "course" and item["sku"]
    )
    first = client.post(
        "/api/courses/checkout/", {"skus": [sku]}, format="json", HTTP_IDEMPOTENCY_KEY="c-1"
    )
    again = client.post(
        "/api/courses/checkout/", {"skus": [sku]}, format="json", HTTP_IDEMPOTENCY_KEY="c-1"
    )
    assert first.status_code == again.status_code == 201, again.content
    assert again.json()["out_trade_no"] == first.json()["out_trade_no"]
    assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.filter(user=seeded["alice"]).count() == 1


# -- schemathesis ---------------------------------------------------------------------------------


# The repository's schemathesis.toml (what `schemathesis run` reads there too): every check at
# its defaults, but a 400 naming a data-dependent rule (unknown SKU...) is an expected answer.
CONFIG = SchemathesisConfig.from_path(
    str(Path(__file__).resolve().parents[2] / "schemathesis.toml")
)

# Examples per operation: enough to meet every declared answer, bounded for the suite's time.
EXAMPLES = 30


def test_schemathesis_finds_nothing(seeded: dict[str, Any], live_gateway: Any) -> None:
    """Every operation of the demo's schema (Zhifu's API and the demo's), loaded from the WSGI
    app itself (no server, no network), with alice's JWT; Alipay is a real sandbox so that
    paying by QR code gets a real answer. All of schemathesis's checks run."""
    from demo_site.wsgi import application

    # The WSGI handler closes "old" database connections when a request starts and finishes; in
    # a test that runs inside one transaction that closes the test's own connection (PostgreSQL:
    # "the connection is closed"). Django's test client unhooks the same receiver.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        _run_schemathesis(application, seeded)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _run_schemathesis(application: Any, seeded: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG)
    token = RefreshToken.for_user(seeded["alice"]).access_token
    headers = {"Authorization": f"Bearer {token}"}
    failures: dict[str, str] = {}
    tested = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # an operation the schema cannot describe
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers)

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - one failure must not hide the next
            failures[operation.label] = str(exc)[:3000]
        tested += 1
    assert tested >= 15
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
