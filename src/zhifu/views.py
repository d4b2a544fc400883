"""The endpoints gateways call: the asynchronous notification and the browser return, one pair
per provider (``<provider>/notify/`` and ``<provider>/return/``).

Both are thin: they parse the request, call one service function, and render its result.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import InterfaceError, OperationalError, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from .exceptions import ConfigurationError, ServiceUnavailable
from .models import Order
from .money import format_amount
from .services.notifications import receive_notification
from .services.returns import ReturnResult, handle_return

__all__ = ["notify", "order_status_payload", "payment_return"]

log = logging.getLogger("zhifu.views")


# Not wrapped in ATOMIC_REQUESTS: the raw notification must commit before it is verified, and
# the acknowledgement may only be sent after the transaction that applied it committed.
@transaction.non_atomic_requests
@csrf_exempt  # gateways' servers post here; they have no CSRF token. These views only.
@require_POST
def notify(request: HttpRequest, provider: str) -> HttpResponse:
    """Store → verify → lock → check → act, then the provider's acknowledgement after commit
    (also for a duplicate), or a refusal that makes the gateway retry."""
    try:
        ack = receive_notification(
            provider,
            body=request.body,
            headers=dict(request.headers),
            remote_addr=request.META.get("REMOTE_ADDR", ""),
        )
    except ConfigurationError:
        raise Http404("no such payment provider") from None
    return HttpResponse(ack.body, status=ack.status, content_type=ack.content_type)


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def order_status_payload(order: Order) -> dict[str, Any]:
    return {
        "out_trade_no": order.out_trade_no,
        "status": order.status,
        "paid": order.is_paid,
        "total_amount": format_amount(order.total_amount),
        "subject": order.subject,
    }


def _render(request: HttpRequest, result: ReturnResult) -> HttpResponse:
    error = result.error
    status = error.status if error is not None else 200
    if _wants_json(request):
        body: dict[str, Any]
        if error is not None:
            body = {"error": {"code": error.code, "message": error.message}}
        elif result.order is None:
            body = {"confirming": result.confirming, "sign_in": True}
        else:
            body = {**order_status_payload(result.order), "confirming": result.confirming}
        return JsonResponse(body, status=status)
    context = {
        "order": result.order,
        "attempt": result.attempt,
        "confirming": result.confirming,
        "anonymous": result.anonymous,
        "error": {"code": error.code, "message": error.message} if error is not None else None,
    }
    return render(request, "zhifu/return.html", context, status=status)


@transaction.non_atomic_requests  # the gateway query must not run holding row locks
@require_GET
def payment_return(request: HttpRequest, provider: str) -> HttpResponse:
    """The buyer's browser comes back from the cashier. The redirect is verified, and if the
    order is not paid yet the gateway is *queried*; the redirect never marks anything paid."""
    try:
        result = handle_return(provider, request.GET, request.user)
    except ConfigurationError:
        raise Http404("no such payment provider") from None
    except (OperationalError, InterfaceError):
        log.exception("database unavailable on a return from %s", provider)
        result = ReturnResult(error=ServiceUnavailable())
    return _render(request, result)
