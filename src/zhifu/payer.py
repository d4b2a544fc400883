"""What a request tells about the buyer at the moment of paying (see ``providers.base.Payer``)."""

from __future__ import annotations

from django.http import HttpRequest

from .providers.base import Payer

__all__ = ["payer_from_request"]


def payer_from_request(request: HttpRequest, *, openid: str = "") -> Payer:
    """The buyer's IP address as this site sees it (``REMOTE_ADDR``), and their gateway user id
    if the site learned it (WeChat JSAPI: the OAuth ``openid``)."""
    return Payer(ip=str(request.META.get("REMOTE_ADDR") or ""), openid=openid)
