"""The doctor's answer, for people (text) and for CI (JSON). No secret is ever in it: private keys
and the APIv3 key appear as their file names, a key as its fingerprint."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from ..alipay.certs import cert_sn
from ..alipay.errors import KeyFormatError
from ..wechatpay.keys import certificate_serial
from .files import KeyFile
from .findings import SEVERITIES, Diagnosis
from .roles import Assigned, Role
from .settings_block import settings_block

__all__ = ["Skipped", "as_json", "as_text"]


@dataclass(frozen=True)
class Skipped:
    file: KeyFile  # found in a folder, but not a key, certificate or APIv3 key


def _cn(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def file_facts(a: Assigned) -> dict[str, Any]:
    file = a.file
    facts: dict[str, Any] = {
        "path": str(file.path),
        "kind": file.kind,
        "role": a.role.value,
        "what": a.role.label,
        "declared": a.declared,
        "form": file.form,
    }
    if file.public_key is not None:
        facts["bits"] = file.bits
        facts["key_fingerprint"] = file.key_fingerprint
    leaf = file.leaf
    if leaf is not None:
        facts["subject"] = leaf.subject.rfc4514_string()
        facts["issuer"] = leaf.issuer.rfc4514_string()
        facts["serial"] = certificate_serial(leaf)
        facts["not_before"] = leaf.not_valid_before_utc.isoformat()
        facts["not_after"] = leaf.not_valid_after_utc.isoformat()
        facts["certificates"] = file.bundle_size
    if a.role in (Role.ALIPAY_APP_CERT, Role.ALIPAY_PUBLIC_CERT) and not file.problem:
        try:
            facts["sn"] = cert_sn(file.path)
        except (KeyFormatError, OSError):
            pass
    if file.root_sn:
        facts["sn"] = file.root_sn
    if file.kind == "apiv3_key":
        facts["characters"] = file.text_length  # the length only, never the key
    if file.public_key_id:
        facts["public_key_id"] = file.public_key_id
    if file.problem:
        facts["problem"] = file.problem
    if a.note:
        facts["note"] = a.note
    return facts


def _describe(a: Assigned) -> str:
    file = a.file
    parts = [a.role.label if a.role is not Role.IGNORED else f"{file.kind.replace('_', ' ')}"]
    if a.note and a.role is Role.IGNORED:
        parts[0] += f" ({a.note})"
    details = [file.form] if file.form else []
    if file.public_key is not None:
        details.append(f"RSA {file.bits}, key {file.key_fingerprint}")
    leaf = file.leaf
    if file.kind == "root_bundle":
        details.append(f"alipay_root_cert_sn {file.root_sn}" if file.root_sn else "")
    elif leaf is not None:
        details.append(f"CN={_cn(leaf)}")
        if a.role.provider == "wechatpay" or a.role is Role.IGNORED:
            details.append(f"serial {certificate_serial(leaf)}")
        details.append(f"valid until {leaf.not_valid_after_utc.date().isoformat()}")
    if file.kind == "apiv3_key":
        details.append(f"{file.text_length} characters")
    if file.public_key_id:
        details.append(file.public_key_id)
    if file.problem:
        details.append(f"UNUSABLE: {file.problem}")
    details = [d for d in details if d]
    return parts[0] + (" — " + ", ".join(details) if details else "")


def _counts(d: Diagnosis) -> str:
    counts = {s: sum(1 for f in d.findings if f.severity == s) for s in SEVERITIES}
    words = [
        f"{n} {s if s != 'unusable' else 'unusable input'}{'s' if n != 1 and s != 'unusable' else ''}"
        for s, n in counts.items()
        if n
    ]
    return ", ".join(words) or "no findings"


_ALIPAY_FACTS = (
    ("app_id", "app id (APP_ID)"),
    ("seller_id", "PID (SELLER_ID)"),
    ("gateway", "gateway"),
    ("app_key_pair", "app key pair"),
    ("app_cert_pair", "app certificate"),
    ("app_cert_sn", "app_cert_sn"),
    ("alipay_cert_sn", "alipay_cert_sn"),
    ("alipay_root_cert_sn", "alipay_root_cert_sn"),
)
_WECHAT_FACTS = (
    ("mchid", "merchant id (MCHID)"),
    ("merchant_serial", "MERCHANT_SERIAL"),
    ("merchant_pair", "merchant key pair"),
    ("public_key_id", "PUBLIC_KEY_ID"),
    ("platform_cert_dir", "PLATFORM_CERT_DIR"),
)


def as_text(d: Diagnosis, skipped: list[Skipped]) -> str:
    out: list[str] = []
    if d.assigned or skipped:
        out.append("Files")
        paths = [str(a.file.path) for a in d.assigned] + [str(s.file.path) for s in skipped]
        width = max(len(p) for p in paths)
        for a in d.assigned:
            out.append(f"  {a.file.path!s:<{width}}  {_describe(a)}")
        for s in skipped:
            out.append(f"  {s.file.path!s:<{width}}  skipped: {s.file.problem}")
        out.append("")
    for title, facts, keys in (
        ("Alipay", d.alipay, _ALIPAY_FACTS),
        ("WeChat Pay", d.wechatpay, _WECHAT_FACTS),
    ):
        if not facts:
            continue
        out.append(f"{title}: {facts.get('mode', '')}")
        for key, label in keys:
            if facts.get(key):
                out.append(f"  {label:<22} {facts[key]}")
        if title == "WeChat Pay":
            for serial, path in d.platform_serials:
                out.append(f"  {'platform certificate':<22} {serial} ({path})")
        out.append("")
    out.append(f"Findings: {_counts(d)}")
    for f in d.findings:
        out.append(f"  {f.severity:<8} {f.code}: {f.message}")
        out.append(f"  {'':<8} fix: {f.fix}")
    block = settings_block(d) if d.input_usable else ""
    if block:
        out.append("")
        out.append("Settings to paste into settings.py (keys by path; no secret is inlined):")
        out.append("")
        out.append(block.rstrip("\n"))
    out.append("")
    out.append(f"exit status {d.exit_code}")
    return "\n".join(out) + "\n"


def as_json(d: Diagnosis, skipped: list[Skipped]) -> str:
    wechat: dict[str, Any] = dict(d.wechatpay)
    if d.platform_serials:
        wechat["platform_certificates"] = [
            {"serial": serial, "path": path} for serial, path in d.platform_serials
        ]
    data = {
        "exit_code": d.exit_code,
        "files": [file_facts(a) for a in d.assigned],
        "skipped": [{"path": str(s.file.path), "reason": s.file.problem} for s in skipped],
        "alipay": d.alipay,
        "wechatpay": wechat,
        "findings": [f.as_dict() for f in d.findings],
        "settings": settings_block(d) if d.input_usable else "",
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
