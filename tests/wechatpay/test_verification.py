"""Verifying WeChat's signatures: the official SDK's vector, probes, stale times, key choice."""

from __future__ import annotations

import time

import pytest

from zhifu.wechatpay import SignatureError, Verifier, response_headers

from .peer import WechatKey

# wechatpay-apiv3/wechatpay-go core/notify/notify_test.go: a real-format notification signed by
# the platform certificate below, at Unix time 1624523846 (reference section 4.2).
GO_CERTIFICATE = """-----BEGIN CERTIFICATE-----
MIIDVzCCAj+gAwIBAgIJANfOWdH1ItcBMA0GCSqGSIb3DQEBCwUAMEIxCzAJBgNV
BAYTAlhYMRUwEwYDVQQHDAxEZWZhdWx0IENpdHkxHDAaBgNVBAoME0RlZmF1bHQg
Q29tcGFueSBMdGQwHhcNMjEwNDI3MDg1NTIzWhcNMzEwNDI1MDg1NTIzWjBCMQsw
CQYDVQQGEwJYWDEVMBMGA1UEBwwMRGVmYXVsdCBDaXR5MRwwGgYDVQQKDBNEZWZh
dWx0IENvbXBhbnkgTHRkMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA
2VCTd91fnUn73Xy9DLvt/V62TVxRTEEstVdeRaZ3B3leO0pldE806mXO4RwdHXag
HQ4vGeZN0yqm++rDsGK+U3AH7kejyD2pXshNP9Cq5YwbptiLGtjcquw4HNxJQUOm
DeJf2vg6byms9RUipiq4SzbJKqJFlUpbuIPDpSpWz10PYmyCNeDGUUK65E5h2B83
4uxl1zNLYQCrkdBzb8oUxwYeP5a2DNxmjL5lsJML7DGr5znsevnoqGRwTm9fxCGf
y8wus7hwKz6clt3Whmmda7UAdb1c08hEQFVRbF14AR73xbnd8N0obCWJPCbzMCtk
aSef4FdEEgEXJiw0VAJT8wIDAQABo1AwTjAdBgNVHQ4EFgQUT1c7nd/SUO76HSoZ
umNUJv1R5PwwHwYDVR0jBBgwFoAUT1c7nd/SUO76HSoZumNUJv1R5PwwDAYDVR0T
BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOCAQEAfTjxKRQMzNB/U6ZoCUS+BSNfa2Oh
0plMN6ZuzwiVVZwg1jywvv5yv04koS7Pd4i9E4gt9ZBUQXlpq+A3oOCEEHNRR6b2
kyazGRM7s0OP5X21WrbpSmKmU6K7hkfx30yYs08LVs/Q8DIhvaj1FCFeJzUCzYn/
fHMq4tsbKO0dKAeydPM/nrUZBmaYQVKMVOORGLFjFKVO7JV6Kq/R86ouhjEPgJOe
2xulNBUcjicqtZlBdEh/PWCYP2SpGVDclKm8jeo175T3EVAkdKzzmfpxtMmnMlmq
cTJOU9TxuGvNASMtjj7pYIerTx+xgZDXEVBWFW9PjJ0TV06tCRsgSHItgg==
-----END CERTIFICATE-----"""
GO_HEADERS = {
    "Content-Type": "application/json",
    "Wechatpay-Nonce": "EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz",
    "Wechatpay-Timestamp": "1624523846",
    "Wechatpay-Serial": "D7CE59D1F522D701",
    "Wechatpay-Signature": (
        "tJHIiIS9eB2hAYstmAmbbD3ZE5LiIm/Ug5tuL4fC0YOFRWIHV39UFIZXC0e9Wl6lBu6sKvkqDkzpqzBsVHyXF"
        "lbYZTOQrVdG4b6LfTnK4mikv9++ixJMd3vTf2yCqvBkh98zs3Ds5zsYQakzbcwhmw4fMJs4nPLws28H0UW9FjDR"
        "//rxELLwXvV1VEA1IBLX70xptjL8hrfUjEE8kkry6yNJTHZRU8CAc7qHli2Ng1V1qb9ARbK8A3ThmFmPQvRGrap"
        "I/jS2laKKgYUmfdEdkNO6B2Cke5e8VTxY406ArAmQ90GAihDwIcb16TQMnzCMBoutnwZKNiKRACrFmtxw2Q=="
    ),
}
GO_BODY = (
    '{"id":"3119dfba-e649-5eec-ab1e-3412bc4d2e17","create_time":"2021-06-24T16:37:26+08:00",'
    '"resource_type":"encrypt-resource","event_type":"PAYSCORE.USER_OPEN_SERVICE",'
    '"summary":"签约成功","resource":{"original_type":"payscore","algorithm":"AEAD_AES_256_GCM",'
    '"ciphertext":"YDS3lKPaC4Y52Gf3uhft5qUBlIa8b428AWTtTauHQfQrRw+X1WpiuHIDy0vo1Vd6VEq67aVyqPdDY'
    "MkRVSDaZL3iZttevRMOoPKMifozg6XPWjIZumks/GpT48lI4NizyeaqLBokNebthah3o1H76qSlO9NkDjp9bzmKLEY"
    'YH9TEklFUpsvPqOTOcgSLgh21YJXYR7dEBXFgRLiNIKRgO5JdXh1hccRUAlyVWxE54PXpnQ==",'
    '"associated_data":"payscore","nonce":"Kj7QIyUiYx1q"}}'
).encode()
GO_NOW = 1624523846


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
