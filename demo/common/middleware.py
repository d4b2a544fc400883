"""The demo's middleware: Chinese by default (the browser's Accept-Language is ignored; the
header's switch decides), and private pages kept out of caches."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


class DefaultLanguageMiddleware:
    """Placed before LocaleMiddleware: drop Accept-Language so the site starts in
    ``LANGUAGE_CODE`` (Chinese) until the visitor picks a language (a cookie)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)


class PrivateNoStoreMiddleware:
    """``Cache-Control: private, no-store`` on every answer to a signed-in user (a session or a
    JWT: orders, wallet, pay pages, the private API) and on Zhifu's return page (its URL carries
    Alipay's signature): no shared cache or browser history keeps someone's orders or balance.
    Anonymous pages (shop, courses, articles) stay cacheable."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # DRF sets request.user on the Django request when a JWT authenticated the view.
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or request.path.startswith("/zhifu/"):
            patch_cache_control(response, private=True, no_store=True)
        return response
