"""Django system checks for the ``ZHIFU`` setting (``manage.py check`` and startup), one small
check per group of keys. Each provider checks its own keys (``Provider.check``)."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

__all__ = ["check_zhifu_settings", "is_local_host", "url_problem"]

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", ""})


def is_local_host(host: str | None) -> bool:
    host = (host or "").strip("[]").lower()
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def url_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return "is empty"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        return f"{value!r} is not an absolute http(s) URL"
    if not parts.hostname:
        return f"{value!r} has no host"
    return None


def _conf() -> dict[str, Any] | None:
    """The merged setting, or None when ``ZHIFU`` itself is unusable (reported by E001)."""
    from .conf import zhifu_settings

    if not isinstance(getattr(settings, "ZHIFU", None), dict):
        return None
    return zhifu_settings.as_dict()


def _seconds(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


@register(Tags.security, "zhifu")
def check_setting_exists(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    user = getattr(settings, "ZHIFU", None)
    if user is None:
        return [
            Error(
                "settings.ZHIFU is not set.",
                hint="Add ZHIFU = {'APP_ID': ..., 'APP_PRIVATE_KEY': ..., ...}; see docs/payments.en.md.",
                id="zhifu.E001",
            )
        ]
    if not isinstance(user, dict):
        return [Error("settings.ZHIFU must be a dict.", id="zhifu.E001")]
    from .conf import DEFAULTS

    unknown = sorted(set(user) - set(DEFAULTS))
    if unknown:
        return [
            Warning(
                f"ZHIFU has unknown keys: {', '.join(unknown)}.",
                hint="Check the spelling.",
                id="zhifu.W001",
            )
        ]
    return []


@register(Tags.security, "zhifu")
def check_providers(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every provider in ``ZHIFU["PROVIDERS"]`` loads, and its own keys are right."""
    if _conf() is None:
        return []
    from .exceptions import ConfigurationError
    from .providers import registry

    registry.reset()
    try:
        providers = registry.all_providers()
    except (ConfigurationError, TypeError, AttributeError) as exc:
        return [Error(f'ZHIFU["PROVIDERS"] cannot be loaded: {exc}', id="zhifu.E016")]
    messages: list[CheckMessage] = []
    for provider in providers:
        messages.extend(provider.check())
    return messages


@register("zhifu")
def check_timing(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    conf = _conf()
    if conf is None:
        return []
    messages: list[CheckMessage] = []
    expiry = conf.get("ORDER_EXPIRY")
    if not isinstance(expiry, timedelta) or expiry <= timedelta(0):
        messages.append(
            Error('ZHIFU["ORDER_EXPIRY"] must be a positive timedelta.', id="zhifu.E011")
        )
    for key in (
        "HTTP_TIMEOUT",
        "REFUND_RETRY_AFTER",
        "RECONCILE_WHILE_PAYABLE",
        "NOTIFICATION_SWEEP_AFTER",
    ):
        if not _seconds(conf.get(key)):
            messages.append(
                Error(f'ZHIFU["{key}"] must be a positive number of seconds.', id="zhifu.E017")
            )
    schedule = conf.get("RECONCILE_SCHEDULE")
    if (
        not isinstance(schedule, list | tuple)
        or not schedule
        or not all(_seconds(s) for s in schedule)
    ):
        messages.append(
            Error('ZHIFU["RECONCILE_SCHEDULE"] must be positive seconds.', id="zhifu.E014")
        )
    elif max(schedule) < 25 * 3600:
        messages.append(
            Warning(
                'ZHIFU["RECONCILE_SCHEDULE"] stops before Alipay\'s 25-hour notification window ends.',
                id="zhifu.W003",
            )
        )
    if not isinstance(conf.get("SEND_TIME_EXPIRE"), bool):
        messages.append(Error('ZHIFU["SEND_TIME_EXPIRE"] must be True or False.', id="zhifu.E018"))
    return messages


@register("zhifu")
def check_orders(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    conf = _conf()
    if conf is None:
        return []
    messages: list[CheckMessage] = []
    if conf.get("LATE_PAYMENT_POLICY") not in ("refund", "flag"):
        messages.append(
            Error('ZHIFU["LATE_PAYMENT_POLICY"] must be "refund" or "flag".', id="zhifu.E012")
        )
    prefix = conf.get("ORDER_NO_PREFIX")
    if not isinstance(prefix, str) or not ((prefix.isascii() and prefix.isalnum()) or prefix == ""):
        messages.append(
            Error(
                f'ZHIFU["ORDER_NO_PREFIX"] {prefix!r} must be ASCII letters and digits.',
                hint="Order numbers sent to gateways may hold only letters, digits, _ and -.",
                id="zhifu.E019",
            )
        )
    elif len(prefix) > 8:
        messages.append(
            Error(
                f'ZHIFU["ORDER_NO_PREFIX"] {prefix!r} is longer than 8 characters.',
                hint="Order numbers must stay short enough for every gateway.",
                id="zhifu.E019",
            )
        )
    catalog = conf.get("CATALOG")
    if catalog and isinstance(catalog, str):
        try:
            import_string(catalog)
        except ImportError as exc:
            messages.append(
                Error(f'ZHIFU["CATALOG"] {catalog!r} cannot be imported: {exc}', id="zhifu.E013")
            )
    return messages


@register("zhifu")
def check_refund_requests(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``ZHIFU["REFUND_REQUESTS"]``: known keys, days a whole number ≥ 0, a callable that loads."""
    conf = _conf()
    if conf is None:
        return []
    value = conf.get("REFUND_REQUESTS")
    if not isinstance(value, dict):
        return [Error('ZHIFU["REFUND_REQUESTS"] must be a dict.', id="zhifu.E040")]
    messages: list[CheckMessage] = []
    unknown = sorted(set(value) - {"AUTO_APPROVE_DAYS", "AUTO_APPROVE"})
    if unknown:
        messages.append(
            Error(
                f'ZHIFU["REFUND_REQUESTS"] has unknown keys: {", ".join(map(str, unknown))}.',
                hint="Known keys: AUTO_APPROVE_DAYS, AUTO_APPROVE.",
                id="zhifu.E040",
            )
        )
    days = value.get("AUTO_APPROVE_DAYS", 0)
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        messages.append(
            Error(
                'ZHIFU["REFUND_REQUESTS"]["AUTO_APPROVE_DAYS"] must be a whole number of days '
                "(0: never automatic).",
                id="zhifu.E040",
            )
        )
    path = value.get("AUTO_APPROVE", "")
    if path:
        try:
            target = import_string(path) if isinstance(path, str) else None
        except ImportError as exc:
            target, why = None, str(exc)
        else:
            why = "it is not a dotted path to a callable"
        if not callable(target):
            messages.append(
                Error(
                    f'ZHIFU["REFUND_REQUESTS"]["AUTO_APPROVE"] {path!r} cannot be used: {why}',
                    hint="A dotted path to a callable (order, lines) -> bool, or empty.",
                    id="zhifu.E040",
                )
            )
    return messages


@register("zhifu")
def check_withdrawals(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    conf = _conf()
    if conf is None:
        return []
    from .withdrawals.conf import problems

    return [Error(p, id="zhifu.E050") for p in problems(conf)]


def check_zhifu_settings() -> list[CheckMessage]:
    """Every check of the ``ZHIFU`` setting, for ``zhifu_check`` and tests."""
    first = check_setting_exists()
    if any(m.is_serious() for m in first):
        return first
    return [
        *first,
        *check_providers(),
        *check_timing(),
        *check_orders(),
        *check_refund_requests(),
    ]
