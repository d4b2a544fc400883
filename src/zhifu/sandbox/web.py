"""Small helpers shared by the sandbox's pages and JSON endpoints."""

from __future__ import annotations

import functools
import json
import ssl
from typing import Any

import httpx
import segno
from jinja2 import Environment, PackageLoader, select_autoescape
from werkzeug.wrappers import Response

from zhifu.money import parse_money

from .clock import fmt

__all__ = ["json_error", "json_response", "qr_data_uri", "render", "ssl_context"]

_env = Environment(
    loader=PackageLoader("zhifu.sandbox", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["ts"] = lambda value: fmt(value) if value is not None else ""
_env.filters["yuan"] = lambda value: f"¥{parse_money(value):,.2f}"  # ¥1,000,000.00 on pages


def render(template: str, status: int = 200, **context: Any) -> Response:
    html = _env.get_template(template).render(**context)
    return Response(html, status=status, content_type="text/html; charset=utf-8")


def json_response(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, ensure_ascii=False, indent=1, default=str)
    return Response(body, status=status, content_type="application/json; charset=utf-8")


def json_error(status: int, code: str, message: str) -> Response:
    return json_response({"error": code, "message": message}, status)


def qr_data_uri(text: str) -> str:
    """An SVG QR code of ``text`` as a data: URI for an <img>."""
    return str(segno.make(text, error="m").svg_data_uri(scale=4, border=2))


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """One default TLS context for the process: building one (loading the CA bundle) costs
    ~70 ms, and every sandbox, started or stopped by the dozen in a test run, needs one."""
    return httpx.create_ssl_context()
