"""What is this file? A key, a certificate, a root bundle, an APIv3 key or an id — told from its
content (never from its name alone), in whatever form a merchant has it.

Loading goes through the protocol packages' own loaders (:mod:`zhifu.alipay.keys`,
:mod:`zhifu.alipay.certs`); this module only decides which loader a file is for and records what
it found. Nothing here keeps or prints a secret: a private key is kept as a key object, an APIv3
key only as its length.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..alipay.certs import (
    _pem_blocks,  # the one PEM splitter for certificate files (root bundles included)
    load_certificates,
    root_cert_sn,
    signature_algorithm_oid,
)
from ..alipay.errors import KeyFormatError
from ..alipay.keys import load_private_key, load_public_key

__all__ = ["MAX_FILE_SIZE", "KeyFile", "Kind", "fingerprint", "identify", "scan_dir"]

Kind = Literal[
    "private_key",
    "public_key",
    "certificate",
    "root_bundle",
    "apiv3_key",
    "public_key_id",
    "pkcs12",
    "unknown",
]

MAX_FILE_SIZE = 256 * 1024  # keys and certificates are a few KiB; anything larger is not one
_RSA_OID_PREFIX = "1.2.840.113549.1.1."
_RSA_ENCRYPTION_OID = bytes.fromhex("06092a864886f70d010101")  # in PKCS#8 and SPKI, not PKCS#1
_PEM_LABEL = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")
PUBLIC_KEY_ID = re.compile(r"PUB_KEY_ID_[0-9]{1,64}", re.ASCII)
_SKIPPED_SUFFIXES = (
    *(".sqlite3", ".sqlite", ".db", "-shm", "-wal", "-journal"),
    *(".py", ".pyc", ".json", ".md", ".html", ".log"),
)


def fingerprint(key: rsa.RSAPublicKey) -> str:
    """A short, non-secret name for a public key: SHA-256 of its SubjectPublicKeyInfo."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.sha256(der).hexdigest()
    return f"SHA256:{digest[:16]}"


@dataclass
class KeyFile:
    """One file and what it holds."""

    path: Path
    kind: Kind
    form: str = ""  # e.g. "PKCS#8 PEM", "PKCS#1 one-line base64", "PEM, 2 certificates"
    public_key: rsa.RSAPublicKey | None = None  # a private key's public half, a cert's key
    private_key: rsa.RSAPrivateKey | None = field(default=None, repr=False)
    certificates: list[x509.Certificate] = field(default_factory=list)  # parseable, in order
    bundle_size: int = 0  # certificates in the file, parseable or not (SM2, ECDSA roots)
    root_sn: str = ""  # alipay_root_cert_sn of a root bundle
    text_length: int = 0  # characters of an APIv3 key (never the key itself)
    text_printable: bool = True
    public_key_id: str = ""  # PUB_KEY_ID_… in the content or in the file name
    problem: str = ""  # why a recognised file cannot be used (encrypted, weak, not RSA, …)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def leaf(self) -> x509.Certificate | None:
        return self.certificates[0] if self.certificates else None

    @property
    def bits(self) -> int:
        return self.public_key.key_size if self.public_key is not None else 0

    @property
    def key_fingerprint(self) -> str:
        return fingerprint(self.public_key) if self.public_key is not None else ""

    def same_key(self, other: KeyFile | rsa.RSAPublicKey | None) -> bool:
        """Whether this file holds (the public half of) the same RSA key as ``other``."""
        theirs = other.public_key if isinstance(other, KeyFile) else other
        if self.public_key is None or theirs is None:
            return False
        return self.public_key.public_numbers() == theirs.public_numbers()

    @property
    def not_after(self) -> datetime | None:
        leaf = self.leaf
        return leaf.not_valid_after_utc if leaf is not None else None


def identify(path: Path) -> KeyFile:
    """What ``path`` holds; ``kind == "unknown"`` (with ``problem`` saying why) if none of the
    things a merchant has. Raises ``OSError`` if it cannot be read."""
    if path.suffix.lower() in (".p12", ".pfx"):
        return KeyFile(path, "pkcs12", form="PKCS#12 bundle")
    size = path.stat().st_size
    if size > MAX_FILE_SIZE:
        return KeyFile(path, "unknown", problem=f"{size} bytes: too large for a key")
    data = path.read_bytes()
    return identify_bytes(path, data)


