"""Pages shared by the three sites: home, my orders, the pay (cashier choice) page, the result
page, cancel, and the wallet. Each view parses input, calls one Zhifu or demo service, and renders
its result; failures become page messages."""

from __future__ import annotations

import io
import logging
import socket
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from common.types import AuthenticatedHttpRequest
from zhifu.exceptions import (
    GatewayUnavailable,
    IllegalTransition,
    InsufficientBalance,
    OrderError,
    PaymentError,
    ZhifuError,
)
from zhifu.models import Order, OrderLine, PaymentAttempt
from zhifu.money import AmountError, parse_amount
from zhifu.services import orders as order_service
from zhifu.services import payments
from zhifu.services import wallet as wallet_service

log = logging.getLogger("demo")

ALIPAY_CHANNELS = ("alipay_page", "alipay_wap", "alipay_qr")
ALL_CHANNELS = (*ALIPAY_CHANNELS, "balance")
MAX_CHECKS = 20  # the result page asks Alipay at most this many times, every 3 s


def error_message(exc: Exception) -> str:
    """A readable, translated message for each failure a page can meet."""
    code = getattr(exc, "code", "")
    known = {
        "insufficient_balance": _("Your wallet balance is not enough for this payment."),
        "gateway_unavailable": _(
            "Alipay cannot be reached right now. Your order is kept; please try again in a moment."
        ),
        "order_already_paid": _("This order has already been paid."),
        "order_not_pending": _(
            "This order can no longer be paid or cancelled (status: %(status)s)."
        ),
        "order_expired": _("This order has expired; please place a new one."),
        "order_not_payable": _("This order can no longer be paid."),
        "illegal_transition": _("This order can no longer be changed."),
    }
    if isinstance(exc, InsufficientBalance):
        code = "insufficient_balance"
    elif isinstance(exc, GatewayUnavailable):
        code = "gateway_unavailable"
    text = known.get(code)
    if text is None:
        return getattr(exc, "message", None) or str(exc)
    if "%(status)s" in text:
        from .templatetags.demo import order_status

        order = getattr(exc, "order", None)
        text = text % {"status": order_status(getattr(order, "status", "")) if order else "—"}
    return text


def user_orders(user: Any) -> Any:
    return (
        Order.objects.filter(user=user)
        .order_by("-created_at", "-pk")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.order_by("pk")), "adjustments"
        )
    )


def get_user_order(request: HttpRequest, out_trade_no: str) -> Order:
    """Another user's order is a 404, like one that does not exist."""
    return get_object_or_404(user_orders(request.user), out_trade_no=out_trade_no)


def home(request: HttpRequest) -> HttpResponse:
    from courses.models import Course
    from rewards.models import Article
    from shop.models import Goods

    return render(
        request,
        "common/home.html",
        {
            "goods": Goods.objects.filter(is_active=True)[:3],
            "courses": Course.objects.filter(is_active=True).prefetch_related("options")[:3],
            "articles": Article.objects.select_related("author")[:3],
        },
    )


@login_required
def order_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    orders = list(user_orders(request.user)[:100])
    return render(request, "common/order_list.html", {"orders": orders})


def _latest_alipay_attempt(order: Order) -> PaymentAttempt | None:
    return order.attempts.filter(channel__in=ALIPAY_CHANNELS).order_by("-created_at", "-pk").first()


@login_required
def order_detail(request: AuthenticatedHttpRequest, out_trade_no: str) -> HttpResponse:
    """The result page: the order's real status. While it is pending after an Alipay attempt it
    asks Alipay (``sync_attempt``) and shows "waiting for Alipay's confirmation"."""
    order = get_user_order(request, out_trade_no)
    attempt = _latest_alipay_attempt(order) if order.status == Order.Status.PENDING else None
    waiting = False
    # ``?check=N``: the buyer came back from Alipay (the return page, "I have paid", "check
    # again"); the page asks Alipay and refreshes itself a limited number of times.
    check_text = request.GET.get("check", "")
    check = int(check_text) if check_text.isdigit() and len(check_text) < 4 else None
    if attempt is not None and check is not None:
        try:
            order = payments.sync_attempt(attempt)
        except GatewayUnavailable as exc:
            messages.warning(request, error_message(exc))
        except ZhifuError as exc:
            log.info("sync of %s said: %s", order.out_trade_no, exc)
        order = get_user_order(request, out_trade_no)
        waiting = order.status == Order.Status.PENDING and check < MAX_CHECKS
    context: dict[str, Any] = {
        "order": order,
        "waiting": waiting,
        "attempt": attempt,
        "next_check": (check or 0) + 1,
    }
    context.update(_fulfilment_context(order))
    return render(request, "common/order_detail.html", context)


def _fulfilment_context(order: Order) -> dict[str, Any]:
    """What the success page shows besides the order: enrollments, the reward."""
    from courses.models import Enrollment
    from rewards.models import Reward

    context: dict[str, Any] = {
        "enrollments": [],
        "reward": None,
        "paid_attempt": order.attempts.filter(status=PaymentAttempt.Status.SUCCEEDED)
        .order_by("pk")
        .first(),
    }
    if order.status != Order.Status.PENDING:
        context["enrollments"] = list(
            Enrollment.objects.filter(user=order.user, order_no=order.out_trade_no).select_related(
                "course"
            )
        )
    if order.kind == "reward":
        context["reward"] = Reward.objects.filter(order=order).select_related("article").first()
    return context


