"""What a goods order's events do: count the goods sold (and unsold on a full refund)."""

from __future__ import annotations

from typing import Any

from django.db.models import F

from zhifu.models import Order

from .models import Goods


def _goods_counts(order: Any) -> list[tuple[int, int]]:
    """(goods pk, quantity) of the order's goods lines, by pk: every payment updates the
    counters in the same order, so two orders listing the same goods the other way round wait
    for each other instead of deadlocking (each UPDATE locks its row until commit)."""
    counts: dict[int, int] = {}
    for line in order.lines.all():
        if line.sku.startswith("goods:"):
            pk = int(line.sku.split(":")[1])
            counts[pk] = counts.get(pk, 0) + line.quantity
    return sorted(counts.items())


def on_paid(order: Any) -> None:
    for pk, quantity in _goods_counts(order):
        Goods.objects.filter(pk=pk).update(sold=F("sold") + quantity)


def on_refunded(order: Any, refund: Any) -> None:
    if order.status != Order.Status.REFUNDED:
        return
    for pk, quantity in _goods_counts(order):
        Goods.objects.filter(pk=pk, sold__gte=quantity).update(sold=F("sold") - quantity)