def identify_bytes(path: Path, data: bytes) -> KeyFile:
    try:
        text = data.decode("utf-8").lstrip("\ufeff").strip()
    except UnicodeDecodeError:
        kind = _der_kind(data)
        if kind:
            command = (
                "x509" if kind == "certificate" else "pkey" if kind == "private" else "pkey -pubin"
            )
            return KeyFile(
                path,
                "unknown",
                problem=f"a binary (DER) {kind}{' key' if kind != 'certificate' else ''}: convert "
                f"it to PEM with `openssl {command} -inform der -in {path.name} -out "
                f"{path.stem}.pem`",
            )
        return KeyFile(path, "unknown", problem="binary content, not PEM or base64 text")
    if not text:
        return KeyFile(path, "unknown", problem="empty file")
    name_id = PUBLIC_KEY_ID.search(path.name)
    if "-----BEGIN" in text:
        found = _pem(path, text)
    elif PUBLIC_KEY_ID.fullmatch(text):
        return KeyFile(path, "public_key_id", form="text", public_key_id=text)
    else:
        found = _bare(path, text)
    if name_id and found.kind == "public_key":
        found.public_key_id = name_id.group(0)
    return found


# -- PEM ------------------------------------------------------------------------------------------


def _pem(path: Path, text: str) -> KeyFile:
    labels = _PEM_LABEL.findall(text.replace("\\n", "\n"))
    label = labels[0] if labels else ""
    if "CERTIFICATE" in labels:
        return _certificates(path, text.encode("ascii", "replace"))
    if label == "ENCRYPTED PRIVATE KEY" or "Proc-Type: 4,ENCRYPTED" in text:
        return KeyFile(
            path,
            "private_key",
            form="encrypted PEM",
            problem="the private key is encrypted with a passphrase",
        )
    if label.endswith("PRIVATE KEY"):
        form = {"RSA PRIVATE KEY": "PKCS#1 PEM", "PRIVATE KEY": "PKCS#8 PEM"}.get(label, label)
        return _private(path, text.encode("ascii", "replace"), form)
    if label.endswith("PUBLIC KEY"):
        form = {"RSA PUBLIC KEY": "PKCS#1 PEM", "PUBLIC KEY": "SubjectPublicKeyInfo PEM"}.get(
            label, label
        )
        return _public(path, text.encode("ascii", "replace"), form)
    if label == "CERTIFICATE REQUEST":
        return KeyFile(path, "unknown", form="CSR", problem="a certificate signing request")
    return KeyFile(path, "unknown", problem=f"a PEM block '{label}'")


def _private(path: Path, data: bytes, form: str) -> KeyFile:
    try:
        key = load_private_key(data)
    except KeyFormatError as exc:
        return KeyFile(path, "private_key", form=form, problem=_without_what(exc.message))
    return KeyFile(path, "private_key", form=form, private_key=key, public_key=key.public_key())


def _public(path: Path, data: bytes, form: str) -> KeyFile:
    try:
        key = load_public_key(data)
    except KeyFormatError as exc:
        return KeyFile(path, "public_key", form=form, problem=_without_what(exc.message))
    return KeyFile(path, "public_key", form=form, public_key=key)


def _without_what(message: str) -> str:
    """A loader's message without its own "app private key: " prefix (the doctor names files)."""
    head, sep, tail = message.partition(": ")
    return tail if sep and head in ("app private key", "public key", "certificate") else message


