"""Keys as the merchant portal gives them: loaded from text or files, refused with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from zhifu.wechatpay import (
    KeyFormatError,
    MerchantCertificate,
    certificate_serial,
    generate_merchant_certificate,
    load_apiv3_key,
    load_certificate,
    load_private_key,
    load_public_key,
)
from zhifu.wechatpay.keys import normalise_serial, validate_public_key_id


def test_private_key_from_pem_text_path_and_one_line(
    merchant: MerchantCertificate, tmp_path: Path
) -> None:
    path = tmp_path / "apiclient_key.pem"
    path.write_text(merchant.private_pem)
    expected = load_private_key(merchant.private_pem).private_numbers()
    assert load_private_key(path).private_numbers() == expected
    assert load_private_key(str(path)).private_numbers() == expected
    # Pasted into an environment variable: literal \n instead of line breaks.
    assert load_private_key(merchant.private_pem.replace("\n", "\\n")).private_numbers() == expected
    body = "".join(line for line in merchant.private_pem.splitlines() if "-----" not in line)
    assert load_private_key(body).private_numbers() == expected


def test_pkcs1_private_key_is_accepted(merchant: MerchantCertificate) -> None:
    key = load_private_key(merchant.private_pem)
    pkcs1 = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    assert load_private_key(pkcs1).private_numbers() == key.private_numbers()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "empty"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA", "without its matching END"),
        ("not a key at all!", "not PEM"),
        ("/no/such/apiclient_key.pem", "not PEM"),
    ],
)
def test_unusable_private_keys_are_named(source: str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message):
        load_private_key(source)


def test_certificate_given_as_private_key_is_refused(merchant: MerchantCertificate) -> None:
    with pytest.raises(KeyFormatError, match="certificate, not a private key"):
        load_private_key(merchant.certificate_pem)


def test_small_key_is_refused() -> None:
    small = rsa.generate_private_key(65537, 1024)
    with pytest.raises(KeyFormatError, match="1024 bits"):
        load_private_key(small)


def test_public_key_from_pem_certificate_and_refusal_of_private(
    merchant: MerchantCertificate,
) -> None:
    from_pem = load_public_key(merchant.public_pem).public_numbers()
    assert load_public_key(merchant.certificate_pem).public_numbers() == from_pem
    with pytest.raises(KeyFormatError, match="private key"):
        load_public_key(merchant.private_pem)


def test_generated_merchant_certificate_matches_its_key(merchant: MerchantCertificate) -> None:
    cert = load_certificate(merchant.certificate_pem)
    key = load_private_key(merchant.private_pem)
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
    assert merchant.serial == certificate_serial(cert)
    assert len(merchant.serial) == 40 and merchant.serial == merchant.serial.upper()
    assert int(merchant.serial, 16) == cert.serial_number
    assert "1900000109" in cert.subject.rfc4514_string()


def test_generated_serials_differ() -> None:
    key = load_private_key(generate_merchant_certificate().private_pem)
    one = generate_merchant_certificate(private_key=key)
    two = generate_merchant_certificate(private_key=key)
    assert one.serial != two.serial


def test_apiv3_key_must_be_32_printable_ascii_characters() -> None:
    assert load_apiv3_key("a9B8c7D6e5F4g3H2i1J0k9L8m7N6o5P4") == b"a9B8c7D6e5F4g3H2i1J0k9L8m7N6o5P4"
    assert (
        load_apiv3_key(" a9B8c7D6e5F4g3H2i1J0k9L8m7N6o5P4\n") == b"a9B8c7D6e5F4g3H2i1J0k9L8m7N6o5P4"
    )
    with pytest.raises(KeyFormatError, match=r"16 characters.*exactly 32"):
        load_apiv3_key("testAPIv3Key0000")
    with pytest.raises(KeyFormatError, match="ASCII"):
        load_apiv3_key("密" * 32)
    with pytest.raises(KeyFormatError, match="printable"):
        load_apiv3_key(b"a9B8c7D6e5F4g3H2\x00i1J0k9L8m7N6o5P")
    with pytest.raises(KeyFormatError, match="expected a string"):
        load_apiv3_key(32)  # type: ignore[arg-type]


def test_serials_and_public_key_ids() -> None:
    assert normalise_serial("1dde55ad98ed71d6edd4a4a16996de7b47773a8c") == (
        "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C"
    )
    with pytest.raises(KeyFormatError, match="not a hexadecimal serial"):
        normalise_serial("PUB_KEY_ID_0000000000000024101100397200000006")
    # The id from WeChat's documentation page.
    key_id = "PUB_KEY_ID_0000000000000024101100397200000006"
    assert validate_public_key_id(key_id) == key_id
    with pytest.raises(KeyFormatError, match="PUB_KEY_ID_<digits>"):
        validate_public_key_id("5157F09EFDC096DE15EBE81A47057A7232F1B8E1")
