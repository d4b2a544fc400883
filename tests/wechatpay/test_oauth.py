"""WeChat web OAuth (snsapi_base) for JSAPI: the authorize URL and the code → openid exchange,
against the sandbox over real HTTP (a closed port and a scripted transport for the failures)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import pytest

from zhifu.sandbox.testing import SandboxServer
from zhifu.wechatpay import (
    InvalidRequestError,
    WechatPayAPIError,
    WechatPayResponseError,
    WechatPayTransportError,
)
from zhifu.wechatpay.oauth import WechatOAuth, authorize_url

from ..sandbox.helpers import test_keys

BACK = "http://shop.test/wechat/oauth/?next=/orders/1/"


@pytest.fixture(scope="module")
def sb() -> Iterator[SandboxServer]:
    with SandboxServer(keys=test_keys()) as server:
        yield server


@pytest.fixture
def oauth(sb: SandboxServer) -> Iterator[WechatOAuth]:
    client = WechatOAuth(
        appid=sb.wechat_info["appid"],
        secret="sandbox-secret",
        authorize_base_url=sb.url,
        api_base_url=sb.url,
    )
    yield client
    client.close_connections()


def _code_for(oauth: WechatOAuth, login: str, state: str = "s1") -> str:
    """What WeChat's browser does: open the authorize URL (as the sandbox user ``login``) and
    follow it back to the site with a code."""
    url = oauth.authorize_url(BACK, state)
    assert url.endswith("#wechat_redirect")
    chosen = httpx.get(url.split("#")[0] + "&login=" + login)
    assert chosen.status_code == 302, chosen.text
    back = urlsplit(chosen.headers["location"])
    query = parse_qs(back.query)
    assert back.netloc == "shop.test" and back.path == "/wechat/oauth/"
    assert query["state"] == [state] and query["next"] == ["/orders/1/"]
    return query["code"][0]


def _openid(sb: SandboxServer, login: str) -> str:
    return str(next(u["openid"] for u in sb.wechat_info["users"] if u["login"] == login))


def test_the_authorize_url_is_wechats_in_its_documented_order() -> None:
    url = authorize_url("wx123", BACK, "abc_1-2")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "open.weixin.qq.com",
        "/connect/oauth2/authorize",
    )
    assert parts.fragment == "wechat_redirect"
    assert parse_qsl(parts.query) == [
        ("appid", "wx123"),
        ("redirect_uri", BACK),
        ("response_type", "code"),
        ("scope", "snsapi_base"),
        ("state", "abc_1-2"),
    ]
    assert "redirect_uri=http%3A%2F%2Fshop.test%2Fwechat%2Foauth%2F%3Fnext%3D" in url


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"appid": ""}, "appid"),
        ({"redirect_uri": "/relative/"}, "redirect_uri"),
        ({"scope": "snsapi_login"}, "scope"),
        ({"state": "has space"}, "state"),
        ({"state": "x" * 129}, "state"),
        ({"base_url": "open.weixin.qq.com"}, "base_url"),
    ],
)
def test_a_bad_authorize_parameter_is_named(kwargs: dict[str, str], named: str) -> None:
    args = {"appid": "wx123", "redirect_uri": BACK, "state": "s", **kwargs}
    base = args.pop("base_url", "https://open.weixin.qq.com")
    scope = args.pop("scope", "snsapi_base")
    with pytest.raises(InvalidRequestError, match=named):
        authorize_url(
            args["appid"], args["redirect_uri"], args["state"], scope=scope, base_url=base
        )


def test_a_code_exchanges_for_the_users_openid(sb: SandboxServer, oauth: WechatOAuth) -> None:
    token = oauth.exchange_code(_code_for(oauth, "buyer2@sandbox.com"))
    assert token.openid == _openid(sb, "buyer2@sandbox.com")
    assert token.scope == "snsapi_base" and token.expires_in == 7200
    assert token.access_token and token.access_token not in repr(token)
    assert "access_token" not in token.raw and token.raw["openid"] == token.openid


def test_each_user_has_their_own_openid(sb: SandboxServer, oauth: WechatOAuth) -> None:
    one = oauth.exchange_code(_code_for(oauth, "buyer1@sandbox.com")).openid
    two = oauth.exchange_code(_code_for(oauth, "buyer2@sandbox.com")).openid
    assert one != two and one == _openid(sb, "buyer1@sandbox.com")


def test_a_code_is_used_once(oauth: WechatOAuth) -> None:
    code = _code_for(oauth, "buyer1@sandbox.com")
    oauth.exchange_code(code)
    with pytest.raises(WechatPayAPIError) as caught:
        oauth.exchange_code(code)
    assert caught.value.code == "40029" and caught.value.message == "invalid code"
    assert caught.value.operation == "GET /sns/oauth2/access_token"
    assert not caught.value.retryable
    assert "sandbox-secret" not in str(caught.value)


def test_a_code_of_another_app_or_a_made_up_one_is_refused(
    sb: SandboxServer, oauth: WechatOAuth
) -> None:
    with pytest.raises(WechatPayAPIError) as made_up:
        oauth.exchange_code("0" * 32)
    assert made_up.value.code == "40029"
    other = WechatOAuth(
        appid="wx_not_in_the_sandbox", secret="s", authorize_base_url=sb.url, api_base_url=sb.url
    )
    with pytest.raises(WechatPayAPIError) as wrong_app:
        other.exchange_code(_code_for(oauth, "buyer1@sandbox.com"))
    assert (wrong_app.value.code, wrong_app.value.message) == ("40013", "invalid appid")


def test_an_empty_code_or_secret_is_refused_before_sending() -> None:
    with pytest.raises(InvalidRequestError, match="secret"):
        WechatOAuth(appid="wx123", secret=" ")
    with pytest.raises(InvalidRequestError, match="code"):
        WechatOAuth(appid="wx123", secret="s").exchange_code("")


def test_wechat_unreachable_is_a_transport_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    oauth = WechatOAuth(appid="wx123", secret="s", api_base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(WechatPayTransportError) as caught:
        oauth.exchange_code("abc")
    assert caught.value.retryable and "127.0.0.1" in caught.value.message


@pytest.mark.parametrize(
    ("status", "body", "error", "retryable"),
    [
        (200, b"<html>busy</html>", WechatPayResponseError, False),
        (200, b'{"errcode": -1, "errmsg": "system error"}', WechatPayAPIError, True),
        (502, b"bad gateway", WechatPayAPIError, True),
        (200, b'{"access_token": "t", "expires_in": 7200}', WechatPayResponseError, False),
    ],
)
def test_answers_that_are_not_a_token_are_errors(
    status: int, body: bytes, error: type[Exception], retryable: bool
) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, content=body)

    oauth = WechatOAuth(appid="wx123", secret="s3", transport=httpx.MockTransport(answer))
    with pytest.raises(error) as caught:
        oauth.exchange_code("abc")
    assert getattr(caught.value, "retryable", None) is retryable
    assert dict(seen[0].url.params) == {
        "appid": "wx123",
        "secret": "s3",
        "code": "abc",
        "grant_type": "authorization_code",
    }
    assert seen[0].url.host == "api.weixin.qq.com"
    assert seen[0].url.path == "/sns/oauth2/access_token"
