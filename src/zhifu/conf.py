"""The one namespaced setting, ``ZHIFU``, read lazily.

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

__all__ = ["DEFAULTS", "reset", "zhifu_settings"]

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
    # While an order can still be paid, its open attempts are queried at least this often.
    "RECONCILE_WHILE_PAYABLE": 180,
    # A notification still "received" this many seconds after it arrived (its worker died before
    # processing it) is processed again by the sweep job.
    "NOTIFICATION_SWEEP_AFTER": 120,
    "REFUND_RETRY_AFTER": 60,  # seconds a refund stays pending/unknown before the retry job acts
    "ORDER_NO_PREFIX": "Z",
    # Send the order's expiry to Alipay as ``time_expire`` so the cashier refuses late payments.
    "SEND_TIME_EXPIRE": True,
    # WeChat Pay (zhifu.providers.wechatpay; keys listed in wechatpay_config.DEFAULTS). Used only
    # when "zhifu.providers.wechatpay.WechatPayProvider" is added to PROVIDERS.
    "WECHATPAY": {},
    # Withdrawals from wallets (zhifu.withdrawals): limits and approval; keys and defaults in
    # zhifu.withdrawals.conf.DEFAULTS.
    "WITHDRAWALS": {},
    # The payment providers, by dotted path (see zhifu.providers.base and docs/architecture.en.md).
    "PROVIDERS": (
        "zhifu.providers.alipay.AlipayProvider",
        "zhifu.providers.balance.BalanceProvider",
    ),
    # Buyers' refund requests (zhifu.refundrequests): approved automatically when the order was
    # paid at most AUTO_APPROVE_DAYS days ago (0: never) and the callable AUTO_APPROVE (dotted
    # path, (order, lines) -> bool; empty: always) agrees; otherwise staff decide.
    "REFUND_REQUESTS": {"AUTO_APPROVE_DAYS": 0, "AUTO_APPROVE": ""},
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


def reset() -> None:
    """Forget the cached setting and the providers built from it (their clients and keys)."""
    from .providers import registry

    zhifu_settings.reset()
    for provider in _built_providers():
        with contextlib.suppress(Exception):  # a stale pool must never break a reset
            provider.close_connections()
    registry.reset()


def _built_providers() -> list[Any]:
    from .providers import registry

    built = registry._providers or {}
    return [p for p in built.values() if hasattr(p, "close_connections")]


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("ZHIFU", "DEBUG"):
        reset()
