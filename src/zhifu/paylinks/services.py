"""Creating payment links and paying them, through the one order pipeline.

:func:`create_link` validates what staff typed and creates, in one transaction, the pending
order (one line, kind ``payment_link``) and the link that points at it. The order belongs to the
link's buyer if one was named, else to the staff member who made it: the order's user is only
its owner in the site's own pages ("my orders"); whoever holds the link's code may pay it.

:func:`start_link_payment` starts the order's payment with
:func:`zhifu.services.payments.start_payment` as the order's own user: the code is the
authorisation. Inside WeChat's browser a site with WeChat web OAuth configured
(``ZHIFU["WECHATPAY"]["OAUTH"]``) offers JSAPI first: :func:`jsapi_authorize_url` and
:func:`openid_from_code` are the OAuth round trip that learns the buyer's openid for it.
Nothing here marks anything paid: the gateway's notification (or the reconcile
job's query) does, in :mod:`zhifu.services.payments`, once.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..exceptions import ConfigurationError, OrderError, PaymentError, ZhifuError, invalid_amount
from ..logs import ctx
from ..models import Order, PaymentAttempt
from ..money import AmountError, parse_amount
from ..providers import registry
from ..providers.base import Payer
from ..providers.wechatpay_config import build_oauth, oauth_conf, wechatpay_conf
from ..services.orders import LineSpec, create_order
from ..services.payments import PaymentStart, start_payment, sync_attempt
from ..wechatpay import WechatPayError
from .models import KIND, PaymentLink

__all__ = [
    "CODE_BYTES",
    "DEFAULT_EXPIRY",
    "MAX_EXPIRY",
    "MIN_EXPIRY",
    "WECHAT_JSAPI",
    "Device",
    "PaymentLinkError",
    "channels_for",
    "check_expiry",
    "check_link_channel",
    "create_link",
    "device_of",
    "find_link",
    "jsapi_authorize_url",
    "new_code",
    "oauth_appid",
    "open_jsapi_attempt",
    "open_qr_attempt",
    "openid_from_code",
    "parse_link_amount",
    "refresh_from_return",
    "resume_qr_attempt",
    "start_link_payment",
]

log = logging.getLogger("zhifu.paylinks")

# 9 random bytes: 12 URL-safe characters, 72 bits — not guessable, short enough to type.
CODE_BYTES = 9
_CODE = re.compile(r"[A-Za-z0-9_-]{12,32}", re.ASCII)
DEFAULT_EXPIRY = timedelta(days=1)
MIN_EXPIRY = timedelta(minutes=1)
# Alipay keeps an unpaid trade open at most 15 days (timeout_express 15d).
MAX_EXPIRY = timedelta(days=15)
MAX_SUBJECT = 256
QUERY_INTERVAL = 5  # seconds between two gateway queries caused by a return to one link


class PaymentLinkError(ZhifuError):
    """A payment link that cannot be created, found or paid (``link_not_found`` is a 404)."""

    code = "payment_link_error"

    def __init__(self, code: str | None = None, message: Any = None, **params: Any) -> None:
        super().__init__(code, message, **params)
        if self.code == "link_not_found":
            self.status = 404
        elif self.code == "permission_denied":
            self.status = 403
        elif self.code == "link_not_payable":
            self.status = 409
        elif self.code == "wechat_oauth_failed":
            self.status = 502


def new_code() -> str:
    """A short, URL-safe, unguessable code (``secrets``)."""
    return secrets.token_urlsafe(CODE_BYTES)


def parse_link_amount(value: Any) -> Decimal:
    """The link's amount by :func:`zhifu.money.parse_amount`; ``invalid_amount`` (400) naming
    the range otherwise (the precise reason in the error's ``detail``)."""
    try:
        return parse_amount(value, field="amount")
    except AmountError as exc:
        raise invalid_amount(exc) from None


def _subject(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PaymentLinkError("invalid_subject", _("the subject must not be empty"))
    text = value.strip()
    if len(text) > MAX_SUBJECT:
        raise PaymentLinkError(
            "invalid_subject",
            _("the subject must be at most %(count)s characters"),
            count=MAX_SUBJECT,
        )
    return text


def _expiry(expires_in: Any, expires_at: Any, now: datetime) -> timedelta:
    if expires_in is not None and expires_at is not None:
        raise PaymentLinkError(
            "invalid_expiry", _("give the expiry as a time or as a duration, not both")
        )
    if expires_at is not None:
        if not isinstance(expires_at, datetime) or timezone.is_naive(expires_at):
            raise PaymentLinkError(
                "invalid_expiry", _("the expiry must be a date and time with a time zone")
            )
        expiry = expires_at - now
    elif expires_in is not None:
        if isinstance(expires_in, bool) or not isinstance(expires_in, timedelta | int):
            raise PaymentLinkError(
                "invalid_expiry", _("the expiry must be a number of seconds or a duration")
            )
        expiry = expires_in if isinstance(expires_in, timedelta) else timedelta(seconds=expires_in)
    else:
        expiry = DEFAULT_EXPIRY
    if expiry < MIN_EXPIRY or expiry > MAX_EXPIRY:
        raise PaymentLinkError(
            "invalid_expiry",
            _("the link must expire between 1 minute and %(days)s days from now"),
            days=MAX_EXPIRY.days,
        )
    return expiry


def check_expiry(expires_at: datetime) -> None:
    """``invalid_expiry`` unless ``expires_at`` is 1 minute to 15 days from now."""
    _expiry(None, expires_at, timezone.now())


def _require_staff(user: Any) -> None:
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_staff", False):
        raise PaymentLinkError(
            "permission_denied", _("only staff members can create payment links")
        )


def create_link(
    *,
    created_by: Any,
    amount: Any,
    subject: Any,
    buyer: Any = None,
    expires_in: timedelta | int | None = None,
    expires_at: datetime | None = None,
) -> PaymentLink:
    """A new link and its pending order. ``amount`` is parsed by :mod:`zhifu.money` (a string
    or ``Decimal`` from 0.01 to the maximum; floats are refused); the expiry is ``expires_in``
    (a duration or seconds) or ``expires_at`` (aware), 1 minute to 15 days, by default 1 day."""
    _require_staff(created_by)
    total = parse_link_amount(amount)
    title = _subject(subject)
    now = timezone.now()
    expiry = _expiry(expires_in, expires_at, now)
    if buyer is not None and getattr(buyer, "pk", None) is None:
        raise PaymentLinkError("invalid_buyer", _("the buyer must be an existing user"))
    owner = buyer if buyer is not None else created_by
    for _try in range(5):
        code = new_code()
        try:
            with transaction.atomic():
                order = create_order(
                    owner,
                    lines=[LineSpec(title=title, unit_price=total)],
                    subject=title,
                    kind=KIND,
                    expires_in=expiry,
                    metadata={"payment_link": code},
                )
                link = PaymentLink.objects.create(
                    code=code,
                    order=order,
                    amount=order.total_amount,
                    subject=order.subject,
                    buyer=buyer,
                    expires_at=order.expires_at,
                    created_by=created_by,
                )
        except IntegrityError:
            if PaymentLink.objects.filter(code=code).exists():
                continue  # 72 random bits collided: draw again
            raise
        log.info(
            "payment link created code=%s order=%s amount=%s by=%s",
            link.code,
            order.out_trade_no,
            order.total_amount,
            created_by.pk,
            extra=ctx("payment_link_created", order=order),
        )
        return link
    raise PaymentLinkError("payment_link_error")  # pragma: no cover - 5 collisions of 72 bits


def find_link(code: Any) -> PaymentLink:
    """The link with this code, its order loaded; ``link_not_found`` otherwise."""
    link = None
    if isinstance(code, str) and _CODE.fullmatch(code):
        link = (
            PaymentLink.objects.select_related("order", "buyer", "created_by")
            .filter(code=code)
            .first()
        )
    if link is None:
        raise PaymentLinkError("link_not_found", _("no such payment link"))
    return link


# -- which channels, on which device --------------------------------------------------------------


@dataclass(frozen=True)
class Device:
    kind: str  # "desktop", "phone" or "wechat" (WeChat's in-app browser)

    @property
    def in_wechat(self) -> bool:
        return self.kind == "wechat"


_PHONE = re.compile(r"Mobile|Android|iPhone|iPad|iPod|HarmonyOS|Windows Phone", re.IGNORECASE)

WECHAT_JSAPI = "wechat_jsapi"

# What each device is offered, best first (only those the site's providers offer are shown).
# In WeChat's browser Alipay is blocked by WeChat. JSAPI, WeChat Pay inside WeChat, needs the
# buyer's openid, learnt by WeChat's web OAuth: offered only when ZHIFU["WECHATPAY"]["OAUTH"] is
# configured; the Native QR code, which WeChat recognises on a long press, stays the fallback.
CHANNELS_BY_DEVICE = {
    "desktop": ("alipay_page", "wechat_native"),
    "phone": ("alipay_wap", "wechat_h5"),
    "wechat": (WECHAT_JSAPI, "wechat_native"),
}


def device_of(user_agent: str) -> Device:
    if "MicroMessenger" in user_agent:
        return Device("wechat")
    if _PHONE.search(user_agent):
        return Device("phone")
    return Device("desktop")


def channels_for(device: Device) -> list[tuple[str, str]]:
    """``(channel, label)`` for the channels this device can pay with on this site."""
    offered = registry.channels()
    return [
        (c, str(offered[c]))
        for c in CHANNELS_BY_DEVICE[device.kind]
        if c in offered and (c != WECHAT_JSAPI or oauth_conf() is not None)
    ]


def check_link_channel(link: PaymentLink, channel: str, *, device: Device) -> None:
    """``invalid_channel`` unless this device may pay through ``channel`` on this site;
    ``link_not_payable`` unless the link waits for its payment."""
    if channel not in dict(channels_for(device)):
        raise PaymentError(
            "invalid_channel",
            _("this payment method is not available on this device"),
        )
    if link.status != Order.Status.PENDING:
        raise PaymentLinkError("link_not_payable", _("this payment link can no longer be paid"))


def oauth_appid() -> str:
    """The appid whose openids JSAPI needs (``ZHIFU["WECHATPAY"]["APPID"]``)."""
    return str(wechatpay_conf().get("APPID") or "")


def start_link_payment(
    link: PaymentLink,
    channel: str,
    *,
    device: Device,
    return_url: str | None,
    payer: Payer | None,
) -> PaymentStart:
    """Start (or resume) paying the link's order through ``channel``, as the order's user."""
    check_link_channel(link, channel, device=device)
    try:
        return start_payment(
            link.order, channel, user=link.order.user, return_url=return_url, payer=payer
        )
    except (OrderError, PaymentError) as exc:
        if exc.code in ("order_not_pending", "order_expired", "order_not_payable"):
            raise PaymentLinkError(
                "link_not_payable", _("this payment link can no longer be paid")
            ) from None
        raise


def jsapi_authorize_url(redirect_uri: str, state: str) -> str:
    """Where to send the buyer's browser for WeChat's silent ``snsapi_base`` OAuth; WeChat sends
    it back to ``redirect_uri`` with ``code`` and ``state``."""
    try:
        return build_oauth().authorize_url(redirect_uri, state)
    except (ConfigurationError, WechatPayError) as exc:
        log.warning("WeChat OAuth cannot start: %s", getattr(exc, "message", exc))
        raise PaymentError(
            "invalid_channel", _("this payment method is not available on this device")
        ) from None


def openid_from_code(code: str) -> str:
    """The buyer's openid for the site's appid, from the ``code`` WeChat's OAuth brought back;
    ``wechat_oauth_failed`` (502) naming WeChat's reason otherwise (the code is used once and
    lives five minutes)."""
    try:
        return build_oauth().exchange_code(code).openid
    except (ConfigurationError, WechatPayError) as exc:
        reason = str(getattr(exc, "message", exc))
        log.warning("WeChat OAuth code exchange failed: %s", reason)
        raise PaymentLinkError(
            "wechat_oauth_failed",
            _("WeChat could not confirm who you are (%(reason)s). Please try again."),
            reason=reason,
        ) from None


def open_jsapi_attempt(link: PaymentLink) -> PaymentAttempt | None:
    """The link's open JSAPI attempt, if any."""
    return (
        link.order.attempts.filter(status=PaymentAttempt.Status.PENDING, channel=WECHAT_JSAPI)
        .order_by("-id")
        .first()
    )


def open_qr_attempt(link: PaymentLink) -> PaymentAttempt | None:
    """The link's open attempt that shows a QR code (WeChat Native, Alipay QR), if any."""
    return (
        link.order.attempts.filter(status=PaymentAttempt.Status.PENDING)
        .exclude(qr_code="")
        .order_by("-id")
        .first()
    )


def resume_qr_attempt(link: PaymentLink) -> PaymentAttempt | None:
    """The link's open QR attempt, resumed through its provider first: a QR page opened or
    reloaded hours later then shows a code that still works (WeChat's code_url lives 2 hours;
    the provider renews it). The same trade either way; None when nothing is open."""
    attempt = open_qr_attempt(link)
    if attempt is None:
        return None
    start_payment(link.order, attempt.channel, user=link.order.user)
    return open_qr_attempt(link)


def refresh_from_return(link: PaymentLink, out_trade_no: Any) -> None:
    """The buyer came back from a cashier to the link page: if the trade named is one of this
    link's unpaid attempts, ask its gateway now (at most every few seconds per attempt) through
    the same path as a notification. The parameters are only a hint: nothing is believed from
    them, and a number that is not this link's is ignored."""
    if link.order.is_paid or not isinstance(out_trade_no, str) or not out_trade_no:
        return
    attempt = (
        link.order.attempts.filter(
            out_trade_no=out_trade_no[:64],
            status__in=(PaymentAttempt.Status.PENDING, PaymentAttempt.Status.CLOSED),
        )
        .select_related("order")
        .first()
    )
    if attempt is None or not cache.add(f"zhifu:link-query:{attempt.pk}", 1, QUERY_INTERVAL):
        return
    try:
        sync_attempt(attempt)
    except ZhifuError as exc:  # the gateway is down: the notification or the job will tell
        log.warning(
            "querying a returned payment failed link=%s out_trade_no=%s: %s",
            link.code,
            attempt.out_trade_no,
            getattr(exc, "english_message", exc),
            extra=ctx("link_query_failed", order=link.order, payment=attempt),
        )
    link.order.refresh_from_db()
