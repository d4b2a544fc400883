"""Rewarding an article: the amount is the reader's choice within limits; the author's wallet
is credited by ``rewards.fulfilment`` when (and only when) the order is paid."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from common.errors import DemoError
from django.db import transaction
from django.utils.translation import gettext as _

from zhifu.money import AmountError, parse_amount
from zhifu.services.orders import LineSpec, create_order

from .models import Article, Reward

MAX_REWARD = Decimal("10000.00")
CHANNELS = ("alipay_page", "alipay_wap", "alipay_qr", "balance")


def parse_reward_amount(value: object) -> Decimal:
    try:
        amount = parse_amount(value)
    except AmountError:
        raise DemoError(
            "invalid_amount", _("Enter an amount between ¥0.01 and ¥%(max)s.") % {"max": MAX_REWARD}
        ) from None
    if amount > MAX_REWARD:
        raise DemoError(
            "invalid_amount", _("Enter an amount between ¥0.01 and ¥%(max)s.") % {"max": MAX_REWARD}
        )
    return amount


def create_reward(user: Any, article: Article, amount: object, message: str, channel: str) -> Any:
    """Create a pending reward order; raise ``DemoError`` for a rule the reader broke."""
    if article.author_id == user.pk:
        raise DemoError("own_article", _("You cannot reward your own article."))
    if channel not in CHANNELS:
        raise DemoError("invalid_channel", _("Choose how to pay."))
    value = parse_reward_amount(amount)
    message = (message or "").strip()[:200]
    with transaction.atomic():
        order = create_order(
            user,
            lines=[
                LineSpec(
                    title=_("Reward for “%(title)s”") % {"title": article.title},
                    unit_price=value,
                    quantity=1,
                    item=article,
                    sku=f"reward:{article.pk}",
                    metadata={"article_id": article.pk, "author_id": article.author_id},
                )
            ],
            subject=_("Reward for “%(title)s”") % {"title": article.title},
            kind="reward",
            metadata={"site": "rewards", "article_id": article.pk},
        )
        Reward.objects.create(
            order=order,
            article=article,
            user=user,
            amount=value,
            message=message,
            channel=channel,
        )
    return order
