"""The one namespaced setting, ``ZHIFU``, read lazily; and the process-wide Alipay client.

Example::

    ZHIFU = {
        "APP_ID": "2021000000000000",
        "APP_PRIVATE_KEY": "/etc/zhifu/app_private_key.pem",   # path, PEM text or bare base64
        "ALIPAY_PUBLIC_KEY": os.environ["ALIPAY_PUBLIC_KEY"],
        "GATEWAY_URL": "https://openapi.alipay.com/gateway.do",
        "SELLER_ID": "2088000000000000",
        "NOTIFY_URL": "https://shop.example.com/zhifu/alipay/notify/",
        "RETURN_URL": "https://shop.example.com/zhifu/alipay/return/",
        "CATALOG": "shop.catalog.resolve",
    }
"""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from .exceptions import ConfigurationError

__all__ = ["DEFAULTS", "get_alipay_client", "reset", "zhifu_settings"]

DEFAULTS: dict[str, Any] = {
    "APP_ID": "",
    "APP_PRIVATE_KEY": "",
    "APP_PUBLIC_KEY": "",  # optional: checked against the private key by `manage.py check`
    "ALIPAY_PUBLIC_KEY": "",
    "GATEWAY_URL": "https://openapi.alipay.com/gateway.do",
    "SELLER_ID": "",
    "SIGN_TYPE": "RSA2",
    "NOTIFY_URL": "",
    "RETURN_URL": "",
    "QUIT_URL": "",  # wap pay: where the buyer goes on quitting the cashier
    "ORDER_EXPIRY": timedelta(minutes=30),
    "LATE_PAYMENT_POLICY": "refund",  # "refund" | "flag"
    "CATALOG": "",
    "APP_CERT": "",
    "ALIPAY_PUBLIC_CERT": "",
    "ALIPAY_ROOT_CERT": "",
    "HTTP_TIMEOUT": 15.0,
    # Seconds after an attempt's creation at which the reconcile job queries Alipay; the last
    # one lies past Alipay's 25-hour notification window.
    "RECONCILE_SCHEDULE": (60, 180, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 26 * 3600),
    "REFUND_RETRY_AFTER": 60,  # seconds a refund stays pending/unknown before the retry job acts
    "ORDER_NO_PREFIX": "Z",
    # Send the order's expiry to Alipay as ``time_expire`` so the cashier refuses late payments.
    "SEND_TIME_EXPIRE": True,
}

_KEYS = frozenset(DEFAULTS)


class ZhifuSettings:
    """Attribute access to ``settings.ZHIFU`` with defaults, read on first use (not at import)."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def _load(self) -> dict[str, Any]:
        with self._lock:
            if self._cache is None:
                user = getattr(settings, "ZHIFU", None) or {}
                if not isinstance(user, dict):
                    raise ConfigurationError("configuration_error", "settings.ZHIFU must be a dict")
                merged = dict(DEFAULTS)
                merged.update(user)
                expiry = merged["ORDER_EXPIRY"]
                if isinstance(expiry, int | float) and not isinstance(expiry, bool):
                    merged["ORDER_EXPIRY"] = timedelta(seconds=expiry)
                self._cache = merged
            return self._cache

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        data = self._load()
        if name not in data:
            raise AttributeError(f"ZHIFU has no setting {name!r}")
        return data[name]

    def as_dict(self) -> dict[str, Any]:
        return dict(self._load())

    def user_keys(self) -> set[str]:
        user = getattr(settings, "ZHIFU", None) or {}
        return set(user) if isinstance(user, dict) else set()

    def reset(self) -> None:
        with self._lock:
            self._cache = None


zhifu_settings = ZhifuSettings()

_client: Any = None
_client_lock = threading.Lock()


def build_alipay_client(config: dict[str, Any] | None = None, **overrides: Any) -> Any:
    """A new :class:`zhifu.alipay.AlipayClient` from the ``ZHIFU`` setting (keys loaded now)."""
    from .alipay import AlipayClient

    conf = dict(config or zhifu_settings.as_dict())
    if not conf.get("APP_ID"):
        raise ConfigurationError("configuration_error", 'ZHIFU["APP_ID"] is not set')
    if not conf.get("APP_PRIVATE_KEY"):
        raise ConfigurationError("configuration_error", 'ZHIFU["APP_PRIVATE_KEY"] is not set')
    options: dict[str, Any] = {
        "app_id": str(conf["APP_ID"]),
        "app_private_key": conf["APP_PRIVATE_KEY"],
        "gateway_url": conf["GATEWAY_URL"],
        "seller_id": conf.get("SELLER_ID") or None,
        "sign_type": conf.get("SIGN_TYPE") or "RSA2",
        "notify_url": conf.get("NOTIFY_URL") or None,
        "return_url": conf.get("RETURN_URL") or None,
        "timeout": float(conf.get("HTTP_TIMEOUT") or 15.0),
    }
    options.update(overrides)
    if conf.get("APP_CERT") or conf.get("ALIPAY_PUBLIC_CERT") or conf.get("ALIPAY_ROOT_CERT"):
        return AlipayClient.from_certificates(
            app_cert=conf["APP_CERT"],
            alipay_public_cert=conf["ALIPAY_PUBLIC_CERT"],
            alipay_root_cert=conf["ALIPAY_ROOT_CERT"],
            **options,
        )
    if not conf.get("ALIPAY_PUBLIC_KEY"):
        raise ConfigurationError("configuration_error", 'ZHIFU["ALIPAY_PUBLIC_KEY"] is not set')
    return AlipayClient(alipay_public_key=conf["ALIPAY_PUBLIC_KEY"], **options)


def get_alipay_client() -> Any:
    """The process-wide ``AlipayClient``: keys are loaded once, not on every request."""
    global _client
    client = _client
    if client is not None:
        return client
    with _client_lock:
        if _client is None:
            _client = build_alipay_client()
        return _client


def set_alipay_client(client: Any) -> None:
    """Replace the cached client (tests, or a site that builds its own client)."""
    global _client
    with _client_lock:
        _client = client


def reset() -> None:
    global _client
    zhifu_settings.reset()
    with _client_lock:
        old, _client = _client, None
    if old is not None:
        with contextlib.suppress(Exception):  # a stale pool must never break a reset
            old.close_connections()


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("ZHIFU", "DEBUG"):
        reset()
