"""The buyer's pages of a payment link: whoever holds the code sees that link (and nothing else),
picks a way to pay that works on their device, and watches it become paid.

Thin, like every view: parse, call one function of :mod:`zhifu.paylinks.services`, render.
"""

from __future__ import annotations

import io
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.views.decorators.http import require_GET, require_POST

from ..exceptions import ZhifuError
from ..payer import payer_from_request
from ..providers import registry
from . import services
from .models import PaymentLink

__all__ = ["link_page", "pay", "poll_script", "qr_page", "qr_svg", "status"]


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
    return {
        "link": link,
        "order": link.order,
        "status": link.status,
        "device": device,
        "channels": services.channels_for(device) if link.payable else [],
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
    return _render(request, "zhifu/paylinks/link.html", _page_context(request, link))


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
    try:
        start = services.start_link_payment(
            link,
            str(request.POST.get("channel", "")),
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
