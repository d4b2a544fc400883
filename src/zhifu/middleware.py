"""``zhifu.middleware.DatabaseUnavailableMiddleware``: a database that is down or hung makes any of
the site's views answer 503 with ``Retry-After`` — the API's error shape for a client that asks
for JSON, the site's ``503.html`` (or a short page) for a browser — instead of a 500 page.

Zhifu's own views and API already answer so; this extends the rule to the site's pages (shop,
my orders…) that read the same database. Add it to ``MIDDLEWARE`` after the session and
authentication middleware::

    MIDDLEWARE = [..., "zhifu.middleware.DatabaseUnavailableMiddleware"]
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils.html import escape

from .api.errors import error_body
from .exceptions import ServiceUnavailable

__all__ = ["DatabaseUnavailableMiddleware"]

log = logging.getLogger("zhifu.middleware")


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "json" in accept and "text/html" not in accept


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None  # everything else keeps Django's handling
        log.error("database unavailable on %s %s: %s", request.method, request.path, exception)
        error = ServiceUnavailable()
        response: HttpResponse
        if _wants_json(request):
            response = JsonResponse(error_body(error.code, str(error.message)), status=error.status)
        else:
            short: str = f"<!doctype html><title>503</title><p>{escape(error.message)}</p>"
            page: str
            try:  # no request, so no context processor (the user, messages) reads the database
                page = render_to_string("503.html", {"error": error})
            except TemplateDoesNotExist:
                page = short
            except Exception:  # a 503.html that needs what is down: the short page then
                log.exception("503.html could not be rendered")
                page = short
            response = HttpResponse(page, status=error.status)
        response["Retry-After"] = error.retry_after
        return response
