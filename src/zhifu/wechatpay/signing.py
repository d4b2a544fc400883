"""WeChat Pay API v3 signatures: the messages that are signed, and SHA256withRSA over them.

Three messages are signed (reference sections 1, 2 and 8.2), each line ending in ``\\n``:

* a request, by the merchant: ``METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n`` over the exact
  bytes sent, carried in ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid=…,…``;
* a response or notification, by WeChat: ``TIMESTAMP\\nNONCE\\nBODY\\n`` over the raw body, carried
  in the ``Wechatpay-*`` headers;
* the JSAPI ``paySign``, by the merchant: ``appId\\ntimeStamp\\nnonceStr\\npackage\\n``.

The gateway side (:func:`response_headers`, :func:`parse_authorization`) lives here too, so the
local sandbox signs with the very code the client verifies with.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .aead import new_nonce
from .errors import SignatureError
from .keys import KeySource, load_private_key

__all__ = [
    "AUTH_SCHEME",
    "SIGNATURE_TYPE",
    "Authorization",
    "RequestSigner",
    "header_lookup",
    "jsapi_message",
    "parse_authorization",
    "request_message",
    "response_headers",
    "response_message",
    "rsa_sign",
    "rsa_verify",
    "verify_request",
]

AUTH_SCHEME = "WECHATPAY2-SHA256-RSA2048"
SIGNATURE_TYPE = AUTH_SCHEME  # the value of Wechatpay-Signature-Type
SIGNATURE_NONCE_LENGTH = 32

_PADDING = padding.PKCS1v15()
_SHA256 = hashes.SHA256()
_AUTH_PAIR = re.compile(r'\s*([a-z_]+)="([^"]*)"\s*')
_AUTH_FIELDS = ("mchid", "nonce_str", "timestamp", "serial_no", "signature")


def _bytes(body: str | bytes) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def request_message(
    method: str, canonical_url: str, timestamp: int | str, nonce: str, body: str | bytes
) -> bytes:
    """What a request signs. ``canonical_url`` is the path with ``?query`` exactly as sent."""
    head = f"{method.upper()}\n{canonical_url}\n{timestamp}\n{nonce}\n".encode()
    return head + _bytes(body) + b"\n"


def response_message(timestamp: int | str, nonce: str, body: str | bytes) -> bytes:
    """What a response or notification signs: its raw body, never a re-serialised one."""
    return f"{timestamp}\n{nonce}\n".encode() + _bytes(body) + b"\n"


def jsapi_message(app_id: str, timestamp: str, nonce: str, package: str) -> bytes:
    """What the JSAPI ``paySign`` signs (``package`` is ``prepay_id=…``)."""
    return f"{app_id}\n{timestamp}\n{nonce}\n{package}\n".encode()


def rsa_sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    """Base64 SHA256withRSA (PKCS#1 v1.5) signature."""
    return base64.b64encode(key.sign(message, _PADDING, _SHA256)).decode("ascii")


def rsa_verify(key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    """True if ``signature`` (standard base64) holds; never raises for bad input."""
    if not isinstance(signature, str):
        return False
    try:
        raw = binascii.a2b_base64(signature, strict_mode=True)
    except (binascii.Error, ValueError):
        return False
    try:
        key.verify(raw, message, _PADDING, _SHA256)
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class Authorization:
    """The five fields of an ``Authorization`` header."""

    mchid: str
    nonce_str: str
    timestamp: str
    serial_no: str
    signature: str

    def header(self) -> str:
        # The order of the pairs does not matter (reference 1.3); this is the Go SDK's.
        return (
            f'{AUTH_SCHEME} mchid="{self.mchid}",nonce_str="{self.nonce_str}",'
            f'timestamp="{self.timestamp}",serial_no="{self.serial_no}",'
            f'signature="{self.signature}"'
        )


def parse_authorization(header: str) -> Authorization:
    """Parse an ``Authorization`` header, pairs in any order; :class:`SignatureError` if bad."""
    if not isinstance(header, str):
        raise SignatureError("Authorization header missing")
    scheme, _, rest = header.strip().partition(" ")
    if scheme != AUTH_SCHEME:
        raise SignatureError(f"Authorization scheme {scheme!r}; expected {AUTH_SCHEME}")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        match = _AUTH_PAIR.fullmatch(part)
        if match is None:
            raise SignatureError(f"Authorization: malformed pair {part.strip()!r}")
        key, value = match.groups()
        if key in fields:
            raise SignatureError(f"Authorization: {key} given twice")
        fields[key] = value
    missing = [name for name in _AUTH_FIELDS if not fields.get(name)]
    if missing:
        raise SignatureError(f"Authorization: missing {', '.join(missing)}")
    unknown = sorted(set(fields) - set(_AUTH_FIELDS))
    if unknown:
        raise SignatureError(f"Authorization: unknown field {unknown[0]}")
    return Authorization(**{name: fields[name] for name in _AUTH_FIELDS})


class RequestSigner:
    """Signs requests as one merchant: the private key is loaded once, here."""

    def __init__(
        self, *, mchid: str, serial_no: str, private_key: KeySource | rsa.RSAPrivateKey
    ) -> None:
        self.mchid = mchid
        self.serial_no = serial_no
        self._key = load_private_key(private_key)

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        return self._key

    def sign(self, message: bytes) -> str:
        return rsa_sign(self._key, message)

    def authorization(
        self,
        method: str,
        canonical_url: str,
        body: bytes = b"",
        *,
        timestamp: int | None = None,
        nonce: str | None = None,
    ) -> str:
        """The ``Authorization`` header for a request of these exact bytes."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or new_nonce(SIGNATURE_NONCE_LENGTH)
        signature = self.sign(request_message(method, canonical_url, ts, nonce, body))
        return Authorization(self.mchid, nonce, ts, self.serial_no, signature).header()


def verify_request(
    authorization: str,
    method: str,
    canonical_url: str,
    body: bytes,
    merchant_key: rsa.RSAPublicKey,
    *,
    now: float | None = None,
    max_clock_skew: int = 300,
) -> Authorization:
    """The gateway's check of a merchant request; :class:`SignatureError` names what is wrong.

    ``canonical_url`` is the path and ``?query`` exactly as received. WeChat does not publish its
    window for request timestamps; 300 s mirrors the one merchants apply to WeChat.
    """
    auth = parse_authorization(authorization)
    if not auth.timestamp.isascii() or not auth.timestamp.isdigit():
        raise SignatureError(f"Authorization: timestamp {auth.timestamp!r} is not Unix seconds")
    current = time.time() if now is None else now
    if abs(current - int(auth.timestamp)) >= max_clock_skew:
        raise SignatureError(
            f"Authorization: timestamp {auth.timestamp} is more than {max_clock_skew} s from now"
        )
    message = request_message(method, canonical_url, auth.timestamp, auth.nonce_str, body)
    if not rsa_verify(merchant_key, message, auth.signature):
        raise SignatureError("signature does not match the merchant certificate")
    return auth


def response_headers(
    key: rsa.RSAPrivateKey,
    serial: str,
    body: str | bytes,
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The ``Wechatpay-*`` headers WeChat puts on a response or notification of ``body``.

    For gateways (the local sandbox) and tests; ``serial`` is the platform certificate serial or
    the ``PUB_KEY_ID_…`` of the key that signs.
    """
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or new_nonce(SIGNATURE_NONCE_LENGTH)
    return {
        "Wechatpay-Timestamp": ts,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": rsa_sign(key, response_message(ts, nonce, body)),
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": SIGNATURE_TYPE,
    }


def header_lookup(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers by lower-case name, from a plain dict, httpx/Django headers or a WSGI environ.

    Django's ``request.META`` spells them ``HTTP_WECHATPAY_SIGNATURE``; they are read too, so the
    caller can pass whichever it has.
    """
    found: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            continue
        lowered = name.lower()
        if lowered.startswith("http_"):
            lowered = lowered[5:].replace("_", "-")
        found.setdefault(lowered, value)
    return found
