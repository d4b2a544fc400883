"""CSRF: every site form and the API with a session cookie need the token; only the Alipay
notify view (signed by Alipay, posted by Alipay's servers) is exempt."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from shop.models import Goods

from zhifu.models import Order

pytestmark = pytest.mark.django_db


def test_csrf_is_enforced_on_site_forms_but_not_on_alipay_notify(seeded: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(seeded["alice"])
    mug = Goods.objects.get(code="mug")
    assert client.post(f"/shop/{mug.pk}/buy/").status_code == 403
    assert client.post("/wallet/top-up/", {"amount": "10"}).status_code == 403
    assert not Order.objects.exists()
    # the notification endpoint is exempt: an unsigned form is refused by Zhifu, not by CSRF
    notify = client.post("/zhifu/alipay/notify/", {"out_trade_no": "x"})
    assert notify.status_code != 403
    assert notify.content != b"success"


def _walk(resolver: URLResolver, prefix: str = "") -> list[tuple[str, Any]]:
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            found += _walk(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            found.append((prefix + str(entry.pattern), entry.callback))
    return found


def test_only_the_notify_views_are_csrf_exempt() -> None:
    """Every Django view keeps CSRF, except Zhifu's notify views (one per gateway). DRF views are marked exempt by
    DRF itself and do their own check: session auth enforces CSRF, JWT is a header, not a cookie."""
    from rest_framework.authentication import SessionAuthentication
    from rest_framework.views import APIView
    from rest_framework_simplejwt.authentication import JWTAuthentication

    exempt = []
    for route, callback in _walk(get_resolver()):
        if not getattr(callback, "csrf_exempt", False):
            continue
        view_class = getattr(callback, "cls", None)
        if view_class is not None and issubclass(view_class, APIView):
            for auth in view_class().get_authenticators():
                assert isinstance(auth, (SessionAuthentication, JWTAuthentication)), (route, auth)
            continue
        exempt.append(route)
    assert exempt and all(r.startswith("zhifu/") and r.endswith("/notify/") for r in exempt), exempt


def test_api_with_a_session_cookie_needs_the_csrf_token(seeded: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(seeded["alice"])
    mug = Goods.objects.get(code="mug")
    response = client.post(
        "/api/orders/", {"items": [{"sku": mug.sku}]}, content_type="application/json"
    )
    assert response.status_code == 403
    assert not Order.objects.exists()
