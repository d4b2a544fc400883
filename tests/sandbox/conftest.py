"""Fixtures for the sandbox tests: a real sandbox over HTTP and a tiny notification receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import httpx
import pytest

from zhifu.sandbox.testing import SandboxServer

from .helpers import test_keys


class Receiver:
    """A merchant's notify_url: records every POST and answers from a script of replies."""

    def __init__(self) -> None:
        self.received: list[dict[str, str]] = []
        self.raw: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.replies: list[str] = []  # consumed one per request; then default_reply
        self.default_reply = "success"
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.raw.append(body)
                    receiver.headers.append(dict(self.headers))
                    receiver.received.append(dict(parse_qsl(body.decode("ascii"))))
                    reply = receiver.replies.pop(0) if receiver.replies else receiver.default_reply
                data = reply.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/notify"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def sb() -> Iterator[SandboxServer]:
    # time_scale 1: tests move time with the clock API so nothing depends on the machine's speed;
    # its own temporary data dir, removed at the end: a test run leaves no sandbox behind
    with SandboxServer(time_scale=1.0, keys=test_keys()) as server:
        yield server


@pytest.fixture
def client(sb: SandboxServer, receiver: Receiver):
    return sb.client(notify_url=receiver.url, return_url="http://shop.test/return")


def open_page_pay(url: str) -> httpx.Response:
    """The browser reaching the gateway with a page-pay URL: returns the cashier page."""
    first = httpx.get(url)
    assert first.status_code == 302, first.text
    page = httpx.get(first.headers["location"])
    assert page.status_code == 200
    return page
