"""Bad input gets a clear answer naming what is wrong, never a 500: malformed and tampered
form fields, Unicode digits (``²``, ``١٢``) wherever an id or a number is read, SKUs, and
``next=`` addresses off this site."""

from __future__ import annotations

from typing import Any

import pytest
from courses.cart import Cart
from courses.models import Course
from rewards.models import Article
from shop.models import Goods

from zhifu.models import Order

from .helpers import once, option

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path,data",
    [
        ("/courses/cart/", {"action": "remove:abc"}),
        ("/courses/cart/", {"action": "remove:"}),
        ("/courses/cart/", {"selected": ["x", "1"], "option-1": "999", "action": "checkout"}),
        ("/courses/cart/add/", {"option": "x"}),
        ("/courses/checkout/", {"option": "1", "action": "place", "credits": "1e5"}),
        ("/courses/checkout/", {"option": "1", "action": "place", "credits": "9" * 30}),
        ("/courses/checkout/", {"option": "1", "action": "place", "coupon": "9" * 30}),
        ("/articles/ARTICLE/reward/", {"amount": "NaN", "channel": "balance"}),
        ("/articles/ARTICLE/reward/", {"amount": "1e400", "channel": "balance"}),
        ("/articles/ARTICLE/reward/", {"amount": "5", "channel": "wechat"}),
        ("/wallet/top-up/", {"amount": "Infinity"}),
        ("/wallet/top-up/", {"amount": "-1"}),
        ("/orders/NOPE/pay/", {"channel": "balance"}),
        ("/orders/NOPE/cancel/", {}),
    ],
)
def test_malformed_form_input_never_answers_500(
    alice_client: Any, path: str, data: dict[str, Any]
) -> None:
    article = Article.objects.exclude(author__username="alice").first()
    assert article is not None
    data = {**data, "once": once()}
    response = alice_client.post(path.replace("ARTICLE", str(article.pk)), data)
    assert response.status_code in (200, 302, 400, 404), response.status_code
    assert not Order.objects.exists()


@pytest.fixture
def in_cart(alice_client: Any) -> Course:
    """alice has Python 入门 (30 days) in her cart."""
    python = option("python", 30)
    Cart(_user(alice_client)).add(python)
    return python.course


def _user(client: Any) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(pk=client.session["_auth_user_id"])


UNICODE_DIGITS = ["²", "١٢", "５"]


@pytest.mark.parametrize("digits", UNICODE_DIGITS)
def test_unicode_digits_in_ids_and_numbers_are_clear_errors(
    en: Any, in_cart: Course, digits: str
) -> None:
    """Each place that read a number with ``str.isdigit()`` then ``int()`` (11 of them): a
    message or a 400 page that says what is wrong."""
    from zhifu.services.orders import create_order_from_skus

    course = in_cart.pk
    opt = option("python", 30).pk
    mug = Goods.objects.get(code="mug")
    order = create_order_from_skus(_user(en), [{"sku": mug.sku}])
    answers = {
        "result page ?check=": en.get(f"/orders/{order.out_trade_no}/?check={digits}"),
        "my orders ?page=": en.get(f"/orders/?page={digits}"),
        "buy now quantity": en.post(
            f"/shop/{mug.pk}/buy/", {"quantity": digits, "once": once()}, follow=True
        ),
        "cart remove": en.post("/courses/cart/", {"action": f"remove:{digits}"}, follow=True),
        "cart selected": en.post(
            "/courses/cart/", {"selected": [digits], "action": "update"}, follow=True
        ),
        "cart validity": en.post(
            "/courses/cart/", {f"option-{course}": digits, "action": "update"}, follow=True
        ),
        "cart add option": en.post("/courses/cart/add/", {"option": digits}, follow=True),
        "checkout option": en.get(f"/courses/checkout/?option={digits}"),
        "checkout coupon": en.get(f"/courses/checkout/?option={opt}&coupon={digits}"),
        "checkout credits": en.get(f"/courses/checkout/?option={opt}&credits={digits}"),
    }
    for place, response in answers.items():
        text = response.content.decode()
        assert response.status_code in (200, 400, 404), (place, response.status_code)
        assert (
            "must be a number" in text
            or "Enter a quantity" in text
            or ("must be a whole number" in text)
        ), place
    assert Order.objects.count() == 1
    for sku in (f"goods:{digits}", f"course:{digits}:30", f"course:{course}:{digits}"):
        api = en.post("/api/orders/", {"items": [{"sku": sku}]}, content_type="application/json")
        assert api.status_code == 400 and api.json()["error"]["code"] == "unknown_sku", sku


def test_the_result_page_says_what_is_wrong_with_check(en: Any) -> None:
    from zhifu.services.orders import create_order_from_skus

    mug = Goods.objects.get(code="mug")
    order = create_order_from_skus(_user(en), [{"sku": mug.sku}])
    response = en.get(f"/orders/{order.out_trade_no}/?check=²")
    assert response.status_code == 400
    assert "“check” must be a number such as 0." in response.content.decode()


def test_cart_actions_never_follow_next_off_this_site(en: Any) -> None:
    for evil in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        response = en.post("/courses/cart/add/", {"option": "x", "next": evil})
        assert response.status_code == 302 and response["Location"] == "/courses/", evil
    course_page = f"/courses/{option('python', 30).course_id}/"
    ours = en.post("/courses/cart/add/", {"option": "", "next": course_page})
    assert ours["Location"] == course_page
