"""The WeChat Pay notifications the probe sends, all about orders it made up.

The genuine-looking one is built as the sandbox builds its own: the sandbox's Transaction object
(:meth:`zhifu.sandbox.wechat.orders.Order.as_json`) of a made-up paid order of 1 fen, encrypted
with the APIv3 key (:func:`zhifu.wechatpay.build_notification`) and signed with WeChat Pay's key
(:func:`zhifu.wechatpay.response_headers`); the others are that message tampered with.
"""

from __future__ import annotations

import functools
import secrets
import string
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from zhifu.sandbox.wechat.orders import Order
from zhifu.wechatpay import PROBE_PREFIX, build_notification, response_headers

from .keys import WechatParty
from .transport import Message

__all__ = ["forged", "malformed", "signed", "signtest", "unsigned"]

WECHAT_HEADERS = {"Content-Type": "application/json"}


@functools.cache
def attacker_key() -> rsa.RSAPrivateKey:
    """A key nobody trusts: what a forger signs with (made once per run)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def _attacker_apiv3() -> bytes:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32)).encode()


def _digits(n: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(n))


def _resource(party: WechatParty, out_trade_no: str) -> dict[str, Any]:
    now = time.time()
    order = Order(
        id=0,
        mchid=party.mchid,
        appid=party.appid,
        out_trade_no=out_trade_no,
        transaction_id="4200" + _digits(24),
        trade_type="NATIVE",
        trade_state="SUCCESS",
        request={},
        description="zhifu probe",
        attach="",
        notify_url="",
        total_fen=1,
        openid="o" + secrets.token_hex(13),
        buyer_login="",
        pay_token="",
        created_at=now - 60,
        expires_at=now + 900,
        paid_at=now - 5,
        closed_at=None,
        close_reason="",
        refunded_fen=0,
    )
    return order.as_json()


def _body(party: WechatParty, out_trade_no: str, apiv3_key: bytes) -> bytes:
    return build_notification(apiv3_key, "TRANSACTION.SUCCESS", _resource(party, out_trade_no))


def _headers(key: rsa.RSAPrivateKey, serial: str, body: bytes) -> dict[str, str]:
    headers = response_headers(key, serial, body)
    headers.update(WECHAT_HEADERS)
    headers["Request-ID"] = secrets.token_hex(16)
    return headers


def signed(party: WechatParty, out_trade_no: str) -> Message:
    """A notification WeChat Pay could have sent: encrypted with the merchant's APIv3 key and
    signed with the key the site should trust, timestamped now."""
    if party.private_key is None or party.apiv3_key is None:
        raise ValueError("no WeChat Pay signing key or APIv3 key")
    body = _body(party, out_trade_no, party.apiv3_key)
    return Message(body, _headers(party.private_key, party.serial, body))


def forged(party: WechatParty, out_trade_no: str) -> Message:
    """Well formed, naming the serial the site trusts, signed with an attacker's key (the
    resource encrypted with the real APIv3 key when the probe has it, so that only the
    signature is wrong)."""
    body = _body(party, out_trade_no, party.apiv3_key or _attacker_apiv3())
    return Message(body, _headers(attacker_key(), party.serial, body))


def signtest(party: WechatParty, out_trade_no: str) -> Message:
    """WeChat's own probe: a ``Wechatpay-Signature`` starting ``WECHATPAY/SIGNTEST/``, on a
    message otherwise genuine when the probe has the keys (the sandbox's fault does the same)."""
    message = signed(party, out_trade_no) if party.can_sign else forged(party, out_trade_no)
    headers = dict(message.headers)
    headers["Wechatpay-Signature"] = PROBE_PREFIX + headers["Wechatpay-Signature"]
    return Message(message.body, headers)


def unsigned(party: WechatParty, out_trade_no: str) -> Message:
    """The message without any ``Wechatpay-*`` header: a handler that verifies only when a
    signature is present accepts it."""
    message = forged(party, out_trade_no)
    headers = {k: v for k, v in message.headers.items() if not k.lower().startswith("wechatpay-")}
    return Message(message.body, headers)


def malformed() -> Message:
    """Not a notification: a body that is not JSON, headers with nonsense values."""
    headers = {
        **WECHAT_HEADERS,
        "Request-ID": secrets.token_hex(16),
        "Wechatpay-Timestamp": "not-a-time",
        "Wechatpay-Nonce": "",
        "Wechatpay-Signature": "%%% not base64 %%%",
        "Wechatpay-Serial": "../../etc/passwd",
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }
    return Message(b'{"id": "probe", "resource": {"ciphertext": \xff\xfe', headers)
