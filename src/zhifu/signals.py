"""Fulfilment hooks. Each is sent with ``sender=Order`` inside the database transaction that made
the change, exactly once per event; a receiver that raises rolls the change back. Side effects
outside the database (mail, cache, HTTP) belong in ``transaction.on_commit``.

- ``order_paid(order)``: the order became paid (never sent again for a duplicate notification,
  TRADE_FINISHED after TRADE_SUCCESS, a replay, or a return racing the notification).
- ``order_refunded(order, refund)``: a refund of the order succeeded (partial or full; see
  ``order.status`` and ``order.refunded_amount``).
- ``order_cancelled(order)``: the buyer cancelled a pending order.
- ``order_expired(order)``: a pending order passed its expiry unpaid.
- ``order_settling(order)``: wallet money is about to move for the order in this transaction (a
  payment from the wallet, or a refund back to it), before any wallet row is locked. A receiver
  whose fulfilment will touch other wallets (a reward credits the author) calls
  ``zhifu.wallet.lock_wallets([...])`` here, so that wallets are always locked in ascending id and
  two such payments crossing each other wait instead of deadlocking.
- ``refund_requested(request)`` / ``refund_request_decided(request)`` (``sender=RefundRequest``):
  a buyer asked for a refund; staff or the policy approved or rejected it (e.g. to notify staff
  or the buyer, in ``transaction.on_commit``).
"""

from django.dispatch import Signal

__all__ = [
    "order_cancelled",
    "order_expired",
    "order_paid",
    "order_refunded",
    "order_settling",
    "refund_request_decided",
    "refund_requested",
]

order_paid = Signal()
order_refunded = Signal()
order_cancelled = Signal()
order_expired = Signal()
order_settling = Signal()
refund_requested = Signal()
refund_request_decided = Signal()
