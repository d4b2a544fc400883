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


# Created once: padding and hash objects are immutable and cost a few microseconds per call.
_PADDING = padding.PKCS1v15()
_HASHES: dict[str, hashes.HashAlgorithm] = {
    "RSA2": hashes.SHA256(),
    "RSA": hashes.SHA1(),  # noqa: S303 - Alipay's legacy "RSA" sign type is SHA1withRSA
}


def _hash_for(sign_type: str) -> hashes.HashAlgorithm:
    try:
        return _HASHES[sign_type]
    except (KeyError, TypeError):
        raise SignatureError(f"unsupported sign_type {sign_type!r}; expected RSA2 or RSA") from None


def _codec(charset: str) -> str:
    """The Python codec for an Alipay ``charset`` (GBK/GB2312 as their superset GB18030)."""
    lowered = charset.strip().lower()
    return "gb18030" if lowered in {"gbk", "gb2312"} else lowered


def _encode(content: str | bytes, charset: str) -> bytes:
    if isinstance(content, bytes):
        return content
    if charset == "utf-8":
        return content.encode()  # the common case, without a codec lookup
    try:
        return content.encode(_codec(charset))
    except UnicodeEncodeError:
        raise SignatureError(f"the content cannot be encoded as {charset}") from None
    except (LookupError, ValueError):  # ValueError: a codec name holding NUL
        raise SignatureError(f"unknown charset {charset!r}") from None


class _MultiValue(Protocol):
    def lists(self) -> Iterable[tuple[str, list[str]]]: ...


def flatten_params(params: Mapping[str, Any] | _MultiValue) -> dict[str, str]:
    """A plain ``{str: str}`` copy of a dict, a ``parse_qs`` result or a Django ``QueryDict``.

    A parameter given more than once is refused: Alipay never sends one, and two values let the
    verifier and the code that acts on the data read different ones.
    """
    if type(params) is dict and all(type(value) is str for value in params.values()):
        return {str(key): value for key, value in params.items()}  # the common case, fast
    items: Iterable[tuple[str, Any]]
    if hasattr(params, "lists"):
        items = params.lists()
    elif isinstance(params, Mapping):
        items = params.items()
    else:
        raise SignatureError(f"parameters must be a mapping, not {type(params).__name__}")
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
        [
            f"{key}={value}"
            for key, value in sorted(params.items())
            if value != "" and key not in exclude
        ]
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
        self._hash = _hash_for(sign_type)
        self._key = load_private_key(private_key)
        self._sign = self._key.sign
        self.sign_type: SignType = sign_type

    def sign(self, content: str | bytes, charset: str = "utf-8") -> str:
        """Base64 signature of ``content`` (a string is encoded in ``charset`` first)."""
        signature = self._sign(_encode(content, charset), _PADDING, self._hash)
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
        self._verify = self._key.verify

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self._key

    def verify(
        self, content: str | bytes, sign: str, sign_type: str = "RSA2", charset: str = "utf-8"
    ) -> bool:
        """True if ``sign`` (standard base64) is a valid signature of ``content``.

        Never raises for a bad signature or bad base64 (``False``); raises ``SignatureError``
        only for an unknown ``sign_type`` or ``charset``.
        """
        algorithm = _hash_for(sign_type)
        data = _encode(content, charset)
        if not isinstance(sign, str | bytes):
            return False
        try:
            # Strict: only the base64 alphabet, correct padding (like b64decode(validate=True)).
            signature = binascii.a2b_base64(sign, strict_mode=True)
        except (binascii.Error, ValueError):
            return False
        try:
            self._verify(signature, data, _PADDING, algorithm)
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
            raise SignatureError(f"unsupported sign_type {sign_type!r}; expected RSA2 or RSA")
        for keep in (False, True):
            if keep and "sign_type" not in flat:
                break  # the second variant would be the same string
            if self.verify(
                notification_content(flat, keep_sign_type=keep), sign, sign_type, charset
            ):
                return flat
        raise SignatureError("signature does not match the Alipay public key")

    def verify_response(
        self,
        body: str | bytes,
        method: str,
        *,
        sign_type: str = "RSA2",
        charset: str = "utf-8",
        expected_cert_sn: str | None = None,
    ) -> VerifiedResponse:
        """Verify a synchronous gateway response over the raw bytes of its response node.

        ``sign_type`` is the request's (Alipay answers with the same algorithm); ``charset``
        decodes ``body`` if it is bytes and encodes the node again byte-for-byte. In certificate
        mode give ``expected_cert_sn`` (the SN of the Alipay public-key certificate in use): a
        response signed under another certificate is refused with a message saying so.
        """
        node_name, raw_node, sign, cert_sn, data = extract_response(body, method, charset=charset)
        if sign is None or sign == "":
            # Some gateway errors are unsigned (isv.invalid-app-id); they can never be results.
            if data.get("code") == "10000":
                raise SignatureError(
                    f"{node_name}: success response carries no signature", method=method
                )
            return VerifiedResponse(node_name, data, raw_node, False, cert_sn)
        if expected_cert_sn and cert_sn and cert_sn != expected_cert_sn:
            raise SignatureError(
                f"{node_name}: signed with Alipay certificate {cert_sn}, but the configured one "
                f"is {expected_cert_sn}; download the new certificate "
                "(alipay.open.app.alipaycert.download) and check it against the root",
                method=method,
            )
        if not self.verify(raw_node, sign, sign_type, charset):
            # Alipay has escaped '/' as '\/'; the Java SDK retries with it unescaped.
            if "\\/" not in raw_node or not self.verify(
                raw_node.replace("\\/", "/"), sign, sign_type, charset
            ):
                raise SignatureError(
                    f"{node_name}: response signature does not hold", method=method
                )
        return VerifiedResponse(node_name, data, raw_node, True, cert_sn)


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        repeated = next(key for key in keys if keys.count(key) > 1)
        raise _DuplicateKey(repeated)
    return dict(pairs)


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


