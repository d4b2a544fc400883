"""The Alipay notifications the probe sends, all about trades it made up.

The genuine-looking one is the sandbox's own ``trade_status_sync`` form
(:func:`zhifu.sandbox.messages.notification_form`, signed by :class:`zhifu.alipay.Signer`) for a
made-up paid trade of 0.01 yuan; the others are that form tampered with as an attacker would.
"""

from __future__ import annotations

import functools
import secrets
import string
import time
from decimal import Decimal
from urllib.parse import urlencode

from zhifu.alipay import Signer, generate_key_pair
from zhifu.sandbox.accounts import App
from zhifu.sandbox.messages import new_notify_id, notification_form
from zhifu.sandbox.trades import Trade

from .keys import AlipayParty
from .transport import Message

__all__ = [
    "PREFIX",
    "forged",
    "made_up_out_trade_no",
    "malformed",
    "signed",
    "unsigned",
]

PREFIX = "ZHIFUPROBE"  # every trade number the probe sends starts with it
CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
_ALPHABET = string.ascii_uppercase + string.digits


def made_up_out_trade_no() -> str:
    """``ZHIFUPROBE`` + 16 random letters and digits: 26 characters, valid for both gateways
    (≤ 32 for WeChat Pay) and never one a site created."""
    return PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(16))


@functools.cache
def attacker_signer() -> Signer:
    """A key nobody trusts: what a forger signs with (made once per run)."""
    return Signer(generate_key_pair().private_pem)


def _form(party: AlipayParty, out_trade_no: str, signer: Signer) -> dict[str, str]:
    now = time.time()
    trade = Trade(
        id=0,
        app_id=party.app_id,
        out_trade_no=out_trade_no,
        trade_no=time.strftime("%Y%m%d", time.gmtime(now + 8 * 3600))
        + "22001"
        + "".join(secrets.choice(string.digits) for _ in range(15)),
        method="alipay.trade.page.pay",
        product_code="FAST_INSTANT_TRADE_PAY",
        status="TRADE_SUCCESS",
        total=Decimal("0.01"),
        refunded=Decimal("0.00"),
        subject="zhifu probe",
        body="",
        passback_params="",
        notify_url="",
        return_url="",
        charset="utf-8",
        sign_type="RSA2",
        expires_at=now + 900,
        created_at=now - 60,
        paid_at=now - 5,
        closed_at=None,
        finished_at=None,
        close_reason="",
        buyer_login="probe@zhifu.invalid",
        buyer_id="2088" + "".join(secrets.choice(string.digits) for _ in range(12)),
        session_token="",
    )
    app = App(app_id=party.app_id, seller_id=party.seller_id, merchant_name="", app_public_key="")
    return notification_form(
        trade,
        app,
        signer,
        now=now,
        notify_id=new_notify_id(now),
        trade_status="TRADE_SUCCESS",
    )


def _message(form: dict[str, str]) -> Message:
    return Message(urlencode(form).encode("ascii"), {"Content-Type": CONTENT_TYPE})


def signed(party: AlipayParty, out_trade_no: str) -> Message:
    """A notification Alipay could have sent: signed with the key the site should trust."""
    if party.signer is None:
        raise ValueError("no Alipay signing key")
    return _message(_form(party, out_trade_no, party.signer))


def forged(party: AlipayParty, out_trade_no: str) -> Message:
    """Well formed, with the site's app id and seller, signed with an attacker's key."""
    return _message(_form(party, out_trade_no, attacker_signer()))


def unsigned(party: AlipayParty, out_trade_no: str) -> Message:
    """The same without ``sign`` and ``sign_type``: a handler that verifies only when a
    signature is present accepts it."""
    form = _form(party, out_trade_no, attacker_signer())
    return _message({k: v for k, v in form.items() if k not in ("sign", "sign_type")})


def malformed() -> Message:
    """Not a notification: broken percent-encoding, bytes that are not UTF-8, a key twice."""
    body = b"notify_type=trade_status_sync&sign=%%zz&sign=\xff\xfe&out_trade_no=" + (
        made_up_out_trade_no().encode("ascii")
    )
    return Message(body, {"Content-Type": CONTENT_TYPE})
