"""Buyers' refund requests: ask, decide (the site's policy or staff), and the way the money goes.

::

    request, created = request_refund(user, order, lines=[line_id, ...], reason="...")
    request = decide_by_policy(request)        # approved at once, or left pending for staff
    approve(request, by=staff_user)            # a refund through refund_order, the one pipeline
    reject(request, by=staff_user, reason="...")

The policy is ``ZHIFU["REFUND_REQUESTS"]``: ``AUTO_APPROVE_DAYS`` (0: never automatic) and
``AUTO_APPROVE``, the dotted path of a callable ``(order, lines) -> bool`` that may veto it (e.g.
"the course was not studied yet"). A request is approved automatically when the order was paid
at most ``AUTO_APPROVE_DAYS`` days ago and the callable (if any) says yes; otherwise it waits
for staff. Approval calls :func:`zhifu.services.refunds.refund_order` inside the request's
transaction, and the refund is sent to the gateway after the commit: the fulfilment reversal
(``order_refunded``) happens there as for any refund.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from ..conf import zhifu_settings
from ..exceptions import OrderError, ZhifuError
from ..logs import ctx
from ..models import Order, OrderLine, PaymentAttempt, Refund
from ..services.refunds import refund_order, refundable_amount
from ..services.transitions import lock
from ..signals import refund_request_decided, refund_requested
from .models import RefundRequest

__all__ = [
    "DEFAULTS",
    "RefundRequestError",
    "approve",
    "auto_approves",
    "decide_by_policy",
    "open_request",
    "policy",
    "reject",
    "request_refund",
    "requested_lines",
    "submit",
    "way_back",
]

log = logging.getLogger("zhifu.refundrequests")

DEFAULTS: dict[str, Any] = {"AUTO_APPROVE_DAYS": 0, "AUTO_APPROVE": ""}
MAX_REASON = 256
ZERO = Decimal("0.00")
REFUNDABLE = (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED)


class RefundRequestError(ZhifuError):
    """A refund request that cannot be made or decided; ``message`` names what is wrong."""

    code = "refund_request_error"
    _CONFLICTS = frozenset(
        {"order_not_refundable", "refund_exceeds_paid", "refund_request_open", "already_decided"}
    )

    def __init__(self, code: str | None = None, message: Any = None, **params: Any) -> None:
        super().__init__(code, message, **params)
        if self.code in self._CONFLICTS:
            self.status = 409


def policy() -> dict[str, Any]:
    """``ZHIFU["REFUND_REQUESTS"]`` over its defaults."""
    value = getattr(zhifu_settings, "REFUND_REQUESTS", None) or {}
    return {**DEFAULTS, **value}


def _paid_attempt(order: Order) -> PaymentAttempt | None:
    return order.attempts.filter(status=PaymentAttempt.Status.SUCCEEDED).first()


def _taken_lines(order: Order) -> set[int]:
    """Lines of the order in requests that are pending, or approved and not failed."""
    taken: set[int] = set()
    for req in order.refund_requests.exclude(status=RefundRequest.Status.REJECTED).select_related(
        "refund"
    ):
        if req.state != RefundRequest.State.REFUND_FAILED:
            taken.update(int(i) for i in req.lines)
    return taken


def requested_lines(order: Order) -> set[int]:
    """Ids of the order's lines already refunded or asked for (not available to a new request)."""
    return _taken_lines(order)


def open_request(order: Order) -> RefundRequest | None:
    """The order's request waiting for staff, if any."""
    return order.refund_requests.filter(status=RefundRequest.Status.PENDING).first()


def _clean_reason(reason: Any) -> str:
    text = str(reason or "").strip()
    if not text:
        raise RefundRequestError("invalid_reason", _("reason: say why you want a refund"))
    if any(ord(c) < 32 and c not in "\t\n\r" for c in text):
        raise RefundRequestError("invalid_reason", _("reason: control characters are not allowed"))
    if len(text) > MAX_REASON:
        raise RefundRequestError(
            "invalid_reason", _("reason: at most %(max)s characters"), max=MAX_REASON
        )
    return text


