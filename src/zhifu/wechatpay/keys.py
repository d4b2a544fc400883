"""Keys as the WeChat Pay merchant portal hands them out, loaded once and checked.

* the merchant API private key ``apiclient_key.pem`` (RSA-2048, PKCS#8 PEM) and the serial of the
  merchant API certificate ``apiclient_cert.pem`` (upper-case hex, as the portal shows it);
* the APIv3 key: 32 characters set in the portal, used as 32 raw bytes for AES-256-GCM;
* WeChat's key: the WeChat Pay public key ``pub_key.pem`` with its id ``PUB_KEY_ID_…``, or
  platform certificates (downloaded by :mod:`zhifu.wechatpay.certificates`).

Each may be given as PEM text or a path; ``generate_merchant_certificate`` makes a key and a
self-signed certificate that stand in for the portal's in tests and in the local sandbox.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from .errors import KeyFormatError

__all__ = [
    "APIV3_KEY_LENGTH",
    "KeySource",
    "MerchantCertificate",
    "certificate_serial",
    "generate_merchant_certificate",
    "load_apiv3_key",
    "load_certificate",
    "load_private_key",
    "load_public_key",
    "normalise_serial",
    "validate_public_key_id",
]

KeySource = str | bytes | os.PathLike[str]

APIV3_KEY_LENGTH = 32
MIN_KEY_BITS = 2048
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)
_SERIAL = re.compile(r"[0-9A-Fa-f]{1,64}", re.ASCII)
_PUBLIC_KEY_ID = re.compile(r"PUB_KEY_ID_[0-9]{1,64}", re.ASCII)


def _read(source: KeySource, what: str) -> bytes:
    """Bytes of PEM text, bare base64 text, or of the file a path names."""
    if isinstance(source, os.PathLike):
        return _read_file(Path(source), what)
    if isinstance(source, bytes):
        data = source.strip()
    elif isinstance(source, str):
        text = source.strip()
        if text and "-----BEGIN" not in text and "\n" not in text and _is_file(text):
            return _read_file(Path(text), what)
        try:
            data = text.encode("ascii")
        except UnicodeEncodeError:
            raise KeyFormatError(
                f"{what}: not PEM text and not an existing file (non-ASCII characters)"
            ) from None
    else:
        raise KeyFormatError(f"{what}: expected PEM text or a path, got {type(source).__name__}")
    if not data:
        raise KeyFormatError(f"{what}: empty")
    return data


def _is_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False


def _read_file(path: Path, what: str) -> bytes:
    try:
        data = path.read_bytes().strip()
    except OSError as exc:
        raise KeyFormatError(f"{what}: cannot read {path}: {exc.strerror or exc}") from None
    if not data:
        raise KeyFormatError(f"{what}: {path} is empty")
    return data


def _pem_or_der(data: bytes, what: str) -> tuple[str, bytes]:
    """(PEM label or '' for DER, the PEM text with its line breaks restored or the DER bytes).

    Keys pasted into environment variables often arrive on one line or with literal ``\\n``.
    """
    data = data.replace(b"\\n", b"\n")
    match = _PEM_BLOCK.search(data)
    if match is None:
        if b"-----BEGIN" in data:
            raise KeyFormatError(f"{what}: a PEM block without its matching END line")
        try:
            return "", base64.b64decode(b"".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            raise KeyFormatError(
                f"{what}: not PEM ('-----BEGIN …'), not base64 and not an existing file"
            ) from None
    label, body = match.group(1), b"".join(match.group(2).split())
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    pem = b"\n".join([b"-----BEGIN " + label + b"-----", *lines, b"-----END " + label + b"-----"])
    return label.decode("ascii"), pem + b"\n"


def _check_size(key: rsa.RSAPrivateKey | rsa.RSAPublicKey, what: str) -> None:
    if key.key_size < MIN_KEY_BITS:
        raise KeyFormatError(
            f"{what}: RSA key of {key.key_size} bits; WeChat Pay keys have {MIN_KEY_BITS} bits"
        )


def load_private_key(
    source: KeySource | rsa.RSAPrivateKey, what: str = "merchant API private key"
) -> rsa.RSAPrivateKey:
    """The merchant API private key (``apiclient_key.pem``): PKCS#8 or PKCS#1 PEM, or a path."""
    if isinstance(source, rsa.RSAPrivateKey):
        _check_size(source, what)
        return source
    label, data = _pem_or_der(_read(source, what), what)
    if "PUBLIC KEY" in label or "CERTIFICATE" in label:
        raise KeyFormatError(
            f"{what}: this is a {label.lower()}, not a private key (give apiclient_key.pem)"
        )
    key: object
    try:
        if label:
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = serialization.load_der_private_key(data, password=None)
    except TypeError:
        raise KeyFormatError(f"{what}: the key is encrypted; give the unencrypted PEM") from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"{what}: cannot parse the key ({exc})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyFormatError(f"{what}: not an RSA key ({type(key).__name__})")
    _check_size(key, what)
    return key


