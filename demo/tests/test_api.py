"""The demo's API additions and Zhifu's API as the demo uses them: catalog, articles and
rewards, orders from SKUs, the course checkout with coupon and credits, the schema."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from courses.models import Course, Enrollment, ValidityOption
from django.test import Client
from rewards.models import Article
from shop.models import Goods

from zhifu.models import Order
from zhifu.services import wallet

from .helpers import bobs_article, option

pytestmark = pytest.mark.django_db


def test_reward_api_by_balance_and_article_detail(seeded: dict[str, Any]) -> None:
    client = Client()
    client.force_login(seeded["alice"])
    article = bobs_article()
    api = client.post(
        f"/api/articles/{article.pk}/rewards/",
        {"amount": "5.50", "message": "nice", "channel": "balance"},
        content_type="application/json",
    )
    assert api.status_code == 201, api.content
    body = api.json()
    assert body["paid"] is True and body["status"] == "paid" and body["total_amount"] == "5.50"
    detail = client.get(f"/api/articles/{article.pk}/").json()
    assert detail["reward_count"] == 1
    assert detail["rewards"][0]["message"] == "nice"


def test_catalog_api_lists_goods_and_courses_with_validity(seeded: dict[str, Any]) -> None:
    items = Client().get("/api/catalog/").json()
    skus = {i["sku"] for i in items}
    mug = Goods.objects.get(code="mug")
    assert f"goods:{mug.pk}" in skus
    django = next(i for i in items if i["title"] == Course.objects.get(code="python").title)
    assert django["kind"] == "course"
    assert [o["days"] for o in django["validity_options"]] == [30, 90, 180, None]
    assert django["validity_options"][-1]["sku"].endswith(":permanent")
    assert django["price"] == "49.00"


def test_order_from_catalog_skus_through_the_core_api(seeded: dict[str, Any]) -> None:
    client = Client()
    client.force_login(seeded["alice"])
    course = Course.objects.get(code="payments")
    response = client.post(
        "/api/orders/",
        {"items": [{"sku": f"course:{course.pk}:180", "quantity": 1, "price": "0.01"}]},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    order = Order.objects.get(user=seeded["alice"])
    assert order.total_amount == ValidityOption.objects.get(course=course, days=180).price
    unknown = client.post(
        "/api/orders/",
        {"items": [{"sku": f"course:{course.pk}:7"}]},
        content_type="application/json",
    )
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_sku"


def test_schema_documents_the_demo_routes(seeded: dict[str, Any]) -> None:
    client = Client()
    client.force_login(seeded["alice"])
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/catalog/" in schema["paths"]
    assert "/api/articles/{id}/rewards/" in schema["paths"]
    assert "/api/orders/" in schema["paths"]


def test_api_malformed_reward_and_order_requests_are_400s(alice_client: Any) -> None:
    article = Article.objects.exclude(author__username="alice").first()
    assert article is not None
    for body in (
        {"amount": "abc"},
        {"amount": None},
        {"amount": ["5"]},
        {"amount": "5", "channel": "x"},
        {"amount": "1e400", "channel": "balance"},
        {"amount": "5", "message": {"a": 1}},
    ):
        response = alice_client.post(
            f"/api/articles/{article.pk}/rewards/", body, content_type="application/json"
        )
        assert response.status_code == 400, body
        assert response.json()["error"]["code"], body
    broken = alice_client.post(
        f"/api/articles/{article.pk}/rewards/", "{", content_type="application/json"
    )
    assert broken.status_code == 400
    unknown = alice_client.post(
        "/api/orders/", {"items": [{"sku": "goods:1:"}]}, content_type="application/json"
    )
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_sku"
    assert not Order.objects.exists()


def test_a_course_bought_through_the_api_enrolls_and_shows_in_my_orders(
    en: Any, seeded: dict[str, Any]
) -> None:
    course_option = option("vue", None)
    mug = Goods.objects.get(code="mug")
    created = en.post(
        "/api/orders/",
        {"items": [{"sku": course_option.sku}, {"sku": mug.sku, "quantity": 2}]},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    no = created.json()["out_trade_no"]
    assert created.json()["total_amount"] == "277.00"  # 199 + 2 × 39, priced by the server
    wallet.post_entry(seeded["alice"], Decimal("100.00"), "adjustment", memo="test")
    paid = en.post(f"/api/orders/{no}/pay/", {"channel": "balance"}, "application/json")
    assert paid.status_code == 200 and paid.json()["paid"], paid.content
    enrollment = Enrollment.objects.get(user=seeded["alice"], course=course_option.course)
    assert enrollment.expires_at is None
    assert Goods.objects.get(code="mug").sold == 2
    page = en.get("/orders/").content.decode()
    assert "Permanent" in page and 'data-testid="study"' in page


def test_api_course_checkout_with_coupon_and_credits(en: Any, seeded: dict[str, Any]) -> None:
    """What the tutorials' Vue client does at checkout, through the API alone."""
    mine = en.get("/api/me/coupons/").json()
    assert mine["credits"] == {"balance": 500, "held": 0, "available": 500, "credits_per_yuan": 10}
    welcome = next(c for c in mine["coupons"] if c["code"] == "WELCOME20")
    old = next(c for c in mine["coupons"] if c["code"] == "OLD5")
    skus = [option("python", 90).sku, option("payments", None).sku]

    quote = en.post(
        "/api/courses/quote/",
        {"skus": skus, "coupon": welcome["id"], "credits": 100},
        content_type="application/json",
    ).json()
    assert (quote["subtotal"], quote["total"], quote["errors"]) == ("498.00", "468.00", [])
    expired = en.post(
        "/api/courses/quote/", {"skus": skus, "coupon": old["id"]}, content_type="application/json"
    ).json()
    assert any("expired" in e for e in expired["errors"])

    refused = en.post(
        "/api/courses/checkout/",
        {"skus": skus, "coupon": old["id"]},
        content_type="application/json",
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "checkout_invalid"
    goods = en.post(
        "/api/courses/checkout/",
        {"skus": [Goods.objects.get(code="mug").sku]},
        content_type="application/json",
    )
    assert goods.status_code == 400 and goods.json()["error"]["code"] == "unknown_sku"
    body: dict[str, Any]
    for body in (
        {"skus": []},
        {"skus": "x"},
        {"skus": skus, "credits": -1},
        {"skus": skus, "coupon": "x"},
    ):
        bad = en.post("/api/courses/checkout/", body, content_type="application/json")
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request", body

    wallet.post_entry(seeded["alice"], Decimal("300.00"), "adjustment", memo="test")
    created = en.post(
        "/api/courses/checkout/",
        {"skus": skus, "coupon": welcome["id"], "credits": 100, "channel": "balance"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["paid"] and created.json()["total_amount"] == "468.00"
    after = en.get("/api/me/coupons/").json()
    assert after["credits"]["balance"] == 400
    assert next(c for c in after["coupons"] if c["code"] == "WELCOME20")["status"] == "used"
    assert Enrollment.objects.filter(user=seeded["alice"]).count() == 2


def test_reward_amount_validation(seeded: dict[str, Any]) -> None:
    client = Client()
    client.force_login(seeded["alice"])
    article = bobs_article()
    # the schema refuses what is not shaped like an amount (invalid_request); the rules refuse
    # the rest (invalid_amount, or amount_too_large above DEMO_REWARD_MAX)
    refused = {"invalid_request", "invalid_amount"}
    for bad, codes in [
        ("0", refused),
        ("-5", refused),
        ("abc", refused),
        ("1.234", refused),
        ("1e2", refused),
        ("20000", {*refused, "amount_too_large"}),  # above DEMO_REWARD_MAX
    ]:
        api = client.post(
            f"/api/articles/{article.pk}/rewards/",
            {"amount": bad, "channel": "balance"},
            content_type="application/json",
        )
        assert api.status_code == 400, bad
        assert api.json()["error"]["code"] in codes, bad
    assert not Order.objects.exists()