def _clean_lines(order: Order, lines: Iterable[Any] | None) -> list[OrderLine]:
    """The order's lines with these ids (none: the whole order), or an error naming the bad one."""
    if not lines:
        return []
    chosen: list[OrderLine] = []
    by_id = {line.pk: line for line in order.lines.all()}
    for raw in lines:
        try:
            pk = int(raw)
        except (TypeError, ValueError):
            raise RefundRequestError(
                "invalid_lines", _("lines: %(line)r is not a line number"), line=raw
            ) from None
        line = by_id.get(pk)
        if line is None:
            raise RefundRequestError(
                "invalid_lines", _("lines: the order has no line %(line)s"), line=pk
            )
        if line in chosen:
            raise RefundRequestError(
                "invalid_lines", _("lines: line %(line)s is given twice"), line=pk
            )
        chosen.append(line)
    return chosen


def _same(req: RefundRequest, line_ids: list[int], reason: str) -> bool:
    return sorted(int(i) for i in req.lines) == line_ids and req.reason == reason


def request_refund(
    user: Any, order: Order, *, lines: Iterable[Any] | None = None, reason: Any = ""
) -> tuple[RefundRequest, bool]:
    """Record the buyer's request (not yet decided): ``(request, True)``; the same request made
    again (a double submit) gives ``(that request, False)``. Raises :class:`RefundRequestError`
    (or ``order_not_found`` for another buyer's order)."""
    if getattr(user, "pk", None) is None or order.user_id != user.pk:
        raise OrderError("order_not_found")
    text = _clean_reason(reason)
    try:
        with transaction.atomic():
            order = lock(order)  # one decision at a time per order (the lock order: order first)
            chosen = _clean_lines(order, lines)
            line_ids = sorted(line.pk for line in chosen)
            for req in order.refund_requests.select_related("refund").order_by("-pk"):
                if req.status == RefundRequest.Status.REJECTED:
                    continue
                if _same(req, line_ids, text) and req.state != RefundRequest.State.REFUND_FAILED:
                    return req, False
                if req.status == RefundRequest.Status.PENDING:
                    raise RefundRequestError(
                        "refund_request_open",
                        _("a refund request for this order is already waiting for approval"),
                    )
            if order.status not in REFUNDABLE:
                raise RefundRequestError(
                    "order_not_refundable",
                    _("the order is %(status)s and cannot be refunded"),
                    status=Order.Status(order.status).label,
                )
            attempt = _paid_attempt(order)
            if attempt is None:
                raise RefundRequestError(
                    "order_not_refundable", _("the order has no successful payment")
                )
            available = refundable_amount(attempt)
            taken = _taken_lines(order)
            for line in chosen:
                if line.pk in taken:
                    raise RefundRequestError(
                        "invalid_lines",
                        _("lines: line %(line)s (%(title)s) is already refunded or requested"),
                        line=line.pk,
                        title=line.title,
                    )
            amount = min(sum((line.amount for line in chosen), ZERO), available)
            if not chosen:
                amount = available
            if amount <= ZERO:
                raise RefundRequestError("refund_exceeds_paid", _("nothing is left to refund"))
            req = RefundRequest.objects.create(
                order=order, user=user, lines=line_ids, amount=amount, reason=text
            )
            refund_requested.send(sender=RefundRequest, request=req)
    except IntegrityError:  # another pending request won a race the lock did not cover
        raise RefundRequestError(
            "refund_request_open",
            _("a refund request for this order is already waiting for approval"),
        ) from None
    log.info(
        "refund requested order=%s request=%s amount=%s",
        order.out_trade_no,
        req.pk,
        amount,
        extra=ctx("refund_requested", order=order),
    )
    return req, True


def _predicate() -> Callable[[Order, list[OrderLine]], bool] | None:
    path = policy().get("AUTO_APPROVE") or ""
    return import_string(path) if path else None


def auto_approves(req: RefundRequest, *, now: Any = None) -> bool:
    """Whether the site's policy approves ``req`` without staff."""
    days = policy().get("AUTO_APPROVE_DAYS") or 0
    order = req.order
    if not days or order.paid_at is None:
        return False
    if (now or timezone.now()) - order.paid_at > timedelta(days=days):
        return False
    check = _predicate()
    if check is None:
        return True
    lines = list(order.lines.filter(pk__in=req.lines)) if req.lines else list(order.lines.all())
    return bool(check(order, lines))


