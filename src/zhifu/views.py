"""The two endpoints Alipay calls: the asynchronous notification and the browser return.

Both are thin: they parse the request, call one service function, and render the result.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from .alipay import SignatureError
from .conf import zhifu_settings
from .exceptions import GatewayUnavailable
from .models import Order, PaymentAttempt
from .providers import alipay as alipay_provider
from .services.notifications import is_acknowledged, process_notification, record_notification
from .services.payments import sync_attempt

__all__ = ["alipay_notify", "alipay_return"]

log = logging.getLogger("zhifu.views")


# Not wrapped in ATOMIC_REQUESTS: the raw notification must commit before it is verified, and
# "success" may only be sent after the transaction that applied it committed.
@transaction.non_atomic_requests
@csrf_exempt  # Alipay's servers post here; they have no CSRF token. This view only.
@require_POST
def alipay_notify(request: HttpRequest) -> HttpResponse:
    """Store → verify → lock → check → act, then answer exactly ``success`` after commit
    (also for a duplicate) or ``fail`` so that Alipay retries."""
    try:
        notification = record_notification(
            body=request.body,
            headers=dict(request.headers),
            remote_addr=request.META.get("REMOTE_ADDR", ""),
        )
    except DatabaseError:
        log.exception("cannot store an Alipay notification; answering fail so Alipay retries")
        return HttpResponse("fail", content_type="text/plain", status=503)
    process_notification(notification)
    if is_acknowledged(notification):
        return HttpResponse("success", content_type="text/plain")
    status = 503 if notification.outcome == "error" else 400
    return HttpResponse("fail", content_type="text/plain", status=status)


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def _error(request: HttpRequest, code: str, message: str, status: int) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"error": {"code": code, "message": message}}, status=status)
    return render(
        request,
        "zhifu/return.html",
        {"order": None, "error": {"code": code, "message": message}},
        status=status,
    )


def order_status_payload(order: Order) -> dict[str, Any]:
    return {
        "out_trade_no": order.out_trade_no,
        "status": order.status,
        "paid": order.is_paid,
        "total_amount": f"{order.total_amount:.2f}",
        "subject": order.subject,
    }


@transaction.non_atomic_requests  # the query to Alipay must not run holding row locks
@require_GET
def alipay_return(request: HttpRequest) -> HttpResponse:
    """The buyer's browser comes back from the cashier. The signature is checked, and if the
    order is not paid yet Alipay is *queried*; the redirect itself never marks anything paid."""
    if not request.GET:
        return _error(
            request, "missing_parameters", _("this page is opened when returning from Alipay"), 400
        )
    try:
        data = alipay_provider.verify(request.GET)
    except SignatureError:
        log.warning("return with a bad signature remote=%s", request.META.get("REMOTE_ADDR", ""))
        return _error(request, "bad_signature", _("the link's signature is not valid"), 400)
    if data.get("app_id") != str(zhifu_settings.APP_ID):
        return _error(request, "bad_signature", _("the link is not for this shop"), 400)
    attempt = (
        PaymentAttempt.objects.select_related("order")
        .filter(out_trade_no=data.get("out_trade_no", ""))
        .first()
    )
    user = request.user
    if attempt is None or (
        user.is_authenticated and user.pk != attempt.order.user_id and not user.is_staff
    ):
        return _error(request, "order_not_found", _("no such order"), 404)
    order = attempt.order
    confirming = False
    if not order.is_paid and attempt.status in (
        PaymentAttempt.Status.PENDING,
        PaymentAttempt.Status.CLOSED,
    ):
        try:
            order = sync_attempt(attempt)
        except GatewayUnavailable:
            confirming = True
    if not order.is_paid and order.status == Order.Status.PENDING:
        confirming = True
    if _wants_json(request):
        return JsonResponse({**order_status_payload(order), "confirming": confirming})
    return render(
        request,
        "zhifu/return.html",
        {"order": order, "attempt": attempt, "confirming": confirming, "error": None},
    )
