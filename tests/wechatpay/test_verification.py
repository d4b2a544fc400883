"""Verifying WeChat's signatures: the official SDK's vector, probes, stale times, key choice."""

from __future__ import annotations

import time

import pytest

from zhifu.wechatpay import SignatureError, Verifier, response_headers

from .peer import WechatKey
from .vectors import GO_BODY, GO_CERTIFICATE, GO_HEADERS, GO_NOW


def go_verifier() -> Verifier:
    return Verifier(certificates=[GO_CERTIFICATE], clock=lambda: GO_NOW)


def test_official_sdk_notification_verifies() -> None:
    verified = go_verifier().verify(GO_HEADERS, GO_BODY)
    assert verified.serial == "D7CE59D1F522D701"
    assert verified.key_kind == "platform_certificate"
    assert verified.describe() == "platform certificate D7CE59D1F522D701"


def test_official_vector_with_one_byte_changed_fails() -> None:
    with pytest.raises(SignatureError, match="does not hold"):
        go_verifier().verify(GO_HEADERS, GO_BODY.replace(b"3119dfba", b"3119dfbb"))


def test_reserialised_body_fails() -> None:
    import json

    again = json.dumps(json.loads(GO_BODY), ensure_ascii=False).encode()  # same data, spaces
    with pytest.raises(SignatureError, match="does not hold"):
        go_verifier().verify(GO_HEADERS, again)


def test_headers_in_any_case_and_as_django_meta() -> None:
    lower = {k.lower(): v for k, v in GO_HEADERS.items()}
    assert go_verifier().verify(lower, GO_BODY).timestamp == GO_NOW
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in GO_HEADERS.items()}
    meta["REMOTE_ADDR"] = "127.0.0.1"
    assert go_verifier().verify(meta, GO_BODY).timestamp == GO_NOW


@pytest.mark.parametrize(
    "missing", ["Wechatpay-Nonce", "Wechatpay-Timestamp", "Wechatpay-Serial", "Wechatpay-Signature"]
)
def test_each_of_the_four_headers_is_required(missing: str) -> None:
    headers = {k: v for k, v in GO_HEADERS.items() if k != missing}
    with pytest.raises(SignatureError, match=f"missing header {missing}"):
        go_verifier().verify(headers, GO_BODY)


def test_signtest_probe_is_refused_as_a_probe() -> None:
    headers = {
        **GO_HEADERS,
        "Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + GO_HEADERS["Wechatpay-Signature"],
    }
    with pytest.raises(SignatureError, match="SIGNTEST") as caught:
        go_verifier().verify(headers, GO_BODY)
    assert caught.value.probe
    with pytest.raises(SignatureError) as plain:
        go_verifier().verify({**GO_HEADERS, "Wechatpay-Signature": "AAAA"}, GO_BODY)
    assert not plain.value.probe


@pytest.mark.parametrize(
    ("offset", "ok"),
    [(0, True), (299, True), (-299, True), (300, False), (-300, False), (86400, False)],
)
def test_timestamp_window_is_300_seconds_either_way(offset: int, ok: bool) -> None:
    verifier = Verifier(certificates=[GO_CERTIFICATE], clock=lambda: GO_NOW + offset)
    if ok:
        verifier.verify(GO_HEADERS, GO_BODY)
    else:
        with pytest.raises(SignatureError, match="more than 300 s apart"):
            verifier.verify(GO_HEADERS, GO_BODY)


@pytest.mark.parametrize("stamp", ["", "16245238.46", "-1624523846", "١٦٢٤٥٢٣٨٤٦", "9" * 30])
def test_timestamp_must_be_unix_seconds(stamp: str) -> None:
    with pytest.raises(SignatureError):
        go_verifier().verify({**GO_HEADERS, "Wechatpay-Timestamp": stamp}, GO_BODY)


def test_other_signature_type_is_refused() -> None:
    headers = {**GO_HEADERS, "Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"}
    with pytest.raises(SignatureError, match="Signature-Type"):
        go_verifier().verify(headers, GO_BODY)


def test_migration_picks_the_key_by_serial(
    wechat_public_key: WechatKey, platform_key: WechatKey
) -> None:
    verifier = Verifier(
        public_key=wechat_public_key.private_key.public_key(),
        public_key_id=wechat_public_key.serial,
        certificates=[platform_key.certificate_pem],
    )
    body = b'{"code_url":"weixin://wxpay/bizpayurl?pr=JyC91EIz1"}'
    by_public = response_headers(wechat_public_key.private_key, wechat_public_key.serial, body)
    by_cert = response_headers(platform_key.private_key, platform_key.serial, body)
    assert verifier.verify(by_public, body).key_kind == "public_key"
    assert verifier.verify(by_cert, body).key_kind == "platform_certificate"
    # A key signing under the other's name is refused: the serial picks the key.
    crossed = response_headers(platform_key.private_key, wechat_public_key.serial, body)
    with pytest.raises(SignatureError, match="public key PUB_KEY_ID_"):
        verifier.verify(crossed, body)
    # Serials compare as numbers: a lower-case or zero-padded spelling names the same cert.
    padded = {**by_cert, "Wechatpay-Serial": "00" + platform_key.serial.lower()}
    assert verifier.verify(padded, body).key_kind == "platform_certificate"


def test_public_key_only_refuses_certificate_signatures(
    wechat_public_key: WechatKey, platform_key: WechatKey
) -> None:
    verifier = Verifier(
        public_key=wechat_public_key.private_key.public_key(),
        public_key_id=wechat_public_key.serial,
    )
    body = b"{}"
    headers = response_headers(platform_key.private_key, platform_key.serial, body)
    with pytest.raises(SignatureError, match="only the WeChat Pay public key"):
        verifier.verify(headers, body)
    other_id = response_headers(
        wechat_public_key.private_key, "PUB_KEY_ID_0100000000000000000000000000000001", body
    )
    with pytest.raises(SignatureError, match="configured one is PUB_KEY_ID_"):
        verifier.verify(other_id, body)


def test_unknown_certificate_without_download_is_named(platform_key: WechatKey) -> None:
    verifier = Verifier(certificates=[GO_CERTIFICATE])
    headers = response_headers(platform_key.private_key, platform_key.serial, b"")
    with pytest.raises(SignatureError, match=r"not among the known ones.*no way to download"):
        verifier.verify(headers, b"")


def test_a_verifier_needs_a_key() -> None:
    from zhifu.wechatpay import KeyFormatError

    with pytest.raises(KeyFormatError, match="no WeChat Pay key"):
        Verifier()
    with pytest.raises(KeyFormatError, match="together"):
        Verifier(public_key_id="PUB_KEY_ID_0114232134912410000")


def test_real_time_by_default(wechat_public_key: WechatKey) -> None:
    verifier = Verifier(
        public_key=wechat_public_key.private_key.public_key(),
        public_key_id=wechat_public_key.serial,
    )
    fresh = response_headers(wechat_public_key.private_key, wechat_public_key.serial, b"")
    verifier.verify(fresh, b"")
    old = response_headers(
        wechat_public_key.private_key,
        wechat_public_key.serial,
        b"",
        timestamp=int(time.time()) - 301,
    )
    with pytest.raises(SignatureError, match="apart"):
        verifier.verify(old, b"")