_WS = " \t\r\n"


def _top_level_spans(text: str) -> list[tuple[str, int, int]]:
    """(key, start, end) of each member value of the top-level JSON object in ``text``.

    ``text`` must already be known to be one valid JSON object; the scan relies on
    ``json.JSONDecoder.raw_decode`` so braces and quotes inside strings are handled exactly.
    """
    decoder = json.JSONDecoder()
    spans: list[tuple[str, int, int]] = []
    i = len(text) - len(text.lstrip(_WS)) + 1  # just after the opening brace
    while True:
        while text[i] in _WS:
            i += 1
        if text[i] == "}":
            return spans
        key, i = decoder.raw_decode(text, i)
        while text[i] in _WS:
            i += 1
        i += 1  # the colon
        while text[i] in _WS:
            i += 1
        start = i
        _, i = decoder.raw_decode(text, i)
        spans.append((str(key), start, i))
        while text[i] in _WS:
            i += 1
        if text[i] == ",":
            i += 1


def extract_response(
    body: str | bytes, method: str, *, charset: str = "utf-8"
) -> tuple[str, str, str | None, str | None, dict[str, Any]]:
    """Split a gateway response into (node name, raw node text, sign, alipay_cert_sn, node data).

    The node is ``<method with dots as underscores>_response`` or ``error_response``; its raw
    text is exactly as received (what Alipay signed). A body that is not one JSON object, or in
    which any key appears twice at the top level or inside the node (a classic signature-bypass
    trick: the verifier and the parser would read different copies) is refused.
    """
    if isinstance(body, bytes):
        try:
            text = body.decode(_codec(charset))
        except (LookupError, UnicodeDecodeError):
            raise AlipayResponseError(
                f"response is not valid {charset} text", method=method
            ) from None
    else:
        text = body
    expected = method.replace(".", "_") + "_response"
    try:
        whole = json.loads(text, object_pairs_hook=_reject_duplicates)
    except _DuplicateKey as exc:
        raise AlipayResponseError(f"response repeats the key {exc.key!r}", method=method) from None
    except ValueError:
        snippet = text[:80].replace("\n", " ")
        raise AlipayResponseError(f"response is not JSON: {snippet!r}", method=method) from None
    if not isinstance(whole, dict):
        raise AlipayResponseError("response is not a JSON object", method=method)
    found = {key: text[start:end] for key, start, end in _top_level_spans(text)}
    if expected in found:
        node_name = expected
    elif "error_response" in found:
        node_name = "error_response"
    else:
        raise AlipayResponseError(f"response has no {expected!r} node", method=method)
    data = whole[node_name]
    if not isinstance(data, dict):
        raise AlipayResponseError(f"{node_name} is not an object", method=method)
    sign = whole.get("sign")
    cert_sn = whole.get("alipay_cert_sn")
    if sign is not None and not isinstance(sign, str):
        raise AlipayResponseError("'sign' is not a string", method=method)
    if cert_sn is not None and not isinstance(cert_sn, str):
        raise AlipayResponseError("'alipay_cert_sn' is not a string", method=method)
    return node_name, found[node_name], sign, cert_sn, data
