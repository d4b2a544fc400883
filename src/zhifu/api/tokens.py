"""JSON Web Tokens: obtain, refresh, log out. Throttled against password guessing, answering in
the API's error shape.

Lifetimes come from the site's ``SIMPLE_JWT`` setting. An access token is not revocable: it stays
valid until it expires (``ACCESS_TOKEN_LIFETIME``; keep it short, 5–30 minutes). Log out blacklists
the refresh token, so no new access token can be obtained with it. With
``ROTATE_REFRESH_TOKENS`` and ``BLACKLIST_AFTER_ROTATION`` on (recommended, and what the demo
uses) every refresh also returns a new refresh token and blacklists the old one; both need
``rest_framework_simplejwt.token_blacklist`` in ``INSTALLED_APPS``.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt import views as jwt

from ..exceptions import ConfigurationError
from .errors import exception_handler
from .schema import errors
from .throttles import TokenAddressThrottle, TokenUsernameThrottle

__all__ = ["LogoutView", "TokenObtainView", "TokenRefreshView"]


class _TokenView:
    parser_classes: Any = (JSONParser,)
    throttle_classes: Any = (TokenAddressThrottle, TokenUsernameThrottle)

    def get_exception_handler(self) -> Any:
        return exception_handler


class _Credentials(serializers.Serializer[Any]):
    username = serializers.CharField(write_only=True, min_length=1)
    password = serializers.CharField(write_only=True, min_length=1)


class _TokenPair(serializers.Serializer[Any]):
    access = serializers.CharField(help_text="send as `Authorization: Bearer <access>`")
    refresh = serializers.CharField(help_text="for token/refresh/ and token/logout/")


class _Refresh(serializers.Serializer[Any]):
    refresh = serializers.CharField(min_length=1)


class TokenObtainView(_TokenView, jwt.TokenObtainPairView):
    """Sign in: an access token (short-lived; not revocable before it expires) and a refresh
    token. Limited per address and per username (429 with ``Retry-After``)."""

    @extend_schema(
        request=_Credentials,
        responses={200: _TokenPair, **errors(400, 401, 413, 429)},
        operation_id="token_create",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class TokenRefreshView(_TokenView, jwt.TokenRefreshView):
    """A new access token for a refresh token; with rotation on (the recommended setting), also
    a new refresh token, and the one sent is blacklisted (using it again gives 401)."""

    @extend_schema(
        request=_Refresh,
        responses={200: _TokenPair, **errors(400, 401, 413, 429)},
        operation_id="token_refresh_create",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class LogoutView(_TokenView, jwt.TokenBlacklistView):
    """Log out: the refresh token is blacklisted (no new access token can be had with it). The
    current access token stays valid until it expires, so clients drop it too."""

    @extend_schema(
        request=_Refresh,
        responses={204: None, **errors(400, 401, 413, 429)},
        operation_id="token_logout",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not apps.is_installed("rest_framework_simplejwt.token_blacklist"):
            raise ConfigurationError(
                "configuration_error",
                _("log out needs rest_framework_simplejwt.token_blacklist in INSTALLED_APPS"),
            )
        super().post(request, *args, **kwargs)
        return Response(status=status.HTTP_204_NO_CONTENT)
