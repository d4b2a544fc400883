"""Rewarding an article: the amount is the reader's choice within limits; the author's wallet
is credited by ``rewards.fulfilment`` when (and only when) the order is paid."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from common import channels
from common.errors import DemoError
from common.inputs import limit, parse_yuan
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from zhifu.models import Order
from zhifu.money import format_yuan
from zhifu.services.orders import LineSpec, create_order

from .models import Article, Reward

CHANNELS = channels.all_channels()  # every channel Zhifu offers


def parse_reward_amount(value: object) -> Decimal:
    """A reward from ¥0.01 to ``DEMO_REWARD_MAX``, written as digits with at most two decimals."""
    maximum = limit("DEMO_REWARD_MAX")
    return parse_yuan(
        value,
        maximum=maximum,
        too_large=_("A reward can be at most %(max)s.") % {"max": format_yuan(maximum)},
    )


def create_reward(user: Any, article: Article, amount: object, message: str, channel: str) -> Any:
    """Create a pending reward order; raise ``DemoError`` for a rule the reader broke."""
    if article.author_id == user.pk:
        raise DemoError("own_article", _("You cannot reward your own article."))
    if channel not in channels.all_channels():  # the providers configured now
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
            kind=Order.Kind.REWARD,
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


def debt_of(author: Any) -> Decimal:
    """What refunds of the author's rewards could not take back from their wallet yet."""
    total = Reward.objects.filter(article__author=author, unrecovered__gt=0).aggregate(
        total=Sum("unrecovered")
    )["total"]
    return Decimal(total or 0).quantize(Decimal("0.01"))
