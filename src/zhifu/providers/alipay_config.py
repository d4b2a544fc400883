"""Alipay's part of the ``ZHIFU`` setting: building the client, and the system checks of its keys,
certificates, gateway and merchant identity."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.checks import CheckMessage, Error, Warning

from ..alipay import AlipayClient, KeyFormatError, load_private_key, load_public_key
from ..checks import is_local_host, url_problem
from ..exceptions import ConfigurationError

__all__ = ["CERT_KEYS", "build_client", "check_settings"]

CERT_KEYS = ("APP_CERT", "ALIPAY_PUBLIC_CERT", "ALIPAY_ROOT_CERT")


def build_client(config: dict[str, Any] | None = None, **overrides: Any) -> AlipayClient:
    """A new :class:`~zhifu.alipay.AlipayClient` from the ``ZHIFU`` setting (keys loaded now)."""
    from ..conf import zhifu_settings

    conf = dict(config or zhifu_settings.as_dict())
    for key in ("APP_ID", "APP_PRIVATE_KEY"):
        if not conf.get(key):
            raise ConfigurationError("configuration_error", f'ZHIFU["{key}"] is not set')
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
    if any(conf.get(k) for k in CERT_KEYS):
        return AlipayClient.from_certificates(
            app_cert=conf["APP_CERT"],
            alipay_public_cert=conf["ALIPAY_PUBLIC_CERT"],
            alipay_root_cert=conf["ALIPAY_ROOT_CERT"],
            **options,
        )
    if not conf.get("ALIPAY_PUBLIC_KEY"):
        raise ConfigurationError("configuration_error", 'ZHIFU["ALIPAY_PUBLIC_KEY"] is not set')
    return AlipayClient(alipay_public_key=conf["ALIPAY_PUBLIC_KEY"], **options)


def gateway_is_local(conf: dict[str, Any]) -> bool:
    return is_local_host(urlsplit(str(conf.get("GATEWAY_URL") or "")).hostname)


def check_settings(conf: dict[str, Any]) -> list[CheckMessage]:
    """Every Alipay key of ``ZHIFU``, checked (``conf`` is the merged setting)."""
    return [
        *_check_identity(conf),
        *_check_keys(conf),
        *_check_certificates(conf),
        *_check_gateway(conf),
        *_check_urls(conf),
    ]


def _check_identity(conf: dict[str, Any]) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if not str(conf.get("APP_ID") or "").strip():
        messages.append(Error('ZHIFU["APP_ID"] is empty.', id="zhifu.E002"))
    seller = str(conf.get("SELLER_ID") or "").strip()
    if not seller and not gateway_is_local(conf):
        messages.append(
            Error(
                'ZHIFU["SELLER_ID"] is empty, so notifications for another merchant would be '
                "believed.",
                hint="Set it to your merchant's PID (2088…), shown in the Alipay console under "
                "账户中心 → 合作伙伴身份 (PID). Only a local sandbox gateway may omit it.",
                id="zhifu.E015",
            )
        )
    elif seller and not (seller.isascii() and seller.isdigit() and len(seller) == 16):
        messages.append(
            Error(
                f'ZHIFU["SELLER_ID"] {seller!r} is not a 16-digit Alipay PID.',
                hint="The PID starts with 2088; it is not the app id or the account name.",
                id="zhifu.E015",
            )
        )
    if conf.get("SIGN_TYPE") not in ("RSA2", "RSA"):
        messages.append(Error('ZHIFU["SIGN_TYPE"] must be "RSA2" or "RSA".', id="zhifu.E007"))
    return messages


def _check_keys(conf: dict[str, Any]) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
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
    if not any(conf.get(k) for k in CERT_KEYS):
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
                        hint="Alipay would reject every signature: upload the public key of "
                        "this private key.",
                        id="zhifu.E006",
                    )
                )
    return messages


def _check_certificates(conf: dict[str, Any]) -> list[CheckMessage]:
    if not any(conf.get(k) for k in CERT_KEYS):
        return []
    missing = [k for k in CERT_KEYS if not conf.get(k)]
    if missing:
        return [
            Error(f'Certificate mode needs ZHIFU["{key}"] too.', id="zhifu.E004") for key in missing
        ]
    from ..alipay import cert_sn, root_cert_sn

    try:
        load_public_key(conf["ALIPAY_PUBLIC_CERT"])
        cert_sn(conf["APP_CERT"])
        root_cert_sn(conf["ALIPAY_ROOT_CERT"])
    except KeyFormatError as exc:
        return [Error(f"A certificate cannot be loaded: {exc.message}", id="zhifu.E004")]
    return []


def _check_gateway(conf: dict[str, Any]) -> list[CheckMessage]:
    gateway = conf.get("GATEWAY_URL")
    problem = url_problem(gateway)
    if problem:
        return [Error(f'ZHIFU["GATEWAY_URL"] {problem}.', id="zhifu.E008")]
    messages: list[CheckMessage] = []
    parts = urlsplit(str(gateway))
    if parts.scheme != "https" and not is_local_host(parts.hostname):
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
    return messages


def _check_urls(conf: dict[str, Any]) -> list[CheckMessage]:
    from django.conf import settings

    messages: list[CheckMessage] = []
    for key in ("NOTIFY_URL", "RETURN_URL", "QUIT_URL"):
        value = conf.get(key)
        if key == "QUIT_URL" and not value:
            continue  # optional: Alipay's wap cashier then offers no way back
        problem = url_problem(value)
        if problem:
            messages.append(
                Error(
                    f'ZHIFU["{key}"] {problem}.',
                    hint="Give the absolute URL, e.g. https://shop.example.com/zhifu/alipay/notify/",
                    id="zhifu.E009",
                )
            )
        elif (
            key == "NOTIFY_URL"
            and not settings.DEBUG
            and is_local_host(urlsplit(str(value)).hostname)
            and not gateway_is_local(conf)
        ):
            messages.append(
                Error(
                    f'ZHIFU["NOTIFY_URL"] {value!r} points to this machine; Alipay cannot reach it.',
                    hint="Use the public URL of the site (allowed only with DEBUG or a local "
                    "sandbox gateway).",
                    id="zhifu.E010",
                )
            )
    return messages
