"""Certificate mode: Alipay's certificate serial numbers, checked against published values."""

from __future__ import annotations

import pytest

from zhifu.alipay import KeyFormatError, cert_sn, root_cert_sn
from zhifu.alipay.certs import load_certificates, signature_algorithm_oid

from .conftest import FIXTURES

FZ = FIXTURES / "fzlee"
YS = FIXTURES / "yansongda"


def test_fzlee_test_certificates_have_the_published_sns() -> None:
    # Values from the reference (section 7), verified there with another implementation.
    assert root_cert_sn(FZ / "alipay_root_cert.crt") == "6bc29aa3b4d406c43483ffea81e08d22"
    assert cert_sn(FZ / "app_public_key_cert.crt") == "75852781c31e6a29e6551915a592dcb3"
    assert cert_sn(FZ / "alipay_public_key_cert.crt") == "abe4af5e686f52544fcd9d5592fce1f3"


def test_production_root_bundle_sn() -> None:
    # yansongda/pay asserts this for Alipay's real alipayRootCert.crt; seen in many codebases.
    assert (
        root_cert_sn(YS / "alipayRootCert.crt")
        == "687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6"
    )


def test_root_bundle_skips_sm2_and_ecdsa_by_signature_oid() -> None:
    text = (FZ / "alipay_root_cert.crt").read_bytes()
    import base64
    import re

    ders = [
        base64.b64decode(b"".join(block.split()))
        for block in re.findall(rb"-----BEGIN CERTIFICATE-----(.+?)-----END", text, re.DOTALL)
    ]
    assert [signature_algorithm_oid(der) for der in ders] == [
        "1.2.156.10197.1.501",  # SM2-with-SM3
        "1.2.840.113549.1.1.11",  # sha256WithRSAEncryption
        "1.2.840.10045.4.3.2",  # ecdsa-with-SHA256 (with NULL parameters: not parseable by all)
    ]


def test_sn_accepts_text_and_paths() -> None:
    text = (FZ / "app_public_key_cert.crt").read_text()
    assert cert_sn(text) == cert_sn(str(FZ / "app_public_key_cert.crt"))
    assert cert_sn(text.encode()) == "75852781c31e6a29e6551915a592dcb3"


def test_certificate_chain_file_yields_every_cert() -> None:
    assert len(load_certificates(FZ / "alipay_public_key_cert.crt")) == 2


def test_errors_are_key_format_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(KeyFormatError, match="cannot read"):
        cert_sn(tmp_path / "missing.crt")
    with pytest.raises(KeyFormatError, match="no '-----BEGIN CERTIFICATE-----'"):
        cert_sn("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
    bundle = (FZ / "alipay_root_cert.crt").read_text().split("-----END CERTIFICATE-----")[0]
    with pytest.raises(KeyFormatError, match="no RSA certificate"):
        root_cert_sn(bundle + "-----END CERTIFICATE-----\n")
    with pytest.raises(KeyFormatError, match="not a DER certificate"):
        signature_algorithm_oid(b"\x30\x01")
