"""Fixtures for the WeChat side of the sandbox: a real sandbox over HTTP, a site's notify URL."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from zhifu.sandbox.testing import SandboxServer
from zhifu.wechatpay import WechatPayClient

from ..helpers import test_keys


class WechatReceiver:
    """A site's WeChat notify_url: keeps every raw body and its headers, answers as scripted
    (``replies``: (status, body, delay seconds) consumed one per request, then 204)."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.replies: list[tuple[int, bytes, float]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.bodies.append(body)
                    receiver.headers.append(dict(self.headers))
                    status, data, delay = (
                        receiver.replies.pop(0) if receiver.replies else (204, b"", 0.0)
                    )
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/wechatpay/notify"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def envelopes(self) -> list[dict[str, Any]]:
        return [json.loads(body) for body in self.bodies]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def wx_receiver() -> Iterator[WechatReceiver]:
    receiver = WechatReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def sb() -> Iterator[SandboxServer]:
    with SandboxServer(time_scale=1.0, keys=test_keys()) as server:
        yield server


@pytest.fixture
def wxc(sb: SandboxServer, wx_receiver: WechatReceiver) -> WechatPayClient:
    """The site's client, in the merchant's current mode (public key by default)."""
    return sb.wechat_client(notify_url=wx_receiver.url)
