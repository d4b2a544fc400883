"""Fulfilment hooks. Each is sent with ``sender=Order`` inside the database transaction that made
the change, exactly once per event; a receiver that raises rolls the change back. Side effects
outside the database (mail, cache, HTTP) belong in ``transaction.on_commit``.

- ``order_paid(order)``: the order became paid (never sent again for a duplicate notification,
  TRADE_FINISHED after TRADE_SUCCESS, a replay, or a return racing the notification).
- ``order_refunded(order, refund)``: a refund of the order succeeded (partial or full; see
  ``order.status`` and ``order.refunded_amount``).
- ``order_cancelled(order)``: the buyer cancelled a pending order.
- ``order_expired(order)``: a pending order passed its expiry unpaid.
"""

from django.dispatch import Signal

__all__ = ["order_cancelled", "order_expired", "order_paid", "order_refunded"]

order_paid = Signal()
order_refunded = Signal()
order_cancelled = Signal()
order_expired = Signal()
