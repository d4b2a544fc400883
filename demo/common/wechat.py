"""WeChat Pay in the demo: which WeChat channel fits the buyer's browser, the JSAPI page inside
WeChat (with the OAuth round trip that learns the buyer's openid), and what the sandbox adds.

- A computer: ``wechat_native``, a QR code the buyer scans with WeChat (``pay_qr``).
- A phone browser: ``wechat_h5``, WeChat's H5 cashier, which sends the buyer back to Zhifu's
  return page (``ZHIFU["WECHATPAY"]["RETURN_URL"]``), which queries WeChat.
- WeChat's own browser (``MicroMessenger`` in the user agent): ``wechat_jsapi``. The page needs
  the buyer's openid: without one in the session, the buyer goes through WeChat's silent
  ``snsapi_base`` OAuth first (``oauth_back`` keeps the openid in the session), then the
  payment starts and the page calls ``WeixinJSBridge.invoke("getBrandWCPayRequest", …)``.

When the WeChat gateway is the local sandbox (``settings.WECHAT_SANDBOX_URL``), the sandbox
plays WeChat's browser: the JSAPI page includes its ``jsbridge.js`` (and only then does the
page's Content-Security-Policy allow the sandbox's origin), and the QR page links the
sandbox's "scan" page.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from common import channels
from common.errors import error_message
from common.inputs import safe_next
from common.types import AuthenticatedHttpRequest
from zhifu.csp import allow_origin
from zhifu.exceptions import ConfigurationError, ZhifuError
from zhifu.models import Order, PaymentAttempt
from zhifu.payer import payer_from_request
from zhifu.providers.wechatpay_config import build_oauth
from zhifu.services import payments
from zhifu.wechatpay import WechatPayError

log = logging.getLogger("demo")

NATIVE, H5, JSAPI = "wechat_native", "wechat_h5", "wechat_jsapi"
WECHAT_CHANNELS = (NATIVE, H5, JSAPI)
OPENID = "wechat_openid"  # session: the buyer's openid for the site's appid
OAUTH = "wechat_oauth"  # session: {"state", "next"} while the buyer is at WeChat's OAuth
STARTS = "wechat_jsapi_starts"  # session: orders whose JSAPI payment waits for the openid
_PHONE = re.compile(r"Mobile|Android|iPhone|iPad|iPod|HarmonyOS|Windows Phone", re.ASCII)


def in_wechat(request: HttpRequest) -> bool:
    """WeChat's in-app browser says ``MicroMessenger/…`` in its user agent."""
    return "micromessenger" in request.headers.get("User-Agent", "").lower()


def on_phone(request: HttpRequest) -> bool:
    return bool(_PHONE.search(request.headers.get("User-Agent", "")))


def channel_for(request: HttpRequest) -> str:
    """The one WeChat channel that works in this browser."""
    if in_wechat(request):
        return JSAPI
    return H5 if on_phone(request) else NATIVE


def for_device(request: HttpRequest, offered: tuple[str, ...]) -> tuple[str, ...]:
    """``offered`` without the WeChat channels that cannot work in this browser (H5 inside
    WeChat, JSAPI outside it, a QR code to scan on the phone that would scan it)."""
    fits = channel_for(request)
    return tuple(c for c in offered if c not in WECHAT_CHANNELS or c == fits)


def reward_channel(request: HttpRequest) -> str | None:
    """The WeChat channel the reward dialog offers, if the site offers WeChat Pay at all."""
    channel = channel_for(request)
    return channel if channel in channels.all_channels() else None


def is_wechat(attempt: PaymentAttempt | None) -> bool:
    return attempt is not None and attempt.channel in WECHAT_CHANNELS


def sandbox_url() -> str:
    """The sandbox's base URL when the WeChat gateway is the sandbox, else ``""``."""
    return str(getattr(settings, "WECHAT_SANDBOX_URL", "") or "").rstrip("/")


def scan_url(code_url: str) -> str:
    """The sandbox page that plays "scanning" ``code_url`` with WeChat (sandbox only)."""
    base = sandbox_url()
    return f"{base}/wechat/scan?code_url={quote(code_url, safe='')}" if base else ""


