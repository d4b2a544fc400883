"""The settings to paste: Zhifu's ``ZHIFU`` dict (and ``ZHIFU["WECHATPAY"]``) as Python source.

Keys and certificates are given by absolute path (the loaders read a path as the file), never
inlined; the APIv3 key, which the setting takes as its value, is read from its file (or from the
``WECHATPAY_APIV3_KEY`` environment variable) when the settings load — the block never holds it.
"""

from __future__ import annotations

from ..alipay.client import PRODUCTION_GATEWAY
from .findings import Diagnosis
from .roles import Role

__all__ = ["PROVIDERS", "settings_block"]

PROVIDERS = {
    "alipay": "zhifu.providers.alipay.AlipayProvider",
    "balance": "zhifu.providers.balance.BalanceProvider",
    "wechatpay": "zhifu.providers.wechatpay.WechatPayProvider",
}
APIV3_ENV = "WECHATPAY_APIV3_KEY"


def _path(d: Diagnosis, role: Role) -> str:
    found = d.first(role)
    return str(found.file.path.resolve()) if found else ""


def _file_line(d: Diagnosis, key: str, role: Role, comment: str = "", indent: int = 4) -> str:
    path = _path(d, role)
    return _line(key, _str(path), comment if path else f"TODO: {role.label}", indent)


def _line(key: str, value: str, comment: str = "", indent: int = 4) -> str:
    text = f"{' ' * indent}{_str(key)}: {value},"
    return f"{text}  # {comment}" if comment else text


def _str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _site(d: Diagnosis) -> str:
    return d.options.site_url.rstrip("/")


def settings_block(d: Diagnosis) -> str:
    """Python source defining ``ZHIFU``; empty if neither provider has files."""
    alipay, wechat = d.uses("alipay"), d.uses("wechatpay")
    if not (alipay or wechat):
        return ""
    site = _site(d)
    todo_site = "" if site else "TODO: your site's public https URL (--site-url)"
    lines: list[str] = []
    apiv3 = d.first(Role.WECHATPAY_APIV3_KEY) if wechat else None
    if wechat:
        lines.append("from pathlib import Path" if apiv3 else "import os")
        lines.append("")
    lines.append("ZHIFU = {")
    if alipay:
        lines += _alipay_lines(d, site, todo_site)
    if wechat:
        providers = [PROVIDERS["alipay"]] if alipay else []
        providers += [PROVIDERS["balance"], PROVIDERS["wechatpay"]]
        lines.append("    " + _str("PROVIDERS") + ": (")
        lines += [f"        {_str(p)}," for p in providers]
        lines.append("    ),")
        lines += _wechat_lines(d, site, todo_site)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _alipay_lines(d: Diagnosis, site: str, todo_site: str) -> list[str]:
    facts = d.alipay
    lines = [
        _line(
            "APP_ID", _str(facts.get("app_id", "")), "" if facts.get("app_id") else "TODO: --app-id"
        ),
        _line(
            "SELLER_ID",
            _str(facts.get("seller_id", "")),
            "" if facts.get("seller_id") else "TODO: your PID, 2088… (--seller-id)",
        ),
        _file_line(d, "APP_PRIVATE_KEY", Role.ALIPAY_APP_PRIVATE_KEY, "a path, never the key"),
    ]
    cert_mode = facts.get("mode", "").startswith("certificate")
    if d.first(Role.ALIPAY_APP_PUBLIC_KEY) and not cert_mode:
        lines.append(
            _line(
                "APP_PUBLIC_KEY",
                _str(_path(d, Role.ALIPAY_APP_PUBLIC_KEY)),
                "optional: `manage.py check` compares it with the private key",
            )
        )
    if cert_mode:
        lines += [
            _file_line(d, "APP_CERT", Role.ALIPAY_APP_CERT),
            _file_line(d, "ALIPAY_PUBLIC_CERT", Role.ALIPAY_PUBLIC_CERT),
            _file_line(d, "ALIPAY_ROOT_CERT", Role.ALIPAY_ROOT_CERT),
        ]
    else:
        lines.append(_file_line(d, "ALIPAY_PUBLIC_KEY", Role.ALIPAY_PUBLIC_KEY))
    gateway = facts.get("gateway", PRODUCTION_GATEWAY)
    lines.append(
        _line(
            "GATEWAY_URL",
            _str(gateway),
            "a sandbox" if gateway != PRODUCTION_GATEWAY else "",
        )
    )
    for key, path in (("NOTIFY_URL", "notify"), ("RETURN_URL", "return")):
        value = f"{site}/zhifu/alipay/{path}/" if site else ""
        lines.append(_line(key, _str(value), todo_site))
    return lines


def _wechat_lines(d: Diagnosis, site: str, todo_site: str) -> list[str]:
    facts = d.wechatpay
    apiv3 = d.first(Role.WECHATPAY_APIV3_KEY)
    inner: list[str] = [
        _line(
            "MCHID", _str(facts.get("mchid", "")), "" if facts.get("mchid") else "TODO: --mchid", 8
        ),
        _line(
            "APPID",
            _str(d.options.wechatpay_appid),
            "" if d.options.wechatpay_appid else "TODO: --wechatpay-appid wx…",
            8,
        ),
        _file_line(
            d, "MERCHANT_PRIVATE_KEY", Role.WECHATPAY_MERCHANT_KEY, "a path, never the key", 8
        ),
        _line(
            "MERCHANT_SERIAL",
            _str(facts.get("merchant_serial", "")),
            "" if facts.get("merchant_serial") else "TODO: --merchant-serial",
            8,
        ),
    ]
    if d.first(Role.WECHATPAY_MERCHANT_CERT):
        inner.append(_line("MERCHANT_CERT", _str(_path(d, Role.WECHATPAY_MERCHANT_CERT)), "", 8))
    if apiv3 is not None:
        value = f'Path({_str(str(apiv3.file.path.resolve()))}).read_text(encoding="ascii").strip()'
        inner.append(_line("APIV3_KEY", value, "read at start-up, never pasted", 8))
    else:
        value = f'os.environ.get({_str(APIV3_ENV)}, "")'
        inner.append(_line("APIV3_KEY", value, "the 32 characters, from the environment", 8))
    if d.first(Role.WECHATPAY_PUBLIC_KEY):
        inner += [
            _file_line(d, "PUBLIC_KEY", Role.WECHATPAY_PUBLIC_KEY, "", 8),
            _line(
                "PUBLIC_KEY_ID",
                _str(facts.get("public_key_id", "")),
                "" if facts.get("public_key_id") else "TODO: --public-key-id",
                8,
            ),
        ]
    if facts.get("platform_cert_dir"):
        inner.append(_line("PLATFORM_CERT_DIR", _str(facts["platform_cert_dir"]), "", 8))
    if d.options.wechatpay_gateway:
        inner.append(_line("GATEWAY_URL", _str(d.options.wechatpay_gateway), "a sandbox", 8))
    value = f"{site}/zhifu/wechatpay/notify/" if site else ""
    inner.append(_line("NOTIFY_URL", _str(value), todo_site, 8))
    return ["    " + _str("WECHATPAY") + ": {", *inner, "    },"]
