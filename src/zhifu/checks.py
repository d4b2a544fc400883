"""Django system checks for the ``ZHIFU`` setting (run by ``manage.py check`` and at startup)."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

__all__ = ["check_zhifu_settings", "is_local_host"]

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


def _url_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return "is empty"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        return f"{value!r} is not an absolute http(s) URL"
    if not parts.hostname:
        return f"{value!r} has no host"
    return None


@register(Tags.security, "zhifu")
def check_zhifu_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from .alipay import KeyFormatError, load_private_key, load_public_key
    from .conf import DEFAULTS

    messages: list[CheckMessage] = []
    user = getattr(settings, "ZHIFU", None)
    if user is None:
        return [
            Error(
                "settings.ZHIFU is not set.",
                hint="Add ZHIFU = {'APP_ID': ..., 'APP_PRIVATE_KEY': ..., ...}; see docs/payments.md.",
                id="zhifu.E001",
            )
        ]
    if not isinstance(user, dict):
        return [Error("settings.ZHIFU must be a dict.", id="zhifu.E001")]
    conf = {**DEFAULTS, **user}
    unknown = sorted(set(user) - set(DEFAULTS))
    if unknown:
        messages.append(
            Warning(
                f"ZHIFU has unknown keys: {', '.join(unknown)}.",
                hint="Check the spelling.",
                id="zhifu.W001",
            )
        )
    if not str(conf.get("APP_ID") or "").strip():
        messages.append(Error('ZHIFU["APP_ID"] is empty.', id="zhifu.E002"))

    private_key = None
    try:
        private_key = load_private_key(conf.get("APP_PRIVATE_KEY") or "")
    except KeyFormatError as exc:
        messages.append(
            Error(
                f'ZHIFU["APP_PRIVATE_KEY"] cannot be loaded: {exc.message}',
                hint="Give PEM text, the one-line key from Alipay's key tool, or a file path.",
                id="zhifu.E003",
            )
        )
    cert_mode = any(conf.get(k) for k in ("APP_CERT", "ALIPAY_PUBLIC_CERT", "ALIPAY_ROOT_CERT"))
    if cert_mode:
        for key in ("APP_CERT", "ALIPAY_PUBLIC_CERT", "ALIPAY_ROOT_CERT"):
            if not conf.get(key):
                messages.append(
                    Error(f'Certificate mode needs ZHIFU["{key}"] too.', id="zhifu.E004")
                )
        if all(conf.get(k) for k in ("APP_CERT", "ALIPAY_PUBLIC_CERT", "ALIPAY_ROOT_CERT")):
            from .alipay import cert_sn, root_cert_sn

            try:
                load_public_key(conf["ALIPAY_PUBLIC_CERT"])
                cert_sn(conf["APP_CERT"])
                root_cert_sn(conf["ALIPAY_ROOT_CERT"])
            except KeyFormatError as exc:
                messages.append(
                    Error(f"A certificate cannot be loaded: {exc.message}", id="zhifu.E004")
                )
    else:
        try:
            load_public_key(conf.get("ALIPAY_PUBLIC_KEY") or "")
        except KeyFormatError as exc:
            messages.append(
                Error(
                    f'ZHIFU["ALIPAY_PUBLIC_KEY"] cannot be loaded: {exc.message}',
                    hint="This is Alipay's public key (from the console), not your app's.",
                    id="zhifu.E005",
                )
            )
    if conf.get("APP_PUBLIC_KEY") and private_key is not None:
        try:
            public = load_public_key(conf["APP_PUBLIC_KEY"])
        except KeyFormatError as exc:
            messages.append(
                Error(f'ZHIFU["APP_PUBLIC_KEY"] cannot be loaded: {exc.message}', id="zhifu.E006")
            )
        else:
            if public.public_numbers() != private_key.public_key().public_numbers():
                messages.append(
                    Error(
                        'ZHIFU["APP_PRIVATE_KEY"] does not match ZHIFU["APP_PUBLIC_KEY"].',
                        hint="Alipay would reject every signature: upload the public key of this private key.",
                        id="zhifu.E006",
                    )
                )
    if conf.get("SIGN_TYPE") not in ("RSA2", "RSA"):
        messages.append(Error('ZHIFU["SIGN_TYPE"] must be "RSA2" or "RSA".', id="zhifu.E007"))

    gateway = conf.get("GATEWAY_URL")
    problem = _url_problem(gateway)
    gateway_local = False
    if problem:
        messages.append(Error(f'ZHIFU["GATEWAY_URL"] {problem}.', id="zhifu.E008"))
    else:
        parts = urlsplit(str(gateway))
        gateway_local = is_local_host(parts.hostname)
        if parts.scheme != "https" and not gateway_local:
            messages.append(
                Error(
                    f'ZHIFU["GATEWAY_URL"] {gateway!r} is plain http to a remote host.',
                    hint="Alipay's gateways are https; http is only for a local sandbox.",
                    id="zhifu.E008",
                )
            )
        if not parts.path.endswith("gateway.do"):
            messages.append(
                Warning(
                    f'ZHIFU["GATEWAY_URL"] {gateway!r} does not end in gateway.do.',
                    hint="e.g. https://openapi.alipay.com/gateway.do",
                    id="zhifu.W002",
                )
            )
    for key in ("NOTIFY_URL", "RETURN_URL"):
        value = conf.get(key)
        problem = _url_problem(value)
        if problem:
            messages.append(
                Error(
                    f'ZHIFU["{key}"] {problem}.',
                    hint="Give the absolute URL, e.g. https://shop.example.com/zhifu/alipay/notify/",
                    id="zhifu.E009",
                )
            )
            continue
        if (
            key == "NOTIFY_URL"
            and not settings.DEBUG
            and is_local_host(urlsplit(str(value)).hostname)
            and not gateway_local
        ):
            messages.append(
                Error(
                    f'ZHIFU["NOTIFY_URL"] {value!r} points to this machine; Alipay cannot reach it.',
                    hint="Use the public URL of the site (allowed only with DEBUG or a local sandbox gateway).",
                    id="zhifu.E010",
                )
            )
    expiry = conf.get("ORDER_EXPIRY")
    if isinstance(expiry, int | float) and not isinstance(expiry, bool):
        expiry = timedelta(seconds=expiry)
    if not isinstance(expiry, timedelta) or expiry <= timedelta(0):
        messages.append(
            Error('ZHIFU["ORDER_EXPIRY"] must be a positive timedelta.', id="zhifu.E011")
        )
    if conf.get("LATE_PAYMENT_POLICY") not in ("refund", "flag"):
        messages.append(
            Error('ZHIFU["LATE_PAYMENT_POLICY"] must be "refund" or "flag".', id="zhifu.E012")
        )
    catalog = conf.get("CATALOG")
    if catalog and isinstance(catalog, str):
        try:
            import_string(catalog)
        except ImportError as exc:
            messages.append(
                Error(f'ZHIFU["CATALOG"] {catalog!r} cannot be imported: {exc}', id="zhifu.E013")
            )
    schedule = conf.get("RECONCILE_SCHEDULE")
    if not schedule or any(not isinstance(s, int | float) or s <= 0 for s in schedule):
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
    return messages
