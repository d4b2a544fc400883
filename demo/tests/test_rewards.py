"""Article rewards: paid by balance or Alipay, the author credited exactly once, the limits,
the count of readers, and what a refund takes back from the author (or records as a debt)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from rewards.models import Article, Reward
from rewards.services import create_reward, debt_of

from zhifu.models import LedgerEntry, Order
from zhifu.services import payments, wallet

from .helpers import bobs_article, once, refund

pytestmark = pytest.mark.django_db


def _paid_reward(user: Any, article: Article, amount: str) -> Order:
    order = create_reward(user, article, amount, "", "balance")
    payments.start_payment(order, "balance", user=user)
    order.refresh_from_db()
    return order


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
    assert reward.status == Reward.Status.PAID and reward.message == "thanks!"


def test_the_reward_count_counts_people_not_rewards(seeded: dict[str, Any]) -> None:
    alice, carol = seeded["alice"], seeded["carol"]
    wallet.post_entry(carol, Decimal("10.00"), "adjustment", memo="test")
    article = bobs_article()
    _paid_reward(alice, article, "2")
    _paid_reward(alice, article, "5")
    _paid_reward(carol, article, "1")
    article.refresh_from_db()
    assert (article.reward_count, article.reward_total) == (2, Decimal("8.00"))
    page = Client().get(f"/articles/{article.pk}/").content.decode()
    assert 'data-count="2"' in page
    listing = Client().get("/articles/").content.decode()
    assert "2 人打赏" in listing


def test_cannot_reward_own_article_page_and_api(seeded: dict[str, Any]) -> None:
    bob = seeded["bob"]
    article = bobs_article()
    client = Client()
    client.force_login(bob)
    page = client.get(f"/articles/{article.pk}/")
    assert b'data-testid="own-article"' in page.content
    response = client.post(
        f"/articles/{article.pk}/reward/", {"amount": "5", "channel": "balance", "once": once()}
    )
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
    client.cookies["django_language"] = "en"
    article = bobs_article()
    response = client.post(
        f"/articles/{article.pk}/reward/",
        {"amount": "5", "channel": "balance", "once": once()},
        follow=True,
    )
    assert "The wallet holds" in response.content.decode()
    article.refresh_from_db()
    assert article.reward_count == 0
    assert wallet.balance(seeded["bob"]) == Decimal("50.00")


@pytest.mark.parametrize(
    "amount,message",
    [
        ("0", "Enter an amount such as 50 or 12.30 (at most two decimals)."),
        ("-5", "Enter an amount such as 50 or 12.30 (at most two decimals)."),
        ("1e2", "Enter an amount such as 50 or 12.30 (at most two decimals)."),
        ("+5", "Enter an amount such as 50 or 12.30 (at most two decimals)."),
        ("1.234", "Enter an amount such as 50 or 12.30 (at most two decimals)."),
        ("²", "Enter an amount such as 50 or 12.30 (at most two decimals)."),
        ("10000.01", "A reward can be at most ¥10,000.00."),
    ],
)
def test_reward_amounts_are_plain_decimals_within_the_cap(
    en: Any, amount: str, message: str
) -> None:
    article = bobs_article()
    response = en.post(
        f"/articles/{article.pk}/reward/",
        {"custom_amount": amount, "channel": "balance", "once": once()},
        follow=True,
    )
    assert message in response.content.decode()
    assert not Order.objects.exists()


def test_reward_cap_is_a_setting(en: Any, settings: Any) -> None:
    settings.DEMO_REWARD_MAX = "50.00"
    article = bobs_article()
    response = en.post(
        f"/articles/{article.pk}/reward/",
        {"custom_amount": "50.01", "channel": "balance", "once": once()},
        follow=True,
    )
    assert "A reward can be at most ¥50.00." in response.content.decode()
    assert not Order.objects.exists()


def test_refunding_a_reward_takes_it_back_from_the_author(
    seeded: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    alice, bob = seeded["alice"], seeded["bob"]
    article = bobs_article()
    order = _paid_reward(alice, article, "20")
    refund(django_capture_on_commit_callbacks, order, Decimal("5.00"))
    assert wallet.balance(bob) == Decimal("65.00")  # 50 + 20 − 5
    article.refresh_from_db()
    assert article.reward_count == 1  # still rewarded after a partial refund

    refund(django_capture_on_commit_callbacks, order)
    assert wallet.balance(bob) == Decimal("50.00")
    article.refresh_from_db()
    assert (article.reward_count, article.reward_total) == (0, Decimal("0.00"))
    assert Reward.objects.get(order=order).status == Reward.Status.REFUNDED
    assert debt_of(bob) == Decimal("0.00")
    assert not wallet.audit()


def test_a_reward_refunded_when_the_author_spent_it_becomes_a_debt_repaid_from_later_rewards(
    seeded: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    """Decision (README, "Rewards on refund"): the reader is always refunded; the author's
    wallet gives what it holds (never negative) and the rest is a debt on the reward, repaid
    first from the author's next reward incomes."""
    alice, bob, carol = seeded["alice"], seeded["bob"], seeded["carol"]
    article = bobs_article()
    order = _paid_reward(alice, article, "20")  # bob: 50 + 20
    wallet.post_entry(bob, Decimal("-62.00"), "adjustment", memo="bob spent most of it")
    refund(django_capture_on_commit_callbacks, order)
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert wallet.balance(alice) == Decimal("200.00")  # the reader got everything back
    assert wallet.balance(bob) == Decimal("0.00")  # 8 taken, never negative
    assert Reward.objects.get(order=order).unrecovered == Decimal("12.00")
    assert debt_of(bob) == Decimal("12.00")
    bob_client = Client()
    bob_client.force_login(bob)
    bob_client.cookies["django_language"] = "en"
    page = bob_client.get("/wallet/").content.decode()
    assert 'data-testid="debt"' in page and "¥12.00" in page

    wallet.post_entry(carol, Decimal("30.00"), "adjustment", memo="test")
    _paid_reward(carol, article, "5")  # all 5 go to the debt
    assert (wallet.balance(bob), debt_of(bob)) == (Decimal("0.00"), Decimal("7.00"))
    _paid_reward(carol, article, "10")  # 7 repay the rest, 3 stay
    assert (wallet.balance(bob), debt_of(bob)) == (Decimal("3.00"), Decimal("0.00"))
    assert not wallet.audit()
