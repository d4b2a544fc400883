"""``Idempotency-Key`` for the API's order-creating calls, on top of
:func:`zhifu.services.idempotency.run_once`.

Two phases, so that no transaction is open while a gateway is called:

1. ``create()`` makes the order in the transaction that records the key (one order, whatever
   the number of identical requests racing);
2. ``respond(order)`` builds the answer (it may start the payment, over HTTP); the first answer
   is stored with the key, and every later request with that key and body gets it again, with
   ``Idempotent-Replayed: true``.

A retry that arrives while the first request is still in phase 2 answers for itself (starting a
payment again reuses the open attempt); if that fails (a wallet payment that the first request
just made), it waits briefly for the first request's answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from ..exceptions import ZhifuError
from ..models import Order
from ..services import idempotency

__all__ = ["HEADER", "create_once"]

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# How long a retry waits for the first request's answer when it cannot answer itself.
WAIT_FOR_FIRST = 10.0


def _load(ref: str) -> Order:
    return Order.objects.get(out_trade_no=ref)


def _ref(order: Order) -> str:
    return order.out_trade_no


def _replay(stored: dict[str, Any]) -> Response:
    response = Response(stored["body"], status=stored["status"])
    response[REPLAYED_HEADER] = "true"
    return response


def _snapshot(response: Response) -> dict[str, Any]:
    body = json.loads(json.dumps(response.data, cls=JSONEncoder))
    return {"status": response.status_code, "body": body}


def _wait_for_first(where: dict[str, Any]) -> dict[str, Any] | None:
    deadline = time.monotonic() + WAIT_FOR_FIRST
    while time.monotonic() < deadline:
        stored = idempotency.stored_response(**where)
        if stored is not None:
            return stored  # type: ignore[no-any-return]
        time.sleep(0.05)
    return None


def create_once(
    request: Request,
    *,
    scope: str,
    data: Any,
    create: Callable[[], Order],
    respond: Callable[[Order], Response],
) -> Response:
    """``respond(create())``, once per ``Idempotency-Key`` (if the request has one). ``data``
    is the validated request: the same key with other data is a 409 ``idempotency_key_reused``.
    """
    key = request.headers.get(HEADER)
    if key is None:
        return respond(create())
    where: dict[str, Any] = {"user": request.user, "scope": scope, "key": key}
    order, created = idempotency.run_once(
        user=request.user,
        scope=scope,
        key=key,
        fingerprint=idempotency.fingerprint(data),
        create=create,
        load=_load,
        ref=_ref,
    )
    if not created:
        stored = idempotency.stored_response(**where)
        if stored is not None:
            return _replay(stored)
    try:
        response = respond(order)
    except ZhifuError:
        if created:
            raise
        stored = _wait_for_first(where)
        if stored is None:
            raise
        return _replay(stored)
    mine = _snapshot(response)
    first = idempotency.remember_response(**where, response=mine)
    if not created:
        return _replay(first)
    if first != mine:  # a retry answered (and stored) before this request finished: one answer
        return Response(first["body"], status=first["status"])
    return response
