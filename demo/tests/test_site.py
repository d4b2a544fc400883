"""Rewards, wallet, the catalog API, CSRF, ownership of orders, i18n and the sample data."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from courses.models import Coupon, Course, UserCoupon, ValidityOption
from django.core.management import call_command
from django.test import Client
from rewards.models import Article, Reward
from rewards.services import create_reward
from shop.models import Goods

from zhifu.models import LedgerEntry, Order
from zhifu.services import payments, wallet

pytestmark = pytest.mark.django_db


def bobs_article() -> Article:
    return Article.objects.filter(author__username="bob").order_by("pk").first()  # type: ignore[return-value]


def test_reward_by_balance_credits_the_author_exactly_once(seeded: dict[str, Any]) -> None:
    alice, bob = seeded["alice"], seeded["bob"]
    article = bobs_article()
    order = create_reward(alice, article, "20", "thanks!", "balance")
    payments.start_payment(order, "balance", user=alice)
    # a second attempt to pay the same order changes nothing
    with pytest.raises(Exception):  # noqa: B017 - the core refuses: the order is not pending
        payments.start_payment(order, "balance", user=alice)

    article.refresh_from_db()
    assert (article.reward_count, article.reward_total) == (1, Decimal("20.00"))
    assert wallet.balance(alice) == Decimal("180.00")
    assert wallet.balance(bob) == Decimal("70.00")  # 50 + 20
    incomes = LedgerEntry.objects.filter(wallet__user=bob, kind="reward_income")
    assert [(e.amount, e.order_id) for e in incomes] == [(Decimal("20.00"), order.pk)]
    reward = Reward.objects.get(order=order)
    assert reward.status == "paid" and reward.message == "thanks!"


def test_cannot_reward_own_article_page_and_api(seeded: dict[str, Any]) -> None:
    bob = seeded["bob"]
    article = bobs_article()
    client = Client()
    client.force_login(bob)
    page = client.get(f"/articles/{article.pk}/")
    assert b'data-testid="own-article"' in page.content
    response = client.post(f"/articles/{article.pk}/reward/", {"amount": "5", "channel": "balance"})
    assert response.status_code == 302
    api = client.post(
        f"/api/articles/{article.pk}/rewards/",
        {"amount": "5", "channel": "balance"},
        content_type="application/json",
    )
    assert api.status_code == 403 and api.json()["error"]["code"] == "own_article"
    assert not Order.objects.filter(kind="reward").exists()


def test_reward_with_too_little_balance_shows_a_message(seeded: dict[str, Any]) -> None:
    carol = seeded["carol"]  # wallet ¥0
    client = Client()
    client.force_login(carol)
    article = bobs_article()
    response = client.post(
        f"/articles/{article.pk}/reward/", {"amount": "5", "channel": "balance"}, follow=True
    )
    assert "not enough" in response.content.decode() or "不足" in response.content.decode()
    article.refresh_from_db()
    assert article.reward_count == 0
    assert wallet.balance(seeded["bob"]) == Decimal("50.00")


def test_reward_amount_validation(seeded: dict[str, Any]) -> None:
    client = Client()
    client.force_login(seeded["alice"])
    article = bobs_article()
    for bad in ("0", "-5", "abc", "1.234", "20000"):
        api = client.post(
            f"/api/articles/{article.pk}/rewards/",
            {"amount": bad, "channel": "balance"},
            content_type="application/json",
        )
        assert api.status_code == 400, bad
        assert api.json()["error"]["code"] == "invalid_amount"
    assert not Order.objects.exists()


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


def test_csrf_is_enforced_on_site_forms_but_not_on_alipay_notify(seeded: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(seeded["alice"])
    mug = Goods.objects.get(code="mug")
    assert client.post(f"/shop/{mug.pk}/buy/").status_code == 403
    assert client.post("/wallet/top-up/", {"amount": "10"}).status_code == 403
    assert not Order.objects.exists()
    # the notification endpoint is exempt: an unsigned form is refused by Zhifu, not by CSRF
    notify = client.post("/zhifu/alipay/notify/", {"out_trade_no": "x"})
    assert notify.status_code != 403
    assert notify.content != b"success"


def test_buy_now_creates_an_order_and_another_user_cannot_see_it(
    alice_client: Any, seeded: dict[str, Any]
) -> None:
    mug = Goods.objects.get(code="mug")
    response = alice_client.post(f"/shop/{mug.pk}/buy/")
    order = Order.objects.get(user=seeded["alice"])
    assert response["Location"] == f"/orders/{order.out_trade_no}/pay/"
    assert order.total_amount == Decimal("39.00") and order.lines.get().sku == f"goods:{mug.pk}"
    assert alice_client.get(f"/orders/{order.out_trade_no}/pay/").status_code == 200
    bob = Client()
    bob.force_login(seeded["bob"])
    for url in ("", "pay/", "status/"):
        assert bob.get(f"/orders/{order.out_trade_no}/{url}").status_code == 404
    assert bob.post(f"/orders/{order.out_trade_no}/cancel/").status_code == 404
    assert order.out_trade_no not in bob.get("/orders/").content.decode()


def test_pay_by_balance_page_flow_and_already_paid_message(
    alice_client: Any, seeded: dict[str, Any]
) -> None:
    mug = Goods.objects.get(code="mug")
    alice_client.post(f"/shop/{mug.pk}/buy/")
    order = Order.objects.get(user=seeded["alice"])
    paid = alice_client.post(
        f"/orders/{order.out_trade_no}/pay/", {"channel": "balance"}, follow=True
    )
    order.refresh_from_db()
    assert order.status == "paid"
    assert 'data-status="paid"' in paid.content.decode()
    mug.refresh_from_db()
    assert mug.sold == 1
    again = alice_client.get(f"/orders/{order.out_trade_no}/pay/", follow=True)
    assert "already been paid" in again.content.decode() or "已经支付" in again.content.decode()
    cancel = alice_client.post(f"/orders/{order.out_trade_no}/cancel/", follow=True)
    order.refresh_from_db()
    assert order.status == "paid" and cancel.status_code == 200


def test_my_orders_lists_lines_status_and_actions(
    alice_client: Any, seeded: dict[str, Any]
) -> None:
    mug = Goods.objects.get(code="mug")
    alice_client.post(f"/shop/{mug.pk}/buy/")
    order = Order.objects.get(user=seeded["alice"])
    page = alice_client.get("/orders/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert order.out_trade_no in page and mug.name in page and "¥39.00" in page
    assert 'data-testid="go-pay"' in page and 'data-testid="cancel"' in page
    alice_client.post(f"/orders/{order.out_trade_no}/cancel/")
    order.refresh_from_db()
    assert order.status == "cancelled"
    page = alice_client.get("/orders/").content.decode()
    assert 'data-testid="go-pay"' not in page


def test_chinese_by_default_english_on_request(seeded: dict[str, Any]) -> None:
    client = Client()
    zh = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in zh and "课程" in zh
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    en = client.get("/").content.decode()
    assert '<html lang="en">' in en and "Courses" in en


def test_seed_demo_is_idempotent(seeded: dict[str, Any]) -> None:
    counts = (
        Goods.objects.count(),
        Course.objects.count(),
        ValidityOption.objects.count(),
        Coupon.objects.count(),
        UserCoupon.objects.count(),
        Article.objects.count(),
        LedgerEntry.objects.count(),
    )
    call_command("seed_demo", verbosity=0)
    again = (
        Goods.objects.count(),
        Course.objects.count(),
        ValidityOption.objects.count(),
        Coupon.objects.count(),
        UserCoupon.objects.count(),
        Article.objects.count(),
        LedgerEntry.objects.count(),
    )
    assert again == counts and counts[0] > 0 and counts[-1] == 2
    assert wallet.balance(seeded["alice"]) == Decimal("200.00")