def decide_by_policy(req: RefundRequest) -> RefundRequest:
    """Approve ``req`` now if the policy says so (call outside a transaction: the refund goes to
    the gateway); otherwise it stays pending for staff. A refund that cannot be issued leaves
    the request pending (and logged) for staff to look at."""
    if req.status != RefundRequest.Status.PENDING:
        return req
    try:
        automatic = auto_approves(req)
    except Exception:  # a broken site predicate must not lose the request: staff decide
        log.exception(
            "the refund request policy failed for request %s; left for staff",
            req.pk,
            extra=ctx("refund_request_policy_failed", order=req.order),
        )
        return req
    if not automatic:
        return req
    try:
        return approve(req, by=None, automatic=True)
    except ZhifuError as exc:
        log.warning(
            "automatic approval of refund request %s failed: %s; left for staff",
            req.pk,
            exc,
            extra=ctx("refund_request_auto_failed", order=req.order),
        )
        req.refresh_from_db()
        return req


def submit(
    user: Any, order: Order, *, lines: Iterable[Any] | None = None, reason: Any = ""
) -> tuple[RefundRequest, bool]:
    """:func:`request_refund` then, for a new request, :func:`decide_by_policy`."""
    req, created = request_refund(user, order, lines=lines, reason=reason)
    if created:
        req = decide_by_policy(req)
    return req, created


def _pending(req: RefundRequest) -> tuple[Order, RefundRequest]:
    order = lock(Order(pk=req.order_id))
    row = lock(req)
    if row.status != RefundRequest.Status.PENDING:
        raise RefundRequestError(
            "already_decided",
            _("the refund request was already %(status)s"),
            status=RefundRequest.Status(row.status).label,
        )
    return order, row


def approve(req: RefundRequest, *, by: Any, automatic: bool = False) -> RefundRequest:
    """Approve a pending request: a refund of its amount through ``refund_order``. Returns the
    request after the gateway answered (outside an outer transaction); see ``state``."""
    with transaction.atomic():
        order, row = _pending(req)
        refund = refund_order(order, amount=row.amount, reason=row.reason[:256], by=row.user)
        row.status = RefundRequest.Status.APPROVED
        row.automatic = automatic
        row.decided_by = by if getattr(by, "pk", None) is not None else None
        row.decided_at = timezone.now()
        row.refund = refund
        row.save(
            update_fields=[
                "status",
                "automatic",
                "decided_by",
                "decided_at",
                "refund",
                "updated_at",
            ]
        )
        refund_request_decided.send(sender=RefundRequest, request=row)
    # refund_order queued the refund for after the commit, which has run now.
    log.info(
        "refund request approved order=%s request=%s refund=%s automatic=%s",
        order.out_trade_no,
        row.pk,
        refund.out_request_no,
        automatic,
        extra=ctx("refund_request_approved", order=order, refund=refund),
    )
    return RefundRequest.objects.select_related("refund", "order").get(pk=row.pk)


def reject(req: RefundRequest, *, by: Any, reason: Any) -> RefundRequest:
    """Reject a pending request; ``reason`` is shown to the buyer."""
    text = str(reason or "").strip()
    if not text:
        raise RefundRequestError("invalid_reason", _("reason: say why the request is rejected"))
    with transaction.atomic():
        order, row = _pending(req)
        row.status = RefundRequest.Status.REJECTED
        row.decided_by = by if getattr(by, "pk", None) is not None else None
        row.decided_at = timezone.now()
        row.rejection_reason = text[:MAX_REASON]
        row.save(
            update_fields=["status", "decided_by", "decided_at", "rejection_reason", "updated_at"]
        )
        refund_request_decided.send(sender=RefundRequest, request=row)
    log.info(
        "refund request rejected order=%s request=%s",
        order.out_trade_no,
        row.pk,
        extra=ctx("refund_request_rejected", order=order),
    )
    return row


def way_back(req: RefundRequest) -> str:
    """Where the money goes back: the label of the channel the order was paid through."""
    from ..providers import registry

    attempt = req.refund.attempt if req.refund is not None else _paid_attempt(req.order)
    if attempt is None:
        return ""
    try:
        return str(registry.channels().get(attempt.channel, attempt.channel))
    except ZhifuError:
        return attempt.channel


def refund_error(req: RefundRequest) -> str:
    """The gateway's reason when the request's refund failed, else empty."""
    refund: Refund | None = req.refund
    if refund is None or refund.status != Refund.Status.FAILED:
        return ""
    return refund.error_message or refund.error_code
