"""Public-key certificate mode (公钥证书模式): certificate serial numbers as Alipay computes them.

SN = lowercase hex MD5 of the issuer DN (RFC 4514 order, CN first, ``,`` without spaces)
followed by the serial number in decimal. The root SN joins the SNs of every RSA certificate in
the root bundle with ``_`` (SM2 and ECDSA certificates are skipped).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from cryptography import x509

from .errors import KeyFormatError

__all__ = ["cert_sn", "load_certificates", "root_cert_sn"]

_RSA_SIGNATURE_OID_PREFIX = "1.2.840.113549.1.1"
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----\s.+?\s-----END CERTIFICATE-----", re.DOTALL)


def load_certificates(source: str | bytes | os.PathLike[str]) -> list[x509.Certificate]:
    """Every certificate in PEM text or a PEM file (a root bundle holds several)."""
    if isinstance(source, os.PathLike) or (isinstance(source, str) and "-----BEGIN" not in source):
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise KeyFormatError(f"certificate: cannot read {source}: {exc.strerror}") from None
    else:
        data = source.encode("ascii") if isinstance(source, str) else source
    blocks = _PEM_CERT.findall(data)
    if not blocks:
        raise KeyFormatError("certificate: no '-----BEGIN CERTIFICATE-----' block found")
    certs = []
    for block in blocks:
        try:
            certs.append(x509.load_pem_x509_certificate(block))
        except ValueError as exc:
            raise KeyFormatError(f"certificate: cannot parse ({exc})") from None
    return certs


def _issuer_dn(cert: x509.Certificate) -> str:
    # rfc4514_string() already lists the most specific RDN (CN) first, like Java's getName().
    return cert.issuer.rfc4514_string()


def _sn_of(cert: x509.Certificate) -> str:
    digest = hashlib.md5(  # noqa: S324 - Alipay defines the SN as an MD5, not for security
        (_issuer_dn(cert) + str(cert.serial_number)).encode("utf-8")
    ).hexdigest()
    return digest.zfill(32)


def cert_sn(source: str | bytes | os.PathLike[str]) -> str:
    """``app_cert_sn`` / ``alipay_cert_sn`` of a single certificate."""
    return _sn_of(load_certificates(source)[0])


def root_cert_sn(source: str | bytes | os.PathLike[str]) -> str:
    """``alipay_root_cert_sn`` of Alipay's root bundle: RSA certificates only, joined by ``_``."""
    sns = [
        _sn_of(cert)
        for cert in load_certificates(source)
        if cert.signature_algorithm_oid.dotted_string.startswith(_RSA_SIGNATURE_OID_PREFIX)
    ]
    if not sns:
        raise KeyFormatError("root certificate: no RSA certificate in the bundle")
    return "_".join(sns)
