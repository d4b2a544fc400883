"""``SandboxServer``: a real sandbox on a free 127.0.0.1 port, for tests (see docs/architecture.en.md).

from zhifu.sandbox.testing import SandboxServer

with SandboxServer(tmp_path, time_scale=1000.0) as sb:
    client = sb.client(notify_url="http://127.0.0.1:8000/notify")
    url = client.page_pay(out_trade_no="o1", total_amount="9.90", subject="book").url
    httpx.get(url)                      # the browser reaching the gateway
    return_url = sb.pay(sb.default_app.app_id, "o1")
    sb.wait_for_notifications("o1")     # every delivery attempt, as dicts

A test session that starts many sandboxes generates their keys once and passes them on:
``keys = SandboxKeys.generate()`` then ``SandboxServer(keys=keys)``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from zhifu.alipay import AlipayClient, load_private_key, load_public_key
from zhifu.wechatpay import WechatPayClient

from .accounts import SandboxKeys
from .app import DEFAULT_TIMESTAMP_SKEW
from .server import RunningSandbox, start
from .web import ssl_context

__all__ = ["SandboxApp", "SandboxError", "SandboxKeys", "SandboxServer"]


class SandboxError(Exception):
    """The control API refused a request; ``status``, ``code`` and ``message`` say why."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SandboxApp:
    """The sandbox's default app, with the keys a site needs (also readable as ``app["app_id"]``)."""

    app_id: str
    seller_id: str
    app_private_key_pem: str
    app_public_key_pem: str
    alipay_public_key_pem: str
    # certificate mode (公钥证书模式): what Alipay's console hands out
    app_cert_pem: str = ""
    alipay_public_cert_pem: str = ""
    alipay_root_cert_pem: str = ""

    def __getitem__(self, key: str) -> str:
        value: str = getattr(self, key)
        return value


