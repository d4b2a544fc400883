"""What a reward order's events do. Called from ``common.fulfilment`` inside Zhifu's transaction,
once per event, so the author's wallet is credited exactly once."""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import F
from django.utils import timezone

from zhifu.exceptions import InsufficientBalance
from zhifu.services import wallet

from .models import Article, Reward

log = logging.getLogger("demo.rewards")


def _reward(order: Any) -> Reward | None:
    return Reward.objects.select_for_update().select_related("article").filter(order=order).first()


def on_paid(order: Any) -> None:
    reward = _reward(order)
    if reward is None or reward.status == Reward.Status.PAID:
        return
    reward.status = Reward.Status.PAID
    reward.paid_at = order.paid_at or timezone.now()
    reward.save(update_fields=["status", "paid_at"])
    Article.objects.filter(pk=reward.article_id).update(
        reward_count=F("reward_count") + 1, reward_total=F("reward_total") + reward.amount
    )
    wallet.post_entry(
        reward.article.author,
        reward.amount,
        "reward_income",
        order=order,
        memo=f"reward from {order.user} for article #{reward.article_id}",
    )


def on_closed(order: Any) -> None:
    reward = _reward(order)
    if reward is not None and reward.status == Reward.Status.PENDING:
        reward.status = Reward.Status.CLOSED
        reward.save(update_fields=["status"])


def on_refunded(order: Any, refund: Any) -> None:
    """A refunded reward is taken back from the author, as far as the author's wallet allows."""
    reward = _reward(order)
    if reward is None or reward.status != Reward.Status.PAID:
        return
    amount = getattr(refund, "amount", reward.amount)
    try:
        wallet.post_entry(
            reward.article.author, -amount, "refund", order=order, memo="reward refunded"
        )
    except InsufficientBalance:
        log.warning(
            "reward refunded but author's wallet is short; order=%s amount=%s",
            order.out_trade_no,
            amount,
        )
    if str(order.status) == "refunded":
        reward.status = Reward.Status.REFUNDED
        reward.save(update_fields=["status"])
        Article.objects.filter(pk=reward.article_id).update(
            reward_count=F("reward_count") - 1, reward_total=F("reward_total") - reward.amount
        )
