"""The sandbox's certificate authority, for public-key certificate mode (公钥证书模式).

Like Alipay, the sandbox has a root bundle (an RSA root and an ECDSA one, which SN computation
skips, as Alipay's bundle holds SM2 and ECDSA roots beside the RSA one), an "Alipay public-key
certificate" holding the key it signs with, and one app public-key certificate per app, issued
from the app's public key (Alipay issues it from the app's CSR). SNs are computed by
:mod:`zhifu.alipay.certs`, the same code the client uses.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

__all__ = ["issue_certificate", "make_root_bundle"]

_VALID = timedelta(days=3650)


def _name(common_name: str, unit: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


ROOT_NAME = _name("Zhifu Sandbox Root CA R1", "Certification Authority", "Zhifu Sandbox")
_EC_ROOT_NAME = _name("Zhifu Sandbox Root CA E1", "Certification Authority", "Zhifu Sandbox")


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _builder(subject: x509.Name, issuer: x509.Name) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + _VALID)
    )


def make_root_bundle(key: rsa.RSAPrivateKey) -> str:
    """PEM text of the root bundle: the RSA root (signed by ``key``) first, then an ECDSA root
    that SN computation must skip."""
    ca = x509.BasicConstraints(ca=True, path_length=1)
    rsa_root = (
        _builder(ROOT_NAME, ROOT_NAME)
        .public_key(key.public_key())
        .add_extension(ca, critical=True)
        .sign(key, hashes.SHA256())
    )
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_root = (
        _builder(_EC_ROOT_NAME, _EC_ROOT_NAME)
        .public_key(ec_key.public_key())
        .add_extension(ca, critical=True)
        .sign(ec_key, hashes.SHA256())
    )
    return _pem(rsa_root) + _pem(ec_root)


def issue_certificate(
    root_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey, common_name: str, organization: str
) -> str:
    """PEM of a public-key certificate for ``public_key``, issued by the RSA root (``root_key``)."""
    cert = (
        _builder(_name(common_name, "Alipay", organization), ROOT_NAME)
        .public_key(public_key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    return _pem(cert)
