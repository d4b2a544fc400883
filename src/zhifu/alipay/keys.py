"""Loading RSA keys in every form Alipay users meet, and generating new pairs.

The Alipay console and key tool hand out keys as bare one-line base64 (private keys as PKCS#8 or
PKCS#1, public keys as SubjectPublicKeyInfo); files on disk are PEM. All of them load here, once.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import KeyFormatError

__all__ = [
    "MIN_KEY_BITS",
    "KeyPair",
    "KeySource",
    "generate_key_pair",
    "load_private_key",
    "load_public_key",
    "one_line",
    "public_key_pem",
]

KeySource = str | bytes | os.PathLike[str]


MIN_KEY_BITS = 2048

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)


def _read_source(source: KeySource, what: str) -> bytes:
    """Key text from PEM text, bare base64 text, or a path to a file holding either."""
    if isinstance(source, os.PathLike):
        return _read_file(Path(source), what)
    if isinstance(source, str):
        text = source.strip()
        if not text:
            raise KeyFormatError(f"{what}: empty key")
        if not text.startswith("-----BEGIN") and "\n" not in text and _is_file(text):
            return _read_file(Path(text), what)
        try:
            return text.encode("ascii")
        except UnicodeEncodeError:
            raise KeyFormatError(
                f"{what}: the key text contains non-ASCII characters (not PEM, not base64, "
                "and not an existing file)"
            ) from None
    if isinstance(source, bytes):
        data = source.strip()
        if not data:
            raise KeyFormatError(f"{what}: empty key")
        return data
    raise KeyFormatError(
        f"{what}: expected PEM text, base64 text or a path, got {type(source).__name__}"
    )


def _is_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # a base64 key is not a valid file name on every system
        return False


def _read_file(path: Path, what: str) -> bytes:
    try:
        data = path.read_bytes().strip()
    except OSError as exc:
        raise KeyFormatError(f"{what}: cannot read {path}: {exc.strerror or exc}") from None
    if not data:
        raise KeyFormatError(f"{what}: {path} is empty")
    return data


def _normalise_pem(data: bytes) -> bytes:
    """PEM with its line breaks restored.

    Keys pasted into environment variables or settings often arrive on one line, with literal
    ``\\n`` sequences, or with spaces where the line breaks were. Encrypted (``Proc-Type``)
    PEM is left alone.
    """
    data = data.replace(b"\\n", b"\n").replace(b"\r\n", b"\n")
    match = _PEM_BLOCK.search(data)
    if match is None or b":" in match.group(2):
        return data
    label, body = match.group(1), b"".join(match.group(2).split())
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"\n".join(
        [b"-----BEGIN " + label + b"-----", *lines, b"-----END " + label + b"-----", b""]
    )


def _pem_label(data: bytes) -> str:
    match = _PEM_BLOCK.search(data)
    if match is None:
        return ""
    return match.group(1).decode("ascii")


def _bare_der(data: bytes, what: str) -> bytes:
    compact = b"".join(data.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise KeyFormatError(
            f"{what}: not PEM, not valid base64 and not an existing file (expected "
            "'-----BEGIN ...', the one-line key from the Alipay console, or a path)"
        ) from None


def _der_kind(der: bytes) -> str:
    """'private', 'public', 'certificate' or '' for DER bytes, without trusting any of them."""
    try:
        serialization.load_der_public_key(der)
        return "public"
    except (ValueError, UnsupportedAlgorithm):
        pass
    try:
        x509.load_der_x509_certificate(der)
        return "certificate"
    except ValueError:
        pass
    try:
        serialization.load_der_private_key(der, password=None)
        return "private"
    except TypeError:
        return "private"  # encrypted
    except (ValueError, UnsupportedAlgorithm):
        return ""


def _check_size(key: rsa.RSAPrivateKey | rsa.RSAPublicKey, what: str) -> None:
    if key.key_size < MIN_KEY_BITS:
        raise KeyFormatError(
            f"{what}: RSA key of {key.key_size} bits is too weak; Alipay RSA2 keys have "
            f"{MIN_KEY_BITS} bits (generate one with `zhifu keygen`)"
        )


def load_private_key(source: KeySource | rsa.RSAPrivateKey) -> rsa.RSAPrivateKey:
    """Load an RSA private key: PEM (PKCS#1 or PKCS#8), bare base64 DER, or a file of either."""
    what = "app private key"
    if isinstance(source, rsa.RSAPrivateKey):
        _check_size(source, what)
        return source
    data = _read_source(source, what)
    key: object
    try:
        if b"-----BEGIN" in data:
            label = _pem_label(data)
            if "PUBLIC KEY" in label or "CERTIFICATE" in label:
                raise KeyFormatError(
                    f"{what}: this is a {label.lower()}, not a private key "
                    "(give the app private key; the public key goes to the Alipay console)"
                )
            key = serialization.load_pem_private_key(_normalise_pem(data), password=None)
        else:
            der = _bare_der(data, what)
            try:
                key = serialization.load_der_private_key(der, password=None)
            except ValueError:
                kind = _der_kind(der)
                if kind in ("public", "certificate"):
                    raise KeyFormatError(
                        f"{what}: this base64 is a {kind} key, not a private key"
                        if kind == "public"
                        else f"{what}: this base64 is a certificate, not a private key"
                    ) from None
                raise
    except KeyFormatError:
        raise
    except TypeError:
        raise KeyFormatError(
            f"{what}: the key is encrypted with a passphrase; give an unencrypted key "
            "(e.g. `openssl pkey -in key.pem -out plain.pem`)"
        ) from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"{what}: cannot parse the key ({exc})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyFormatError(f"{what}: not an RSA key ({type(key).__name__})")
    _check_size(key, what)
    return key


def load_public_key(source: KeySource | rsa.RSAPublicKey) -> rsa.RSAPublicKey:
    """Load an RSA public key: PEM SPKI or PKCS#1, bare base64, an X.509 certificate, or a file."""
    what = "public key"
    if isinstance(source, rsa.RSAPublicKey):
        _check_size(source, what)
        return source
    data = _read_source(source, what)
    key: object
    try:
        if b"-----BEGIN" in data:
            label = _pem_label(data)
            normalised = _normalise_pem(data)
            if "PRIVATE KEY" in label:
                raise KeyFormatError(
                    f"{what}: this is a private key; give the (Alipay) public key instead"
                )
            if label == "CERTIFICATE":
                key = x509.load_pem_x509_certificate(normalised).public_key()
            else:
                key = serialization.load_pem_public_key(normalised)
        else:
            der = _bare_der(data, what)
            try:
                key = serialization.load_der_public_key(der)
            except (ValueError, UnsupportedAlgorithm):
                if _der_kind(der) == "private":
                    raise KeyFormatError(
                        f"{what}: this base64 is a private key; give the (Alipay) public key"
                    ) from None
                key = x509.load_der_x509_certificate(der).public_key()
    except KeyFormatError:
        raise
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"{what}: cannot parse the key ({exc})") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyFormatError(f"{what}: not an RSA key ({type(key).__name__})")
    _check_size(key, what)
    return key


def public_key_pem(key: rsa.RSAPublicKey | rsa.RSAPrivateKey) -> str:
    """SubjectPublicKeyInfo PEM of a key (of the public half for a private key)."""
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def one_line(pem: str) -> str:
    """The bare one-line base64 body of a PEM block, as the Alipay console shows keys."""
    return "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))


@dataclass(frozen=True)
class KeyPair:
    private_pem: str  # PKCS#8
    public_pem: str  # SubjectPublicKeyInfo

    @property
    def public_one_line(self) -> str:
        return one_line(self.public_pem)

    @property
    def private_one_line(self) -> str:
        return one_line(self.private_pem)


def generate_key_pair(bits: int = 2048) -> KeyPair:
    """A new RSA key pair, PEM encoded (private PKCS#8, public SubjectPublicKeyInfo)."""
    if bits < MIN_KEY_BITS:
        raise KeyFormatError(f"refusing to generate a {bits}-bit key; use at least {MIN_KEY_BITS}")
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return KeyPair(private_pem=private_pem, public_pem=public_key_pem(key))
