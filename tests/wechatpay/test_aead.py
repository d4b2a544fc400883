"""AEAD_AES_256_GCM: the known-answer vectors of WeChat's own SDK, round trips, refusals."""

from __future__ import annotations

import base64
import json

import pytest

from zhifu.wechatpay import DecryptionError, decrypt, decrypt_resource, encrypt, encrypt_resource
from zhifu.wechatpay.aead import new_nonce

from .vectors import GO_AES, GO_NOTIFY

KEY = b"a9B8c7D6e5F4g3H2i1J0k9L8m7N6o5P4"


def test_go_sdk_aes_vector_decrypts_to_hello_world() -> None:
    v = GO_AES
    assert decrypt(v["key"], v["nonce"], v["associated_data"], v["ciphertext"]) == b"Hello World"


def test_go_sdk_notification_vector_decrypts_to_its_json() -> None:
    v = GO_NOTIFY
    plaintext = decrypt(v["key"], v["nonce"], v["associated_data"], v["ciphertext"])
    assert plaintext.decode() == v["plaintext"]
    assert json.loads(plaintext)["out_contract_code"] == "21640bdbd08e473e828f3206a2741c6e"


def test_go_sdk_vector_as_a_resource_object() -> None:
    v = GO_NOTIFY
    resource = {
        "original_type": "payscore",
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": v["ciphertext"],
        "associated_data": v["associated_data"],
        "nonce": v["nonce"],
    }
    assert decrypt_resource(v["key"], resource).decode() == v["plaintext"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"key": b"testAPIv3Key1111"}, "wrong APIv3 key"),  # the Go SDK's "wrong aes key"
        ({"key": b"not a aes key"}, "AES key of 13 bytes"),
        ({"associated_data": "certificate"}, "wrong APIv3 key"),
        ({"nonce": "wCq51qZv4Yfh"}, "wrong APIv3 key"),
        ({"ciphertext": "invalid cipher"}, "not valid base64"),
        ({"ciphertext": "SGVsbG8gV29ybGQK"}, "shorter than the 16-byte GCM tag"),
        ({"nonce": ""}, "no nonce"),
    ],
)
def test_vector_refused_when_anything_differs(change: dict[str, object], message: str) -> None:
    v = {**GO_AES, **change}
    with pytest.raises(DecryptionError, match=message):
        decrypt(v["key"], v["nonce"], v["associated_data"], v["ciphertext"])  # type: ignore[arg-type]


def test_round_trip_with_a_32_byte_key_and_empty_aad() -> None:
    nonce = new_nonce()
    assert len(nonce) == 12
    sealed = encrypt(KEY, nonce, "", "支付成功".encode())
    assert len(base64.b64decode(sealed)) == len("支付成功".encode()) + 16  # ciphertext ‖ tag
    assert decrypt(KEY, nonce, "", sealed).decode() == "支付成功"


def test_flipped_ciphertext_bit_is_refused() -> None:
    resource = encrypt_resource(KEY, b'{"a":1}', "transaction", original_type="transaction")
    raw = bytearray(base64.b64decode(resource["ciphertext"]))
    raw[0] ^= 1
    resource["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(DecryptionError):
        decrypt_resource(KEY, resource)


@pytest.mark.parametrize(
    "resource",
    [None, [], {"algorithm": "AEAD_SM4_GCM"}, {"algorithm": "AEAD_AES_256_GCM", "nonce": 5}],
)
def test_malformed_resources_are_named(resource: object) -> None:
    with pytest.raises(DecryptionError):
        decrypt_resource(KEY, resource)
