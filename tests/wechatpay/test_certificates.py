"""Platform certificates: downloaded, decrypted with the APIv3 key, cached, refreshed on rotation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from zhifu.wechatpay import (
    DecryptionError,
    PlatformCertificates,
    SignatureError,
    WechatPayAPIError,
    WechatPayClient,
    WechatPayResponseError,
    encrypt_resource,
    parse_certificates_response,
)

from .conftest import APIV3_KEY
from .peer import FakeWechatPay, WechatKey, new_platform_certificate


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cert_client(
    make_client: Callable[..., WechatPayClient], peer: FakeWechatPay, **options: object
) -> WechatPayClient:
    return make_client(peer, public_key=False, **options)


def test_first_certificate_signed_answer_downloads_once(
    make_peer: Callable[..., FakeWechatPay], make_client: Callable[..., WechatPayClient]
) -> None:
    peer = make_peer("certificate")
    client = cert_client(make_client, peer)
    assert peer.requests == []  # nothing at construction
    client.native(out_trade_no="ZF20261202K001", total="1.00", description="x")
    assert peer.certificate_downloads == 1
    assert [r.url.path for r in peer.requests] == [
        "/v3/pay/transactions/native",
        "/v3/certificates",
    ]
    # The certificate is known now: it is named in Wechatpay-Serial and not downloaded again.
    client.query(out_trade_no="ZF20261202K001")
    assert peer.certificate_downloads == 1
    assert peer.requests[-1].headers["Wechatpay-Serial"] == peer.platform[0].serial


def test_rotation_is_followed_and_refreshes_are_rate_limited(
    make_peer: Callable[..., FakeWechatPay], make_client: Callable[..., WechatPayClient]
) -> None:
    peer = make_peer("certificate")
    ticks = Ticks()
    store = PlatformCertificates(monotonic=ticks)
    client = cert_client(make_client, peer, platform_certificates=store)
    client.native(out_trade_no="ZF20261202K002", total="1.00", description="x")
    assert peer.certificate_downloads == 1
    new = peer.rotate_platform_certificate()
    # Within a minute of the last download an unknown serial is refused, not re-downloaded:
    # forged serials cannot make the site hammer WeChat.
    ticks.now += 10
    with pytest.raises(SignatureError, match=f"{new.serial}.*not among the known ones"):
        client.query(out_trade_no="ZF20261202K002")
    assert peer.certificate_downloads == 1
    ticks.now += 60
    assert client.query(out_trade_no="ZF20261202K002").trade_state == "NOTPAY"
    assert peer.certificate_downloads == 2
    assert set(store.serials) == {peer.platform[0].serial, new.serial}
    assert store.newest() is not None and store.newest().serial == new.serial  # type: ignore[union-attr]


def test_cache_dir_keeps_certificates_between_clients(
    make_peer: Callable[..., FakeWechatPay],
    make_client: Callable[..., WechatPayClient],
    tmp_path: Path,
) -> None:
    peer = make_peer("certificate")
    cache = tmp_path / "wechatpay-certs"
    cert_client(make_client, peer, certificate_cache_dir=str(cache)).native(
        out_trade_no="ZF20261202K003", total="1.00", description="x"
    )
    serial = peer.platform[0].serial
    assert (cache / f"{serial}.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")
    second = cert_client(make_client, peer, certificate_cache_dir=str(cache))
    second.query(out_trade_no="ZF20261202K003")
    assert peer.certificate_downloads == 1
    (cache / f"{serial}.pem").write_text("damaged")
    third = cert_client(make_client, peer, certificate_cache_dir=str(cache))
    third.query(out_trade_no="ZF20261202K003")  # a damaged cache file is downloaded again
    assert peer.certificate_downloads == 2


def test_seeded_certificates_need_no_download(
    make_peer: Callable[..., FakeWechatPay], make_client: Callable[..., WechatPayClient]
) -> None:
    peer = make_peer("certificate")
    client = cert_client(
        make_client, peer, platform_certificates=[peer.platform[0].certificate_pem]
    )
    client.native(out_trade_no="ZF20261202K004", total="1.00", description="x")
    assert peer.certificate_downloads == 0


def test_wrong_apiv3_key_is_named(
    make_peer: Callable[..., FakeWechatPay], make_client: Callable[..., WechatPayClient]
) -> None:
    peer = make_peer("certificate")
    client = cert_client(make_client, peer, apiv3_key="Z" * 32)
    with pytest.raises(
        SignatureError, match=r"downloading the platform certificates failed.*wrong APIv3 key"
    ) as caught:
        client.native(out_trade_no="ZF20261202K005", total="1.00", description="x")
    assert isinstance(caught.value.__cause__, DecryptionError)
    # Asked for directly, the download names the problem itself.
    with pytest.raises(DecryptionError, match="wrong APIv3 key"):
        client.download_certificates()


def test_public_key_merchants_have_no_certificates(
    peer: FakeWechatPay, client: WechatPayClient
) -> None:
    with pytest.raises(WechatPayAPIError) as caught:
        client.download_certificates()
    assert (caught.value.status, caught.value.code) == (404, "RESOURCE_NOT_EXISTS")


def test_migration_accepts_both_keys(
    make_peer: Callable[..., FakeWechatPay], make_client: Callable[..., WechatPayClient]
) -> None:
    peer = make_peer("migration")
    client = make_client(peer, platform_certificates=True)
    # Answers are signed with the key the request names: the public key id.
    client.native(out_trade_no="ZF20261202M001", total="1.00", description="x")
    assert peer.requests[-1].headers["Wechatpay-Serial"] == peer.public_key.serial
    assert peer.certificate_downloads == 0
    resource = peer.pay("ZF20261202M001")
    headers, body = peer.notification("TRANSACTION.SUCCESS", resource)  # certificate-signed
    notification = client.verify_notification(headers, body)
    assert notification.signature is not None
    assert notification.signature.key_kind == "platform_certificate"
    assert peer.certificate_downloads == 1
    headers, body = peer.notification("TRANSACTION.SUCCESS", resource, key=peer.public_key)
    assert client.verify_notification(headers, body).signature.key_kind == "public_key"  # type: ignore[union-attr]


def test_download_answer_is_verified_with_what_it_carries(
    make_peer: Callable[..., FakeWechatPay], make_client: Callable[..., WechatPayClient]
) -> None:
    peer = make_peer("certificate")
    client = cert_client(make_client, peer)
    peer.probe_next = True
    with pytest.raises(SignatureError):
        client.download_certificates()
    assert [c.serial for c in client.download_certificates()] == [peer.platform[0].serial]


def _item(key: WechatKey, serial: str | None = None) -> dict[str, object]:
    return {
        "serial_no": serial or key.serial,
        "effective_time": "2026-01-01T00:00:00+08:00",
        "expire_time": "2031-01-01T00:00:00+08:00",
        "encrypt_certificate": encrypt_resource(
            APIV3_KEY.encode(), key.certificate_pem.encode(), "certificate"
        ),
    }


def test_parse_refuses_a_serial_that_does_not_match(platform_key: WechatKey) -> None:
    data = {"data": [_item(platform_key, serial="5157F09EFDC096DE15EBE81A47057A7232F1B8E1")]}
    with pytest.raises(WechatPayResponseError, match="has serial"):
        parse_certificates_response(data, APIV3_KEY.encode())


def test_parse_leaves_out_expired_certificates(platform_key: WechatKey) -> None:
    old = new_platform_certificate(days=1)
    data = {"data": [_item(platform_key), _item(old)]}
    later = datetime.now(UTC) + timedelta(days=30)
    assert [c.serial for c in parse_certificates_response(data, APIV3_KEY.encode(), now=later)] == [
        platform_key.serial
    ]


@pytest.mark.parametrize(
    "data", [None, {}, {"data": {}}, {"data": [1]}, {"data": [{"serial_no": 5}]}]
)
def test_parse_malformed_answers(data: object) -> None:
    with pytest.raises(WechatPayResponseError):
        parse_certificates_response(data, APIV3_KEY.encode())


def test_concurrent_unknown_serials_download_once(platform_key: WechatKey) -> None:
    import threading
    import time

    from zhifu.wechatpay import PlatformCertificate

    calls: list[int] = []
    gate = threading.Event()

    def fetch() -> list[PlatformCertificate]:
        calls.append(1)
        gate.wait(5)  # hold the download open while the other threads ask
        return [PlatformCertificate.load(platform_key.certificate_pem)]

    store = PlatformCertificates(fetcher=fetch)
    found: list[object] = []
    threads = [
        threading.Thread(target=lambda: found.append(store.lookup(platform_key.serial)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.2)  # the first is downloading, the others are waiting for it
    gate.set()
    for thread in threads:
        thread.join(10)
    assert len(calls) == 1
    assert len(found) == 4 and all(cert is not None for cert in found)
