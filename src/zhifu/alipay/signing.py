"""Alipay's signature rules: the strings that are signed, RSA2/RSA signing and verification.

Three different strings are signed in the gateway protocol (see the reference, sections 2-5):

* a request: every parameter sent except ``sign``, empty values dropped, sorted by key;
* a notification or a return redirect: as a request but without ``sign_type`` either;
* a synchronous response: the exact raw bytes of the ``*_response`` node as received.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .errors import AlipayResponseError, SignatureError
from .keys import KeySource, load_private_key, load_public_key

__all__ = [
    "SignType",
    "Signer",
    "VerifiedResponse",
    "Verifier",
    "extract_response",
    "flatten_params",
    "notification_content",
    "request_content",
]

SignType = Literal["RSA2", "RSA"]
SIGN_TYPES: tuple[SignType, ...] = ("RSA2", "RSA")


def _hash_for(sign_type: str) -> hashes.HashAlgorithm:
    if sign_type == "RSA2":
        return hashes.SHA256()
    if sign_type == "RSA":
        return hashes.SHA1()  # noqa: S303 - Alipay's legacy "RSA" sign type is SHA1withRSA
    raise SignatureError(f"unsupported sign_type {sign_type!r}; expected RSA2 or RSA")


class _MultiValue(Protocol):
    def lists(self) -> Iterable[tuple[str, list[str]]]: ...


def flatten_params(params: Mapping[str, Any] | _MultiValue) -> dict[str, str]:
    """A plain ``{str: str}`` copy of a dict, a ``parse_qs`` result or a Django ``QueryDict``.

    A parameter given more than once is refused: Alipay never sends one, and two values let the
    verifier and the code that acts on the data read different ones.
    """
    items: Iterable[tuple[str, Any]]
    if hasattr(params, "lists"):
        items = params.lists()
    else:
        assert isinstance(params, Mapping)
        items = params.items()
    flat: dict[str, str] = {}
    for key, value in items:
        if isinstance(value, list | tuple):
            if len(value) != 1:
                raise SignatureError(f"parameter {key!r} appears {len(value)} times")
            value = value[0]
        if value is None:
            continue
        if not isinstance(value, str):
            raise SignatureError(f"parameter {key!r} is a {type(value).__name__}, not a string")
        flat[str(key)] = value
    return flat


def _join(params: Mapping[str, str], exclude: frozenset[str]) -> str:
    return "&".join(
        f"{key}={params[key]}" for key in sorted(params) if key not in exclude and params[key] != ""
    )


def request_content(params: Mapping[str, str]) -> str:
    """The string a request signs: all parameters but ``sign``, non-empty, sorted by key."""
    return _join(params, frozenset({"sign"}))


def notification_content(params: Mapping[str, str], *, keep_sign_type: bool = False) -> str:
    """The string Alipay signed for a notification or return: without ``sign`` and ``sign_type``.

    ``keep_sign_type`` gives the older variant some integrations met (reference section 4).
    """
    exclude = frozenset({"sign"} if keep_sign_type else {"sign", "sign_type"})
    return _join(params, exclude)


class Signer:
    """Signs with one private key, loaded once."""

    def __init__(self, private_key: KeySource | rsa.RSAPrivateKey, sign_type: SignType = "RSA2"):
        self._key = load_private_key(private_key)
        self._hash = _hash_for(sign_type)
        self.sign_type: SignType = sign_type

    def sign(self, content: str | bytes, charset: str = "utf-8") -> str:
        data = content.encode(charset) if isinstance(content, str) else content
        signature = self._key.sign(data, padding.PKCS1v15(), self._hash)
        return base64.b64encode(signature).decode("ascii")

    def sign_params(self, params: Mapping[str, str], charset: str = "utf-8") -> str:
        """Signature of a request's parameters (everything but ``sign``)."""
        return self.sign(request_content(params), charset)

    def sign_notification(self, params: Mapping[str, str], charset: str = "utf-8") -> str:
        """Signature of notification/return parameters (without ``sign`` and ``sign_type``)."""
        return self.sign(notification_content(params), charset)

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self._key.public_key()


@dataclass(frozen=True)
class VerifiedResponse:
    """A synchronous response whose signature held (or that carried none, for unsigned errors)."""

    node_name: str
    data: dict[str, Any]
    raw_node: str
    signed: bool
    alipay_cert_sn: str | None


