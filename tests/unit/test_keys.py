"""Loading keys in every form Alipay users meet; refusing wrong ones with a clear message."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from zhifu.alipay import (
    KeyFormatError,
    KeyPair,
    Signer,
    Verifier,
    generate_key_pair,
    load_private_key,
    load_public_key,
)
from zhifu.alipay.keys import one_line, public_key_pem

from .conftest import FIXTURES


def _numbers(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> rsa.RSAPublicNumbers:
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_numbers()


def _pkcs1_pem(pair: KeyPair) -> str:
    key = load_private_key(pair.private_pem)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def test_generated_pair_is_2048_bit_pkcs8_and_spki(app_keys: KeyPair) -> None:
    assert app_keys.private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert app_keys.public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    key = load_private_key(app_keys.private_pem)
    assert key.key_size == 2048
    assert _numbers(key) == _numbers(load_public_key(app_keys.public_pem))
    assert "\n" not in app_keys.public_one_line and "-" not in app_keys.public_one_line


def test_private_key_forms_all_load_to_the_same_key(app_keys: KeyPair, tmp_path: Path) -> None:
    pkcs1 = _pkcs1_pem(app_keys)
    assert pkcs1.startswith("-----BEGIN RSA PRIVATE KEY-----")
    pkcs8_file = tmp_path / "app_private_key.pem"
    pkcs8_file.write_text(app_keys.private_pem)
    forms: list[object] = [
        app_keys.private_pem,  # PKCS#8 PEM
        pkcs1,  # PKCS#1 PEM
        app_keys.private_one_line,  # bare base64 PKCS#8 (Alipay key tool, "Java")
        one_line(pkcs1),  # bare base64 PKCS#1 ("non-Java")
        str(pkcs8_file),  # a path as text
        pkcs8_file,  # a Path
        app_keys.private_pem.encode(),  # bytes
        app_keys.private_pem.replace("\n", "\\n"),  # pasted into an env var with literal \n
        app_keys.private_pem.replace("\n", " "),  # line breaks lost
        "\n  " + app_keys.private_pem + "\n\n",  # surrounding whitespace
    ]
    expected = _numbers(load_private_key(app_keys.private_pem))
    for form in forms:
        assert _numbers(load_private_key(form)) == expected, repr(form)[:60]  # type: ignore[arg-type]


def test_public_key_forms_all_load(app_keys: KeyPair, tmp_path: Path) -> None:
    key = load_public_key(app_keys.public_pem)
    pkcs1_pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
    ).decode()
    path = tmp_path / "alipay_public_key.pem"
    path.write_text(app_keys.public_pem)
    for form in (
        app_keys.public_pem,
        app_keys.public_one_line,  # what the Alipay console shows
        pkcs1_pem,  # "BEGIN RSA PUBLIC KEY"
        path,
        str(path),
        app_keys.public_pem.replace("\n", "\\n"),
    ):
        assert _numbers(load_public_key(form)) == _numbers(key)


def test_public_key_from_certificate_pem_der_and_file() -> None:
    cert_path = FIXTURES / "fzlee" / "app_public_key_cert.crt"
    expected = _numbers(load_public_key(FIXTURES / "fzlee" / "app_public_key.pem"))
    assert _numbers(load_public_key(cert_path)) == expected
    pem = cert_path.read_text()
    assert _numbers(load_public_key(pem)) == expected
    der_b64 = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    assert _numbers(load_public_key(der_b64)) == expected


def test_fzlee_pkcs1_private_key_matches_its_public_key_and_cert() -> None:
    key = load_private_key(FIXTURES / "fzlee" / "app_private_key_pkcs1.pem")
    assert _numbers(key) == _numbers(load_public_key(FIXTURES / "fzlee" / "app_public_key.pem"))


def test_public_key_pem_of_private_key_is_its_public_half(app_keys: KeyPair) -> None:
    key = load_private_key(app_keys.private_pem)
    assert public_key_pem(key) == app_keys.public_pem


def test_loaded_key_objects_pass_through(app_keys: KeyPair) -> None:
    key = load_private_key(app_keys.private_pem)
    assert load_private_key(key) is key
    public = key.public_key()
    assert load_public_key(public) is public


@pytest.mark.parametrize(
    ("loader", "which", "message"),
    [
        (load_private_key, "public_pem", "public key, not a private key"),
        (load_private_key, "public_one_line", "is a public key, not a private key"),
        (load_public_key, "private_pem", "this is a private key"),
        (load_public_key, "private_one_line", "is a private key"),
    ],
)
def test_wrong_kind_of_key_is_named(
    app_keys: KeyPair, loader: object, which: str, message: str
) -> None:
    with pytest.raises(KeyFormatError, match=message):
        loader(getattr(app_keys, which))  # type: ignore[operator]


def test_certificate_given_as_private_key() -> None:
    with pytest.raises(KeyFormatError, match="certificate, not a private key"):
        load_private_key((FIXTURES / "fzlee" / "app_public_key_cert.crt").read_text())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty key"),
        ("   ", "empty key"),
        ("not a key at all!", "not PEM, not valid base64"),
        ("MIIBIjANBgkqhkiG9w0BAQ", "not PEM, not valid base64"),  # truncated base64
        (base64.b64encode(b"hello world, not DER").decode(), "cannot parse the key"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "cannot parse"),
        ("钥匙", "non-ASCII"),
    ],
)
def test_garbage_private_keys(text: str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message) as info:
        load_private_key(text)
    assert "app private key" in str(info.value)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(KeyFormatError, match="cannot read"):
        load_private_key(tmp_path / "nope.pem")
    (tmp_path / "empty.pem").write_text("")
    with pytest.raises(KeyFormatError, match="is empty"):
        load_public_key(tmp_path / "empty.pem")


def test_wrong_type_of_source() -> None:
    with pytest.raises(KeyFormatError, match="expected PEM text"):
        load_private_key(12345)  # type: ignore[arg-type]


def test_1024_bit_keys_are_refused() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = weak.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with pytest.raises(KeyFormatError, match="1024 bits is too weak"):
        load_private_key(pem)
    with pytest.raises(KeyFormatError, match="1024 bits"):
        load_private_key(weak)
    with pytest.raises(KeyFormatError, match="1024 bits"):
        load_public_key(public_key_pem(weak))
    with pytest.raises(KeyFormatError, match="1024"):
        generate_key_pair(1024)


def test_encrypted_private_key_is_refused_with_advice(app_keys: KeyPair) -> None:
    key = load_private_key(app_keys.private_pem)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    ).decode()
    assert "ENCRYPTED" in encrypted
    with pytest.raises(KeyFormatError, match="encrypted with a passphrase"):
        load_private_key(encrypted)
    legacy = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(b"secret"),
    ).decode()
    assert "Proc-Type" in legacy
    with pytest.raises(KeyFormatError, match="encrypted"):
        load_private_key(legacy)
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    with pytest.raises(KeyFormatError, match="encrypted"):
        load_private_key(base64.b64encode(der).decode())


def test_non_rsa_keys_are_refused() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    pem = ec_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with pytest.raises(KeyFormatError, match="not an RSA key"):
        load_private_key(pem)
    public = ec_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(KeyFormatError, match="not an RSA key"):
        load_public_key(public.decode())


def test_keys_loaded_in_any_form_sign_and_verify_together(app_keys: KeyPair) -> None:
    signer = Signer(one_line(_pkcs1_pem(app_keys)))
    verifier = Verifier(app_keys.public_one_line)
    assert verifier.verify("a=1&b=2", signer.sign("a=1&b=2"))
