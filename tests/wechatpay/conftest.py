"""Fixtures for the WeChat Pay protocol tests: a merchant, WeChat's keys, a faithful peer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from zhifu.wechatpay import (
    MerchantCertificate,
    WechatPayClient,
    generate_merchant_certificate,
    load_certificate,
)

from .peer import FakeWechatPay, Mode, WechatKey, new_platform_certificate, new_public_key

MCHID = "1900000109"
APPID = "wxd678efh567hg6787"
APIV3_KEY = "a9B8c7D6e5F4g3H2i1J0k9L8m7N6o5P4"  # 32 characters, as set in the portal
NOTIFY_URL = "https://shop.example.com/wechatpay/notify/"


@pytest.fixture(scope="session")
def merchant() -> MerchantCertificate:
    return generate_merchant_certificate(MCHID)


@pytest.fixture(scope="session")
def wechat_public_key() -> WechatKey:
    return new_public_key()


@pytest.fixture(scope="session")
def platform_key() -> WechatKey:
    return new_platform_certificate()


@pytest.fixture
def make_peer(
    merchant: MerchantCertificate, wechat_public_key: WechatKey, platform_key: WechatKey
) -> Callable[..., FakeWechatPay]:
    def make(mode: Mode = "public_key", **options: Any) -> FakeWechatPay:
        return FakeWechatPay(
            mchid=MCHID,
            merchant_certificate=load_certificate(merchant.certificate_pem),
            merchant_serial=merchant.serial,
            apiv3_key=APIV3_KEY.encode(),
            mode=mode,
            public_key=wechat_public_key,
            platform=[platform_key],
            **options,
        )

    return make


@pytest.fixture
def peer(make_peer: Callable[..., FakeWechatPay]) -> FakeWechatPay:
    return make_peer()


@pytest.fixture
def make_client(
    merchant: MerchantCertificate,
) -> Callable[..., WechatPayClient]:
    def make(peer: FakeWechatPay, *, public_key: bool = True, **options: Any) -> WechatPayClient:
        keys: dict[str, Any] = {}
        if public_key:
            keys = {
                "wechatpay_public_key": peer.public_key.private_key.public_key(),
                "wechatpay_public_key_id": peer.public_key.serial,
            }
        settings: dict[str, Any] = {
            "mchid": MCHID,
            "appid": APPID,
            "merchant_private_key": merchant.private_pem,
            "merchant_serial_no": merchant.serial,
            "apiv3_key": APIV3_KEY,
            "notify_url": NOTIFY_URL,
            "base_url": "https://api.mch.weixin.qq.com",
            "transport": peer.transport(),
            **keys,
        }
        return WechatPayClient(**{**settings, **options})

    return make


@pytest.fixture
def client(peer: FakeWechatPay, make_client: Callable[..., WechatPayClient]) -> WechatPayClient:
    return make_client(peer)
