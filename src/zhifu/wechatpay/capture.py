"""Reading a captured notification (or response) back: headers and the exact body bytes.

For ``zhifu wechatpay verify`` and for support work: a request saved from a proxy, ``nc -l`` or
a log is ``[request line]``, header lines, a blank line, then the body, byte for byte.
"""

from __future__ import annotations

import json

from .errors import WechatPayError

__all__ = ["CaptureError", "parse_captured_request", "parse_header_lines"]


class CaptureError(WechatPayError, ValueError):
    """Captured data that cannot be read as headers and a body; the message says why."""


def parse_header_lines(text: str) -> dict[str, str]:
    """``Name: value`` lines (a request line and blank lines are skipped), or a JSON object."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            raise CaptureError("headers: starts with '{' but is not valid JSON") from None
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise CaptureError("headers: the JSON must map names to string values")
        return dict(data)
    headers: dict[str, str] = {}
    for number, line in enumerate(stripped.splitlines(), 1):
        line = line.strip()
        if not line or (number == 1 and " HTTP/" in line and ":" not in line.split(" ")[0]):
            continue  # "POST /notify HTTP/1.1"
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or " " in name.strip():
            raise CaptureError(f"headers: line {number} is not 'Name: value': {line[:60]!r}")
        headers[name.strip()] = value.strip()
    if not headers:
        raise CaptureError("headers: none found")
    return headers


def parse_captured_request(data: bytes) -> tuple[dict[str, str], bytes]:
    """(headers, body) of a captured HTTP request; the body is kept byte for byte."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, sep, body = data.partition(separator)
        if sep:
            break
    else:
        raise CaptureError("captured request: no blank line between the headers and the body")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise CaptureError("captured request: the headers are not UTF-8 text") from None
    return parse_header_lines(text), body