class SandboxServer:
    """Start with ``with SandboxServer(tmp_path) as sb:`` or ``sb.start()`` / ``sb.stop()``.

    ``data_dir`` defaults to a temporary directory removed on stop. ``time_scale`` speeds up
    the sandbox clock (1000: the 4-minute first retry comes after 0.24 s). ``timestamp_skew``
    is how far (seconds) a request's timestamp may be from Beijing wall-clock time; 0 turns
    the check off. ``keys`` (a :class:`SandboxKeys`) are used instead of generated ones when
    the data dir is new.
    """

    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        time_scale: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
        timestamp_skew: float = DEFAULT_TIMESTAMP_SKEW,
        keys: SandboxKeys | None = None,
    ) -> None:
        self._own_dir = data_dir is None
        self.data_dir = (
            Path(tempfile.mkdtemp(prefix="zhifu-sandbox-")) if data_dir is None else Path(data_dir)
        )
        self.time_scale = time_scale
        self.timestamp_skew = timestamp_skew
        self.host = host
        self.keys = keys
        self._port = port
        self._running: RunningSandbox | None = None
        self._http: httpx.Client | None = None
        self._info: dict[str, Any] | None = None
        self._default_app: SandboxApp | None = None
        self._keys: tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey] | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> SandboxServer:
        if self._running is not None:
            return self
        self._running = start(
            self.host,
            self._port,
            self.data_dir,
            self.time_scale,
            timestamp_skew=self.timestamp_skew,
            keys=self.keys,
        )
        self._port = self._running.port  # a restart comes back on the same port
        self._http = httpx.Client(base_url=self._running.url, timeout=120.0, verify=ssl_context())
        self._info = None
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._running is not None:
            self._running.stop()
            self._running = None

    def restart(self) -> None:
        """Stop and start again on the same data dir (state and pending retries survive)."""
        self.stop()
        try:
            self.start()
        except Exception:  # noqa: BLE001 - the old port may be taken meanwhile
            self._port = 0
            self.start()

    def close(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- addresses and configuration --------------------------------------------------------------

    @property
    def running(self) -> RunningSandbox:
        if self._running is None:
            raise RuntimeError("the sandbox is not running: call start() or use 'with'")
        return self._running

    @property
    def url(self) -> str:
        return self.running.url

    @property
    def gateway_url(self) -> str:
        return self.running.url + "/gateway.do"

    @property
    def info(self) -> dict[str, Any]:
        if self._info is None:
            self._info = self._call("GET", "/sandbox/api/info")
        return self._info

    @property
    def default_app(self) -> SandboxApp:
        if self._default_app is None:
            info = self.info
            files = info["key_files"]
            self._default_app = SandboxApp(
                app_id=info["app_id"],
                seller_id=info["seller_id"],
                app_private_key_pem=Path(files["app_private_key"]).read_text(encoding="ascii"),
                app_public_key_pem=Path(files["app_public_key"]).read_text(encoding="ascii"),
                alipay_public_key_pem=info["alipay_public_key"],
                app_cert_pem=info["default_app"]["app_cert"],
                alipay_public_cert_pem=info["certificates"]["alipay_public_cert"],
                alipay_root_cert_pem=info["certificates"]["alipay_root_cert"],
            )
        return self._default_app

    def client(self, **overrides: Any) -> AlipayClient:
        """A :class:`zhifu.alipay.AlipayClient` for the default app against this sandbox."""
        app = self.default_app
        if self._keys is None:
            self._keys = (
                load_private_key(app.app_private_key_pem),
                load_public_key(app.alipay_public_key_pem),
            )
        options: dict[str, Any] = {
            "app_id": app.app_id,
            "app_private_key": self._keys[0],
            "alipay_public_key": self._keys[1],
            "gateway_url": self.gateway_url,
            "seller_id": app.seller_id,
        }
        options.update(overrides)
        return AlipayClient(**options)

    def cert_client(self, **overrides: Any) -> AlipayClient:
        """A client for the default app in certificate mode, with the sandbox's certificates."""
        app = self.default_app
        options: dict[str, Any] = {
            "app_id": app.app_id,
            "app_private_key": app.app_private_key_pem,
            "app_cert": app.app_cert_pem,
            "alipay_public_cert": app.alipay_public_cert_pem,
            "alipay_root_cert": app.alipay_root_cert_pem,
            "gateway_url": self.gateway_url,
            "seller_id": app.seller_id,
        }
        options.update(overrides)
        return AlipayClient.from_certificates(**options)

    # -- the control API ------------------------------------------------------------------------

    def _call(self, method: str, path: str, json: Any = None, params: Any = None) -> Any:
        if self._http is None:
            raise RuntimeError("the sandbox is not running: call start() or use 'with'")
        response = self._http.request(method, path, json=json, params=params)
        data = response.json()
        if response.status_code >= 400:
            raise SandboxError(response.status_code, data.get("error", ""), data.get("message", ""))
        return data

    def pay_trade(self, app_id: str, out_trade_no: str, buyer: str | None = None) -> dict[str, Any]:
        """Pay as the cashier would; the whole answer (trade fields and ``return_url``)."""
        body = {"buyer": buyer} if buyer else {}
        result: dict[str, Any] = self._call(
            "POST", f"/sandbox/api/trades/{app_id}/{out_trade_no}/pay", json=body
        )
        return result

    def pay(self, app_id: str, out_trade_no: str | None = None, buyer: str | None = None) -> str:
        """Pay a trade that reached the gateway; return the return URL ('' if it has none).

        ``sb.pay(out_trade_no)`` pays a trade of the default app. Raises :class:`SandboxError`
        (e.g. ``insufficient_balance``, ``trade_not_found``, ``ACQ.TRADE_HAS_CLOSE``).
        """
        if out_trade_no is None:
            app_id, out_trade_no = self.default_app.app_id, app_id
        return str(self.pay_trade(app_id, out_trade_no, buyer).get("return_url") or "")

    def trade(self, out_trade_no: str, app_id: str | None = None) -> dict[str, Any]:
        app = app_id or self.default_app.app_id
        result: dict[str, Any] = self._call("GET", f"/sandbox/api/trades/{app}/{out_trade_no}")
        return result

    def notifications(
        self, app_id: str | None = None, out_trade_no: str | None = None
    ) -> list[dict[str, Any]]:
        """Every delivery attempt (time, url, form, status_code, reply, notify_id, ...)."""
        params = {k: v for k, v in {"app_id": app_id, "out_trade_no": out_trade_no}.items() if v}
        attempts: list[dict[str, Any]] = self._call(
            "GET", "/sandbox/api/notifications", params=params
        )["attempts"]
        return attempts

    def wait_for_notifications(
        self,
        out_trade_no: str,
        count: int = 1,
        *,
        app_id: str | None = None,
        timeout: float = 10.0,
    ) -> list[dict[str, Any]]:
        """Poll until at least ``count`` attempts were made for the trade; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            attempts = self.notifications(app_id=app_id, out_trade_no=out_trade_no)
            if len(attempts) >= count or time.monotonic() > deadline:
                return attempts
            time.sleep(0.02)

    def abandon_notifications(
        self, *, app_id: str | None = None, out_trade_no: str | None = None
    ) -> int:
        """Stop every pending retry (optionally of one app / trade) and wait for deliveries in
        flight: call it between tests sharing a sandbox so that no retry reaches a later test."""
        body = {k: v for k, v in (("app_id", app_id), ("out_trade_no", out_trade_no)) if v}
        result: dict[str, int] = self._call("POST", "/sandbox/api/notifications/abandon", json=body)
        return result["abandoned"]

    def faults(self, **kwargs: Any) -> dict[str, Any]:
        """Inject faults (see docs/sandbox.en.md); ``sb.faults(reset=True)`` clears them."""
        result: dict[str, Any] = self._call("POST", "/sandbox/api/faults", json=kwargs)
        return result

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox clock forward; due expiries and notification retries happen now."""
        self._call("POST", "/sandbox/api/clock", json={"advance_seconds": seconds})

    def set_clock(self, when: str) -> None:
        """Put the sandbox clock at a Beijing time ``yyyy-MM-dd HH:mm:ss``, earlier or later."""
        self._call("POST", "/sandbox/api/clock", json={"now": when})

    def reset_clock(self) -> None:
        """Put the sandbox clock back to real time (a sped-up clock runs ahead of it)."""
        self._call("POST", "/sandbox/api/clock", json={"reset": True})

    def reset(self) -> None:
        """Forget every trade, refund and notification (pending retries stop), and put faults,
        triggers, the clock and balances back to their defaults; apps and keys stay."""
        self._call("POST", "/sandbox/api/reset", json={})

    def set_seller_balance(self, balance: str, app_id: str | None = None) -> dict[str, Any]:
        """Set what the merchant holds (default app unless ``app_id``): a refund above it fails
        with ``ACQ.SELLER_BALANCE_NOT_ENOUGH``. Payments add to it, refunds take from it."""
        app = app_id or self.default_app.app_id
        result: dict[str, Any] = self._call(
            "POST", f"/sandbox/api/apps/{app}/balance", json={"balance": balance}
        )
        return result

    def register_app(self, app_public_key: str, app_id: str | None = None) -> dict[str, str]:
        """Register an app by its public key (the sandbox issues its certificate) or by its
        public-key certificate; the answer has ``app_id``, ``seller_id``, ``app_cert``..."""
        body: dict[str, str] = {"app_public_key": app_public_key}
        if app_id:
            body["app_id"] = app_id
        result: dict[str, str] = self._call("POST", "/sandbox/api/apps", json=body)
        return result

    # -- WeChat Pay (/v3/..., control API under /sandbox/api/wechat/) ---------------------------

    @property
    def wechat_info(self) -> dict[str, Any]:
        """Merchant ids, serials, the APIv3 key, WeChat's keys and the key files."""
        result: dict[str, Any] = self._call("GET", "/sandbox/api/wechat/info")
        return result

    def wechat_client(self, **overrides: Any) -> WechatPayClient:
        """A :class:`zhifu.wechatpay.WechatPayClient` for the default merchant, in the mode
        the merchant is in now (public key, certificates, or both while migrating)."""
        info = self.wechat_info
        files = info["key_files"]
        options: dict[str, Any] = {
            "mchid": info["mchid"],
            "appid": info["appid"],
            "merchant_private_key": Path(files["merchant_private_key"]),
            "merchant_serial_no": info["merchant_serial_no"],
            "apiv3_key": info["apiv3_key"],
            "base_url": self.url,
        }
        if info["mode"] in ("public_key", "migration"):
            options["wechatpay_public_key"] = info["wechatpay_public_key"]
            options["wechatpay_public_key_id"] = info["wechatpay_public_key_id"]
        if info["mode"] in ("certificate", "migration"):
            options["platform_certificates"] = True
        options.update(overrides)
        return WechatPayClient(**options)

    def wechatpay_settings(self, notify_url: str = "") -> dict[str, Any]:
        """A site's ``ZHIFU["WECHATPAY"]`` for the default merchant in its current mode: the
        key files, serial, APIv3 key and, in public-key or migration mode, WeChat Pay's public
        key and its id (certificate mode downloads the platform certificates itself)."""
        info = self.wechat_info
        files = info["key_files"]
        conf: dict[str, Any] = {
            "MCHID": info["mchid"],
            "APPID": info["appid"],
            "MERCHANT_PRIVATE_KEY": files["merchant_private_key"],
            "MERCHANT_CERT": files["merchant_certificate"],
            "MERCHANT_SERIAL": info["merchant_serial_no"],
            "APIV3_KEY": info["apiv3_key"],
            "GATEWAY_URL": self.url,
            "NOTIFY_URL": notify_url,
        }
        if info["mode"] in ("public_key", "migration"):
            conf["PUBLIC_KEY"] = info["wechatpay_public_key"]
            conf["PUBLIC_KEY_ID"] = info["wechatpay_public_key_id"]
        return conf

    def wechat_mode(self, mode: str, public_key_share: float | None = None) -> dict[str, Any]:
        """Switch the default merchant to ``public_key``, ``certificate`` or ``migration``."""
        body: dict[str, Any] = {"mode": mode}
        if public_key_share is not None:
            body["public_key_share"] = public_key_share
        mchid = self.wechat_info["mchid"]
        result: dict[str, Any] = self._call(
            "POST", f"/sandbox/api/wechat/merchants/{mchid}/mode", json=body
        )
        return result

    def wechat_pay(
        self, out_trade_no: str, buyer: str | None = None, *, result: str = "SUCCESS"
    ) -> dict[str, Any]:
        """Pay a WeChat order of the default merchant as the wallet would (or fail it)."""
        mchid = self.wechat_info["mchid"]
        body: dict[str, Any] = {"result": result}
        if buyer:
            body["buyer"] = buyer
        paid: dict[str, Any] = self._call(
            "POST", f"/sandbox/api/wechat/orders/{mchid}/{out_trade_no}/pay", json=body
        )
        return paid

    def wechat_order(self, out_trade_no: str) -> dict[str, Any]:
        mchid = self.wechat_info["mchid"]
        found: dict[str, Any] = self._call(
            "GET", f"/sandbox/api/wechat/orders/{mchid}/{out_trade_no}"
        )
        return found

    def wechat_notifications(self, out_trade_no: str | None = None) -> list[dict[str, Any]]:
        """Every WeChat notification attempt (headers, body, status_code, outcome, ...)."""
        params = {"out_trade_no": out_trade_no} if out_trade_no else {}
        attempts: list[dict[str, Any]] = self._call(
            "GET", "/sandbox/api/wechat/notifications", params=params
        )["attempts"]
        return attempts

    def wait_for_wechat_notifications(
        self, out_trade_no: str, count: int = 1, *, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            attempts = self.wechat_notifications(out_trade_no)
            if len(attempts) >= count or time.monotonic() > deadline:
                return attempts
            time.sleep(0.02)

    def wechat_faults(self, **kwargs: Any) -> dict[str, Any]:
        """Inject WeChat faults (docs/sandbox.en.md); ``sb.wechat_faults(reset=True)`` clears."""
        result: dict[str, Any] = self._call("POST", "/sandbox/api/wechat/faults", json=kwargs)
        return result

    def set_notify_triggers(self, **triggers: list[str]) -> dict[str, list[str]]:
        """E.g. ``set_notify_triggers(**{"alipay.trade.page.pay": ["TRADE_CLOSED"]})``."""
        result: dict[str, list[str]] = self._call(
            "POST", "/sandbox/api/settings", json={"notify_triggers": triggers}
        )["notify_triggers"]
        return result

    # -- bills (src/zhifu/sandbox/bills.py, src/zhifu/sandbox/wechat/bills.py) ------------------

    def paid_trade(
        self,
        out_trade_no: str,
        amount: str,
        *,
        subject: str | None = None,
        app_id: str | None = None,
    ) -> dict[str, Any]:
        """An Alipay trade paid at the sandbox and announced nowhere (no notification)."""
        body: dict[str, Any] = {"out_trade_no": out_trade_no, "amount": amount}
        if subject:
            body["subject"] = subject
        if app_id:
            body["app_id"] = app_id
        result: dict[str, Any] = self._call("POST", "/sandbox/api/bills/paid-trade", json=body)
        return result

    def wechat_paid_trade(
        self, out_trade_no: str, amount: str, *, description: str | None = None
    ) -> dict[str, Any]:
        """A WeChat order paid at the sandbox and announced nowhere (no notification)."""
        body: dict[str, Any] = {"out_trade_no": out_trade_no, "amount": amount}
        if description:
            body["description"] = description
        result: dict[str, Any] = self._call(
            "POST", "/sandbox/api/wechat/bills/paid-trade", json=body
        )
        return result