class Verifier:
    """Verifies Alipay's signatures with the Alipay public key, loaded once."""

    def __init__(self, public_key: KeySource | rsa.RSAPublicKey):
        self._key = load_public_key(public_key)

    def verify(
        self, content: str | bytes, sign: str, sign_type: str = "RSA2", charset: str = "utf-8"
    ) -> bool:
        """True if ``sign`` (base64) is a valid signature of ``content``."""
        algorithm = _hash_for(sign_type)
        try:
            signature = base64.b64decode(sign, validate=True)
        except (binascii.Error, ValueError):
            return False
        data = content.encode(charset) if isinstance(content, str) else content
        try:
            self._key.verify(signature, data, padding.PKCS1v15(), algorithm)
        except InvalidSignature:
            return False
        return True

    def verify_notification(self, params: Mapping[str, Any] | _MultiValue) -> dict[str, str]:
        """Check a notification or return redirect; return a fresh ``{str: str}`` of its data.

        Takes a dict or a Django ``QueryDict`` and never changes it. Raises ``SignatureError``
        naming what is wrong. Alipay documents the string without ``sign_type``; some
        integrations saw it kept (reference section 4), so that variant is accepted too.
        """
        flat = flatten_params(params)
        sign = flat.get("sign", "")
        if not sign:
            raise SignatureError("no 'sign' parameter")
        sign_type = flat.get("sign_type") or "RSA2"
        charset = flat.get("charset") or "utf-8"
        if sign_type not in SIGN_TYPES:
            raise SignatureError(f"unsupported sign_type {sign_type!r}")
        for keep in (False, True):
            if self.verify(
                notification_content(flat, keep_sign_type=keep), sign, sign_type, _codec(charset)
            ):
                return flat
        raise SignatureError("signature does not match the Alipay public key")

    def verify_response(self, body: str | bytes, method: str) -> VerifiedResponse:
        """Verify a synchronous gateway response over the raw bytes of its response node."""
        node_name, raw_node, sign, cert_sn, data = extract_response(body, method)
        if not sign:
            # Some gateway errors are unsigned (isv.invalid-app-id); they can never be results.
            if data.get("code") == "10000":
                raise SignatureError(
                    f"{node_name}: success response carries no signature", method=method
                )
            return VerifiedResponse(node_name, data, raw_node, False, cert_sn)
        if not self.verify(raw_node, sign):
            # Alipay has escaped '/' as '\/'; the Java SDK retries with it unescaped.
            if "\\/" not in raw_node or not self.verify(raw_node.replace("\\/", "/"), sign):
                raise SignatureError(
                    f"{node_name}: response signature does not hold", method=method
                )
        return VerifiedResponse(node_name, data, raw_node, True, cert_sn)


def _codec(charset: str) -> str:
    lowered = charset.lower()
    return "gb18030" if lowered in {"gbk", "gb2312"} else lowered


def _top_level_spans(text: str) -> list[tuple[str, int, int]]:
    """(key, start, end) of each value of the top-level JSON object, aware of strings/escapes."""
    spans: list[tuple[str, int, int]] = []
    if not text.lstrip().startswith("{"):
        raise ValueError("not a JSON object")
    i = text.index("{") + 1
    n = len(text)
    decoder = json.JSONDecoder()
    while i < n:
        while i < n and text[i] in " \t\r\n,":
            i += 1
        if i >= n or text[i] == "}":
            break
        key, i = decoder.raw_decode(text, i)
        while text[i] in " \t\r\n":
            i += 1
        if text[i] != ":":
            raise ValueError("expected ':'")
        i += 1
        while text[i] in " \t\r\n":
            i += 1
        start = i
        _, i = decoder.raw_decode(text, i)
        spans.append((str(key), start, i))
    return spans


def extract_response(
    body: str | bytes, method: str
) -> tuple[str, str, str | None, str | None, dict[str, Any]]:
    """Split a gateway response into (node name, raw node text, sign, alipay_cert_sn, node data).

    The node is ``<method with dots as underscores>_response`` or ``error_response``. A body in
    which the node appears twice is refused (a classic signature-bypass trick).
    """
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    expected = method.replace(".", "_") + "_response"
    try:
        spans = _top_level_spans(text)
    except (ValueError, IndexError):
        raise AlipayResponseError("response is not a JSON object", method=method) from None
    names = [key for key, _, _ in spans]
    for name in set(names):
        if names.count(name) > 1:
            raise AlipayResponseError(f"response repeats the key {name!r}", method=method)
    found = {key: text[start:end] for key, start, end in spans}
    node_name = expected if expected in found else "error_response"
    if node_name not in found:
        raise AlipayResponseError(f"response has no {expected!r} node", method=method)
    raw_node = found[node_name]
    data = json.loads(raw_node)
    if not isinstance(data, dict):
        raise AlipayResponseError(f"{node_name} is not an object", method=method)
    sign = json.loads(found["sign"]) if "sign" in found else None
    cert_sn = json.loads(found["alipay_cert_sn"]) if "alipay_cert_sn" in found else None
    return node_name, raw_node, sign, cert_sn, data
