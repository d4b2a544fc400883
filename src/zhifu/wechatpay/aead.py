"""AEAD_AES_256_GCM as WeChat Pay uses it for notification resources and platform certificates.

The key is the APIv3 key's 32 bytes; the nonce is the 12 characters of ``nonce`` taken as bytes
(not base64); the associated data is ``associated_data`` as UTF-8 (possibly empty); the
ciphertext is base64 of the encrypted bytes followed by the 16-byte tag (reference section 4.2).
"""

from __future__ import annotations

import base64
import binascii
import secrets
import string
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import DecryptionError

__all__ = ["ALGORITHM", "decrypt", "decrypt_resource", "encrypt", "encrypt_resource", "new_nonce"]

ALGORITHM = "AEAD_AES_256_GCM"
NONCE_LENGTH = 12
_ALPHABET = string.ascii_letters + string.digits


def new_nonce(length: int = NONCE_LENGTH) -> str:
    """A random alphanumeric nonce (12 characters for AES-GCM, 32 for signatures)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _aesgcm(key: bytes) -> AESGCM:
    try:
        return AESGCM(key)
    except (TypeError, ValueError):
        raise DecryptionError(f"AES key of {len(key)} bytes; the APIv3 key has 32") from None


def decrypt(key: bytes, nonce: str, associated_data: str, ciphertext: str) -> bytes:
    """Plaintext bytes; raises :class:`DecryptionError` naming what is wrong.

    ``key`` may be 16, 24 or 32 bytes (WeChat's own SDK tests use 16); the APIv3 key itself is
    checked to be 32 by :func:`zhifu.wechatpay.keys.load_apiv3_key`.
    """
    if not isinstance(nonce, str) or not nonce:
        raise DecryptionError("resource has no nonce")
    if not isinstance(associated_data, str):
        raise DecryptionError("resource associated_data is not a string")
    if not isinstance(ciphertext, str) or not ciphertext:
        raise DecryptionError("resource has no ciphertext")
    try:
        data = base64.b64decode(ciphertext, validate=True)
    except (binascii.Error, ValueError):
        raise DecryptionError("resource ciphertext is not valid base64") from None
    if len(data) < 16:
        raise DecryptionError("resource ciphertext is shorter than the 16-byte GCM tag")
    try:
        return _aesgcm(key).decrypt(nonce.encode("utf-8"), data, associated_data.encode("utf-8"))
    except InvalidTag:
        raise DecryptionError(
            "resource does not decrypt: wrong APIv3 key, or the data was altered"
        ) from None
    except ValueError as exc:  # e.g. an empty nonce
        raise DecryptionError(f"resource does not decrypt ({exc})") from None


def encrypt(key: bytes, nonce: str, associated_data: str, plaintext: bytes) -> str:
    """Base64 of ciphertext ‖ tag: what WeChat puts in ``ciphertext`` (for gateways and tests)."""
    sealed = _aesgcm(key).encrypt(nonce.encode("utf-8"), plaintext, associated_data.encode("utf-8"))
    return base64.b64encode(sealed).decode("ascii")


def decrypt_resource(key: bytes, resource: Any) -> bytes:
    """Decrypt a ``resource`` / ``encrypt_certificate`` object (dict with the four fields)."""
    if not isinstance(resource, dict):
        raise DecryptionError("resource is not an object")
    algorithm = resource.get("algorithm")
    if algorithm != ALGORITHM:
        raise DecryptionError(f"resource algorithm {algorithm!r}; expected {ALGORITHM}")
    fields = [resource.get(name) for name in ("nonce", "associated_data", "ciphertext")]
    nonce, associated_data, ciphertext = (value if value is not None else "" for value in fields)
    if not all(isinstance(value, str) for value in (nonce, associated_data, ciphertext)):
        raise DecryptionError("resource nonce, associated_data and ciphertext must be strings")
    return decrypt(key, str(nonce), str(associated_data), str(ciphertext))


def encrypt_resource(
    key: bytes, plaintext: bytes, associated_data: str, *, original_type: str | None = None
) -> dict[str, str]:
    """A ``resource`` object as WeChat sends it, with a fresh 12-character nonce."""
    nonce = new_nonce()
    resource = {
        "algorithm": ALGORITHM,
        "ciphertext": encrypt(key, nonce, associated_data, plaintext),
        "associated_data": associated_data,
        "nonce": nonce,
    }
    if original_type is not None:
        resource = {"original_type": original_type, **resource}
    return resource
