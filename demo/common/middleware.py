"""Chinese by default: the browser's Accept-Language is ignored; the header's switch decides."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class DefaultLanguageMiddleware:
    """Placed before LocaleMiddleware: drop Accept-Language so the site starts in
    ``LANGUAGE_CODE`` (Chinese) until the visitor picks a language (a cookie)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
