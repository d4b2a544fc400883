"""Every API error is ``{"error": {"code": "<stable_snake_case>", "message": "<readable>"}}``.

This is the one place where exceptions become HTTP errors: Zhifu's own (each carries ``code``
and ``status``), DRF's and simplejwt's, Django's 404/403, and anything unexpected (logged, 500).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..exceptions import ServiceUnavailable, ZhifuError

__all__ = ["error_body", "exception_handler"]

log = logging.getLogger("zhifu.api")

_DRF_CODES: list[tuple[type[Exception], str]] = [
    (drf.NotAuthenticated, "not_authenticated"),
    (drf.AuthenticationFailed, "authentication_failed"),
    (drf.PermissionDenied, "permission_denied"),
    (drf.NotFound, "not_found"),
    (drf.MethodNotAllowed, "method_not_allowed"),
    (drf.NotAcceptable, "not_acceptable"),
    (drf.UnsupportedMediaType, "unsupported_media_type"),
    (drf.ParseError, "malformed_request"),
    (drf.Throttled, "throttled"),
    (drf.ValidationError, "invalid_request"),
]


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def _first_message(detail: Any, prefix: str = "") -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            label = "" if key in ("non_field_errors", "detail") else f"{prefix}{key}"
            return (
                _first_message(value, f"{label}: " if label else prefix)
                if label
                else _first_message(value, prefix)
            )
        return _("invalid request")
    if isinstance(detail, list):
        for index, value in enumerate(detail):
            if value:
                if isinstance(value, dict):
                    return _first_message(value, f"{prefix.rstrip(': ')}[{index}].")
                return _first_message(value, prefix)
        return _("invalid request")
    return f"{prefix}{detail}"


def _jwt_code(exc: Exception) -> str | None:
    try:
        from rest_framework_simplejwt.exceptions import InvalidToken
    except ImportError:  # pragma: no cover - simplejwt is optional for a site
        return None
    return "token_invalid" if isinstance(exc, InvalidToken) else None


def _suspicious(exc: SuspiciousOperation) -> Response:
    # Django's own answer would be a bare 400 page (or a 500 when raised inside DRF).
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("request_too_large", _("the request body is too large")), status=413
        )
    if isinstance(exc, TooManyFieldsSent):
        return Response(
            error_body("request_too_large", _("the request has too many fields")), status=413
        )
    log.warning("suspicious request refused: %s", type(exc).__name__)
    return Response(error_body("bad_request", _("the request cannot be accepted")), status=400)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ZhifuError):
        return Response(error_body(exc.code, exc.message), status=exc.status)
    if isinstance(exc, SuspiciousOperation):
        return _suspicious(exc)
    if isinstance(exc, OperationalError | InterfaceError):
        # the database is down or hung: a temporary answer the client can retry, never a 500
        log.error("database unavailable in %s: %s", context.get("view").__class__.__name__, exc)
        unavailable = ServiceUnavailable()
        return Response(
            error_body(unavailable.code, unavailable.message),
            status=unavailable.status,
            headers={"Retry-After": unavailable.retry_after},
        )
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        log.exception(
            "unexpected error in %s", context.get("view").__class__.__name__, exc_info=exc
        )
        return Response(
            error_body("internal_error", _("something went wrong on our side; try again later")),
            status=500,
        )
    code = _jwt_code(exc)
    if code is None:
        code = next((c for cls, c in _DRF_CODES if isinstance(exc, cls)), None)
    if code is None:
        code = str(getattr(exc, "default_code", "error"))
    detail = getattr(exc, "detail", "")
    if isinstance(exc, drf.ValidationError):
        response.data = error_body(code, _first_message(detail), fields=detail)
    else:
        if isinstance(detail, dict):
            message = str(detail.get("detail", "")) or _first_message(detail)
        else:
            message = str(detail)
        response.data = error_body(code, message)
    return response