@login_required
def order_status(request: AuthenticatedHttpRequest, out_trade_no: str) -> JsonResponse:
    """Polled by the QR page: the order's status (no Alipay query; the notification does it)."""
    order = get_user_order(request, out_trade_no)
    return JsonResponse({"out_trade_no": order.out_trade_no, "status": str(order.status)})


@login_required
def pay(request: AuthenticatedHttpRequest, out_trade_no: str) -> HttpResponse:
    """GET: the breakdown and a choice of channel. POST: start the payment with that channel."""
    order = get_user_order(request, out_trade_no)
    channels = ALIPAY_CHANNELS if order.kind == "topup" else ALL_CHANNELS
    if order.status != Order.Status.PENDING:
        if order.status == Order.Status.PAID:
            messages.info(request, _("This order has already been paid."))
        else:
            messages.error(request, error_message(OrderError("order_not_payable")))
        return redirect("order-detail", out_trade_no=order.out_trade_no)
    balance = wallet_service.balance(request.user)
    if request.method == "POST":
        channel = request.POST.get("channel", "")
        if channel not in channels:
            messages.error(request, _("Choose how to pay."))
        else:
            try:
                start = payments.start_payment(order, channel, user=request.user)
            except (PaymentError, OrderError, IllegalTransition, GatewayUnavailable) as exc:
                messages.error(request, error_message(exc))
            else:
                response = respond_to_start(request, order, start)
                if response is not None:
                    return response
    preferred = (
        "balance" if order.kind != "topup" and balance >= order.total_amount else "alipay_page"
    )
    return render(
        request,
        "common/pay.html",
        {
            "order": order,
            "channels": channels,
            "balance": balance,
            "preferred": request.POST.get("channel", preferred),
        },
    )


def respond_to_start(request: HttpRequest, order: Order, start: Any) -> HttpResponse | None:
    """Send the buyer where a started payment leads: the result page (balance), the QR page,
    or Alipay's cashier. ``None`` (with a message) if the gateway gave nothing usable."""
    if start.paid:
        messages.success(request, _("Paid from your wallet balance."))
        return redirect("order-detail", out_trade_no=order.out_trade_no)
    if start.qr_code:
        return render(
            request,
            "common/pay_qr.html",
            {"order": order, "qr_svg": _qr_svg(start.qr_code), "qr_code": start.qr_code},
        )
    if (start.pay_url or start.form_html) and not gateway_reachable():
        # Page and wap pay only sign a URL: without this check the buyer would be sent to a
        # browser error page instead of being told that Alipay is down.
        messages.error(request, error_message(GatewayUnavailable()))
        return None
    if start.pay_url:
        return redirect(start.pay_url)
    if start.form_html:
        return HttpResponse(start.form_html)
    messages.error(request, error_message(GatewayUnavailable()))
    return None


def gateway_reachable(timeout: float = 2.0) -> bool:
    """Can a TCP connection be opened to Alipay's gateway (the sandbox in the demo)?"""
    from zhifu.conf import zhifu_settings

    url = urlsplit(str(zhifu_settings.GATEWAY_URL))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        log.warning("Alipay gateway %s:%s unreachable", url.hostname, port)
        return False


def _qr_svg(content: str) -> str:
    import segno

    out = io.BytesIO()
    segno.make(content, error="m").save(out, kind="svg", scale=6, border=2, xmldecl=False)
    return out.getvalue().decode("utf-8")


@login_required
@require_POST
def cancel(request: AuthenticatedHttpRequest, out_trade_no: str) -> HttpResponse:
    order = get_user_order(request, out_trade_no)
    try:
        order_service.cancel_order(order, user=request.user)
    except (OrderError, IllegalTransition, PaymentError, GatewayUnavailable) as exc:
        messages.error(request, error_message(exc))
    else:
        messages.success(request, _("Order %(no)s cancelled.") % {"no": order.out_trade_no})
    return redirect(request.POST.get("next") or reverse("orders"))


@login_required
def wallet(request: AuthenticatedHttpRequest) -> HttpResponse:
    from zhifu.models import LedgerEntry

    entries = (
        LedgerEntry.objects.filter(wallet__user=request.user)
        .select_related("order", "order__user")
        .order_by("-created_at", "-pk")[:100]
    )
    return render(
        request,
        "common/wallet.html",
        {
            "balance": wallet_service.balance(request.user),
            "entries": entries,
            "presets": ["50", "100", "200"],
        },
    )


@login_required
@require_POST
def top_up(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        amount = parse_amount(request.POST.get("amount", ""))
    except AmountError:
        messages.error(request, _("Enter an amount such as 50 or 12.30."))
        return redirect("wallet")
    try:
        order = wallet_service.create_top_up(request.user, amount)
    except ZhifuError as exc:
        messages.error(request, error_message(exc))
        return redirect("wallet")
    return redirect("pay", out_trade_no=order.out_trade_no)
