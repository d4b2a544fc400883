"""Course site rules: coupons, credits, cart, checkout, fulfilment through Zhifu's signals
(enrollments, one grant per purchase), and what refunds give back."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from common.errors import DemoError
from courses import services
from courses.cart import Cart
from courses.models import Coupon, Course, CreditAccount, CreditEntry, Enrollment, UserCoupon
from django.utils import timezone, translation

from zhifu.models import Order
from zhifu.services import orders as order_service
from zhifu.services import payments, wallet

from .helpers import once, option, paid_course_order, refund, user_coupon

pytestmark = pytest.mark.django_db


def test_fixed_coupon_needs_its_minimum_spend(seeded: dict[str, Any]) -> None:
    alice = seeded["alice"]
    cheap = [option("python", 30)]  # ¥49 < ¥99 minimum
    bd = services.price(alice, cheap, user_coupon=user_coupon(alice, "WELCOME20"))
    assert bd.coupon_discount == Decimal("0.00")
    assert any("99" in e for e in bd.errors)
    enough = [option("python", 90)]  # ¥99
    bd = services.price(alice, enough, user_coupon=user_coupon(alice, "WELCOME20"))
    assert bd.errors == []
    assert (bd.subtotal, bd.coupon_discount, bd.total) == (
        Decimal("99.00"),
        Decimal("20.00"),
        Decimal("79.00"),
    )


def test_percentage_coupon_rounds_to_the_cent(seeded: dict[str, Any]) -> None:
    alice = seeded["alice"]
    opts = [option("python", 30), option("postgres", 30)]  # 49 + 29
    bd = services.price(alice, opts, user_coupon=user_coupon(alice, "TENOFF"))
    assert bd.coupon_discount == Decimal("7.80")
    assert bd.total == Decimal("70.20")


def test_expired_and_not_yet_valid_coupons_are_refused(seeded: dict[str, Any]) -> None:
    alice = seeded["alice"]
    opts = [option("python", None)]
    expired = services.price(alice, opts, user_coupon=user_coupon(alice, "OLD5"))
    assert expired.coupon_discount == 0 and "expired" in expired.errors[0]
    future = services.price(alice, opts, user_coupon=user_coupon(alice, "SOON15"))
    assert future.coupon_discount == 0 and "not valid yet" in future.errors[0]


def test_someone_elses_coupon_is_refused(seeded: dict[str, Any]) -> None:
    bob_coupon = user_coupon(seeded["bob"], "TENOFF")
    with pytest.raises(DemoError) as err:
        services.checkout(seeded["alice"], [option("python", 30).pk], user_coupon_id=bob_coupon.pk)
    assert err.value.code == "coupon_not_yours"
    assert not Order.objects.exists()


def test_credits_rate_and_limits(seeded: dict[str, Any]) -> None:
    alice = seeded["alice"]  # 500 credits
    opts = [option("postgres", 30)]  # ¥29
    bd = services.price(alice, opts, credits=150)
    assert bd.credits_discount == Decimal("15.00")  # 10 credits = ¥1
    assert bd.total == Decimal("14.00")
    assert bd.max_credits == 289  # leaves at least ¥0.01 to pay: (29.00 - 0.01) * 10
    too_many = services.price(alice, opts, credits=290)
    assert too_many.credits == 0 and too_many.errors
    not_owned = services.price(seeded["carol"], opts, credits=1)  # carol has none
    assert not_owned.errors and "0 credits" in not_owned.errors[0]


def test_checkout_reserves_then_payment_uses_coupon_and_credits(
    seeded: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    alice = seeded["alice"]
    cart = Cart(alice)
    first, second = option("python", 90), option("payments", None)
    cart.add(first)
    cart.add(second)
    cart.add(option("vue", 90))
    cart.set_selected({first.course_id, second.course_id})
    coupon = user_coupon(alice, "WELCOME20")

    order = services.checkout(alice, [first.pk, second.pk], user_coupon_id=coupon.pk, credits=100)

    # server-side prices: 99 + 399 - 20 - 10 = 468
    assert order.total_amount == Decimal("468.00")
    assert [a.kind for a in order.adjustments.all()] == ["coupon", "credits"]
    coupon.refresh_from_db()
    assert (coupon.status, coupon.order_no) == ("reserved", order.out_trade_no)
    account = CreditAccount.objects.get(user=alice)
    assert (account.balance, account.held, account.available) == (500, 100, 400)
    # the same coupon cannot go on a second order while reserved
    with pytest.raises(DemoError):
        services.checkout(alice, [option("postgres", 30).pk], user_coupon_id=coupon.pk)

    wallet.post_entry(alice, Decimal("300.00"), "adjustment", memo="test")  # ¥500 in the wallet
    with django_capture_on_commit_callbacks(execute=True):  # the cart is cleaned after commit
        payments.start_payment(order, "balance", user=alice)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    coupon.refresh_from_db()
    assert coupon.status == "used"
    account.refresh_from_db()
    assert (account.balance, account.held) == (400, 0)
    enrollments = {e.course_id: e for e in Enrollment.objects.filter(user=alice)}
    assert set(enrollments) == {first.course_id, second.course_id}
    assert enrollments[second.course_id].expires_at is None  # permanent
    expires = enrollments[first.course_id].expires_at
    assert expires is not None
    assert abs(expires - (order.paid_at + timedelta(days=90))) < timedelta(seconds=1)
    assert Course.objects.get(pk=first.course_id).students == 1
    # only the bought courses left the cart
    assert [line.course.code for line in Cart(alice).lines()] == ["vue"]


def test_cancel_and_expiry_release_coupon_and_credits(seeded: dict[str, Any]) -> None:
    alice = seeded["alice"]
    coupon = user_coupon(alice, "TENOFF")
    order = services.checkout(
        alice, [option("python", 30).pk], user_coupon_id=coupon.pk, credits=50
    )
    order_service.cancel_order(order, user=alice)
    coupon.refresh_from_db()
    assert (coupon.status, coupon.order_no) == ("available", "")
    account = CreditAccount.objects.get(user=alice)
    assert (account.balance, account.held) == (500, 0)

    order = services.checkout(
        alice, [option("python", 30).pk], user_coupon_id=coupon.pk, credits=50
    )
    assert order_service.expire_orders(now=order.expires_at + timedelta(seconds=1)) == 1
    order.refresh_from_db()
    assert order.status == Order.Status.EXPIRED
    coupon.refresh_from_db()
    account.refresh_from_db()
    assert coupon.status == "available" and account.held == 0
    assert not Enrollment.objects.filter(user=alice).exists()


def test_one_use_per_user(seeded: dict[str, Any]) -> None:
    alice = seeded["alice"]
    coupon = user_coupon(alice, "TENOFF")
    coupon.status = UserCoupon.Status.USED
    coupon.save()
    with pytest.raises(DemoError) as err:
        services.checkout(alice, [option("python", 30).pk], user_coupon_id=coupon.pk)
    assert "already been used" in err.value.message
    with pytest.raises(Exception):  # noqa: B017 - the database refuses a second copy
        UserCoupon.objects.create(user=alice, coupon=coupon.coupon)


def test_coupon_validity_window_checked_at_checkout(seeded: dict[str, Any]) -> None:
    alice = seeded["alice"]
    coupon = user_coupon(alice, "TENOFF")
    Coupon.objects.filter(pk=coupon.coupon_id).update(
        valid_until=timezone.now() - timedelta(minutes=1)
    )
    with pytest.raises(DemoError) as err:
        services.checkout(alice, [option("python", 30).pk], user_coupon_id=coupon.pk)
    assert "expired" in err.value.message


def test_cart_keeps_choices_and_refuses_foreign_options(seeded: dict[str, Any]) -> None:
    alice = seeded["alice"]
    cart = Cart(alice)
    django30 = option("python", 30)
    cart.add(django30)
    assert cart.set_option(django30.course_id, option("python", None).pk)
    assert not cart.set_option(django30.course_id, option("postgres", 30).pk)
    (line,) = cart.lines()
    assert line.option.days is None and line.selected
    cart.set_selected(set())
    assert cart.selected_lines() == []
    cart.remove(django30.course_id)
    assert cart.count() == 0
    assert Cart(seeded["bob"]).count() == 0


def test_checkout_page_shows_the_server_breakdown(
    alice_client: Any, seeded: dict[str, Any]
) -> None:
    opt = option("python", 90)
    coupon = user_coupon(seeded["alice"], "WELCOME20")
    page = alice_client.get(
        "/courses/checkout/", {"option": opt.pk, "coupon": coupon.pk, "credits": "20"}
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert "¥99.00" in text and "-¥20.00" in text and "-¥2.00" in text and "¥77.00" in text


def test_checkout_ignores_a_price_sent_by_the_client(
    alice_client: Any, seeded: dict[str, Any]
) -> None:
    opt = option("python", 30)
    response = alice_client.post(
        "/courses/checkout/",
        {
            "option": opt.pk,
            "action": "place",
            "credits": "0",
            "total": "0.01",
            "price": "0.01",
            "once": once(),
        },
    )
    order = Order.objects.get(user=seeded["alice"])
    assert response.status_code == 302 and order.out_trade_no in response["Location"]
    assert order.total_amount == Decimal("49.00")


@pytest.mark.parametrize(
    "credits,message",
    [
        ("-10", "Credits cannot be negative."),
        ("abc", "Credits must be a whole number such as 100, not “abc”."),
        ("1.5", "Credits must be a whole number such as 100, not “1.5”."),
        ("²", "Credits must be a whole number such as 100, not “²”."),
        ("501", "You have only 500 credits available."),
        ("490", "At most 489 credits can be used on this order."),
    ],
)
def test_checkout_says_each_credits_mistake_once(en: Any, credits: str, message: str) -> None:
    opt = option("python", 30)  # ¥49: at most 489 credits leave ¥0.01 to pay
    response = en.post(
        "/courses/checkout/",
        {"option": opt.pk, "action": "place", "credits": credits, "once": once()},
    )
    errors = re.findall(r'data-testid="checkout-error">([^<]+)<', response.content.decode())
    assert response.status_code == 200 and errors == [message]
    assert not Order.objects.exists()


def test_a_two_course_order_counts_every_course_in_its_subject(seeded: dict[str, Any]) -> None:
    alice = seeded["alice"]
    order = services.checkout(alice, [option("python", 30).pk, option("vue", 90).pk])
    assert order.subject == "Python 入门 and others, 2 courses"
    with translation.override("zh-hans"):
        order = services.checkout(alice, [option("payments", 30).pk, option("postgres", 30).pk])
    assert order.subject == "Django 支付实战 等 2 门课程"


def test_partial_refunds_return_credits_in_proportion(
    seeded: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    alice = seeded["alice"]
    order = paid_course_order(alice, credits=150)  # 299 − 20 − 15 = ¥264 paid
    assert order.total_amount == Decimal("264.00")
    account = CreditAccount.objects.get(user=alice)
    assert (account.balance, account.held) == (350, 0)

    refund(capture, order, Decimal("66.00"))
    account.refresh_from_db()
    assert account.balance == 350 + 37  # floor(150 × 66 / 264) = floor(37.5)
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_REFUNDED
    enrollment = Enrollment.objects.get(user=alice, course__code="python")
    assert not enrollment.revoked  # a partial refund keeps access

    refund(capture, order, Decimal("66.00"))
    account.refresh_from_db()
    assert account.balance == 350 + 75  # floor(150 × 132 / 264): cumulative, no rounding drift

    refund(capture, order)  # the rest: every credit is back
    account.refresh_from_db()
    assert account.balance == 500
    returned = CreditEntry.objects.filter(order_no=order.out_trade_no, kind="return")
    assert sorted(e.amount for e in returned) == [37, 38, 75]
    enrollment.refresh_from_db()
    assert enrollment.revoked
    assert user_coupon(alice, "WELCOME20").status == UserCoupon.Status.USED  # not given back


def test_full_refund_at_once_returns_all_credits_once(
    seeded: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    alice = seeded["alice"]
    order = paid_course_order(alice, credits=100)
    refund(django_capture_on_commit_callbacks, order)
    account = CreditAccount.objects.get(user=alice)
    assert account.balance == 500
    assert CreditEntry.objects.filter(order_no=order.out_trade_no, kind="return").count() == 1
    assert Course.objects.get(code="python").students == 0


def test_refunding_the_first_of_two_purchases_takes_back_exactly_its_days(
    seeded: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    alice = seeded["alice"]
    first = paid_course_order(alice, credits=0, days=30, coupon=None)
    second = paid_course_order(alice, credits=0, days=90, coupon=None)
    enrollment = Enrollment.objects.get(user=alice, course__code="python")
    assert first.paid_at is not None and second.paid_at is not None
    start = max(first.paid_at + timedelta(days=30), second.paid_at)
    assert enrollment.expires_at == start + timedelta(days=90)  # 30 + 90 days
    assert Course.objects.get(code="python").students == 1  # one person, two purchases

    refund(django_capture_on_commit_callbacks, first)
    enrollment.refresh_from_db()
    assert not enrollment.revoked
    assert enrollment.expires_at == second.paid_at + timedelta(days=90)  # the 30 days are gone
    assert Course.objects.get(code="python").students == 1

    refund(django_capture_on_commit_callbacks, second)
    enrollment.refresh_from_db()
    assert enrollment.revoked
    assert Course.objects.get(code="python").students == 0


def test_a_refunded_course_order_no_longer_lists_the_access_it_gave(
    en: Any, seeded: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    order = paid_course_order(seeded["alice"], credits=0, days=90, coupon=None)
    paid = en.get(f"/orders/{order.out_trade_no}/").content.decode()
    assert 'data-testid="enrollment"' in paid and "until" in paid
    refund(django_capture_on_commit_callbacks, order)
    page = en.get(f"/orders/{order.out_trade_no}/").content.decode()
    assert 'data-testid="enrollment"' not in page and "until" not in page
    assert 'data-testid="access-refunded"' in page and "Start studying" not in page
