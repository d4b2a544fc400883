"""``Idempotency-Key`` for the API's creating calls (orders, withdrawals…), on top of
:func:`zhifu.services.idempotency.run_once`.

Two phases, so that no transaction is open while a gateway is called:

1. ``create()`` makes the order (or other row) in the transaction that records the key (one,
   whatever the number of identical requests racing);
2. ``respond(order)`` builds the answer (it may start the payment, over HTTP); the answer is
   stored with the key, and every later request with that key and body gets it again, with
   ``Idempotent-Replayed: true``.

A retry that arrives while the first request is still in phase 2 waits for its answer (up to
:data:`WAIT_FOR_FIRST`), so that only one request starts the payment. If the first request
failed in phase 2 (the gateway was down), it says so in the key's row and a retry answers for
itself at once; if it vanished (its process died), a retry answers for itself after the wait.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import Q
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from ..exceptions import ZhifuError
from ..models import IdempotencyKey, Order
from ..services import idempotency

__all__ = ["HEADER", "create_once"]

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# How long a retry waits for the first request's answer (starting a payment at Alipay takes a
# second or two; a dead request is not waited for longer than this).
WAIT_FOR_FIRST = 10.0
# Stored instead of an answer when the first request failed after creating the order.
_FAILED = {"failed": True}


T = TypeVar("T")


def _load(ref: str) -> Any:
    return Order.objects.get(out_trade_no=ref)


def _ref(order: Any) -> str:
    return str(order.out_trade_no)


def _rows(request: Request, scope: str, key: str) -> Any:
    user_pk: Any = request.user.pk  # signed in: run_once refused anyone else
    return IdempotencyKey.objects.filter(user_id=user_pk, scope=scope, key=key)


def _replay(stored: dict[str, Any]) -> Response:
    response = Response(stored["body"], status=stored["status"])
    response[REPLAYED_HEADER] = "true"
    return response


def _snapshot(response: Response) -> dict[str, Any]:
    body = json.loads(json.dumps(response.data, cls=JSONEncoder))
    return {"status": response.status_code, "body": body}


def _answer_of_first(rows: Any) -> dict[str, Any] | None:
    """The first request's stored answer; None if it failed, or gave none within the wait."""
    deadline = time.monotonic() + WAIT_FOR_FIRST
    while True:
        stored = rows.values_list("response", flat=True).first()
        if stored is not None:
            return None if stored.get("failed") else stored
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)


def _store(rows: Any, snapshot: dict[str, Any]) -> dict[str, Any]:
    """Store ``snapshot`` unless an answer is stored already; the one stored."""
    if rows.filter(Q(response__isnull=True) | Q(response__failed=True)).update(response=snapshot):
        return snapshot
    stored = rows.values_list("response", flat=True).first()
    return snapshot if stored is None else stored


def create_once(
    request: Request,
    *,
    scope: str,
    data: Any,
    create: Callable[[], T],
    respond: Callable[[T], Response],
    load: Callable[[str], T] = _load,
    ref: Callable[[T], str] = _ref,
) -> Response:
    """``respond(create())``, once per ``Idempotency-Key`` (if the request has one). ``data``
    is the validated request: the same key with other data is a 409 ``idempotency_key_reused``.
    ``load``/``ref`` find what ``create`` made again from the key's row: an order by its
    ``out_trade_no`` unless told otherwise.
    """
    key = request.headers.get(HEADER)
    if key is None:
        return respond(create())
    order, created = idempotency.run_once(
        user=request.user,
        scope=scope,
        key=key,
        fingerprint=idempotency.fingerprint(data),
        create=create,
        load=load,
        ref=ref,
    )
    rows = _rows(request, scope, key)
    if not created:
        first = _answer_of_first(rows)
        if first is not None:
            return _replay(first)
    try:
        response = respond(order)
    except ZhifuError:
        rows.filter(response__isnull=True).update(response=_FAILED)
        raise
    mine = _snapshot(response)
    stored = _store(rows, mine)
    if stored != mine:  # another request with this key answered first: one answer for all
        return _replay(stored) if not created else Response(stored["body"], stored["status"])
    return response if created else _replay(stored)
