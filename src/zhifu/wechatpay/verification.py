"""Verifying WeChat Pay's signatures on responses and notifications.

WeChat signs with one of two kinds of key, named by ``Wechatpay-Serial``: the WeChat Pay public
key (``PUB_KEY_ID_…``) or a platform certificate (its hex serial). During the migration from
certificates to the public key both arrive, mixed, for days, so a verifier may hold both and
picks by serial (reference section 2.4). Every check WeChat asks of a merchant is made here:
all four headers present, the timestamp within 300 seconds of now, ``WECHATPAY/SIGNTEST/`` probe
signatures refused, and SHA256withRSA over the raw body.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from .certificates import PlatformCertificate, PlatformCertificates
from .errors import KeyFormatError, SignatureError, WechatPayError
from .keys import KeySource, load_public_key, validate_public_key_id
from .signing import SIGNATURE_TYPE, header_lookup, response_message, rsa_verify

__all__ = ["MAX_CLOCK_SKEW", "PROBE_PREFIX", "VerifiedSignature", "Verifier"]

MAX_CLOCK_SKEW = 300  # seconds; the official SDKs refuse |now - timestamp| >= 5 minutes
PROBE_PREFIX = "WECHATPAY/SIGNTEST/"
REQUIRED_HEADERS = (
    "wechatpay-timestamp",
    "wechatpay-nonce",
    "wechatpay-signature",
    "wechatpay-serial",
)

KeyKind = Literal["public_key", "platform_certificate"]


@dataclass(frozen=True)
class VerifiedSignature:
    """Which key held the signature, and when WeChat signed."""

    serial: str
    key_kind: KeyKind
    timestamp: int

    def describe(self) -> str:
        if self.key_kind == "public_key":
            return f"WeChat Pay public key {self.serial}"
        return f"platform certificate {self.serial}"


class Verifier:
    """Verifies with the WeChat Pay public key, platform certificates, or both (migration)."""

    def __init__(
        self,
        *,
        public_key: KeySource | rsa.RSAPublicKey | None = None,
        public_key_id: str | None = None,
        certificates: PlatformCertificates
        | Iterable[KeySource | x509.Certificate | PlatformCertificate]
        | None = None,
        max_clock_skew: int = MAX_CLOCK_SKEW,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if (public_key is None) != (public_key_id is None):
            raise KeyFormatError(
                "give the WeChat Pay public key and its PUB_KEY_ID_… together (both are on the "
                "merchant portal's API安全 page)"
            )
        self.public_key_id = (
            validate_public_key_id(public_key_id) if public_key_id is not None else None
        )
        self._public_key = load_public_key(public_key) if public_key is not None else None
        if certificates is None or isinstance(certificates, PlatformCertificates):
            self.certificates = certificates
        else:
            self.certificates = PlatformCertificates(certificates)
        if self._public_key is None and self.certificates is None:
            raise KeyFormatError(
                "no WeChat Pay key: give the WeChat Pay public key and its id, or platform "
                "certificates (or both, while migrating)"
            )
        self.max_clock_skew = max_clock_skew
        self._clock = clock

    @property
    def public_key(self) -> rsa.RSAPublicKey | None:
        return self._public_key

    def key_for(self, serial: str) -> tuple[rsa.RSAPublicKey, KeyKind]:
        """The key a ``Wechatpay-Serial`` names; downloads certificates again if it is unknown."""
        if self._public_key is not None and serial == self.public_key_id:
            return self._public_key, "public_key"
        if serial.startswith("PUB_KEY_ID_"):
            configured = self.public_key_id or "none"
            raise SignatureError(
                f"signed with WeChat Pay public key {serial}, but the configured one is "
                f"{configured}: download the public key and its id from the merchant portal"
            )
        if self.certificates is not None:
            try:
                cert = self.certificates.lookup(serial)
            except WechatPayError as exc:
                # Outcome unknown, not a forgery: the download failed (network, wrong APIv3 key).
                raise SignatureError(
                    f"cannot check platform certificate {serial!r}: downloading the platform "
                    f"certificates failed ({exc})",
                    retryable=True,
                ) from exc
            if cert is not None:
                return cert.public_key, "platform_certificate"
            raise SignatureError(
                f"signed with platform certificate {serial!r}, which is not among the "
                f"known ones ({', '.join(self.certificates.serials) or 'none'})"
                + ("" if self.certificates.can_refresh else "; no way to download new ones")
            )
        raise SignatureError(
            f"signed with platform certificate {serial!r}, but only the WeChat Pay public key "
            f"{self.public_key_id} is configured (is the merchant still migrating?)"
        )

    def verify(
        self, headers: Mapping[str, str], body: str | bytes, *, now: float | None = None
    ) -> VerifiedSignature:
        """Check a response or notification; raise :class:`SignatureError` naming the fault.

        ``headers`` may be a dict, httpx or Django headers, or Django's ``request.META``;
        ``body`` must be the raw bytes received (a re-serialised body never verifies).
        """
        found = header_lookup(headers)
        missing = [name for name in REQUIRED_HEADERS if not found.get(name)]
        if missing:
            names = ", ".join("-".join(p.capitalize() for p in m.split("-")) for m in missing)
            raise SignatureError(f"missing header {names}")
        signature_type = found.get("wechatpay-signature-type")
        if signature_type is not None and signature_type != SIGNATURE_TYPE:
            raise SignatureError(f"unsupported Wechatpay-Signature-Type {signature_type!r}")
        signature = found["wechatpay-signature"]
        if signature.startswith(PROBE_PREFIX):
            raise SignatureError(
                "WECHATPAY/SIGNTEST/ probe signature: WeChat checks that forged signatures are "
                "refused",
                probe=True,
            )
        stamp = found["wechatpay-timestamp"]
        if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
            raise SignatureError(f"Wechatpay-Timestamp {stamp!r} is not a Unix time")
        timestamp = int(stamp)
        current = self._clock() if now is None else now
        if abs(current - timestamp) >= self.max_clock_skew:
            raise SignatureError(
                f"Wechatpay-Timestamp {timestamp} is {int(current - timestamp)} s from now; "
                f"more than {self.max_clock_skew} s apart is refused (replay, or a wrong clock)"
            )
        serial = found["wechatpay-serial"].strip()
        try:
            message = response_message(stamp, found["wechatpay-nonce"], body)
        except UnicodeEncodeError:
            raise SignatureError("the body or nonce is not valid text (lone surrogates)") from None
        key, kind = self.key_for(serial)
        if not rsa_verify(key, message, signature):
            raise SignatureError(
                f"signature does not hold with the {kind.replace('_', ' ')} {serial}"
            )
        return VerifiedSignature(serial, kind, timestamp)
