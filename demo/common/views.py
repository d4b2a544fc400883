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
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from common import channels, wechat
from common.errors import DemoError, error_message
from common.inputs import is_whole, limit, parse_yuan, safe_next
from common.once import submit_once
from common.types import AuthenticatedHttpRequest
from zhifu.exceptions import GatewayUnavailable, OrderError, ZhifuError
from zhifu.models import Order, OrderLine, PaymentAttempt
from zhifu.money import format_yuan
from zhifu.refundrequests import services as refund_requests
from zhifu.refundrequests.models import RefundRequest
from zhifu.services import orders as order_service
from zhifu.services import payments
from zhifu.services import wallet as wallet_service
from zhifu.withdrawals import services as withdrawals
from zhifu.withdrawals.models import Withdrawal

log = logging.getLogger("demo")

MAX_CHECKS = 20  # the result page asks Alipay at most this many times, every 3 s
ORDERS_PER_PAGE = 20
ORDER_FILTERS = {
    "pending": [Order.Status.PENDING],
    "paid": [Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED],
    "refunded": [Order.Status.REFUNDED, Order.Status.PARTIALLY_REFUNDED],
    "closed": [Order.Status.CANCELLED, Order.Status.EXPIRED],
}


def bad_request(request: HttpRequest, message: str) -> HttpResponse:
    """A 400 page that says what was wrong with the address or the form."""
    return render(request, "common/bad_request.html", {"message": message}, status=400)


def user_orders(user: Any) -> Any:
    return (
        Order.objects.filter(user=user)
        .order_by("-created_at", "-pk")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.order_by("pk")),
            "adjustments",
            Prefetch(
                "refund_requests",
                queryset=RefundRequest.objects.select_related("refund").order_by("-pk"),
            ),
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


def _expire_overdue(orders: list[Order]) -> None:
    """Orders left unpaid past their expiry are expired now (as the worker would do within a
    minute), so that my orders never lists an abandoned order as still waiting for payment."""
    now = timezone.now()
    for order in orders:
        if order.status == Order.Status.PENDING and order.expires_at <= now:
            try:
                order_service.expire_order(order, now=now)
            except ZhifuError as exc:  # Alipay unreachable: the worker retries
                log.info("expiring %s from my orders: %s", order.out_trade_no, exc)
            order.refresh_from_db(fields=["status", "closed_at", "paid_at"])


@login_required
def order_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """My orders, newest first, 20 a page, optionally only one kind of status."""
    shown = request.GET.get("status", "")
    orders = user_orders(request.user)
    if shown in ORDER_FILTERS:
        orders = orders.filter(status__in=ORDER_FILTERS[shown])
    else:
        shown = ""
    page_text = request.GET.get("page", "") or "1"
    if not is_whole(page_text):
        return bad_request(request, _("The page number must be a number such as 2."))
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(int(page_text))
    _expire_overdue(list(page.object_list))
    return render(
        request,
        "common/order_list.html",
        {"orders": page.object_list, "page": page, "shown": shown, "filters": ORDER_FILTERS},
    )


def _open_gateway_attempt(order: Order) -> PaymentAttempt | None:
    """The buyer's current try at paying through a gateway (Alipay), if one is open."""
    return (
        order.attempts.filter(status=PaymentAttempt.Status.PENDING)
        .exclude(channel=channels.BALANCE)
        .order_by("-created_at", "-pk")
        .first()
    )


@login_required
def order_detail(request: AuthenticatedHttpRequest, out_trade_no: str) -> HttpResponse:
    """The result page: the order's real status. While it is pending after an Alipay attempt it
    asks Alipay (``sync_attempt``) and shows "waiting for Alipay's confirmation"."""
    order = get_user_order(request, out_trade_no)
    attempt = _open_gateway_attempt(order) if order.status == Order.Status.PENDING else None
    if attempt is None and order.status == Order.Status.PENDING:
        # A payment applied between the two reads (its notification racing the buyer's
        # redirect) left no open attempt: show the order as it is now, not as first read.
        order = get_user_order(request, out_trade_no)
    waiting = False
    # ``?check=N``: the buyer came back from Alipay (the return page, "I have paid", "check
    # again"); the page asks Alipay and refreshes itself a limited number of times.
    check_text = request.GET.get("check")
    if check_text is not None and not is_whole(check_text):
        return bad_request(request, _("“check” must be a number such as 0."))
    check = min(int(check_text), MAX_CHECKS) if check_text is not None else None
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
        "surplus": _surplus_payments(order),
        "by_wechat": wechat.is_wechat(attempt),
    }
    context.update(_fulfilment_context(order))
    context.update(_refund_request_context(order))
    return render(request, "common/order_detail.html", context)


