"""What a reward order's events do. Called from ``common.fulfilment`` inside Zhifu's transaction,
once per event, so the author's wallet is credited exactly once.

A refunded reward is taken back from the author's wallet. When the wallet holds less than the
refund (the author spent it), the reader is refunded all the same, the wallet gives what it has
(it never goes negative), and the rest is recorded as a debt on the reward (``unrecovered``):
the author's next reward incomes repay it first, oldest debt first. Staff see the debt in the
admin, and the author on their wallet page.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from django.db.models import F
from django.utils import timezone

from zhifu.models import Order
from zhifu.services import wallet

from .models import Article, Reward

log = logging.getLogger("demo.rewards")
ZERO = Decimal("0.00")


def _reward(order: Any) -> Reward | None:
    return Reward.objects.select_for_update().select_related("article").filter(order=order).first()


def _lock_article(article_id: int) -> None:
    """Rewards of one article are counted one transaction at a time."""
    Article.objects.select_for_update().filter(pk=article_id).first()


def _count_readers(article_id: int) -> None:
    """``reward_count`` is the number of people who rewarded the article (paid, not fully
    refunded), however many times each did."""
    readers = (
        Reward.objects.filter(article_id=article_id, status=Reward.Status.PAID)
        .values("user")
        .distinct()
        .count()
    )
    Article.objects.filter(pk=article_id).update(reward_count=readers)


def on_settling(order: Any) -> None:
    """Wallet money is about to move for this reward (paid from the reader's wallet, or refunded
    to it): lock the reader's and the author's wallets now, in ascending id, before the payment
    locks the reader's. Two readers rewarding each other at the same instant then wait for each
    other instead of deadlocking (each would hold its own wallet and wait for the other's)."""
    reward = Reward.objects.select_related("article__author").filter(order=order).first()
    if reward is not None:
        wallet.lock_wallets([order.user, reward.article.author])


def on_paid(order: Any) -> None:
    reward = _reward(order)
    if reward is None or reward.status == Reward.Status.PAID:
        return
    _lock_article(reward.article_id)
    reward.status = Reward.Status.PAID
    reward.paid_at = order.paid_at or timezone.now()
    reward.save(update_fields=["status", "paid_at"])
    Article.objects.filter(pk=reward.article_id).update(
        reward_total=F("reward_total") + reward.amount
    )
    _count_readers(reward.article_id)
    author = reward.article.author
    wallet.post_entry(
        author,
        reward.amount,
        "reward_income",
        order=order,
        memo=f"reward from {order.user} for article #{reward.article_id}",
    )
    _repay_debts(author)


def _take_back(author: Any, amount: Decimal, order: Any, memo: str) -> Decimal:
    """Debit up to ``amount`` from the author's wallet; what was taken."""
    taken = min(amount, wallet.balance(author))
    if taken > ZERO:
        wallet.post_entry(author, -taken, "refund", order=order, memo=memo)
    return taken


def _repay_debts(author: Any) -> None:
    """Repay the author's debts from refunded rewards out of their wallet, oldest first."""
    debts = (
        Reward.objects.select_for_update()
        .filter(article__author=author, unrecovered__gt=0)
        .select_related("order")
        .order_by("pk")
    )
    for reward in debts:
        taken = _take_back(
            author, reward.unrecovered, reward.order, "refunded reward repaid from a later reward"
        )
        if taken <= ZERO:
            return
        Reward.objects.filter(pk=reward.pk).update(unrecovered=F("unrecovered") - taken)


def on_closed(order: Any) -> None:
    reward = _reward(order)
    if reward is not None and reward.status == Reward.Status.PENDING:
        reward.status = Reward.Status.CLOSED
        reward.save(update_fields=["status"])


def on_refunded(order: Any, refund: Any) -> None:
    """Take the refund back from the author; what the wallet cannot give becomes a debt."""
    reward = _reward(order)
    if reward is None or reward.status != Reward.Status.PAID:
        return
    amount = getattr(refund, "amount", None) or reward.amount
    taken = _take_back(reward.article.author, amount, order, "reward refunded")
    if taken < amount:
        reward.unrecovered += amount - taken
        reward.save(update_fields=["unrecovered"])
        log.warning(
            "reward refunded; author's wallet short, debt recorded order=%s refund=%s debt=%s",
            order.out_trade_no,
            amount,
            amount - taken,
        )
    if order.status == Order.Status.REFUNDED:
        _lock_article(reward.article_id)
        reward.status = Reward.Status.REFUNDED
        reward.save(update_fields=["status"])
        Article.objects.filter(pk=reward.article_id).update(
            reward_total=F("reward_total") - reward.amount
        )
        _count_readers(reward.article_id)