def start(request: AuthenticatedHttpRequest, order: Order, channel: str) -> Any:
    """``payments.start_payment`` with what this request knows of the buyer (IP address for H5,
    the openid for JSAPI)."""
    return payments.start_payment(
        order,
        channel,
        user=request.user,
        payer=payer_from_request(request, openid=str(request.session.get(OPENID) or "")),
    )


def begin_jsapi(request: AuthenticatedHttpRequest, order: Order) -> HttpResponse:
    """The buyer chose WeChat Pay inside WeChat: the JSAPI page starts the payment (after the
    OAuth round trip if the openid is not known yet)."""
    starts = [n for n in request.session.get(STARTS, []) if n != order.out_trade_no][-9:]
    request.session[STARTS] = [*starts, order.out_trade_no]
    return redirect("pay-wechat-jsapi", out_trade_no=order.out_trade_no)


def _to_oauth(request: AuthenticatedHttpRequest) -> HttpResponse:
    state = secrets.token_urlsafe(16)
    request.session[OAUTH] = {"state": state, "next": request.get_full_path()}
    back = settings.SITE_URL + reverse("wechat-oauth")
    try:
        url = build_oauth().authorize_url(back, state)
    except (ConfigurationError, WechatPayError) as exc:  # the WeChat settings are incomplete
        log.warning("WeChat OAuth cannot start: %s", exc.message)
        messages.error(request, _("WeChat Pay is not available on this site right now."))
        return redirect("orders")
    return redirect(url)


def _open_jsapi_attempt(order: Order) -> PaymentAttempt | None:
    return (
        order.attempts.filter(status=PaymentAttempt.Status.PENDING, channel=JSAPI)
        .order_by("-pk")
        .first()
    )


@login_required
def pay_jsapi(request: AuthenticatedHttpRequest, out_trade_no: str) -> HttpResponse:
    """The JSAPI page: a payment chosen on the pay page (or an open JSAPI payment, on a reload)
    started with the buyer's openid, and the page that hands its parameters to WeChat."""
    from common.views import get_user_order

    order = get_user_order(request, out_trade_no)
    if order.status != Order.Status.PENDING:
        return redirect("order-detail", out_trade_no=order.out_trade_no)
    chosen = out_trade_no in request.session.get(STARTS, [])
    if not chosen and _open_jsapi_attempt(order) is None:
        return redirect("pay", out_trade_no=order.out_trade_no)
    if not request.session.get(OPENID):
        return _to_oauth(request)
    try:
        started = start(request, order, JSAPI)
    except ZhifuError as exc:
        messages.error(request, error_message(exc))
        return redirect("pay", out_trade_no=order.out_trade_no)
    if chosen:
        request.session[STARTS] = [n for n in request.session[STARTS] if n != out_trade_no]
    bridge = sandbox_url()
    response = render(
        request,
        "common/pay_wechat_jsapi.html",
        {
            "order": order,
            "js_params": started.js_params,
            "bridge_url": bridge + "/wechat/jsbridge.js" if bridge else "",
        },
    )
    if bridge:
        parts = urlsplit(bridge)
        # this page only: the sandbox's bridge script, its check request and its wallet frame
        allow_origin(response, f"{parts.scheme}://{parts.netloc}")
    return response


@login_required
def oauth_back(request: AuthenticatedHttpRequest) -> HttpResponse:
    """WeChat's OAuth sends the browser back here with ``code`` and ``state``: the state must be
    the one this session sent; the code is exchanged for the openid, kept in the session."""
    from common.views import bad_request

    pending = request.session.get(OAUTH) or {}
    state = request.GET.get("state", "")
    code = request.GET.get("code", "")
    if not pending or not state or not secrets.compare_digest(str(pending.get("state")), state):
        return bad_request(
            request,
            _("This WeChat sign-in link is not the one this page started. Please pay again."),
        )
    if not code:
        return bad_request(request, _("WeChat did not say who you are (no “code”)."))
    del request.session[OAUTH]
    next_url = safe_next(request, pending.get("next"), "orders")
    try:
        token = build_oauth().exchange_code(code)
    except (ConfigurationError, WechatPayError) as exc:
        log.warning("WeChat OAuth code exchange failed: %s", exc.message)
        messages.error(
            request,
            _("WeChat could not confirm who you are (%(reason)s). Please try again.")
            % {"reason": exc.message},
        )
        return redirect("orders")
    request.session[OPENID] = token.openid
    return redirect(next_url)