def _refund_request_context(order: Order) -> dict[str, Any]:
    """The order's refund requests (newest first, with the way the money goes back) and, for a
    paid order with none waiting, the lines a new request may choose."""
    requests = list(order.refund_requests.select_related("refund__attempt").order_by("-pk"))
    for req in requests:
        req.way_back = refund_requests.way_back(req)  # type: ignore[attr-defined]
        req.refund_error = refund_requests.refund_error(req)  # type: ignore[attr-defined]
    can_request = order.status in (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED) and not any(
        req.status == RefundRequest.Status.PENDING for req in requests
    )
    taken = refund_requests.requested_lines(order) if can_request else set()
    return {
        "refund_requests": requests,
        "can_request_refund": can_request,
        "refundable_lines": [line for line in order.lines.all() if line.pk not in taken],
    }


@login_required
@require_POST
def request_refund(request: AuthenticatedHttpRequest, out_trade_no: str) -> HttpResponse:
    """申请退款: the whole order or the chosen lines, with a reason; the site's policy decides
    at once or staff do. A double submit gives the same request (nothing twice)."""
    order = get_user_order(request, out_trade_no)
    lines = request.POST.getlist("lines")
    if request.POST.get("whole") == "1":
        lines = []
    try:
        req, _created = refund_requests.submit(
            request.user, order, lines=lines, reason=request.POST.get("reason", "")
        )
    except ZhifuError as exc:
        messages.error(request, error_message(exc))
    else:
        if req.state == RefundRequest.State.REFUNDED:
            messages.success(request, _("Refunded: the money is on its way back to you."))
        elif req.state == RefundRequest.State.REFUND_FAILED:
            messages.error(
                request,
                _(
                    "The refund was approved but the payment service refused it; our staff will contact you."
                ),
            )
        elif req.state == RefundRequest.State.PENDING:
            messages.info(request, _("Your refund request was sent; our staff will decide soon."))
        else:
            messages.info(request, _("Your refund is under way."))
    return redirect("order-detail", out_trade_no=order.out_trade_no)


def _surplus_payments(order: Order) -> list[dict[str, Any]]:
    """Payments made on top of the one that counted (a second tab, the wallet after Alipay, a
    payment after expiry), each with the automatic refund that returns it."""
    extra = order.attempts.filter(status=PaymentAttempt.Status.EXTRA).order_by("pk")
    refunds = {r.attempt_id: r for r in order.refunds.filter(automatic=True).order_by("pk")}
    return [{"attempt": a, "refund": refunds.get(a.pk)} for a in extra]


def _fulfilment_context(order: Order) -> dict[str, Any]:
    """What the result page shows besides the order: the access bought, the reward."""
    from courses.fulfilment import grants_of
    from rewards.models import Reward

    return {
        "grants": grants_of(order),
        "reward": (
            Reward.objects.filter(order=order).select_related("article").first()
            if order.kind == Order.Kind.REWARD
            else None
        ),
        "paid_attempt": order.attempts.filter(status=PaymentAttempt.Status.SUCCEEDED)
        .order_by("pk")
        .first(),
    }


@login_required
def order_status(request: AuthenticatedHttpRequest, out_trade_no: str) -> JsonResponse:
    """Polled by the QR page: the order's status (no Alipay query; the notification does it)."""
    order = get_user_order(request, out_trade_no)
    return JsonResponse({"out_trade_no": order.out_trade_no, "status": str(order.status)})


