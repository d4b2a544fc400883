"""WeChat web OAuth (网页授权) for JSAPI pay: learning the buyer's ``openid``. No Django import.

JSAPI pay needs the buyer's ``openid`` for the site's appid (reference section 8.2). Inside
WeChat's browser the site sends the buyer to the silent ``snsapi_base`` authorisation::

    https://open.weixin.qq.com/connect/oauth2/authorize?appid=…&redirect_uri=…
        &response_type=code&scope=snsapi_base&state=…#wechat_redirect

WeChat sends the browser back to ``redirect_uri?code=…&state=…``; the site's server then
exchanges the code (valid 5 minutes, once) for the openid::

    GET https://api.weixin.qq.com/sns/oauth2/access_token
        ?appid=…&secret=…&code=…&grant_type=authorization_code

which answers ``{"access_token", "expires_in", "refresh_token", "openid", "scope"}`` or, with
HTTP 200 all the same, ``{"errcode": 40029, "errmsg": "invalid code"}``.

Both hosts are configurable (``authorize_base_url``, ``api_base_url``): the Zhifu sandbox
serves the same two paths on its own URL. The app secret and the tokens are never put in an
error message or a ``repr``.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from .errors import (
    InvalidRequestError,
    WechatPayAPIError,
    WechatPayResponseError,
    WechatPayTimeoutError,
    WechatPayTransportError,
)

__all__ = [
    "OAUTH_API_BASE_URL",
    "OAUTH_AUTHORIZE_BASE_URL",
    "SCOPES",
    "OAuthToken",
    "WechatOAuth",
    "authorize_url",
]

OAUTH_AUTHORIZE_BASE_URL = "https://open.weixin.qq.com"
OAUTH_API_BASE_URL = "https://api.weixin.qq.com"
AUTHORIZE_PATH = "/connect/oauth2/authorize"
ACCESS_TOKEN_PATH = "/sns/oauth2/access_token"  # noqa: S105 - a path, not a secret
SCOPES = ("snsapi_base", "snsapi_userinfo")
# errcode -1 is "system busy, try again"; 45011 a momentary rate limit.
RETRYABLE_ERRCODES = frozenset({-1, 45011})
_STATE = re.compile(r"[A-Za-z0-9_\-]{0,128}", re.ASCII)  # WeChat: a-zA-Z0-9, at most 128 bytes
_OPERATION = f"GET {ACCESS_TOKEN_PATH}"


def _base(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise InvalidRequestError(f"{name} {value!r} is not an http(s) URL")
    return value.rstrip("/")


def _required(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(f"{name} must be a non-empty string")
    return value.strip()


def authorize_url(
    appid: str,
    redirect_uri: str,
    state: str = "",
    *,
    scope: str = "snsapi_base",
    base_url: str = OAUTH_AUTHORIZE_BASE_URL,
) -> str:
    """The address to send the buyer's browser to. Parameters in WeChat's documented order
    (WeChat's page is sensitive to it), ending in ``#wechat_redirect``."""
    appid = _required(appid, "appid")
    if not isinstance(redirect_uri, str) or not redirect_uri.startswith(("http://", "https://")):
        raise InvalidRequestError(f"redirect_uri {redirect_uri!r} must be an absolute http(s) URL")
    if scope not in SCOPES:
        raise InvalidRequestError(f"scope {scope!r} is not one of {', '.join(SCOPES)}")
    if not isinstance(state, str) or not _STATE.fullmatch(state):
        raise InvalidRequestError("state must be at most 128 letters, digits, '_' or '-'")
    query = urlencode(
        [
            ("appid", appid),
            ("redirect_uri", redirect_uri),
            ("response_type", "code"),
            ("scope", scope),
            ("state", state),
        ]
    )
    return f"{_base(base_url, 'base_url')}{AUTHORIZE_PATH}?{query}#wechat_redirect"


@dataclass(frozen=True)
class OAuthToken:
    """What the code was exchanged for. Only ``openid`` and ``scope`` show in a ``repr``."""

    openid: str
    scope: str
    expires_in: int
    access_token: str = field(repr=False)
    refresh_token: str = field(default="", repr=False)
    unionid: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


class WechatOAuth:
    """One official account (公众号) app: its appid and app secret (AppSecret), and the two
    hosts. No I/O at init; one ``httpx`` client, made on first use (transport injectable)."""

    def __init__(
        self,
        *,
        appid: str,
        secret: str,
        authorize_base_url: str = OAUTH_AUTHORIZE_BASE_URL,
        api_base_url: str = OAUTH_API_BASE_URL,
        timeout: float | httpx.Timeout = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.appid = _required(appid, "appid")
        self._secret = _required(secret, "secret")
        self.authorize_base_url = _base(authorize_base_url, "authorize_base_url")
        self.api_base_url = _base(api_base_url, "api_base_url")
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._transport = transport
        self._http: httpx.Client | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"WechatOAuth(appid={self.appid!r}, api_base_url={self.api_base_url!r})"

    def authorize_url(self, redirect_uri: str, state: str = "", scope: str = "snsapi_base") -> str:
        return authorize_url(
            self.appid, redirect_uri, state, scope=scope, base_url=self.authorize_base_url
        )

    def _client(self) -> httpx.Client:
        with self._lock:
            if self._http is None:
                self._http = httpx.Client(timeout=self._timeout, transport=self._transport)
            return self._http

    def close_connections(self) -> None:
        with self._lock:
            if self._http is not None:
                self._http.close()
                self._http = None

    def exchange_code(self, code: str) -> OAuthToken:
        """The ``code`` WeChat brought back → the buyer's openid (and a web access token).

        Raises :class:`~zhifu.wechatpay.errors.WechatPayAPIError` with WeChat's ``errcode`` as
        ``code`` and ``errmsg`` as ``message`` (40029 ``invalid code``: expired, used, or of
        another app), :class:`~zhifu.wechatpay.errors.WechatPayTransportError` if WeChat could
        not be reached, :class:`~zhifu.wechatpay.errors.WechatPayResponseError` for an answer
        that is not WeChat's JSON."""
        code = _required(code, "code")
        params = {
            "appid": self.appid,
            "secret": self._secret,
            "code": code,
            "grant_type": "authorization_code",
        }
        url = self.api_base_url + ACCESS_TOKEN_PATH
        try:
            response = self._client().get(
                url, params=params, headers={"Accept": "application/json"}
            )
        except httpx.TimeoutException as exc:
            raise WechatPayTimeoutError(
                f"timed out asking for the openid ({type(exc).__name__})", operation=_OPERATION
            ) from None
        except httpx.TransportError as exc:
            raise WechatPayTransportError(
                f"cannot reach WeChat's OAuth API at {self.api_base_url} ({type(exc).__name__})",
                operation=_OPERATION,
            ) from None
        return self._token(response)

    @staticmethod
    def _token(response: httpx.Response) -> OAuthToken:
        status = response.status_code
        try:
            data = json.loads(response.content) if response.content else None
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            if status != 200:
                raise WechatPayAPIError(
                    f"WeChat's OAuth API answered HTTP {status}",
                    operation=_OPERATION,
                    status=status,
                    retryable=status >= 500,
                )
            raise WechatPayResponseError(
                "WeChat's OAuth API answered something that is not a JSON object",
                operation=_OPERATION,
                status=status,
            )
        errcode = data.get("errcode")
        if errcode not in (None, 0) or status != 200:
            message = str(data.get("errmsg") or f"WeChat's OAuth API answered HTTP {status}")
            raise WechatPayAPIError(
                message,
                operation=_OPERATION,
                code=str(errcode) if errcode is not None else None,
                status=status,
                retryable=errcode in RETRYABLE_ERRCODES or status >= 500,
            )
        openid = data.get("openid")
        token = data.get("access_token")
        if not isinstance(openid, str) or not openid:
            raise WechatPayResponseError(
                "WeChat's OAuth answer has no openid", operation=_OPERATION, status=status
            )
        if not isinstance(token, str) or not token:
            raise WechatPayResponseError(
                "WeChat's OAuth answer has no access_token", operation=_OPERATION, status=status
            )
        expires_in = data.get("expires_in", 0)
        return OAuthToken(
            openid=openid,
            scope=str(data.get("scope") or ""),
            expires_in=expires_in if isinstance(expires_in, int) else 0,
            access_token=token,
            refresh_token=str(data.get("refresh_token") or ""),
            unionid=str(data.get("unionid") or ""),
            raw={k: v for k, v in data.items() if k not in ("access_token", "refresh_token")},
        )
