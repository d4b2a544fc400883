"""One receiver per Zhifu signal, dispatching by order kind and line SKU to each app.

Zhifu sends each signal exactly once per event inside the transaction that changed the order,
so every handler here is idempotent by construction; a handler that raises rolls the change back.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from zhifu.models import Order, OrderLine
from zhifu.services.orders import remember_related
from zhifu.signals import (
    order_cancelled,
    order_expired,
    order_paid,
    order_refunded,
    order_settling,
)


def _skus(order: Any) -> set[str]:
    # read once here; the shop and course handlers then use the same lines (no second query).
    # A plain filter costs less CPU than prefetch_related_objects() for one order.
    if "lines" not in getattr(order, "_prefetched_objects_cache", {}):
        remember_related(order, "lines", list(OrderLine.objects.filter(order_id=order.pk)))
    return {line.sku.split(":")[0] for line in order.lines.all()}


@receiver(order_settling, dispatch_uid="demo-order-settling")
def on_order_settling(sender: Any, order: Any, **kwargs: Any) -> None:
    from rewards import fulfilment as rewards

    if order.kind == Order.Kind.REWARD:
        rewards.on_settling(order)


@receiver(order_paid, dispatch_uid="demo-order-paid")
def on_order_paid(sender: Any, order: Any, **kwargs: Any) -> None:
    from courses import fulfilment as courses
    from rewards import fulfilment as rewards
    from shop import fulfilment as shop

    if order.kind == Order.Kind.REWARD:
        rewards.on_paid(order)
        return
    kinds = _skus(order)
    if "goods" in kinds:
        shop.on_paid(order)
    if "course" in kinds:
        courses.on_paid(order)


def _on_closed(order: Any) -> None:
    from courses import fulfilment as courses
    from rewards import fulfilment as rewards

    if order.kind == Order.Kind.REWARD:
        rewards.on_closed(order)
    else:
        courses.on_closed(order)


@receiver(order_cancelled, dispatch_uid="demo-order-cancelled")
def on_order_cancelled(sender: Any, order: Any, **kwargs: Any) -> None:
    _on_closed(order)


@receiver(order_expired, dispatch_uid="demo-order-expired")
def on_order_expired(sender: Any, order: Any, **kwargs: Any) -> None:
    _on_closed(order)


@receiver(order_refunded, dispatch_uid="demo-order-refunded")
def on_order_refunded(sender: Any, order: Any, refund: Any = None, **kwargs: Any) -> None:
    from courses import fulfilment as courses
    from rewards import fulfilment as rewards
    from shop import fulfilment as shop

    if order.kind == Order.Kind.REWARD:
        rewards.on_refunded(order, refund)
        return
    kinds = _skus(order)
    if "goods" in kinds:
        shop.on_refunded(order, refund)
    if "course" in kinds:
        courses.on_refunded(order, refund)