@login_required
def pay(request: AuthenticatedHttpRequest, out_trade_no: str) -> HttpResponse:
    """GET: the breakdown and a choice of channel (of WeChat Pay's, the one that works in this
    browser). POST (one-time token): start the payment with that channel, then redirect (to
    Alipay, WeChat's H5 cashier, the QR page, the JSAPI page or the result page)."""
    order = get_user_order(request, out_trade_no)
    # A top-up goes through a gateway, never from the wallet it fills.
    offered = wechat.for_device(
        request,
        channels.gateway_channels() if order.kind == Order.Kind.TOPUP else channels.all_channels(),
    )
    if order.status != Order.Status.PENDING:
        if order.status == Order.Status.PAID:
            messages.info(request, _("This order has already been paid."))
        else:
            messages.error(request, error_message(OrderError("order_not_payable")))
        return redirect("order-detail", out_trade_no=order.out_trade_no)
    open_attempt = _open_gateway_attempt(order)
    if request.method == "POST":
        response = _pay_post(request, order, offered, open_attempt)
        if response is not None:
            return response
    balance = wallet_service.balance(request.user)
    if open_attempt is not None:
        # The buyer went to Alipay already: offer that again, never the wallet by default.
        preferred = open_attempt.channel
    elif channels.BALANCE in offered and balance >= order.total_amount:
        preferred = channels.BALANCE
    else:
        preferred = channels.gateway_channels()[0]
    return render(
        request,
        "common/pay.html",
        {
            "order": order,
            "channels": [(c, channels.label(c)) for c in offered],
            "balance": balance,
            "preferred": request.POST.get("channel", preferred),
            "open_attempt": open_attempt,
            "open_wechat": wechat.is_wechat(open_attempt),
            "wallet_channel": channels.BALANCE,
        },
    )


def _pay_post(
    request: AuthenticatedHttpRequest,
    order: Order,
    offered: tuple[str, ...],
    open_attempt: PaymentAttempt | None,
) -> HttpResponse | None:
    channel = request.POST.get("channel", "")
    if channel not in offered:
        messages.error(request, _("Choose how to pay."))
        return None
    try:
        _order, first = submit_once(
            request, "pay", {"order": order.out_trade_no, "channel": channel}, lambda: order
        )
    except DemoError as exc:
        messages.error(request, error_message(exc))
        return None
    if not first:  # the same pay form sent again: show where the first submit led
        return redirect_after_resubmit(order)
    if channel == channels.BALANCE and open_attempt is not None:
        # Paying from the wallet while an Alipay payment may be on its way: ask Alipay first,
        # so that a buyer who already paid there is not charged twice.
        by_wechat = wechat.is_wechat(open_attempt)
        try:
            order = payments.sync_attempt(open_attempt)
        except GatewayUnavailable:
            messages.error(
                request,
                _(
                    "You started paying this order with WeChat Pay, and WeChat Pay cannot be "
                    "asked right now whether that payment went through. Please try again in a "
                    "moment."
                )
                if by_wechat
                else _(
                    "You started paying this order with Alipay, and Alipay cannot be asked right "
                    "now whether that payment went through. Please try again in a moment."
                ),
            )
            return None
        if order.status != Order.Status.PENDING:
            messages.info(
                request,
                _("WeChat Pay says this order is already paid.")
                if by_wechat
                else _("Alipay says this order is already paid."),
            )
            return redirect("order-detail", out_trade_no=order.out_trade_no)
    try:
        return start_and_respond(request, order, channel)
    except ZhifuError as exc:
        messages.error(request, error_message(exc))
        return None


def start_and_respond(
    request: AuthenticatedHttpRequest, order: Order, channel: str
) -> HttpResponse | None:
    """Start paying ``order`` through ``channel`` and send the buyer where it leads. WeChat's
    JSAPI goes to its own page, which learns the buyer's openid first. Raises ``ZhifuError``."""
    if channel == wechat.JSAPI:
        return wechat.begin_jsapi(request, order)
    return respond_to_start(request, order, wechat.start(request, order, channel))


def redirect_after_resubmit(order: Order) -> HttpResponse:
    """A form sent a second time: the first submit's order, shown (never paid again)."""
    order.refresh_from_db()
    if order.status == Order.Status.PENDING:
        attempt = _open_gateway_attempt(order)
        if attempt is not None and attempt.qr_code:
            return redirect("order-qr", out_trade_no=order.out_trade_no)
        if attempt is not None and attempt.channel == wechat.JSAPI:
            return redirect("pay-wechat-jsapi", out_trade_no=order.out_trade_no)
        if attempt is not None:
            return redirect(f"{reverse('order-detail', args=[order.out_trade_no])}?check=0")
        return redirect("pay", out_trade_no=order.out_trade_no)
    return redirect("order-detail", out_trade_no=order.out_trade_no)


