"""Hand-made WeChat requests, for tests that break the protocol on purpose."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from zhifu.sandbox.testing import SandboxServer
from zhifu.wechatpay import RequestSigner


def signer(sb: SandboxServer) -> RequestSigner:
    info = sb.wechat_info
    return RequestSigner(
        mchid=info["mchid"],
        serial_no=info["merchant_serial_no"],
        private_key=Path(info["key_files"]["merchant_private_key"]),
    )


def raw_call(
    sb: SandboxServer,
    method: str,
    path: str,
    body: Any = None,
    *,
    headers: dict[str, str | None] | None = None,
    timestamp: int | None = None,
    authorization: str | None = None,
) -> httpx.Response:
    """A signed call (``authorization`` replaces the header); ``headers`` override the rest."""
    content = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
    sent = {
        "Accept": "application/json",
        "User-Agent": "test-suite/1.0",
        "Content-Type": "application/json",
        "Authorization": authorization
        or signer(sb).authorization(
            method,
            path,
            content,
            timestamp=timestamp if timestamp is not None else int(time.time()),
        ),
    }
    with httpx.Client() as http:
        for name, value in (headers or {}).items():
            if value is None:  # httpx adds its own Accept and User-Agent unless removed
                sent.pop(name, None)
                http.headers.pop(name, None)
            else:
                sent[name] = value
        return http.request(method, sb.url + path, content=content or None, headers=sent)