def load_certificate(
    source: KeySource | x509.Certificate, what: str = "certificate"
) -> x509.Certificate:
    """An X.509 certificate from PEM text or a path (the first one if there are several)."""
    if isinstance(source, x509.Certificate):
        return source
    label, data = _pem_or_der(_read(source, what), what)
    if label and label != "CERTIFICATE":
        raise KeyFormatError(f"{what}: this is a {label.lower()}, not a certificate")
    try:
        if label:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise KeyFormatError(f"{what}: cannot parse the certificate ({exc})") from None


def load_public_key(
    source: KeySource | rsa.RSAPublicKey, what: str = "WeChat Pay public key"
) -> rsa.RSAPublicKey:
    """An RSA public key: PEM (``pub_key.pem``, SPKI or PKCS#1), a certificate, or a path."""
    if isinstance(source, rsa.RSAPublicKey):
        _check_size(source, what)
        return source
    label, data = _pem_or_der(_read(source, what), what)
    if "PRIVATE KEY" in label:
        raise KeyFormatError(f"{what}: this is a private key; give the public key")
    key: object
    try:
        if label == "CERTIFICATE":
            key = x509.load_pem_x509_certificate(data).public_key()
        elif label:
            key = serialization.load_pem_public_key(data)
        else:
            key = serialization.load_der_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"{what}: cannot parse the key ({exc})") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyFormatError(f"{what}: not an RSA key ({type(key).__name__})")
    _check_size(key, what)
    return key


def load_apiv3_key(value: str | bytes) -> bytes:
    """The APIv3 key as the 32 bytes AES-256-GCM uses; anything else is refused, named."""
    if isinstance(value, str):
        try:
            data = value.strip().encode("ascii")
        except UnicodeEncodeError:
            raise KeyFormatError("APIv3 key: must be 32 ASCII characters") from None
    elif isinstance(value, bytes):
        data = value.strip()
    else:
        raise KeyFormatError(f"APIv3 key: expected a string, got {type(value).__name__}")
    if len(data) != APIV3_KEY_LENGTH:
        raise KeyFormatError(
            f"APIv3 key: {len(data)} characters; the key set in the merchant portal "
            f"(账户中心 → API安全) has exactly {APIV3_KEY_LENGTH}"
        )
    if not all(0x21 <= byte <= 0x7E for byte in data):
        raise KeyFormatError("APIv3 key: must be 32 printable ASCII characters")
    return data


def normalise_serial(value: object, what: str = "certificate serial") -> str:
    """A certificate serial as upper-case hex (the form the portal and the headers use)."""
    if not isinstance(value, str) or not _SERIAL.fullmatch(value.strip()):
        raise KeyFormatError(f"{what}: {value!r} is not a hexadecimal serial number")
    return value.strip().upper()


def validate_public_key_id(value: object) -> str:
    """The WeChat Pay public key id: ``PUB_KEY_ID_`` followed by digits."""
    if not isinstance(value, str) or not _PUBLIC_KEY_ID.fullmatch(value.strip()):
        raise KeyFormatError(
            f"WeChat Pay public key id: {value!r} is not of the form PUB_KEY_ID_<digits>"
        )
    return value.strip()


def certificate_serial(cert: x509.Certificate) -> str:
    """The serial of a certificate in upper-case hex, as ``Wechatpay-Serial`` carries it."""
    return f"{cert.serial_number:X}"


@dataclass(frozen=True)
class MerchantCertificate:
    """A private key and a self-signed certificate for it, PEM encoded, and its serial."""

    private_pem: str  # PKCS#8
    certificate_pem: str
    serial: str

    @property
    def public_pem(self) -> str:
        cert = x509.load_pem_x509_certificate(self.certificate_pem.encode("ascii"))
        return (
            cert.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )


def generate_merchant_certificate(
    common_name: str = "zhifu sandbox merchant",
    *,
    organization: str = "Zhifu sandbox",
    days: int = 5 * 365,
    private_key: rsa.RSAPrivateKey | None = None,
) -> MerchantCertificate:
    """A new RSA-2048 key and a self-signed certificate with a 40-hex-digit serial.

    Real merchant API certificates are issued by WeChat's CA with the mchid as common name; a
    self-signed one is what a local gateway needs (it only reads the public key and serial).
    The serial has its top nibble set so its hex form has no leading zero to lose.
    """
    if not isinstance(common_name, str) or not common_name.strip():
        raise KeyFormatError("certificate common name must be a non-empty string")
    key = private_key or rsa.generate_private_key(public_exponent=65537, key_size=MIN_KEY_BITS)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name.strip()),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(secrets.randbits(156) | (1 << 156))  # 157 bits: 40 hex digits
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    certificate_pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return MerchantCertificate(private_pem, certificate_pem, certificate_serial(cert))