def respond_to_start(request: HttpRequest, order: Order, start: Any) -> HttpResponse | None:
    """Redirect the buyer to where a started payment leads: the result page (balance), the QR
    page, Alipay's cashier or WeChat's H5 cashier. ``None`` (with a message) if the gateway
    gave nothing usable."""
    if start.paid:
        messages.success(request, _("Paid from your wallet balance."))
        return redirect("order-detail", out_trade_no=order.out_trade_no)
    if start.qr_code:
        return redirect("order-qr", out_trade_no=order.out_trade_no)
    if start.js_params:
        return redirect("pay-wechat-jsapi", out_trade_no=order.out_trade_no)
    signed_only = start.channel not in wechat.WECHAT_CHANNELS  # WeChat was asked: it answered
    if (start.pay_url or start.form_html) and signed_only and not gateway_reachable():
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


@login_required
def pay_qr(request: AuthenticatedHttpRequest, out_trade_no: str) -> HttpResponse:
    """The QR code of the order's open QR payment (a page to reload freely: it creates
    nothing). Without one, the result page."""
    order = get_user_order(request, out_trade_no)
    attempt = (
        order.attempts.filter(status=PaymentAttempt.Status.PENDING)
        .exclude(qr_code="")
        .order_by("-pk")
        .first()
    )
    if order.status != Order.Status.PENDING or attempt is None:
        return redirect("order-detail", out_trade_no=order.out_trade_no)
    by_wechat = wechat.is_wechat(attempt)
    return render(
        request,
        "common/pay_qr.html",
        {
            "order": order,
            "qr_svg": _qr_svg(attempt.qr_code),
            "qr_code": attempt.qr_code,
            "wechat": by_wechat,
            # Alipay's sandbox QR is an http link; WeChat's code_url is weixin://…, which the
            # sandbox's "scan" page plays (no link with the real WeChat: scan it with a phone).
            "open_url": wechat.scan_url(attempt.qr_code) if by_wechat else attempt.qr_code,
        },
    )


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
    except ZhifuError as exc:
        messages.error(request, error_message(exc))
    else:
        messages.success(request, _("Order %(no)s cancelled.") % {"no": order.out_trade_no})
    return redirect(safe_next(request, request.POST.get("next"), "orders"))


@login_required
def wallet(request: AuthenticatedHttpRequest) -> HttpResponse:
    from rewards.services import debt_of

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
            "top_up_max": limit("DEMO_TOP_UP_MAX"),
            "debt": debt_of(request.user),
            "withdrawals": Withdrawal.objects.filter(user=request.user)[:10],
        },
    )


@login_required
@require_POST
def withdraw(request: AuthenticatedHttpRequest) -> HttpResponse:
    """提现: take wallet money out to an Alipay account (held at once; staff may approve)."""
    from common.once import FIELD

    try:
        done = withdrawals.request_withdrawal(
            request.user,
            request.POST.get("amount", ""),
            payee_type="login",
            payee=request.POST.get("payee", ""),
            payee_name=request.POST.get("payee_name", ""),
            key=request.POST.get(FIELD) or None,
        )
    except ZhifuError as exc:
        messages.error(request, error_message(exc))
    else:
        if done.status == done.Status.FAILED:
            messages.error(
                request,
                _("Withdrawal %(no)s failed (%(why)s); the money is back in your wallet.")
                % {"no": done.out_biz_no, "why": done.error_message or done.error_code},
            )
        else:
            messages.success(
                request,
                _("Withdrawal %(no)s: %(status)s.")
                % {"no": done.out_biz_no, "status": done.get_status_display()},
            )
    return redirect("wallet")


@login_required
@require_POST
def top_up(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Create a top-up order (one per form submit) and go to its pay page."""
    maximum = limit("DEMO_TOP_UP_MAX")
    try:
        amount = parse_yuan(
            request.POST.get("amount", ""),
            maximum=maximum,
            too_large=_("A top-up can be at most %(max)s.") % {"max": format_yuan(maximum)},
        )
        order, _created = submit_once(
            request,
            "top-up",
            {"amount": amount},
            lambda: wallet_service.create_top_up(request.user, amount),
        )
    except (DemoError, ZhifuError) as exc:
        messages.error(request, error_message(exc))
        return redirect("wallet")
    return redirect("pay", out_trade_no=order.out_trade_no)
