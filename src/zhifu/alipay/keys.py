"""Loading RSA keys in every form Alipay users meet, and generating new pairs.

The Alipay console and key tool hand out keys as bare one-line base64 (private keys as PKCS#8 or
PKCS#1, public keys as SubjectPublicKeyInfo); files on disk are PEM. All of them load here, once.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import KeyFormatError

__all__ = [
    "KeyPair",
    "KeySource",
    "generate_key_pair",
    "load_private_key",
    "load_public_key",
    "one_line",
    "public_key_pem",
]

KeySource = str | bytes | os.PathLike[str]


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
        return text.encode("ascii", "replace")
    if isinstance(source, bytes):
        return source.strip()
    raise KeyFormatError(f"{what}: expected PEM text, base64 text or a path, got {type(source)}")


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


def _bare_der(data: bytes, what: str) -> bytes:
    compact = b"".join(data.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise KeyFormatError(
            f"{what}: not PEM, not valid base64 and not an existing file (expected "
            "'-----BEGIN ...', the one-line key from the Alipay console, or a path)"
        ) from None


def load_private_key(source: KeySource | rsa.RSAPrivateKey) -> rsa.RSAPrivateKey:
    """Load an RSA private key: PEM (PKCS#1 or PKCS#8), bare base64 DER, or a file of either."""
    if isinstance(source, rsa.RSAPrivateKey):
        return source
    what = "app private key"
    data = _read_source(source, what)
    try:
        if data.startswith(b"-----BEGIN"):
            if b"PUBLIC KEY" in data.split(b"\n", 1)[0] or b"CERTIFICATE" in data[:40]:
                raise KeyFormatError(
                    f"{what}: this is a public key or certificate, not a private key"
                )
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = serialization.load_der_private_key(_bare_der(data, what), password=None)
    except KeyFormatError:
        raise
    except TypeError:
        raise KeyFormatError(f"{what}: the key is encrypted; give an unencrypted key") from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"{what}: cannot parse the key ({exc})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyFormatError(f"{what}: not an RSA key ({type(key).__name__})")
    if key.key_size < 2048:
        raise KeyFormatError(f"{what}: RSA key of {key.key_size} bits; Alipay needs 2048")
    return key


def load_public_key(source: KeySource | rsa.RSAPublicKey) -> rsa.RSAPublicKey:
    """Load an RSA public key: PEM SPKI or PKCS#1, bare base64, an X.509 certificate, or a file."""
    if isinstance(source, rsa.RSAPublicKey):
        return source
    what = "public key"
    data = _read_source(source, what)
    key: object
    try:
        if data.startswith(b"-----BEGIN CERTIFICATE"):
            key = x509.load_pem_x509_certificate(data).public_key()
        elif data.startswith(b"-----BEGIN"):
            if b"PRIVATE KEY" in data.split(b"\n", 1)[0]:
                raise KeyFormatError(f"{what}: this is a private key; give the public key")
            key = serialization.load_pem_public_key(data)
        else:
            der = _bare_der(data, what)
            try:
                key = serialization.load_der_public_key(der)
            except ValueError:
                key = x509.load_der_x509_certificate(der).public_key()
    except KeyFormatError:
        raise
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"{what}: cannot parse the key ({exc})") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyFormatError(f"{what}: not an RSA key ({type(key).__name__})")
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
    """A new RSA key pair, PEM encoded."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return KeyPair(private_pem=private_pem, public_pem=public_key_pem(key))
