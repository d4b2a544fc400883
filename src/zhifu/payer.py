"""What a request tells about the buyer at the moment of paying (see ``providers.base.Payer``).

The buyer's IP address (WeChat Pay H5 sends it to WeChat as ``payer_client_ip``) is the
request's ``REMOTE_ADDR`` — unless the site is behind proxies and says how many, with the same
setting Django REST framework's throttles read::

    REST_FRAMEWORK = {"NUM_PROXIES": 1}   # nginx in front of gunicorn

Then the address is the one the outermost of those proxies saw, taken from the right of
``X-Forwarded-For`` (the entries further left are whatever the client chose to send). Without the
setting ``X-Forwarded-For`` is ignored: a client cannot pick the address WeChat is told.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

from .providers.base import Payer

__all__ = ["client_ip", "payer_from_request"]


def _ip(text: str) -> str:
    """``text`` as an IP address, or "" if it is not one."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return ""


def _num_proxies() -> int | None:
    conf = getattr(settings, "REST_FRAMEWORK", None) or {}
    value = conf.get("NUM_PROXIES") if isinstance(conf, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def client_ip(request: HttpRequest) -> str:
    """The buyer's IP address as this site can trust it (see the module's docstring): the
    ``NUM_PROXIES``-th address from the right of ``X-Forwarded-For`` when
    ``REST_FRAMEWORK["NUM_PROXIES"]`` is set (as DRF's throttles pick it), else ``REMOTE_ADDR``.
    "" if neither holds an IP address."""
    remote = _ip(str(request.META.get("REMOTE_ADDR") or ""))
    proxies = _num_proxies()
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    if not proxies or not forwarded.strip():
        return remote
    addresses = [a for a in (part.strip() for part in forwarded.split(",")) if a]
    if not addresses:
        return remote
    return _ip(addresses[-min(proxies, len(addresses))]) or remote


def payer_from_request(request: HttpRequest, *, openid: str = "") -> Payer:
    """The buyer's IP address (:func:`client_ip`), and their gateway user id if the site
    learned it (WeChat JSAPI: the OAuth ``openid``)."""
    return Payer(ip=client_ip(request), openid=openid)