def _certificates(path: Path, data: bytes) -> KeyFile:
    try:
        ders = _pem_blocks(data)
    except KeyFormatError as exc:
        return KeyFile(path, "unknown", problem=_without_what(exc.message))
    oids: list[str] = []
    for der in ders:
        try:
            oids.append(signature_algorithm_oid(der))
        except KeyFormatError:
            oids.append("")
    parsed: list[x509.Certificate] = []
    for der in ders:
        try:
            parsed.append(x509.load_der_x509_certificate(der))
        except ValueError:
            continue  # an SM2 or ECDSA root that `cryptography` does not read: named, skipped
    if not parsed:
        return KeyFile(
            path, "unknown", bundle_size=len(ders), problem="no readable certificate in the file"
        )
    roots = [c for c in parsed if c.issuer == c.subject]
    non_rsa = [o for o in oids if not o.startswith(_RSA_OID_PREFIX)]
    form = "PEM certificate" if len(ders) == 1 else f"PEM, {len(ders)} certificates"
    if len(roots) == len(parsed) and (len(ders) > 1 or non_rsa or _is_ca(parsed[0])):
        found = KeyFile(path, "root_bundle", form=form, certificates=parsed, bundle_size=len(ders))
        try:
            found.root_sn = root_cert_sn(data)
        except KeyFormatError as exc:
            found.problem = _without_what(exc.message)
        return found
    try:
        leaf = load_certificates(data)[0]  # the loader the client uses
    except KeyFormatError as exc:
        return KeyFile(path, "certificate", form=form, problem=_without_what(exc.message))
    found = KeyFile(path, "certificate", form=form, certificates=parsed, bundle_size=len(ders))
    key = leaf.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        found.public_key = key
    else:
        found.problem = f"the certificate's key is not RSA ({type(key).__name__})"
    return found


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


# -- one-line base64 and plain text ---------------------------------------------------------------


def _bare(path: Path, text: str) -> KeyFile:
    compact = "".join(text.split())
    der = b""
    if len(compact) >= 200:  # an RSA-2048 public key is ~392 characters; APIv3 keys are 32
        try:
            der = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            der = b""
    if der:
        kind = _der_kind(der)
        pkcs = "PKCS#8" if _RSA_ENCRYPTION_OID in der[:32] else "PKCS#1"
        if kind == "private":
            return _private(path, compact.encode("ascii"), f"{pkcs} one-line base64")
        if kind == "public":
            spki = "SubjectPublicKeyInfo" if pkcs == "PKCS#8" else "PKCS#1"
            return _public(path, compact.encode("ascii"), f"{spki} one-line base64")
        if kind == "certificate":
            pem = b"-----BEGIN CERTIFICATE-----\n" + compact.encode("ascii")
            return _certificates(path, pem + b"\n-----END CERTIFICATE-----\n")
        return KeyFile(path, "unknown", problem="base64, but not a key or certificate")
    lines = text.splitlines()
    if len(lines) == 1 and len(text) <= 128:
        return KeyFile(
            path,
            "apiv3_key",
            form="text",
            text_length=len(text.encode("utf-8")),
            text_printable=all(0x21 <= ord(ch) <= 0x7E for ch in text),
        )
    return KeyFile(path, "unknown", problem="not PEM, not base64, not a short key text")


def _der_kind(der: bytes) -> str:
    try:
        serialization.load_der_private_key(der, password=None)
        return "private"
    except TypeError:
        return "private"  # encrypted: the loader explains
    except (ValueError, UnsupportedAlgorithm):
        pass
    try:
        serialization.load_der_public_key(der)
        return "public"
    except (ValueError, UnsupportedAlgorithm):
        pass
    try:
        x509.load_der_x509_certificate(der)
        return "certificate"
    except ValueError:
        return ""


# -- folders --------------------------------------------------------------------------------------


def scan_dir(folder: Path, max_depth: int = 3) -> list[Path]:
    """Candidate files under ``folder`` (hidden entries, databases and code skipped), sorted."""
    found: list[Path] = []

    def walk(current: Path, depth: int) -> None:
        for entry in sorted(current.iterdir()):
            if entry.name.startswith("."):
                continue
            if entry.is_dir() and not entry.is_symlink():
                if depth < max_depth:
                    walk(entry, depth + 1)
            elif entry.is_file() and not entry.name.lower().endswith(_SKIPPED_SUFFIXES):
                found.append(entry)

    walk(folder, 0)
    return found


def unique(paths: Iterable[Path]) -> list[Path]:
    seen: set[Path] = set()
    result: list[Path] = []
    for path in paths:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            result.append(path)
    return result
