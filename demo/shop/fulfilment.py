"""What a goods order's events do: count the goods sold (and unsold on a full refund)."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import connection

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


@cache
def _statements() -> tuple[str, str]:
    """The two counter updates, built once from the model's metadata: a payment sends one
    ``UPDATE … SET sold = sold + n`` per goods (the ORM's ``filter().update(F() + n)`` compiled
    the same statement anew each time, about a sixth of a notification's CPU)."""
    qn = connection.ops.quote_name
    table = qn(Goods._meta.db_table)
    sold = qn(str(Goods._meta.get_field("sold").column))
    pk = qn(str(Goods._meta.get_field("id").column))
    # names from the model's metadata; every value is a parameter
    return (
        f"UPDATE {table} SET {sold} = {sold} + %s WHERE {pk} = %s",  # noqa: S608
        f"UPDATE {table} SET {sold} = {sold} - %s WHERE {pk} = %s AND {sold} >= %s",  # noqa: S608
    )


def on_paid(order: Any) -> None:
    add, _ = _statements()
    counts = _goods_counts(order)
    if not counts:
        return
    with connection.cursor() as cursor:
        for pk, quantity in counts:  # ascending pk: see _goods_counts
            cursor.execute(add, [quantity, pk])


def on_refunded(order: Any, refund: Any) -> None:
    if order.status != Order.Status.REFUNDED:
        return
    _, subtract = _statements()
    with connection.cursor() as cursor:
        for pk, quantity in _goods_counts(order):
            cursor.execute(subtract, [quantity, pk, quantity])
