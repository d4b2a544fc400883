"""WeChat Pay's part of the ``ZHIFU`` setting (``ZHIFU["WECHATPAY"]``): building the client, and
the system checks of its merchant identity, keys and URLs.

Which WeChat key verifies answers and notifications follows from what is configured:

- ``PUBLIC_KEY`` + ``PUBLIC_KEY_ID`` only: public-key mode (merchants since late 2024);
- ``PLATFORM_CERT_DIR`` (or neither): certificate mode, certificates downloaded from
  ``/v3/certificates`` when an unknown serial signs, cached in the directory;
- both: migration, either key verifies, chosen by ``Wechatpay-Serial``.

``OAUTH`` (optional) is the official account's web OAuth (网页授权), with which a payment link
opened in WeChat's browser learns the buyer's openid and offers JSAPI: ``APP_SECRET`` (empty: not
configured), ``AUTHORIZE_URL`` and ``API_URL`` (WeChat's by default, the sandbox's URL in tests).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from django.core.checks import CheckMessage, Error, Warning

from ..checks import is_local_host, url_problem
from ..exceptions import ConfigurationError
from ..wechatpay import (
    PRODUCTION_BASE_URL,
    KeyFormatError,
    WechatPayClient,
    WechatPayError,
    load_apiv3_key,
    load_certificate,
    load_private_key,
    load_public_key,
)
from ..wechatpay.keys import certificate_serial, normalise_serial, validate_public_key_id
from ..wechatpay.oauth import OAUTH_API_BASE_URL, OAUTH_AUTHORIZE_BASE_URL, WechatOAuth

__all__ = [
    "DEFAULTS",
    "OAUTH_DEFAULTS",
    "KeyMode",
    "build_client",
    "build_oauth",
    "check_settings",
    "gateway_is_local",
    "key_mode",
    "oauth_conf",
    "sandbox_bridge_url",
    "wechatpay_conf",
]

DEFAULTS: dict[str, Any] = {
    "MCHID": "",  # 商户号
    "APPID": "",  # the 公众号 / 小程序 appid bound to the merchant (JSAPI needs the 公众号's)
    "MERCHANT_PRIVATE_KEY": "",  # apiclient_key.pem: PEM text or a path
    "MERCHANT_SERIAL": "",  # the merchant API certificate's serial (hex)
    "MERCHANT_CERT": "",  # optional apiclient_cert.pem: checked against the key and the serial
    "APIV3_KEY": "",  # the 32 characters set in the portal (better from the environment)
    "PUBLIC_KEY": "",  # WeChat Pay public key (pub_key.pem), text or path
    "PUBLIC_KEY_ID": "",  # PUB_KEY_ID_…
    "PLATFORM_CERT_DIR": "",  # certificate mode / migration: where platform certificates are kept
    "GATEWAY_URL": PRODUCTION_BASE_URL,
    "NOTIFY_URL": "",  # https://<site>/zhifu/wechatpay/notify/ (no query string)
    "RETURN_URL": "",  # H5: where the buyer comes back (start_payment's return_url wins)
    "H5_TYPE": "Wap",  # H5 scene: Wap, iOS or Android
    "OAUTH": {},  # optional web OAuth of the 公众号 (see OAUTH_DEFAULTS): JSAPI on payment links
}
OAUTH_DEFAULTS: dict[str, Any] = {
    "APP_SECRET": "",  # the 公众号's AppSecret (better from the environment); empty: no OAuth
    "AUTHORIZE_URL": OAUTH_AUTHORIZE_BASE_URL,  # where the buyer's browser is sent
    "API_URL": OAUTH_API_BASE_URL,  # where the code is exchanged for the openid
}
KeyMode = Literal["public_key", "certificate", "migration"]
H5_TYPES = ("Wap", "iOS", "Android")


def wechatpay_conf(conf: dict[str, Any] | None = None) -> dict[str, Any]:
    """``ZHIFU["WECHATPAY"]`` merged over :data:`DEFAULTS` (``conf`` is the merged ``ZHIFU``)."""
    if conf is None:
        from ..conf import zhifu_settings

        conf = zhifu_settings.as_dict()
    given = conf.get("WECHATPAY") or {}
    if not isinstance(given, dict):
        raise ConfigurationError("configuration_error", 'ZHIFU["WECHATPAY"] must be a dict')
    return {**DEFAULTS, **given}


def key_mode(wx: dict[str, Any]) -> KeyMode:
    if wx.get("PUBLIC_KEY") or wx.get("PUBLIC_KEY_ID"):
        return "migration" if wx.get("PLATFORM_CERT_DIR") else "public_key"
    return "certificate"


def gateway_is_local(wx: dict[str, Any] | None = None) -> bool:
    """Whether ``GATEWAY_URL`` is on this machine (the Zhifu sandbox): only then do pages include
    the sandbox's stand-ins for what WeChat's browser supplies (its ``WeixinJSBridge``)."""
    wx = wx if wx is not None else wechatpay_conf()
    return is_local_host(urlsplit(str(wx.get("GATEWAY_URL") or "")).hostname)


def sandbox_bridge_url(wx: dict[str, Any] | None = None) -> str:
    """The sandbox's ``jsbridge.js`` when the WeChat gateway is local, else ``""`` (in WeChat's
    real browser ``WeixinJSBridge`` is built in)."""
    wx = wx if wx is not None else wechatpay_conf()
    if not gateway_is_local(wx):
        return ""
    return str(wx.get("GATEWAY_URL") or "").rstrip("/") + "/wechat/jsbridge.js"


def oauth_conf(wx: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """``ZHIFU["WECHATPAY"]["OAUTH"]`` merged over :data:`OAUTH_DEFAULTS`, or None when web OAuth
    is not configured (no ``OAUTH``, or an empty ``APP_SECRET``)."""
    if wx is None:
        try:
            wx = wechatpay_conf()
        except ConfigurationError:
            return None
    given = wx.get("OAUTH") or {}
    if not isinstance(given, dict):
        return None
    merged = {**OAUTH_DEFAULTS, **given}
    secret = merged["APP_SECRET"]
    if not isinstance(secret, str) or not secret.strip():
        return None
    return merged


_oauth_lock = threading.Lock()
_oauth_clients: dict[tuple[Any, ...], WechatOAuth] = {}


def build_oauth(conf: dict[str, Any] | None = None) -> WechatOAuth:
    """The :class:`~zhifu.wechatpay.oauth.WechatOAuth` client of ``APPID`` with the ``OAUTH``
    setting, one kept per configuration (its HTTP connections are reused).
    ``ConfigurationError`` when OAuth is not configured or cannot be used."""
    from ..conf import zhifu_settings

    whole = conf if conf is not None else zhifu_settings.as_dict()
    wx = wechatpay_conf(whole)
    oauth = oauth_conf(wx)
    if oauth is None:
        raise ConfigurationError(
            "configuration_error", 'ZHIFU["WECHATPAY"]["OAUTH"]["APP_SECRET"] is not set'
        )
    key = (
        str(wx.get("APPID") or ""),
        oauth["APP_SECRET"],
        oauth["AUTHORIZE_URL"],
        oauth["API_URL"],
        float(whole.get("HTTP_TIMEOUT") or 15.0),
    )
    with _oauth_lock:
        client = _oauth_clients.get(key)
        if client is None:
            try:
                client = WechatOAuth(
                    appid=key[0],
                    secret=key[1],
                    authorize_base_url=key[2],
                    api_base_url=key[3],
                    timeout=key[4],
                )
            except WechatPayError as exc:
                raise ConfigurationError(
                    "configuration_error",
                    f'ZHIFU["WECHATPAY"]["OAUTH"] cannot be used: {exc.message}',
                ) from None
            _oauth_clients[key] = client
        return client


def build_client(conf: dict[str, Any] | None = None, **overrides: Any) -> WechatPayClient:
    """A new :class:`~zhifu.wechatpay.WechatPayClient` from the setting (keys loaded now).

    ``overrides`` go to the client as they are (tests pass ``transport=``)."""
    from ..conf import zhifu_settings

    whole = conf if conf is not None else zhifu_settings.as_dict()
    wx = wechatpay_conf(whole)
    for key in ("MCHID", "APPID", "MERCHANT_PRIVATE_KEY", "MERCHANT_SERIAL", "APIV3_KEY"):
        if not str(wx.get(key) or "").strip():
            raise ConfigurationError(
                "configuration_error", f'ZHIFU["WECHATPAY"]["{key}"] is not set'
            )
    mode = key_mode(wx)
    options: dict[str, Any] = {
        "mchid": str(wx["MCHID"]),
        "appid": str(wx["APPID"]),
        "merchant_private_key": wx["MERCHANT_PRIVATE_KEY"],
        "merchant_serial_no": str(wx["MERCHANT_SERIAL"]),
        "apiv3_key": wx["APIV3_KEY"],
        "base_url": str(wx["GATEWAY_URL"] or PRODUCTION_BASE_URL),
        "notify_url": wx.get("NOTIFY_URL") or None,
        "timeout": float(whole.get("HTTP_TIMEOUT") or 15.0),
        "certificate_cache_dir": str(wx["PLATFORM_CERT_DIR"]) or None,
    }
    if mode != "certificate":
        options["wechatpay_public_key"] = wx["PUBLIC_KEY"]
        options["wechatpay_public_key_id"] = str(wx["PUBLIC_KEY_ID"]).strip()
    if mode == "migration":
        options["platform_certificates"] = True
    options.update(overrides)
    try:
        return WechatPayClient(**options)
    except WechatPayError as exc:
        raise ConfigurationError(
            "configuration_error", f'ZHIFU["WECHATPAY"] cannot be used: {exc.message}'
        ) from None


def check_settings(conf: dict[str, Any]) -> list[CheckMessage]:
    """Every key of ``ZHIFU["WECHATPAY"]``, checked (``conf`` is the merged ``ZHIFU``)."""
    given = conf.get("WECHATPAY")
    if not isinstance(given, dict):
        return [Error('ZHIFU["WECHATPAY"] must be a dict.', id="zhifu.E020")]
    messages: list[CheckMessage] = []
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        messages.append(
            Warning(
                f'ZHIFU["WECHATPAY"] has unknown keys: {", ".join(unknown)}.',
                hint="Check the spelling.",
                id="zhifu.W001",
            )
        )
    wx = {**DEFAULTS, **given}
    return [
        *messages,
        *_check_identity(wx),
        *_check_keys(wx),
        *_check_urls(wx),
        *_check_oauth(wx),
    ]


def _check_identity(wx: dict[str, Any]) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    mchid = str(wx.get("MCHID") or "").strip()
    if not (mchid.isascii() and mchid.isdigit()):
        messages.append(
            Error(
                f'ZHIFU["WECHATPAY"]["MCHID"] {mchid!r} is not a merchant id.',
                hint="The 商户号 is digits (e.g. 1900000109), shown in the WeChat Pay merchant "
                "portal; notifications for another merchant are refused by comparing it.",
                id="zhifu.E020",
            )
        )
    if not str(wx.get("APPID") or "").strip():
        messages.append(
            Error(
                'ZHIFU["WECHATPAY"]["APPID"] is empty.',
                hint="The appid of the 公众号 (or 小程序) bound to the merchant, e.g. wx8888…",
                id="zhifu.E020",
            )
        )
    if wx.get("H5_TYPE") not in H5_TYPES:
        messages.append(
            Error(
                f'ZHIFU["WECHATPAY"]["H5_TYPE"] must be one of {", ".join(H5_TYPES)}.',
                id="zhifu.E020",
            )
        )
    if bool(wx.get("PUBLIC_KEY")) != bool(wx.get("PUBLIC_KEY_ID")):
        messages.append(
            Error(
                'ZHIFU["WECHATPAY"] has only one of PUBLIC_KEY and PUBLIC_KEY_ID.',
                hint="Public-key mode needs both (API安全 → 微信支付公钥: the key and its "
                "PUB_KEY_ID_…); certificate mode needs neither.",
                id="zhifu.E020",
            )
        )
    cert_dir = str(wx.get("PLATFORM_CERT_DIR") or "")
    if cert_dir and not Path(cert_dir).is_dir():
        messages.append(
            Error(
                f'ZHIFU["WECHATPAY"]["PLATFORM_CERT_DIR"] {cert_dir!r} is not a directory.',
                hint="Create it: downloaded platform certificates are kept there as <serial>.pem.",
                id="zhifu.E020",
            )
        )
    return messages


def _key_error(key: str, problem: str, hint: str = "") -> Error:
    return Error(f'ZHIFU["WECHATPAY"]["{key}"] {problem}', hint=hint or None, id="zhifu.E021")


def _check_keys(wx: dict[str, Any]) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    private = None
    try:
        private = load_private_key(wx.get("MERCHANT_PRIVATE_KEY") or "")
    except KeyFormatError as exc:
        messages.append(
            _key_error(
                "MERCHANT_PRIVATE_KEY",
                f"cannot be loaded: {exc.message}",
                "Give apiclient_key.pem (PEM text or its path) from the merchant portal.",
            )
        )
    serial = None
    try:
        serial = normalise_serial(wx.get("MERCHANT_SERIAL"), "merchant certificate serial")
    except KeyFormatError as exc:
        messages.append(
            _key_error(
                "MERCHANT_SERIAL",
                f"is not usable: {exc.message}",
                "The serial of apiclient_cert.pem (账户中心 → API安全), e.g. "
                "`openssl x509 -in apiclient_cert.pem -noout -serial`.",
            )
        )
    if wx.get("MERCHANT_CERT"):
        try:
            cert = load_certificate(wx["MERCHANT_CERT"], "merchant API certificate")
        except KeyFormatError as exc:
            messages.append(_key_error("MERCHANT_CERT", f"cannot be loaded: {exc.message}"))
        else:
            if private is not None and (
                cert.public_key().public_numbers() != private.public_key().public_numbers()  # type: ignore[union-attr]
            ):
                messages.append(
                    _key_error(
                        "MERCHANT_PRIVATE_KEY",
                        "does not match MERCHANT_CERT: WeChat would reject every signature.",
                    )
                )
            if serial is not None and certificate_serial(cert) != serial:
                messages.append(
                    _key_error(
                        "MERCHANT_SERIAL",
                        f"{serial} is not the serial of MERCHANT_CERT ({certificate_serial(cert)}).",
                    )
                )
    try:
        load_apiv3_key(wx.get("APIV3_KEY") or "")
    except KeyFormatError as exc:
        messages.append(
            _key_error(
                "APIV3_KEY",
                f"is not usable: {exc.message}",
                "Notifications cannot be decrypted without it; read it from the environment.",
            )
        )
    if wx.get("PUBLIC_KEY") and wx.get("PUBLIC_KEY_ID"):
        try:
            public = load_public_key(wx["PUBLIC_KEY"])
        except KeyFormatError as exc:
            messages.append(_key_error("PUBLIC_KEY", f"cannot be loaded: {exc.message}"))
        else:
            if private is not None and (
                public.public_numbers() == private.public_key().public_numbers()
            ):
                messages.append(
                    _key_error(
                        "PUBLIC_KEY",
                        "is the merchant's own public key, not WeChat Pay's.",
                        "Download 微信支付公钥 (pub_key.pem) from API安全.",
                    )
                )
        try:
            validate_public_key_id(wx["PUBLIC_KEY_ID"])
        except KeyFormatError as exc:
            messages.append(_key_error("PUBLIC_KEY_ID", exc.message))
    return messages


def _check_urls(wx: dict[str, Any]) -> list[CheckMessage]:
    from django.conf import settings

    messages: list[CheckMessage] = []
    gateway = wx.get("GATEWAY_URL")
    problem = url_problem(gateway)
    gateway_local = gateway_is_local(wx)
    if problem:
        messages.append(Error(f'ZHIFU["WECHATPAY"]["GATEWAY_URL"] {problem}.', id="zhifu.E022"))
    elif urlsplit(str(gateway)).scheme != "https" and not gateway_local:
        messages.append(
            Error(
                f'ZHIFU["WECHATPAY"]["GATEWAY_URL"] {gateway!r} is plain http to a remote host.',
                hint=f"WeChat Pay is {PRODUCTION_BASE_URL}; http is only for a local sandbox.",
                id="zhifu.E022",
            )
        )
    notify = wx.get("NOTIFY_URL")
    problem = url_problem(notify)
    if problem:
        messages.append(
            Error(
                f'ZHIFU["WECHATPAY"]["NOTIFY_URL"] {problem}.',
                hint="e.g. https://shop.example.com/zhifu/wechatpay/notify/",
                id="zhifu.E022",
            )
        )
    else:
        parts = urlsplit(str(notify))
        if parts.query:
            messages.append(
                Error(
                    'ZHIFU["WECHATPAY"]["NOTIFY_URL"] has a query string; WeChat Pay refuses it.',
                    id="zhifu.E022",
                )
            )
        if is_local_host(parts.hostname) and not settings.DEBUG and not gateway_local:
            messages.append(
                Error(
                    f'ZHIFU["WECHATPAY"]["NOTIFY_URL"] {notify!r} points to this machine; '
                    "WeChat Pay cannot reach it.",
                    hint="Use the public https URL of the site (allowed only with DEBUG or a "
                    "local sandbox gateway).",
                    id="zhifu.E022",
                )
            )
        elif parts.scheme != "https" and not gateway_local:
            messages.append(
                Error(
                    'ZHIFU["WECHATPAY"]["NOTIFY_URL"] must be https for WeChat Pay.',
                    id="zhifu.E022",
                )
            )
    if wx.get("RETURN_URL") and url_problem(wx["RETURN_URL"]):
        messages.append(
            Error(
                f'ZHIFU["WECHATPAY"]["RETURN_URL"] {url_problem(wx["RETURN_URL"])}.',
                id="zhifu.E022",
            )
        )
    return messages


def _check_oauth(wx: dict[str, Any]) -> list[CheckMessage]:
    given = wx.get("OAUTH")
    if given is None or given == {}:
        return []
    if not isinstance(given, dict):
        return [
            Error(
                'ZHIFU["WECHATPAY"]["OAUTH"] must be a dict.',
                hint='e.g. {"APP_SECRET": os.environ["WECHAT_APP_SECRET"]}',
                id="zhifu.E023",
            )
        ]
    messages: list[CheckMessage] = []
    unknown = sorted(set(given) - set(OAUTH_DEFAULTS))
    if unknown:
        messages.append(
            Warning(
                f'ZHIFU["WECHATPAY"]["OAUTH"] has unknown keys: {", ".join(unknown)}.',
                hint=f"It knows {', '.join(OAUTH_DEFAULTS)}.",
                id="zhifu.W001",
            )
        )
    oauth = {**OAUTH_DEFAULTS, **given}
    secret = oauth["APP_SECRET"]
    if not isinstance(secret, str) or (secret and not secret.strip()):
        messages.append(
            Error(
                'ZHIFU["WECHATPAY"]["OAUTH"]["APP_SECRET"] must be a non-empty string '
                "(or empty to leave web OAuth off).",
                hint="The 公众号's AppSecret (开发 → 基本配置), read from the environment.",
                id="zhifu.E023",
            )
        )
    for key in ("AUTHORIZE_URL", "API_URL"):
        value = oauth[key]
        problem = url_problem(value)
        if problem:
            messages.append(
                Error(f'ZHIFU["WECHATPAY"]["OAUTH"]["{key}"] {problem}.', id="zhifu.E023")
            )
        elif urlsplit(value).scheme != "https" and not is_local_host(urlsplit(value).hostname):
            messages.append(
                Error(
                    f'ZHIFU["WECHATPAY"]["OAUTH"]["{key}"] {value!r} is plain http to a remote host.',
                    hint=f"WeChat's is {OAUTH_DEFAULTS[key]}; http is only for a local sandbox.",
                    id="zhifu.E023",
                )
            )
    return messages
