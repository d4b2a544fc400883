"""The buyer's pages of a payment link: whoever holds the code sees that link (and nothing else),
picks a way to pay that works on their device, and watches it become paid.

Thin, like every view: parse, call one function of :mod:`zhifu.paylinks.services`, render.

WeChat Pay JSAPI inside WeChat's browser (when ``ZHIFU["WECHATPAY"]["OAUTH"]`` is configured):
choosing it (:func:`pay`) leads to :func:`jsapi_page`; without the buyer's openid for the site's
appid in the session, the buyer first goes through WeChat's silent ``snsapi_base`` OAuth, which
comes back to :func:`wechat_oauth` (the ``state`` must be the one this session sent; the code
is exchanged for the openid, kept in the session). The JSAPI page starts the payment with the
openid and its script (``jsapi.js``) calls ``WeixinJSBridge.invoke("getBrandWCPayRequest", …)``.
When the WeChat gateway is local (the Zhifu sandbox), the page includes the sandbox's
``jsbridge.js``, and only that page's Content-Security-Policy allows the sandbox's origin.
"""

from __future__ import annotations

import functools
import io
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from ..csp import allow_origin
from ..exceptions import ZhifuError
from ..payer import payer_from_request
from ..providers import registry
from ..providers.wechatpay_config import sandbox_bridge_url
from . import services
from .models import PaymentLink

__all__ = [
    "jsapi_page",
    "jsapi_script",
    "link_page",
    "pay",
    "poll_script",
    "qr_page",
    "qr_svg",
    "status",
    "wechat_oauth",
]

# Session keys.
OPENIDS = "zhifu_wechat_openids"  # {appid: the buyer's openid for it}
OAUTH_STATE = "zhifu_link_wechat_oauth"  # {"state", "code"} while the buyer is at WeChat's OAuth
JSAPI_CHOSEN = "zhifu_link_jsapi"  # codes of links whose buyer chose JSAPI (POST), not yet started
# The buyer came back from WeChat Pay's JSAPI dialog without paying (?wechat=…).
JSAPI_RESULTS = {
    "cancel": _("You closed WeChat Pay without paying. You can try again."),
    "fail": _("WeChat Pay could not start this payment. Try again, or use the QR code."),
}


def qr_svg(content: str, *, scale: int = 5) -> str:
    """``content`` as an inline ``<svg>`` QR code (no image request, nothing for a CSP to block)."""
    import segno

    out = io.BytesIO()
    segno.make(content, error="m").save(
        out, kind="svg", scale=scale, border=2, xmldecl=False, svgns=True, svgclass="zhifu-qr"
    )
    return out.getvalue().decode("utf-8")


def link_url(request: HttpRequest, link: PaymentLink) -> str:
    return request.build_absolute_uri(link.get_absolute_url())


def _device(request: HttpRequest) -> services.Device:
    return services.device_of(str(request.headers.get("User-Agent", "")))


