"""Shared by the demo's tests: one-time form tokens and orders in a known state."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from courses import services
from courses.models import UserCoupon, ValidityOption
from rewards.models import Article

from zhifu.models import Order
from zhifu.services import payments, refunds, wallet


def once() -> str:
    """A fresh one-time form token, as each rendering of an order-creating form carries."""
    from common.once import new_token

    return new_token()


def option(code: str, days: int | None) -> ValidityOption:
    return ValidityOption.objects.get(course__code=code, days=days)


def user_coupon(user: Any, code: str) -> UserCoupon:
    return UserCoupon.objects.select_related("coupon").get(user=user, coupon__code=code)


def bobs_article() -> Article:
    article = Article.objects.filter(author__username="bob").order_by("pk").first()
    assert article is not None
    return article


def paid_course_order(
    alice: Any,
    *,
    credits: int,
    code: str = "python",
    days: int | None = None,
    coupon: str | None = "WELCOME20",
) -> Order:
    """A course order (Python 入门 permanent, ¥299, with the ¥20 coupon by default) paid from
    the wallet (a refund of a balance payment goes back to the wallet: no gateway needed)."""
    order = services.checkout(
        alice,
        [option(code, days).pk],
        user_coupon_id=user_coupon(alice, coupon).pk if coupon else None,
        credits=credits,
    )
    wallet.post_entry(alice, order.total_amount, "adjustment", memo="test")
    payments.start_payment(order, "balance", user=alice)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def refund(capture: Any, order: Order, amount: Decimal | None = None) -> None:
    """Refund ``order`` (all that is left by default); executed after the commit, as in use."""
    with capture(execute=True):
        refunds.refund_order(order, amount=amount, reason="test")
