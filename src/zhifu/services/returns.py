"""The buyer's browser back from a gateway's cashier: a hint, never proof of payment.

:func:`handle_return` asks the provider to verify the redirect, checks that it is for this shop,
finds the attempt, and — if the order is not paid yet — asks the gateway (rate-limited per
attempt, so a signed return link cannot be used to hammer the gateway). What a visitor may see
depends on who they are: the buyer sees their order; an anonymous visitor only that the payment
was received and that they should sign in; anyone else, "no such order".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from ..exceptions import GatewayUnavailable, OrderError, ZhifuError
from ..models import Order, PaymentAttempt
from ..providers import registry
from ..providers.base import Rejected
from .payments import sync_attempt

__all__ = ["QUERY_INTERVAL", "ReturnResult", "handle_return"]

log = logging.getLogger("zhifu.views")

QUERY_INTERVAL = 5  # seconds between two gateway queries caused by returns of one attempt


@dataclass(frozen=True)
class ReturnResult:
    order: Order | None = None
    attempt: PaymentAttempt | None = None
    confirming: bool = False  # paid at the gateway maybe, not confirmed yet
    anonymous: bool = False  # the visitor is not signed in: show no order details
    error: ZhifuError | None = None


def _invalid(detail: str) -> ReturnResult:
    log.warning("return refused: %s", detail)
    return ReturnResult(
        error=ZhifuError("invalid_return", _("the link back from the payment page is not valid"))
    )


def _may_query(attempt: PaymentAttempt) -> bool:
    return bool(cache.add(f"zhifu:return-query:{attempt.pk}", 1, QUERY_INTERVAL))


def handle_return(provider_name: str, params: Mapping[str, Any], user: Any) -> ReturnResult:
    if not params:
        return ReturnResult(
            error=ZhifuError(
                "missing_parameters", _("this page is opened when returning from the payment page")
            )
        )
    try:
        provider = registry.get(provider_name)
        event = provider.parse_return(params)
    except Rejected as rejected:
        return _invalid(f"{rejected.reason}: {rejected.detail}")
    expected = provider.identity()
    if expected.app_id and event.identity.app_id != expected.app_id:
        return _invalid(f"app id {event.identity.app_id!r} is not ours")
    attempt = (
        PaymentAttempt.objects.select_related("order")
        .filter(out_trade_no=event.out_trade_no, provider=provider.name)
        .first()
    )
    signed_in = bool(getattr(user, "is_authenticated", False))
    if attempt is None or (
        signed_in and user.pk != attempt.order.user_id and not getattr(user, "is_staff", False)
    ):
        return ReturnResult(error=OrderError("order_not_found", _("no such order")))
    order = attempt.order
    confirming = False
    if (
        not order.is_paid
        and attempt.status in (PaymentAttempt.Status.PENDING, PaymentAttempt.Status.CLOSED)
        and _may_query(attempt)
    ):
        try:
            order = sync_attempt(attempt)
        except GatewayUnavailable:
            confirming = True
    if not order.is_paid and order.status == Order.Status.PENDING:
        confirming = True
    if not signed_in:
        return ReturnResult(confirming=confirming, anonymous=True)
    return ReturnResult(order=order, attempt=attempt, confirming=confirming)