def _render(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    response = render(request, template, context, status=status)
    add_never_cache_headers(response)  # a status page: never a stale "pending" from a cache
    # The code must not leak to other sites (the gateway's pages): no Referer leaves this origin.
    # Not "no-referrer": browsers then send "Origin: null" with the page's own form, and Django's
    # CSRF check refuses it.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    return response


def _not_found(request: HttpRequest, error: ZhifuError) -> HttpResponse:
    return _render(
        request,
        "zhifu/paylinks/link.html",
        {"link": None, "error": {"code": error.code, "message": error.message}},
        status=error.status,
    )


def _page_context(request: HttpRequest, link: PaymentLink) -> dict[str, Any]:
    device = _device(request)
    url = link_url(request, link)
    channels = services.channels_for(device) if link.payable else []
    return {
        "link": link,
        "order": link.order,
        "status": link.status,
        "device": device,
        "channels": channels,
        "jsapi": services.WECHAT_JSAPI in dict(channels),
        "link_url": url,
        "link_qr": qr_svg(url, scale=4) if device.kind == "desktop" else "",
        "status_url": reverse("zhifu:link-status", args=[link.code]),
        "poll": link.payable,
    }


@transaction.non_atomic_requests  # a gateway query must not run holding row locks
@require_GET
def link_page(request: HttpRequest, code: str) -> HttpResponse:
    """The link: what is asked, its status, and the ways to pay on this device. Coming back from
    a cashier (the gateway's return parameters on this URL) asks the gateway at once."""
    try:
        link = services.find_link(code)
    except ZhifuError as error:
        return _not_found(request, error)
    if link.payable and "out_trade_no" in request.GET:
        services.refresh_from_return(link, request.GET.get("out_trade_no"))
    context = _page_context(request, link)
    result = request.GET.get("wechat", "")
    if link.payable and result in JSAPI_RESULTS:
        context["notice"] = {"result": result, "message": JSAPI_RESULTS[result]}
    return _render(request, "zhifu/paylinks/link.html", context)


def _link_with_error(request: HttpRequest, code: str, error: ZhifuError) -> HttpResponse:
    link = services.find_link(code)  # its status may have changed meanwhile
    context = _page_context(request, link)
    context["error"] = {"code": error.code, "message": error.message}
    return _render(request, "zhifu/paylinks/link.html", context, status=error.status)


@transaction.non_atomic_requests  # no transaction open while the gateway is called
@require_POST
def pay(request: HttpRequest, code: str) -> HttpResponse:
    """Start paying through the chosen channel: the cashier (a self-submitting form or a URL),
    or the QR code page."""
    try:
        link = services.find_link(code)
    except ZhifuError as error:
        return _not_found(request, error)
    channel = str(request.POST.get("channel", ""))
    if channel == services.WECHAT_JSAPI:
        return _choose_jsapi(request, link)
    try:
        start = services.start_link_payment(
            link,
            channel,
            device=_device(request),
            return_url=link_url(request, link),
            payer=payer_from_request(request),
        )
    except ZhifuError as error:
        return _link_with_error(request, code, error)
    if start.qr_code:
        return HttpResponseRedirect(reverse("zhifu:link-qr", args=[link.code]))
    if start.form is not None:
        return _render(request, "zhifu/paylinks/redirect.html", {"link": link, "start": start})
    if start.pay_url:
        return HttpResponseRedirect(start.pay_url)
    return HttpResponseRedirect(link.get_absolute_url())  # pragma: no cover - paid at once


def _choose_jsapi(request: HttpRequest, link: PaymentLink) -> HttpResponse:
    """JSAPI chosen: remembered in the session, then the JSAPI page (which learns the openid
    first if needed)."""
    try:
        services.check_link_channel(link, services.WECHAT_JSAPI, device=_device(request))
    except ZhifuError as error:
        return _link_with_error(request, link.code, error)
    chosen = [c for c in request.session.get(JSAPI_CHOSEN, []) if c != link.code][-9:]
    request.session[JSAPI_CHOSEN] = [*chosen, link.code]
    return HttpResponseRedirect(reverse("zhifu:link-jsapi", args=[link.code]))


def _openid(request: HttpRequest) -> str:
    known = request.session.get(OPENIDS)
    return str(known.get(services.oauth_appid()) or "") if isinstance(known, dict) else ""


def _to_oauth(request: HttpRequest, link: PaymentLink) -> HttpResponse:
    state = secrets.token_urlsafe(16)
    back = request.build_absolute_uri(reverse("zhifu:link-wechat-oauth", args=[link.code]))
    try:
        url = services.jsapi_authorize_url(back, state)
    except ZhifuError as error:
        return _link_with_error(request, link.code, error)
    request.session[OAUTH_STATE] = {"state": state, "code": link.code}
    return HttpResponseRedirect(url)


@transaction.non_atomic_requests  # no transaction open while the gateway is called
@require_GET
def jsapi_page(request: HttpRequest, code: str) -> HttpResponse:
    """WeChat Pay inside WeChat: the payment chosen on the link page (or the link's open JSAPI
    payment, on a reload) started with the buyer's openid, and the page that hands its
    parameters to WeChat's browser."""
    try:
        link = services.find_link(code)
    except ZhifuError as error:
        return _not_found(request, error)
    chosen = link.code in request.session.get(JSAPI_CHOSEN, [])
    if not link.payable or (not chosen and services.open_jsapi_attempt(link) is None):
        return HttpResponseRedirect(link.get_absolute_url())
    openid = _openid(request)
    if not openid:
        return _to_oauth(request, link)
    try:
        start = services.start_link_payment(
            link,
            services.WECHAT_JSAPI,
            device=_device(request),
            return_url=None,
            payer=payer_from_request(request, openid=openid),
        )
    except ZhifuError as error:
        return _link_with_error(request, link.code, error)
    if chosen:
        request.session[JSAPI_CHOSEN] = [c for c in request.session[JSAPI_CHOSEN] if c != link.code]
    bridge = sandbox_bridge_url()
    context = _page_context(request, link)
    context.update(attempt=start.attempt, js_params=start.js_params, bridge_url=bridge)
    response = _render(request, "zhifu/paylinks/jsapi.html", context)
    if bridge:
        parts = urlsplit(bridge)
        allow_origin(response, f"{parts.scheme}://{parts.netloc}")
    return response


@transaction.non_atomic_requests  # no transaction open while WeChat is called
@require_GET
def wechat_oauth(request: HttpRequest, code: str) -> HttpResponse:
    """WeChat's OAuth sends the browser back here with ``code`` and ``state``: the state must be
    the one this session sent for this link; the code is exchanged for the buyer's openid, kept
    in the session; then on to the JSAPI page."""
    try:
        link = services.find_link(code)
    except ZhifuError as error:
        return _not_found(request, error)
    pending = request.session.get(OAUTH_STATE)
    state = request.GET.get("state", "")
    if (
        not isinstance(pending, dict)
        or pending.get("code") != link.code
        or not state
        or not secrets.compare_digest(str(pending.get("state", "")), state)
    ):
        return _link_with_error(
            request,
            link.code,
            services.PaymentLinkError(
                "wechat_oauth_state",
                _(
                    "This WeChat sign-in is not the one this page started. "
                    "Please choose WeChat Pay again."
                ),
            ),
        )
    del request.session[OAUTH_STATE]
    try:
        openid = services.openid_from_code(request.GET.get("code", ""))
    except ZhifuError as error:
        return _link_with_error(request, link.code, error)
    known = request.session.get(OPENIDS)
    request.session[OPENIDS] = {
        **(known if isinstance(known, dict) else {}),
        services.oauth_appid(): openid,
    }
    return HttpResponseRedirect(reverse("zhifu:link-jsapi", args=[link.code]))


@transaction.non_atomic_requests  # the provider may call its gateway to renew the code
@require_GET
def qr_page(request: HttpRequest, code: str) -> HttpResponse:
    """The QR code of the link's open QR payment (WeChat Native): scan it, or in WeChat's own
    browser press and hold it. Once paid (or if nothing is open) back to the link."""
    try:
        link = services.find_link(code)
    except ZhifuError as error:
        return _not_found(request, error)
    try:
        attempt = services.resume_qr_attempt(link) if link.payable else None
    except ZhifuError as error:  # expired meanwhile, or the gateway cannot be reached
        return _link_with_error(request, code, error)
    if attempt is None:
        return HttpResponseRedirect(link.get_absolute_url())
    context = _page_context(request, link)
    context.update(
        attempt=attempt,
        channel_label=str(registry.channels().get(attempt.channel, attempt.channel)),
        pay_qr=qr_svg(attempt.qr_code, scale=6),
    )
    return _render(request, "zhifu/paylinks/qr.html", context)


@require_GET
def status(request: HttpRequest, code: str) -> JsonResponse:
    """``{"status": ..., "paid": ...}`` for the page's polling; nothing about the buyer."""
    try:
        link = services.find_link(code)
    except ZhifuError as error:
        response = JsonResponse(
            {"error": {"code": error.code, "message": error.message}}, status=error.status
        )
    else:
        response = JsonResponse({"status": link.status, "paid": link.is_paid})
    add_never_cache_headers(response)
    return response


# Served by the app itself (not a static file) so that it works whatever the site's static
# setup; from this site's origin, so a Content-Security-Policy of script-src 'self' allows it.
POLL_JS = """\
(function () {
  var box = document.querySelector("[data-zhifu-link-status]");
  if (!box) return;
  var url = box.getAttribute("data-zhifu-link-status");
  var poll = function () {
    fetch(url, {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { return r.json(); })
      .then(function (d) {
        if (d.status && d.status !== "pending") { window.location.replace(box.getAttribute("data-zhifu-done")); }
        else { setTimeout(poll, 2000); }
      })
      .catch(function () { setTimeout(poll, 5000); });
  };
  setTimeout(poll, 2000);
})();
"""


@require_GET
def poll_script(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(POLL_JS, content_type="text/javascript; charset=utf-8")
    patch_cache_control(response, public=True, max_age=3600)
    return response


@functools.cache
def _jsapi_js() -> bytes:
    return (
        Path(__file__).resolve().parent.parent / "static" / "zhifu" / "paylink-jsapi.js"
    ).read_bytes()


@require_GET
def jsapi_script(request: HttpRequest) -> HttpResponse:
    """The JSAPI page's script (``zhifu/static/zhifu/paylink-jsapi.js``), served like the poll
    script: from this site's origin, whatever the site's static files setup."""
    response = HttpResponse(_jsapi_js(), content_type="text/javascript; charset=utf-8")
    patch_cache_control(response, public=True, max_age=3600)
    return response
