"""What a goods order's events do: count the goods sold (and unsold on a full refund)."""

from __future__ import annotations

from typing import Any

from django.db.models import F

from zhifu.models import Order

from .models import Goods


def _goods_lines(order: Any) -> list[Any]:
    return [line for line in order.lines.all() if line.sku.startswith("goods:")]


def on_paid(order: Any) -> None:
    for line in _goods_lines(order):
        Goods.objects.filter(pk=int(line.sku.split(":")[1])).update(sold=F("sold") + line.quantity)


def on_refunded(order: Any, refund: Any) -> None:
    if order.status != Order.Status.REFUNDED:
        return
    for line in _goods_lines(order):
        Goods.objects.filter(pk=int(line.sku.split(":")[1]), sold__gte=line.quantity).update(
            sold=F("sold") - line.quantity
        )
