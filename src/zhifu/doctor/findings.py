"""The checks: does the app key pair match, which public key is whose, serials and SNs, expiry,
what is missing. Each problem is a :class:`Finding` with a one-line fix."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from cryptography import x509

from ..alipay.certs import cert_sn
from ..alipay.client import PRODUCTION_GATEWAY, SANDBOX_GATEWAY
from ..alipay.errors import KeyFormatError
from ..wechatpay.errors import KeyFormatError as WechatKeyFormatError
from ..wechatpay.keys import (
    certificate_serial,
    load_apiv3_key,
    normalise_serial,
    validate_public_key_id,
)
from .files import KeyFile
from .roles import Assigned, Role

__all__ = ["EXPIRY_WARNING", "Diagnosis", "Finding", "Options", "Severity", "examine"]

Severity = Literal["unusable", "error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("unusable", "error", "warning", "info")
EXPIRY_WARNING = timedelta(days=30)


@dataclass(frozen=True)
class Finding:
    severity: Severity
    code: str
    message: str
    fix: str
    file: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "severity": self.severity,
            "code": self.code,
            "file": self.file,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Options:
    """What the files cannot say, given on the command line."""

    app_id: str = ""
    seller_id: str = ""
    mchid: str = ""
    wechatpay_appid: str = ""
    public_key_id: str = ""
    merchant_serial: str = ""
    site_url: str = ""
    # A local sandbox's own gateways (from its sandbox.json), instead of Alipay's and WeChat's.
    alipay_gateway: str = ""
    wechatpay_gateway: str = ""
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Diagnosis:
    assigned: list[Assigned]
    findings: list[Finding]
    options: Options
    alipay: dict[str, str] = field(default_factory=dict)  # facts: mode, SNs, app id, gateway…
    wechatpay: dict[str, str] = field(default_factory=dict)
    platform_serials: list[tuple[str, str]] = field(default_factory=list)  # (serial, file)

    def all(self, role: Role) -> list[Assigned]:
        return [a for a in self.assigned if a.role is role]

    def first(self, role: Role) -> Assigned | None:
        found = self.all(role)
        return found[0] if found else None

    def uses(self, provider: str) -> bool:
        return any(a.role.provider == provider for a in self.assigned)

    @property
    def input_usable(self) -> bool:
        return not any(f.severity == "unusable" for f in self.findings)

    @property
    def exit_code(self) -> int:
        from ..cli import EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE

        severities = {f.severity for f in self.findings}
        if "unusable" in severities:
            return EXIT_UNUSABLE
        if "error" in severities:
            return EXIT_FAILED
        return EXIT_OK


class _Collector:
    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(self, severity: Severity, code: str, message: str, fix: str, file: str = "") -> None:
        self.findings.append(Finding(severity, code, message, fix, file))


def examine(assigned: list[Assigned], options: Options, early: list[Finding]) -> Diagnosis:
    """Every check over the files and their roles; ``early`` holds the findings of reading."""
    out = _Collector()
    out.findings.extend(early)
    diagnosis = Diagnosis(assigned, out.findings, options)
    _check_files(diagnosis, out)
    _check_duplicates(diagnosis, out)
    if diagnosis.uses("alipay"):
        _check_alipay(diagnosis, out)
    if diagnosis.uses("wechatpay"):
        _check_wechatpay(diagnosis, out)
    _check_expiry(diagnosis, out)
    if not assigned and not any(f.severity == "unusable" for f in out.findings):
        out.add(
            "unusable",
            "doctor.nothing",
            "no key, certificate or APIv3 key among the files given",
            "give the files as arguments or a folder with --dir (see `zhifu doctor --help`)",
        )
    order = {s: i for i, s in enumerate(SEVERITIES)}
    out.findings.sort(key=lambda f: order[f.severity])
    return diagnosis


# -- every file -----------------------------------------------------------------------------------


def _key_fix(file: KeyFile) -> str:
    problem = file.problem.lower()
    if "encrypted" in problem:
        return (
            f"remove the passphrase: openssl pkey -in {file.path} -out {file.path.stem}.plain.pem"
        )
    if "too weak" in problem or "bits" in problem:
        return "make an RSA-2048 pair (`zhifu keygen --out DIR`) and upload its public key"
    if "not an rsa" in problem:
        return "Alipay and WeChat Pay use RSA-2048 keys: use the RSA key the console gave you"
    return "use the file as the console or key tool saved it (PEM, or the one-line base64)"


def _check_files(d: Diagnosis, out: _Collector) -> None:
    for a in d.assigned:
        file = a.file
        where = str(file.path)
        if file.problem and file.kind in ("private_key", "public_key", "certificate"):
            out.add(
                "error",
                "file.unusable_key",
                f"{file.name} ({a.role.label}) cannot be used: {file.problem}",
                _key_fix(file),
                where,
            )
        elif file.problem and file.kind == "root_bundle":
            out.add(
                "error",
                "alipay.root_without_rsa",
                f"{file.name}: {file.problem}",
                "download alipayRootCert.crt again from the Alipay console (证书下载)",
                where,
            )
        if a.role is Role.ALIPAY_APP_PRIVATE_KEY and file.private_key is not None:
            if file.form.startswith("PKCS#1"):
                out.add(
                    "info",
                    "key.pkcs1",
                    f"{file.name} is PKCS#1 (非Java适用): Zhifu reads it; Alipay's Java SDK "
                    "needs PKCS#8",
                    f"only if another SDK needs PKCS#8: openssl pkcs8 -topk8 -nocrypt -in "
                    f"{file.path} -out {file.path.stem}_pkcs8.pem",
                    where,
                )
            if "one-line" in file.form:
                out.add(
                    "info",
                    "key.one_line",
                    f"{file.name} is one-line base64 (as the key tool saves it): Zhifu reads it "
                    "as it is",
                    "nothing to do (python-alipay-sdk would need PEM headers, Zhifu does not)",
                    where,
                )
        if a.note:
            out.add(
                "warning" if a.role.provider else "info",
                "file.role_guessed" if a.role.provider else "file.ignored",
                f"{file.name}: {a.note}" + (f" ({a.role.label})" if a.role.provider else ""),
                (
                    f"name the file as the console does to say so (e.g. "
                    f"{_conventional_name(a.role)})"
                    if a.role.provider
                    else "nothing to do: the file is not part of Zhifu's settings"
                ),
                where,
            )


def _conventional_name(role: Role) -> str:
    return {
        Role.ALIPAY_PUBLIC_KEY: "alipay_public_key.pem",
        Role.WECHATPAY_PUBLIC_KEY: "pub_key.pem",
        Role.WECHATPAY_APIV3_KEY: "apiv3_key",
    }.get(role, role.value)


_UNIQUE = (
    Role.ALIPAY_APP_PRIVATE_KEY,
    Role.ALIPAY_APP_PUBLIC_KEY,
    Role.ALIPAY_PUBLIC_KEY,
    Role.ALIPAY_APP_CERT,
    Role.ALIPAY_PUBLIC_CERT,
    Role.ALIPAY_ROOT_CERT,
    Role.WECHATPAY_MERCHANT_KEY,
    Role.WECHATPAY_MERCHANT_CERT,
    Role.WECHATPAY_PUBLIC_KEY,
    Role.WECHATPAY_APIV3_KEY,
)


def _check_duplicates(d: Diagnosis, out: _Collector) -> None:
    for role in _UNIQUE:
        found = d.all(role)
        if len(found) < 2:
            continue
        first = found[0].file
        differ = [
            str(a.file.path)
            for a in found[1:]
            if not (first.same_key(a.file) or _same_root(a, found))
        ]
        if differ:
            out.add(
                "error",
                "file.two_of_a_kind",
                f"two different files for the {role.label}: {first.path} and {', '.join(differ)}",
                f"keep only the right one (the settings use {first.path})",
                str(first.path),
            )


def _same_root(a: Assigned, found: list[Assigned]) -> bool:
    return bool(a.file.root_sn) and a.file.root_sn == found[0].file.root_sn


# -- Alipay ---------------------------------------------------------------------------------------

_APP_CERT_ID = re.compile(r"appCertPublicKey_(\d{16})", re.I)
_CN_PID_APP = re.compile(r"CN=(2088\d{12})-(\d{16})(?:,|$)")
_CN_APP = re.compile(r"CN=(\d{16})(?:,|$)")


def _check_alipay(d: Diagnosis, out: _Collector) -> None:
    facts = d.alipay
    private = d.first(Role.ALIPAY_APP_PRIVATE_KEY)
    app_public = d.first(Role.ALIPAY_APP_PUBLIC_KEY)
    alipay_public = d.first(Role.ALIPAY_PUBLIC_KEY)
    app_cert = d.first(Role.ALIPAY_APP_CERT)
    alipay_cert = d.first(Role.ALIPAY_PUBLIC_CERT)
    root = d.first(Role.ALIPAY_ROOT_CERT)
    usable_private = private if private and private.file.private_key is not None else None

    if private is None:
        out.add(
            "error",
            "alipay.no_private_key",
            "no Alipay app private key among the files: the site cannot sign requests",
            "add the app private key saved by Alipay's key tool (应用私钥), or make a pair with "
            "`zhifu keygen --out DIR` and upload its public key",
        )
    # the app's own pair
    if usable_private and app_public and app_public.file.public_key is not None:
        if usable_private.file.same_key(app_public.file):
            facts["app_key_pair"] = f"{usable_private.name} matches {app_public.name}"
        elif not _is_alipays(app_public, d):
            out.add(
                "error",
                "alipay.app_key_mismatch",
                f"{app_public.name} is not the public half of {usable_private.name}: Alipay "
                "would refuse every request (isv.invalid-signature)",
                f"upload the public key of {usable_private.name} to the console "
                f"(openssl pkey -in {usable_private.file.path} -pubout), or use the private key "
                f"that goes with {app_public.name}",
                str(app_public.file.path),
            )
    if usable_private and app_cert and app_cert.file.public_key is not None:
        if usable_private.file.same_key(app_cert.file):
            facts["app_cert_pair"] = f"{usable_private.name} matches {app_cert.name}"
        else:
            out.add(
                "error",
                "alipay.app_cert_mismatch",
                f"{app_cert.name} certifies another key than {usable_private.name}: Alipay "
                "would refuse every request",
                "download the appCertPublicKey_<appid>.crt issued for this private key's CSR, "
                "or use the private key the key tool made with that CSR",
                str(app_cert.file.path),
            )
    # which public key is whose: the most common mistake
    own = [f for f in (usable_private, app_public, app_cert) if f and f.file.public_key]
    if alipay_public and any(alipay_public.file.same_key(o.file) for o in own):
        out.add(
            "error",
            "alipay.public_key_is_app_key",
            f"{alipay_public.name} is your app's own public key (应用公钥), not Alipay's: no "
            "notification or answer from Alipay would verify",
            "copy 支付宝公钥 (not 应用公钥) from the console, 开发设置 → 接口加签方式 → 查看, "
            f"into {alipay_public.name}",
            str(alipay_public.file.path),
        )
    if alipay_cert and any(alipay_cert.file.same_key(o.file) for o in own):
        out.add(
            "error",
            "alipay.public_cert_is_app_cert",
            f"{alipay_cert.name} holds your app's own key, not Alipay's: no answer from Alipay "
            "would verify",
            "download alipayCertPublicKey_RSA2.crt (支付宝公钥证书) from the console; "
            "appCertPublicKey_<appid>.crt is the app's",
            str(alipay_cert.file.path),
        )
    # mode and completeness
    certs = {"APP_CERT": app_cert, "ALIPAY_PUBLIC_CERT": alipay_cert, "ALIPAY_ROOT_CERT": root}
    if any(certs.values()):
        facts["mode"] = "certificate (公钥证书模式)"
        missing = [key for key, value in certs.items() if value is None]
        for key in missing:
            out.add(
                "error",
                "alipay.missing_certificate",
                f"certificate mode needs {_CERT_FILES[key]} too",
                f"download {_CERT_FILES[key]} from the console (开发设置 → 接口加签方式 → 证书下载)",
            )
        if alipay_public is not None:
            out.add(
                "info",
                "alipay.both_modes",
                f"{alipay_public.name} is not used: with certificates Zhifu verifies with the key "
                "in the Alipay public-key certificate",
                "nothing to do (or leave the certificates out to use public-key mode)",
                str(alipay_public.file.path),
            )
    elif alipay_public is not None:
        facts["mode"] = "public key (公钥模式)"
    else:
        facts["mode"] = "incomplete"
        out.add(
            "error",
            "alipay.no_alipay_key",
            "neither Alipay's public key nor its certificates are among the files: nothing "
            "from Alipay could be verified",
            "save 支付宝公钥 from the console as alipay_public_key.pem (or the three "
            "certificates for certificate mode) and run the doctor again",
        )
    for key, item in certs.items():
        if item is None or item.file.problem:
            continue
        try:
            if key == "ALIPAY_ROOT_CERT":
                facts["alipay_root_cert_sn"] = item.file.root_sn
            else:
                sn_name = "app_cert_sn" if key == "APP_CERT" else "alipay_cert_sn"
                facts[sn_name] = cert_sn(item.file.path)
        except (KeyFormatError, OSError):  # read a moment ago; only a race lands here
            continue
    _alipay_environments(certs, out)
    _alipay_identity(d, app_cert, out)


def _is_test_dn(name: x509.Name) -> bool:
    common = name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return bool(common) and str(common[0].value).endswith(" test")


def _environment(item: Assigned) -> str:
    """ "sandbox" or "production" for Alipay's certificates (Alipay's sandbox CA names end in
    " test"), "" when the certificate says nothing (the local zhifu sandbox's own CA)."""
    certs = item.file.certificates
    if not certs:
        return ""
    if item.role is Role.ALIPAY_ROOT_CERT:
        names = [c.subject for c in certs]
    else:
        names = [certs[0].issuer]
    if not any("Ant Financial" in n.rfc4514_string() for n in names):
        return ""
    return "sandbox" if any(_is_test_dn(n) for n in names) else "production"


def _alipay_environments(certs: dict[str, Assigned | None], out: _Collector) -> None:
    seen = {
        key: env for key, item in certs.items() if item is not None and (env := _environment(item))
    }
    if len(set(seen.values())) > 1:
        detail = ", ".join(f"{_CERT_FILES[key]}: {env}" for key, env in seen.items())
        out.add(
            "error",
            "alipay.mixed_environments",
            f"the certificates come from Alipay's sandbox and production both ({detail}): "
            "Alipay would refuse the SNs",
            "download all three certificates again from the same console (sandbox or "
            "production) as the app",
        )


_CERT_FILES = {
    "APP_CERT": "appCertPublicKey_<appid>.crt",
    "ALIPAY_PUBLIC_CERT": "alipayCertPublicKey_RSA2.crt",
    "ALIPAY_ROOT_CERT": "alipayRootCert.crt",
}


def _is_alipays(app_public: Assigned, d: Diagnosis) -> bool:
    """An "app public key" that is in fact Alipay's (named the other way round)."""
    alipay_public = d.first(Role.ALIPAY_PUBLIC_KEY)
    return alipay_public is not None and alipay_public.file.same_key(app_public.file)


def _alipay_identity(d: Diagnosis, app_cert: Assigned | None, out: _Collector) -> None:
    facts, options = d.alipay, d.options
    app_id, seller_id, sandbox = options.app_id, options.seller_id, False
    if app_cert is not None and app_cert.file.leaf is not None:
        subject = app_cert.file.leaf.subject.rfc4514_string()
        issuer = app_cert.file.leaf.issuer.rfc4514_string()
        named = _APP_CERT_ID.search(app_cert.name)
        pid_app = _CN_PID_APP.search(subject)
        only_app = _CN_APP.search(subject)
        found_app = (
            named.group(1)
            if named
            else pid_app.group(2)
            if pid_app
            else only_app.group(1)
            if only_app
            else ""
        )
        if app_id and found_app and app_id != found_app:
            out.add(
                "error",
                "alipay.app_id_mismatch",
                f"--app-id {app_id} but {app_cert.name} is the certificate of app {found_app}",
                "use the app id of the app whose certificate this is (or that app's certificate)",
                str(app_cert.file.path),
            )
        app_id = app_id or found_app
        if pid_app and not seller_id:
            seller_id = pid_app.group(1)
        sandbox = "沙箱环境" in subject or issuer.split(",")[0].endswith(" test")
    sandbox = sandbox or app_id.startswith("9021")
    facts["app_id"] = app_id
    facts["seller_id"] = seller_id
    facts["gateway"] = d.options.alipay_gateway or (
        SANDBOX_GATEWAY if sandbox else PRODUCTION_GATEWAY
    )
    if not app_id:
        out.add(
            "warning",
            "alipay.app_id_unknown",
            "the app id is not in the files: APP_ID is left empty in the settings block",
            "pass --app-id (the 16 digits shown on the app's page in the Alipay console)",
        )
    if not seller_id:
        out.add(
            "warning",
            "alipay.seller_id_unknown",
            "the merchant PID is not in the files: SELLER_ID is left empty in the settings block",
            "pass --seller-id 2088… (账户中心 → 合作伙伴身份 (PID))",
        )


# -- WeChat Pay -----------------------------------------------------------------------------------


def _check_wechatpay(d: Diagnosis, out: _Collector) -> None:
    facts, options = d.wechatpay, d.options
    key = d.first(Role.WECHATPAY_MERCHANT_KEY)
    cert = d.first(Role.WECHATPAY_MERCHANT_CERT)
    public = d.first(Role.WECHATPAY_PUBLIC_KEY)
    platform = d.all(Role.WECHATPAY_PLATFORM_CERT)
    apiv3 = d.first(Role.WECHATPAY_APIV3_KEY)

    if key is None:
        out.add(
            "error",
            "wechatpay.no_merchant_key",
            "no merchant API private key (apiclient_key.pem) among the files: the site cannot "
            "sign requests to WeChat Pay",
            "add apiclient_key.pem from the API certificate tool's output (账户中心 → API安全)",
        )
    usable_key = key if key and key.file.private_key is not None else None
    if cert is not None and cert.file.leaf is not None:
        facts["merchant_serial"] = certificate_serial(cert.file.leaf)
        if usable_key and cert.file.public_key is not None:
            if usable_key.file.same_key(cert.file):
                facts["merchant_pair"] = f"{usable_key.name} matches {cert.name}"
            else:
                out.add(
                    "error",
                    "wechatpay.merchant_cert_mismatch",
                    f"{cert.name} certifies another key than {usable_key.name}: WeChat Pay "
                    "would refuse every request (401 SIGN_ERROR)",
                    "use apiclient_key.pem and apiclient_cert.pem from the same certificate "
                    "application (the tool saves them together)",
                    str(cert.file.path),
                )
    if options.merchant_serial:
        try:
            given = normalise_serial(options.merchant_serial, "--merchant-serial")
        except WechatKeyFormatError as exc:
            out.add("unusable", "wechatpay.bad_serial", exc.message, "give the serial in hex")
        else:
            if "merchant_serial" in facts and int(facts["merchant_serial"], 16) != int(given, 16):
                out.add(
                    "error",
                    "wechatpay.serial_mismatch",
                    f"--merchant-serial {given} is not the serial of {cert.name if cert else ''} "
                    f"({facts['merchant_serial']})",
                    "use the certificate's serial (the doctor prints it) as MERCHANT_SERIAL",
                )
            facts.setdefault("merchant_serial", given)
    if "merchant_serial" not in facts:
        out.add(
            "error",
            "wechatpay.no_merchant_serial",
            "no merchant API certificate (apiclient_cert.pem): MERCHANT_SERIAL is unknown",
            "add apiclient_cert.pem, or pass --merchant-serial (账户中心 → API安全 → 管理证书)",
        )
    cn = ""
    if cert is not None and cert.file.leaf is not None:
        match = re.search(r"CN=(\d{6,})(?:,|$)", cert.file.leaf.subject.rfc4514_string())
        cn = match.group(1) if match else ""
    if options.mchid and cn and options.mchid != cn:
        out.add(
            "error",
            "wechatpay.mchid_mismatch",
            f"--mchid {options.mchid} but {cert.name if cert else ''} is merchant {cn}'s "
            "certificate",
            "use the 商户号 the certificate was issued to (or that merchant's certificate)",
        )
    facts["mchid"] = options.mchid or cn
    if not facts["mchid"]:
        out.add(
            "warning",
            "wechatpay.mchid_unknown",
            "the merchant id is not in the files: MCHID is left empty in the settings block",
            "pass --mchid (the 商户号, digits, shown in the merchant portal)",
        )
    if not options.wechatpay_appid:
        out.add(
            "warning",
            "wechatpay.appid_unknown",
            "the appid bound to the merchant is not in the files: APPID is left empty",
            "pass --wechatpay-appid wx… (the 公众号 or 小程序 appid bound in the portal)",
        )
    # WeChat's own key
    own = [f for f in (usable_key, cert) if f and f.file.public_key is not None]
    if public and any(public.file.same_key(o.file) for o in own):
        out.add(
            "error",
            "wechatpay.public_key_is_merchant_key",
            f"{public.name} is the merchant's own public key, not WeChat Pay's: no answer or "
            "notification would verify",
            "download 微信支付公钥 (pub_key.pem) from 账户中心 → API安全 → 微信支付公钥",
            str(public.file.path),
        )
    for item in platform:
        if any(item.file.same_key(o.file) for o in own):
            out.add(
                "error",
                "wechatpay.platform_cert_is_merchant_cert",
                f"{item.name} is the merchant's own certificate, not a WeChat Pay platform "
                "certificate",
                "keep platform certificates (downloaded from /v3/certificates) in their own folder",
                str(item.file.path),
            )
    key_id = _public_key_id(d, out)
    if public is not None:
        facts["mode"] = (
            "migration (public key and platform certificates)" if platform else "public key"
        )
        if not key_id:
            out.add(
                "error",
                "wechatpay.no_public_key_id",
                f"the id of {public.name} (PUB_KEY_ID_…) is not known: WeChat names its key by it",
                "pass --public-key-id PUB_KEY_ID_… (shown beside the key in API安全), or put it "
                "in the file name",
                str(public.file.path),
            )
    elif key_id:
        out.add(
            "error",
            "wechatpay.no_public_key",
            f"{key_id} is given but not the WeChat Pay public key itself",
            "add pub_key.pem (账户中心 → API安全 → 微信支付公钥)",
        )
    else:
        facts["mode"] = (
            "platform certificates" if platform else "platform certificates (downloaded)"
        )
        out.add(
            "info",
            "wechatpay.certificate_mode",
            "no WeChat Pay public key: Zhifu verifies with platform certificates"
            + ("" if platform else ", downloaded from /v3/certificates"),
            "merchants onboarded since late 2024 must use the WeChat Pay public key (pub_key.pem)",
        )
    facts["public_key_id"] = key_id
    _platform_folder(d, platform, out)
    d.platform_serials = [
        (certificate_serial(a.file.leaf), str(a.file.path)) for a in platform if a.file.leaf
    ]
    if apiv3 is None:
        out.add(
            "warning",
            "wechatpay.no_apiv3_key",
            "no APIv3 key file: the settings block reads it from WECHATPAY_APIV3_KEY",
            "set WECHATPAY_APIV3_KEY in the site's environment (or give the file holding the key)",
        )
    else:
        try:
            load_apiv3_key(apiv3.file.path.read_bytes())
        except (WechatKeyFormatError, OSError) as exc:
            message = exc.message if isinstance(exc, WechatKeyFormatError) else str(exc)
            message = message.removeprefix("APIv3 key: ")
            out.add(
                "error",
                "wechatpay.apiv3_key_invalid",
                f"{apiv3.name}: {message}",
                "set a new APIv3 key of 32 letters and digits in 账户中心 → API安全 → APIv3密钥 "
                "and save exactly those characters",
                str(apiv3.file.path),
            )


def _public_key_id(d: Diagnosis, out: _Collector) -> str:
    candidates = [d.options.public_key_id] if d.options.public_key_id else []
    public = d.first(Role.WECHATPAY_PUBLIC_KEY)
    if public is not None and public.file.public_key_id:
        candidates.append(public.file.public_key_id)
    candidates += [a.file.public_key_id for a in d.all(Role.WECHATPAY_PUBLIC_KEY_ID)]
    if not candidates:
        return ""
    try:
        first = validate_public_key_id(candidates[0])
    except WechatKeyFormatError as exc:
        out.add("unusable", "wechatpay.bad_public_key_id", exc.message, "PUB_KEY_ID_ and digits")
        return ""
    others = sorted({c for c in candidates if c != first})
    if others:
        out.add(
            "error",
            "wechatpay.public_key_id_conflict",
            f"two different WeChat Pay public key ids: {first} and {', '.join(others)}",
            "use the id shown beside the key you downloaded (API安全 → 微信支付公钥)",
        )
    return first


def _platform_folder(d: Diagnosis, platform: list[Assigned], out: _Collector) -> None:
    if not platform:
        return
    folders = sorted({a.file.path.parent for a in platform})
    if len(folders) > 1:
        out.add(
            "warning",
            "wechatpay.platform_folders",
            "platform certificates are in several folders; PLATFORM_CERT_DIR is one folder",
            f"move them into one folder, e.g. {folders[0]}",
        )
    folder = folders[0]
    platform_paths = {a.file.path.resolve() for a in platform}
    others = [
        p.name
        for p in sorted(folder.glob("*.pem"))
        if p.resolve() not in platform_paths and p.is_file()
    ]
    if others:
        out.add(
            "warning",
            "wechatpay.platform_folder_shared",
            f"{folder} (PLATFORM_CERT_DIR) also holds {', '.join(others)}, which would be read "
            "as platform certificates",
            f"move the platform certificates into a folder of their own, e.g. {folder / 'platform_certs'}",
        )
    d.wechatpay["platform_cert_dir"] = str(folder.resolve())


# -- expiry ---------------------------------------------------------------------------------------

_RENEW = {
    Role.ALIPAY_APP_CERT: "renew the app certificate in the Alipay console (接口加签方式 → 更新证书) "
    "and download the new appCertPublicKey_<appid>.crt",
    Role.ALIPAY_PUBLIC_CERT: "download the current alipayCertPublicKey_RSA2.crt from the Alipay "
    "console",
    Role.ALIPAY_ROOT_CERT: "download the current alipayRootCert.crt from the Alipay console",
    Role.WECHATPAY_MERCHANT_CERT: "renew the API certificate (账户中心 → API安全 → API证书) and "
    "update MERCHANT_SERIAL",
    Role.WECHATPAY_PLATFORM_CERT: "download the current platform certificates, or switch to the "
    "WeChat Pay public key (pub_key.pem)",
}


def _check_expiry(d: Diagnosis, out: _Collector) -> None:
    now = d.options.now
    for a in d.assigned:
        if a.role not in _RENEW:
            continue
        for index, cert in enumerate(a.file.certificates):
            _expiry(a, index, cert, now, out)


def _expiry(
    a: Assigned, index: int, cert: x509.Certificate, now: datetime, out: _Collector
) -> None:
    leaf = index == 0 and a.role is not Role.ALIPAY_ROOT_CERT
    what = a.name if leaf else f"{a.name} (certificate {index + 1}: {_common_name(cert)})"
    after, before = cert.not_valid_after_utc, cert.not_valid_before_utc
    day = after.date().isoformat()
    if after < now:
        out.add(
            "error" if leaf else "warning",
            "cert.expired",
            f"{what} expired on {day}",
            _RENEW[a.role],
            str(a.file.path),
        )
    elif after - now < EXPIRY_WARNING:
        days = (after - now).days
        out.add(
            "warning",
            "cert.expiring",
            f"{what} expires on {day}, in {days} day{'s' if days != 1 else ''}",
            _RENEW[a.role],
            str(a.file.path),
        )
    elif before > now and leaf:
        out.add(
            "error",
            "cert.not_yet_valid",
            f"{what} is valid only from {before.isoformat()}",
            "check the machine's clock, or wait until then",
            str(a.file.path),
        )


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()
