"""Error pages, security headers and the login brute-force limit, through the real middleware
stack with DEBUG off (as pytest-django runs Django)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from common.once import new_token  # buy now needs its one-time form token
from demo_site import login_throttle
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path
from shop.models import Goods

from zhifu.models import Order

PASSWORD = "zhifu-demo"  # noqa: S105 - the demo users' published password


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug with a secret in its message: sk_live_do_not_show")


def _forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


# This module is also the URLconf of the tests marked with it: the demo's URLs plus two views
# that fail on purpose.
urlpatterns = [
    path("test-boom/", _boom),
    path("test-forbidden/", _forbidden),
    path("", include("demo_site.urls")),
]


def _no_debug_page(body: str) -> None:
    for leak in ("Traceback", "Using the URLconf", "sk_live_do_not_show", "SECRET_KEY"):
        assert leak not in body


# --- error pages ----------------------------------------------------------------------------


def test_another_users_order_is_the_styled_404(seeded: dict[str, Any], client: Client) -> None:
    mug = Goods.objects.get(code="mug")
    client.force_login(seeded["alice"])
    client.post(f"/shop/{mug.pk}/buy/", {"once": new_token()})
    order = Order.objects.get(user=seeded["alice"])
    client.force_login(seeded["bob"])
    for url in (f"/orders/{order.out_trade_no}/", f"/orders/{order.out_trade_no}/pay/"):
        response = client.get(url)
        assert response.status_code == 404
        body = response.content.decode()
        assert 'data-testid="error-404"' in body and 'class="topbar"' in body
        assert order.subject not in body  # (its number is only in the language form's next=)
        _no_debug_page(body)


def test_unknown_url_is_the_styled_404_without_a_url_list(db: Any, client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert 'data-testid="error-404"' in response.content.decode()
    _no_debug_page(response.content.decode())


@pytest.mark.urls(__name__)
def test_a_server_error_is_the_styled_500_without_a_traceback(db: Any) -> None:
    response = Client(raise_request_exception=False).get("/test-boom/")
    assert response.status_code == 500
    body = response.content.decode()
    assert 'data-testid="error-500"' in body and "site.css" in body
    _no_debug_page(body)


@pytest.mark.urls(__name__)
def test_permission_denied_is_the_styled_403(db: Any, client: Client) -> None:
    response = client.get("/test-forbidden/")
    assert response.status_code == 403
    assert 'data-testid="error-403"' in response.content.decode()


def test_a_csrf_failure_is_the_styled_403(seeded: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(seeded["alice"])
    response = client.post("/wallet/top-up/", {"amount": "10"})
    assert response.status_code == 403
    assert 'data-testid="error-403-csrf"' in response.content.decode()


# --- headers ------------------------------------------------------------------------------------


def test_pages_carry_a_csp_whose_nonce_is_the_inline_scripts(alice_client: Client) -> None:
    mug = Goods.objects.get(code="mug")
    alice_client.post(f"/shop/{mug.pk}/buy/", {"once": new_token()})
    order = Order.objects.get()
    response = alice_client.get(f"/orders/{order.out_trade_no}/pay/")
    policy = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert "'unsafe-inline'" not in directives["script-src"]
    assert directives["default-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    # the pay form is redirected to the gateway: form-action names it
    assert (
        "http://127.0.0.1:9000" in directives["form-action"]
        or "https://" in (directives["form-action"])
    )
    body = response.content.decode()
    nonces = re.findall(r'<script\b[^>]*\snonce="([^"]+)"', body)
    assert nonces, "the pay page's scripts carry no nonce"
    assert all(f"'nonce-{n}'" in directives["script-src"] for n in nonces)
    # every inline script has the nonce (a script file from the site passes as 'self')
    inline = re.findall(r"<script\b(?![^>]*\ssrc=)[^>]*>", body)
    assert all("nonce=" in tag for tag in inline), inline
    assert not re.search(r"\son[a-z]+=", body), "an inline event handler would be blocked"
    other = alice_client.get(f"/orders/{order.out_trade_no}/pay/")
    assert other.headers["Content-Security-Policy"] != policy  # a fresh nonce per answer


def test_private_pages_and_api_answers_are_not_stored(seeded: dict[str, Any]) -> None:
    from rest_framework_simplejwt.tokens import RefreshToken

    mug = Goods.objects.get(code="mug")
    client = Client()
    anonymous = client.get("/shop/")
    assert "no-store" not in anonymous.headers.get("Cache-Control", "")
    client.force_login(seeded["alice"])
    client.post(f"/shop/{mug.pk}/buy/", {"once": new_token()})
    order = Order.objects.get()
    for url in (
        "/orders/",
        f"/orders/{order.out_trade_no}/",
        f"/orders/{order.out_trade_no}/pay/",
        "/wallet/",
    ):
        cache_control = client.get(url).headers.get("Cache-Control", "")
        assert "private" in cache_control and "no-store" in cache_control, url
    token = str(RefreshToken.for_user(seeded["alice"]).access_token)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    for url in ("/api/orders/", "/api/wallet/", f"/api/orders/{order.out_trade_no}/"):
        response = api.get(url)
        assert response.status_code == 200, url
        cache_control = response.headers.get("Cache-Control", "")
        assert "private" in cache_control and "no-store" in cache_control, url


# --- login brute force --------------------------------------------------------------------------


def _login(
    client: Client,
    password: str,
    username: str = "alice",
    url: str = "/accounts/login/",
    address: str = "10.0.0.7",
) -> Any:
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_thirty_wrong_passwords_then_the_right_one_is_refused_until_the_window_passes(
    seeded: dict[str, Any], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client()
    codes = [_login(client, f"wrong-{i}").status_code for i in range(30)]
    limit = settings.LOGIN_FAILURE_LIMIT
    assert codes == [200] * limit + [429] * (30 - limit)
    refused = _login(client, PASSWORD)
    assert refused.status_code == 429
    assert 'data-testid="error-429"' in refused.content.decode()
    assert 0 < int(refused.headers["Retry-After"]) <= settings.LOGIN_FAILURE_WINDOW
    assert "_auth_user_id" not in client.session
    # another address may still log in as alice; the same address as another user too
    assert _login(Client(), PASSWORD, address="10.0.0.8").status_code == 302
    assert _login(Client(), PASSWORD, username="bob").status_code == 302
    # a window later the right password is accepted
    later = login_throttle._now() + settings.LOGIN_FAILURE_WINDOW + 1
    monkeypatch.setattr(login_throttle, "_now", lambda: later)
    accepted = _login(client, PASSWORD)
    assert accepted.status_code == 302
    assert client.session["_auth_user_id"] == str(seeded["alice"].pk)


def test_a_successful_login_clears_the_count(seeded: dict[str, Any], settings: Any) -> None:
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert _login(Client(), "wrong").status_code == 200
    assert _login(Client(), PASSWORD).status_code == 302
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert _login(Client(), "wrong").status_code == 200  # counted from zero again


def test_the_admin_login_is_throttled_too(seeded: dict[str, Any], settings: Any) -> None:
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert _login(Client(), "wrong", username="admin", url="/admin/login/").status_code == 200
    response = _login(Client(), PASSWORD, username="admin", url="/admin/login/")
    assert response.status_code == 429


def test_behind_the_proxy_the_address_is_the_one_nginx_appended(
    seeded: dict[str, Any], settings: Any
) -> None:
    """With DJANGO_SECURE the site sits behind the proxy of docs/deployment.en.md: REMOTE_ADDR is
    the proxy's, the client is the last X-Forwarded-For entry (a client-sent first entry is not
    trusted)."""
    settings.SECURE = True

    def attempt(password: str, chain: str) -> int:
        return (
            Client()
            .post(
                "/accounts/login/",
                {"username": "alice", "password": password},
                REMOTE_ADDR="127.0.0.1",
                HTTP_X_FORWARDED_FOR=chain,
            )
            .status_code
        )

    for i in range(settings.LOGIN_FAILURE_LIMIT):
        assert attempt("wrong", f"10.9.9.{i}, 203.0.113.5") == 200  # forged first entries
    assert attempt(PASSWORD, "10.9.9.99, 203.0.113.5") == 429
    assert attempt(PASSWORD, "203.0.113.6") == 302  # another client behind the same proxy
