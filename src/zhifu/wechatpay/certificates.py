"""WeChat Pay platform certificates: decrypting ``GET /v3/certificates`` and keeping them.

Merchants onboarded before the WeChat Pay public key existed verify WeChat's signatures with
platform certificates. WeChat publishes them at ``/v3/certificates``, each PEM encrypted with the
merchant's APIv3 key (AAD ``certificate``), and rotates them: a ``Wechatpay-Serial`` that is not
known yet means "download again" (reference section 2.4). :class:`PlatformCertificates` holds
them by serial, refreshes on an unknown serial (at most once a minute, so forged serials cannot
make it hammer WeChat) and can keep them in a directory between runs.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .aead import decrypt_resource
from .errors import KeyFormatError, WechatPayResponseError
from .keys import KeySource, certificate_serial, load_certificate

__all__ = [
    "CERTIFICATES_PATH",
    "PlatformCertificate",
    "PlatformCertificates",
    "parse_certificates_response",
]

CERTIFICATES_PATH = "/v3/certificates"
CERTIFICATE_AAD = "certificate"


def _serial_number(serial: str) -> int | None:
    """The serial as an integer: hex forms with and without leading zeros compare equal."""
    try:
        return int(serial, 16)
    except (TypeError, ValueError):
        return None  # e.g. a PUB_KEY_ID_… is never a certificate serial


@dataclass(frozen=True)
class PlatformCertificate:
    serial: str
    certificate: x509.Certificate

    @classmethod
    def load(cls, source: KeySource | x509.Certificate) -> PlatformCertificate:
        cert = load_certificate(source, "WeChat Pay platform certificate")
        if not isinstance(cert.public_key(), rsa.RSAPublicKey):
            raise KeyFormatError("WeChat Pay platform certificate: not an RSA key")
        return cls(certificate_serial(cert), cert)

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        key = self.certificate.public_key()
        assert isinstance(key, rsa.RSAPublicKey)  # checked in load()
        return key

    @property
    def not_after(self) -> datetime:
        return self.certificate.not_valid_after_utc

    def valid_at(self, when: datetime) -> bool:
        return self.certificate.not_valid_before_utc <= when <= self.certificate.not_valid_after_utc

    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def parse_certificates_response(
    data: Any, apiv3_key: bytes, *, now: datetime | None = None
) -> list[PlatformCertificate]:
    """The certificates in a ``/v3/certificates`` answer, decrypted and checked.

    Raises :class:`DecryptionError` if one does not decrypt (the APIv3 key is wrong) and
    :class:`WechatPayResponseError` for a malformed answer. Certificates outside their validity
    period are left out; a certificate whose serial differs from its ``serial_no`` is refused.
    """
    when = now or datetime.now(UTC)
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise WechatPayResponseError("certificates answer has no 'data' list")
    found: list[PlatformCertificate] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("serial_no"), str):
            raise WechatPayResponseError("certificates answer: an item without serial_no")
        plaintext = decrypt_resource(apiv3_key, item.get("encrypt_certificate"))
        try:
            cert = PlatformCertificate.load(plaintext)
        except KeyFormatError as exc:
            raise WechatPayResponseError(
                f"certificate {item['serial_no']}: {exc.message}"
            ) from None
        if _serial_number(cert.serial) != _serial_number(item["serial_no"]):
            raise WechatPayResponseError(
                f"certificate announced as {item['serial_no']} has serial {cert.serial}"
            )
        if cert.valid_at(when):
            found.append(cert)
    return found


Fetcher = Callable[[], list[PlatformCertificate]]


class PlatformCertificates:
    """Platform certificates by serial: given, cached on disk, or downloaded on demand.

    ``fetcher`` downloads and decrypts the current list (the client passes its own
    ``download_certificates``); it is called when a serial is unknown, no more often than
    ``min_refresh_interval`` seconds. Thread-safe.
    """

    def __init__(
        self,
        certificates: Iterable[KeySource | x509.Certificate | PlatformCertificate] = (),
        *,
        fetcher: Fetcher | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        min_refresh_interval: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._by_number: dict[int, PlatformCertificate] = {}
        self._lock = threading.Lock()
        self._fetcher = fetcher
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._interval = min_refresh_interval
        self._monotonic = monotonic
        self._last_refresh: float | None = None
        self._refreshing = threading.Lock()  # one download at a time; others wait and re-check
        if isinstance(certificates, str | bytes | os.PathLike | x509.Certificate):
            certificates = [certificates]  # one certificate, not an iterable of characters
        for item in certificates:
            self.add(
                item if isinstance(item, PlatformCertificate) else PlatformCertificate.load(item)
            )
        if self._cache_dir is not None and self._cache_dir.is_dir():
            for path in sorted(self._cache_dir.glob("*.pem")):
                try:
                    cert = PlatformCertificate.load(path)
                except KeyFormatError:
                    continue  # a damaged cache file is re-downloaded, not fatal
                if cert.valid_at(datetime.now(UTC)):
                    self.add(cert)

    def set_fetcher(self, fetcher: Fetcher | None) -> None:
        self._fetcher = fetcher

    @property
    def can_refresh(self) -> bool:
        return self._fetcher is not None

    def add(self, cert: PlatformCertificate) -> None:
        number = _serial_number(cert.serial)
        assert number is not None
        with self._lock:
            self._by_number[number] = cert

    def get(self, serial: str) -> PlatformCertificate | None:
        """The certificate with this serial, if known; never downloads."""
        number = _serial_number(serial)
        if number is None:
            return None
        with self._lock:
            return self._by_number.get(number)

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_number)

    @property
    def serials(self) -> list[str]:
        with self._lock:
            return [cert.serial for cert in self._by_number.values()]

    def newest(self) -> PlatformCertificate | None:
        """The certificate that expires last: the one to name in ``Wechatpay-Serial``."""
        with self._lock:
            certs = list(self._by_number.values())
        return max(certs, key=lambda cert: cert.not_after) if certs else None

    def lookup(self, serial: str) -> PlatformCertificate | None:
        """The certificate with this serial, downloading the list again if it is unknown."""
        cert = self.get(serial)
        if cert is not None or self._fetcher is None or _serial_number(serial) is None:
            return cert
        with self._refreshing:
            cert = self.get(serial)  # another thread may have just downloaded it
            if cert is not None:
                return cert
            now = self._monotonic()
            if self._last_refresh is not None and now - self._last_refresh < self._interval:
                return None
            self._last_refresh = now
            self.refresh()
        return self.get(serial)

    def refresh(self) -> list[PlatformCertificate]:
        """Download the current certificates now, keep them (and write them to the cache)."""
        if self._fetcher is None:
            raise KeyFormatError("no way to download platform certificates was configured")
        downloaded = self._fetcher()
        for cert in downloaded:
            self.add(cert)
            self._write_cache(cert)
        return downloaded

    def _write_cache(self, cert: PlatformCertificate) -> None:
        if self._cache_dir is None:
            return
        self._cache_dir.mkdir(parents=True, exist_ok=True)
        path = self._cache_dir / f"{cert.serial}.pem"
        if not path.exists():
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(cert.pem(), encoding="ascii")
            tmp.replace(path)  # atomic: a concurrent reader never sees half a certificate
