"""Running the sandbox: ``serve()`` for ``zhifu sandbox``, ``start()`` for tests and tools."""

from __future__ import annotations

import socket
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

from werkzeug.serving import (
    BaseWSGIServer,
    WSGIRequestHandler,
    get_sockaddr,
    make_server,
    select_address_family,
)

from .accounts import BUYER_PASSWORD, SANDBOX_JSON, SandboxKeys
from .app import DEFAULT_TIMESTAMP_SKEW, Sandbox

__all__ = ["RunningSandbox", "SandboxStartError", "serve", "start"]


class SandboxStartError(RuntimeError):
    """The sandbox cannot start (port taken, data dir unusable...); the message says why."""


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        if type == "error":
            super().log(type, message, *args)


class RunningSandbox:
    """A sandbox serving HTTP in a background thread."""

    def __init__(self, sandbox: Sandbox, server: BaseWSGIServer, url: str) -> None:
        self.sandbox = sandbox
        self.server = server
        self.url = url
        self.port = server.port
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="sandbox-http",
            daemon=True,
        )
        self._thread.start()

    @property
    def gateway_url(self) -> str:
        return self.url + "/gateway.do"

    def wait(self) -> None:
        while self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self) -> None:
        self.server.shutdown()
        self._thread.join(timeout=10)
        self.server.server_close()
        self.sandbox.close()


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket, bound here so that a taken port is one clear error.

    (Left to bind on its own, werkzeug prints its own lines to stderr and exits.)
    """
    family = select_address_family(host, port)
    address = get_sockaddr(host, port, family)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


def start(
    host: str,
    port: int,
    data_dir: Path,
    time_scale: float = 1.0,
    *,
    timestamp_skew: float = DEFAULT_TIMESTAMP_SKEW,
    log_requests: bool = False,
    keys: SandboxKeys | None = None,
) -> RunningSandbox:
    """Open (or create) the sandbox in ``data_dir`` and serve it; ``port=0`` picks a free port."""
    try:
        listener = _listen(host, port)
    except OSError as exc:
        reason = exc.strerror or str(exc) or "address in use or not available"
        raise SandboxStartError(f"cannot listen on {host}:{port}: {reason}") from None
    try:
        try:
            sandbox = Sandbox(Path(data_dir), time_scale, timestamp_skew=timestamp_skew, keys=keys)
        except (OSError, sqlite3.Error) as exc:
            raise SandboxStartError(f"cannot use data dir {data_dir}: {exc}") from None
        except ValueError as exc:
            raise SandboxStartError(str(exc)) from None
        try:
            server = make_server(
                host,
                port,
                sandbox,
                threaded=True,
                request_handler=WSGIRequestHandler if log_requests else _QuietHandler,
                fd=listener.fileno(),  # werkzeug duplicates the descriptor
            )
        except (OSError, SystemExit) as exc:
            sandbox.close()
            reason = getattr(exc, "strerror", None) or "address in use or not available"
            raise SandboxStartError(f"cannot listen on {host}:{port}: {reason}") from None
    finally:
        listener.close()
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host  # noqa: S104
    if ":" in shown:
        shown = f"[{shown}]"
    url = f"http://{shown}:{server.port}"
    sandbox.accounts.write_files(url + "/gateway.do")
    sandbox.wechat.write_files(url, Path(data_dir) / SANDBOX_JSON)
    sandbox.start()
    return RunningSandbox(sandbox, server, url)


def banner(running: RunningSandbox) -> str:
    sandbox = running.sandbox
    app = sandbox.accounts.default_app()
    files = sandbox.key_files()
    wechat = sandbox.wechat.keys.default()
    wx_files = sandbox.wechat.keys.files()
    lines = [
        "Zhifu sandbox (a local imitation of Alipay's and WeChat Pay's gateways; no real money)",
        f"  gateway URL        {running.gateway_url}",
        f"  app id             {app.app_id}",
        f"  seller id          {app.seller_id}",
        f"  app private key    {files['app_private_key']}",
        f"  app public key     {files['app_public_key']}",
        f"  Alipay public key  {files['alipay_public_key']}",
        f"  certificates       {files['app_cert']} (app), {files['alipay_public_cert']} "
        f"(Alipay), {files['alipay_root_cert']} (root)",
        f"  settings file      {files['sandbox_json']}",
        f"  dashboard          {running.url}/sandbox/",
        f"  control API        {running.url}/sandbox/api/info",
        f"  time scale         x{sandbox.clock.scale:g}",
        "  timestamp window   "
        + (
            f"±{sandbox.timestamp_skew:g} s of Beijing time"
            if sandbox.timestamp_skew > 0
            else "not checked"
        ),
        "WeChat Pay (API v3)",
        f"  base URL           {running.url}  (answers /v3/...; the client's base_url)",
        f"  mchid / appid      {wechat.mchid} / {wechat.appid} (mode {wechat.mode})",
        f"  merchant key       {wx_files['merchant_private_key']} (serial {wechat.serial})",
        f"  APIv3 key          {wx_files['apiv3_key']}",
        f"  WeChat Pay key     {wx_files['wechatpay_public_key']} ({sandbox.wechat.keys.public.serial})",
        f"  buyers / WeChat users (password {BUYER_PASSWORD}):",
    ]
    for buyer in sandbox.accounts.buyers():
        lines.append(f"    {buyer.login:<24} balance {buyer.balance}")
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def serve(
    host: str,
    port: int,
    data_dir: Path,
    time_scale: float = 1.0,
    timestamp_skew: float = DEFAULT_TIMESTAMP_SKEW,
) -> None:
    """Run the sandbox until Ctrl-C. Raises SystemExit with one clear line if it cannot start."""
    try:
        running = start(
            host, port, data_dir, time_scale, timestamp_skew=timestamp_skew, log_requests=True
        )
    except SandboxStartError as exc:
        raise SystemExit(f"zhifu sandbox: {exc}") from None
    print(banner(running), flush=True)
    try:
        running.wait()
    except KeyboardInterrupt:
        print("\nzhifu sandbox: stopping...", file=sys.stderr, flush=True)
    finally:
        running.stop()
