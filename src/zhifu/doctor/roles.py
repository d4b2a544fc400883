"""Whose is this file? Alipay's, the app's, WeChat Pay's or the merchant's — decided from the
names merchants' files carry (as the consoles name them), the certificates' subjects and, above
all, which keys are the same key.

A role a file's name (or an explicit option) gives it is *declared*: the doctor then checks the
content against it, which is how the classic mistake — the app's own public key saved as
``alipay_public_key.pem`` — is caught. A role found only from the content is *inferred*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from .files import KeyFile

__all__ = ["Assigned", "Role", "assign_roles"]


class Role(StrEnum):
    ALIPAY_APP_PRIVATE_KEY = "alipay_app_private_key"
    ALIPAY_APP_PUBLIC_KEY = "alipay_app_public_key"
    ALIPAY_PUBLIC_KEY = "alipay_public_key"
    ALIPAY_APP_CERT = "alipay_app_cert"
    ALIPAY_PUBLIC_CERT = "alipay_public_cert"
    ALIPAY_ROOT_CERT = "alipay_root_cert"
    WECHATPAY_MERCHANT_KEY = "wechatpay_merchant_key"
    WECHATPAY_MERCHANT_PUBLIC_KEY = "wechatpay_merchant_public_key"
    WECHATPAY_MERCHANT_CERT = "wechatpay_merchant_cert"
    WECHATPAY_PUBLIC_KEY = "wechatpay_public_key"
    WECHATPAY_PUBLIC_KEY_ID = "wechatpay_public_key_id"
    WECHATPAY_PLATFORM_CERT = "wechatpay_platform_cert"
    WECHATPAY_APIV3_KEY = "wechatpay_apiv3_key"
    IGNORED = "ignored"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def provider(self) -> str:
        if self.value.startswith("alipay_"):
            return "alipay"
        if self.value.startswith("wechatpay_"):
            return "wechatpay"
        return ""


_LABELS = {
    Role.ALIPAY_APP_PRIVATE_KEY: "Alipay app private key (应用私钥)",
    Role.ALIPAY_APP_PUBLIC_KEY: "Alipay app public key (应用公钥, uploaded to the console)",
    Role.ALIPAY_PUBLIC_KEY: "Alipay public key (支付宝公钥)",
    Role.ALIPAY_APP_CERT: "Alipay app public-key certificate (appCertPublicKey_<appid>.crt)",
    Role.ALIPAY_PUBLIC_CERT: "Alipay public-key certificate (alipayCertPublicKey_RSA2.crt)",
    Role.ALIPAY_ROOT_CERT: "Alipay root certificate bundle (alipayRootCert.crt)",
    Role.WECHATPAY_MERCHANT_KEY: "WeChat Pay merchant API private key (apiclient_key.pem)",
    Role.WECHATPAY_MERCHANT_PUBLIC_KEY: "WeChat Pay merchant's own public key (not needed)",
    Role.WECHATPAY_MERCHANT_CERT: "WeChat Pay merchant API certificate (apiclient_cert.pem)",
    Role.WECHATPAY_PUBLIC_KEY: "WeChat Pay public key (微信支付公钥, pub_key.pem)",
    Role.WECHATPAY_PUBLIC_KEY_ID: "WeChat Pay public key id (PUB_KEY_ID_…)",
    Role.WECHATPAY_PLATFORM_CERT: "WeChat Pay platform certificate (平台证书)",
    Role.WECHATPAY_APIV3_KEY: "WeChat Pay APIv3 key (APIv3密钥)",
    Role.IGNORED: "not used by Zhifu",
}

_WECHAT_NAME = re.compile(r"apiclient|wechat|wxpay|weixin|tenpay|pub_key|微信|platform|mch", re.I)
_APP_PUBLIC_NAME = re.compile(r"app[_\- ]?pub|app[_\- ]?public|应用公钥", re.I)
_ALIPAY_PUBLIC_NAME = re.compile(r"alipay|支付宝", re.I)
_APP_CERT_NAME = re.compile(
    r"app[_\-]?cert|appcertpublickey|app[_\-]?public[_\-]?key[_\-]?cert", re.I
)
_ALIPAY_CERT_NAME = re.compile(r"alipay[_\-]?(cert|public)", re.I)
_ROOT_NAME = re.compile(r"root", re.I)
_APIV3_NAME = re.compile(r"api[_\-]?v3|apiv3", re.I)
_SERIAL_NAME = re.compile(r"^[0-9A-Fa-f]{16,64}\.pem$")


@dataclass
class Assigned:
    file: KeyFile
    role: Role
    declared: bool  # the name (or an option) says so; else inferred from the content
    note: str = ""  # how an inferred role was decided, when it is a guess

    @property
    def name(self) -> str:
        return self.file.name


def _subject_text(file: KeyFile) -> str:
    leaf = file.leaf
    if leaf is None:
        return ""
    return f"{leaf.subject.rfc4514_string()} / {leaf.issuer.rfc4514_string()}"


def _cert_role(file: KeyFile) -> tuple[Role | None, bool]:
    name = file.name
    if re.search(r"apiclient[_\-]?cert", name, re.I):
        return Role.WECHATPAY_MERCHANT_CERT, True
    if _ALIPAY_CERT_NAME.search(name):
        return Role.ALIPAY_PUBLIC_CERT, True
    if _APP_CERT_NAME.search(name):
        return Role.ALIPAY_APP_CERT, True
    if re.search(r"wechatpay|platform", name, re.I) or _SERIAL_NAME.match(name):
        return Role.WECHATPAY_PLATFORM_CERT, True
    text = _subject_text(file)
    if "支付宝" in text.split(" / ")[0]:
        return Role.ALIPAY_PUBLIC_CERT, False
    if "tenpay" in text.lower():
        leaf = file.leaf
        assert leaf is not None
        common = leaf.subject.rfc4514_string()
        if "微信商户系统" in common or re.search(r"CN=\d{6,}(,|$)", common):
            return Role.WECHATPAY_MERCHANT_CERT, False
        return Role.WECHATPAY_PLATFORM_CERT, False
    if "OU=Alipay" in text or "Ant Financial" in text:
        return Role.ALIPAY_APP_CERT, False
    return None, False


def assign_roles(
    files: list[KeyFile], *, alipay_public_key: frozenset[str] = frozenset()
) -> list[Assigned]:
    """A role for every recognised file. ``alipay_public_key`` names files the user declared to
    be Alipay's public key (``--alipay-public-key``)."""
    result: dict[int, Assigned] = {}
    pending_certs: list[int] = []
    for i, file in enumerate(files):
        if file.kind == "certificate":
            role, declared = _cert_role(file)
            if role is None:
                pending_certs.append(i)
            else:
                result[i] = Assigned(file, role, declared)
        elif file.kind == "root_bundle":
            if "tenpay" in _subject_text(file).lower():
                result[i] = Assigned(file, Role.IGNORED, False, "a WeChat Pay root certificate")
            else:
                result[i] = Assigned(
                    file, Role.ALIPAY_ROOT_CERT, bool(_ROOT_NAME.search(file.name))
                )
        elif file.kind == "public_key_id":
            result[i] = Assigned(file, Role.WECHATPAY_PUBLIC_KEY_ID, True)
        elif file.kind == "pkcs12":
            result[i] = Assigned(
                file, Role.IGNORED, False, "PKCS#12 (apiclient_cert.p12): use the .pem files"
            )
        elif file.kind == "apiv3_key":
            if _APIV3_NAME.search(file.name):
                result[i] = Assigned(file, Role.WECHATPAY_APIV3_KEY, True)
            elif file.text_length == 32:
                result[i] = Assigned(
                    file, Role.WECHATPAY_APIV3_KEY, False, "a 32-character text: taken for it"
                )
    wechat_certs = [a.file for a in result.values() if a.role is Role.WECHATPAY_MERCHANT_CERT]
    alipay_pairs = [a.file for a in result.values() if a.role is Role.ALIPAY_APP_CERT]
    # private keys: the name, else the certificate they match, else Alipay's (the common case)
    for i, file in enumerate(files):
        if file.kind != "private_key":
            continue
        if _WECHAT_NAME.search(file.name):
            result[i] = Assigned(file, Role.WECHATPAY_MERCHANT_KEY, True)
        elif any(file.same_key(c) for c in wechat_certs):
            result[i] = Assigned(file, Role.WECHATPAY_MERCHANT_KEY, False)
        else:
            declared = bool(re.search(r"app|应用|alipay|支付宝", file.name, re.I))
            matched = any(file.same_key(c) for c in alipay_pairs)
            result[i] = Assigned(file, Role.ALIPAY_APP_PRIVATE_KEY, declared or matched)
    app_keys = [a.file for a in result.values() if a.role is Role.ALIPAY_APP_PRIVATE_KEY]
    merchant_keys = [a.file for a in result.values() if a.role is Role.WECHATPAY_MERCHANT_KEY]
    for i in pending_certs:
        file = files[i]
        if any(file.same_key(k) for k in merchant_keys):
            result[i] = Assigned(file, Role.WECHATPAY_MERCHANT_CERT, False)
        elif any(file.same_key(k) for k in app_keys):
            result[i] = Assigned(file, Role.ALIPAY_APP_CERT, False)
        else:
            result[i] = Assigned(file, Role.IGNORED, False, "a certificate of unknown owner")
    # public keys: an explicit option or the name, else the key they match, else a guess
    wechat_in_play = bool(merchant_keys) or any(
        a.role.provider == "wechatpay" for a in result.values()
    )
    alipay_in_play = bool(app_keys) or any(a.role.provider == "alipay" for a in result.values())
    for i, file in enumerate(files):
        if file.kind != "public_key":
            continue
        if str(file.path) in alipay_public_key or file.name in alipay_public_key:
            result[i] = Assigned(file, Role.ALIPAY_PUBLIC_KEY, True)
        elif _APP_PUBLIC_NAME.search(file.name):
            result[i] = Assigned(file, Role.ALIPAY_APP_PUBLIC_KEY, True)
        elif re.search(r"apiclient", file.name, re.I):
            result[i] = Assigned(file, Role.WECHATPAY_MERCHANT_PUBLIC_KEY, True)
        elif _ALIPAY_PUBLIC_NAME.search(file.name):
            result[i] = Assigned(file, Role.ALIPAY_PUBLIC_KEY, True)
        elif file.public_key_id or _WECHAT_NAME.search(file.name):
            result[i] = Assigned(file, Role.WECHATPAY_PUBLIC_KEY, True)
        elif any(file.same_key(k) for k in app_keys):
            result[i] = Assigned(file, Role.ALIPAY_APP_PUBLIC_KEY, False)
        elif any(file.same_key(k) for k in merchant_keys):
            result[i] = Assigned(file, Role.WECHATPAY_MERCHANT_PUBLIC_KEY, False)
        elif wechat_in_play and not alipay_in_play:
            result[i] = Assigned(
                file, Role.WECHATPAY_PUBLIC_KEY, False, "not the merchant's key: taken for it"
            )
        else:
            result[i] = Assigned(
                file, Role.ALIPAY_PUBLIC_KEY, False, "not the app's key: taken for Alipay's"
            )
    return [result[i] for i in sorted(result)]
