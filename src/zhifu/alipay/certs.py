"""Public-key certificate mode (公钥证书模式): certificate serial numbers as Alipay computes them.

SN = lowercase hex MD5 of the issuer DN (RFC 4514 order, CN first, ``,`` without spaces)
followed by the serial number in decimal. The root SN joins the SNs of every RSA certificate in
the root bundle with ``_`` (SM2 and ECDSA certificates are skipped).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from pathlib import Path

from cryptography import x509

from .errors import KeyFormatError

__all__ = ["cert_sn", "load_certificates", "root_cert_sn", "signature_algorithm_oid"]

_RSA_SIGNATURE_OID_PREFIX = "1.2.840.113549.1.1"
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----\s.+?\s-----END CERTIFICATE-----", re.DOTALL)


def _read_pem(source: str | bytes | os.PathLike[str]) -> bytes:
    if isinstance(source, os.PathLike) or (isinstance(source, str) and "-----BEGIN" not in source):
        try:
            return Path(source).read_bytes()
        except OSError as exc:
            raise KeyFormatError(
                f"certificate: cannot read {source}: {exc.strerror or exc}"
            ) from None
    return source.encode("ascii", "replace") if isinstance(source, str) else source


def _pem_blocks(source: str | bytes | os.PathLike[str]) -> list[bytes]:
    """DER bytes of every ``CERTIFICATE`` block, whatever separates the blocks."""
    blocks = _PEM_CERT.findall(_read_pem(source))
    if not blocks:
        raise KeyFormatError("certificate: no '-----BEGIN CERTIFICATE-----' block found")
    ders = []
    for block in blocks:
        body = b"".join(block.split(b"-----")[2].split())
        try:
            ders.append(base64.b64decode(body, validate=True))
        except (binascii.Error, ValueError):
            raise KeyFormatError("certificate: a PEM block is not valid base64") from None
    return ders


def _load_der(der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise KeyFormatError(f"certificate: cannot parse ({exc})") from None


def load_certificates(source: str | bytes | os.PathLike[str]) -> list[x509.Certificate]:
    """Every certificate in PEM text or a PEM file (a root bundle holds several)."""
    return [_load_der(der) for der in _pem_blocks(source)]


def _der_item(data: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER item at ``offset``."""
    tag = data[offset]
    length = data[offset + 1]
    offset += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[offset : offset + count], "big")
        offset += count
    end = offset + length
    if end > len(data):
        raise ValueError("truncated DER")
    return tag, offset, end


def _oid_string(content: bytes) -> str:
    first = content[0]
    parts = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    value = 0
    for byte in content[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(part) for part in parts)


def signature_algorithm_oid(der: bytes) -> str:
    """The outer signature algorithm OID of a DER certificate, read without parsing the rest.

    Alipay's root bundles hold SM2 and ECDSA certificates that not every X.509 library parses
    (an ECDSA AlgorithmIdentifier with explicit NULL parameters, for one); they only need to be
    recognised and skipped.
    """
    try:
        tag, start, _ = _der_item(der, 0)  # Certificate SEQUENCE
        _, _, tbs_end = _der_item(der, start)  # tbsCertificate
        _, alg_start, _ = _der_item(der, tbs_end)  # signatureAlgorithm SEQUENCE
        oid_tag, oid_start, oid_end = _der_item(der, alg_start)
    except (IndexError, ValueError):
        raise KeyFormatError("certificate: not a DER certificate") from None
    if tag != 0x30 or oid_tag != 0x06:
        raise KeyFormatError("certificate: not a DER certificate")
    return _oid_string(der[oid_start:oid_end])


def _issuer_dn(cert: x509.Certificate) -> str:
    # rfc4514_string() already lists the most specific RDN (CN) first, like Java's getName().
    return cert.issuer.rfc4514_string()


def _sn_of(cert: x509.Certificate) -> str:
    digest = hashlib.md5(  # noqa: S324 - Alipay defines the SN as an MD5, not for security
        (_issuer_dn(cert) + str(cert.serial_number)).encode("utf-8")
    ).hexdigest()
    return digest.zfill(32)


def cert_sn(source: str | bytes | os.PathLike[str]) -> str:
    """``app_cert_sn`` / ``alipay_cert_sn`` of a certificate (the first one in the file)."""
    return _sn_of(_load_der(_pem_blocks(source)[0]))


def root_cert_sn(source: str | bytes | os.PathLike[str]) -> str:
    """``alipay_root_cert_sn`` of Alipay's root bundle: RSA certificates only, joined by ``_``."""
    sns = [
        _sn_of(_load_der(der))
        for der in _pem_blocks(source)
        if signature_algorithm_oid(der).startswith(_RSA_SIGNATURE_OID_PREFIX + ".")
    ]
    if not sns:
        raise KeyFormatError("root certificate: no RSA certificate in the bundle")
    return "_".join(sns)
