"""The provider contract: what the payment pipeline needs from a gateway, in neutral words.

Above this seam (services, views, API, admin, tasks) nothing knows a gateway's wire words: a
provider turns what its gateway sends (a notification, a return redirect, a query answer) into a
:class:`PaymentEvent` or :class:`RefundEvent` carrying neutral states, the gateway's identity of
the merchant and app, the trade numbers, amounts in ``Decimal`` yuan and the raw data; the one
pipeline locks, compares and applies them. Errors come back as the core's own exceptions:

- the outcome is unknown (timeout, 5xx, a retryable business code) → :class:`GatewayUnavailable`;
- the gateway definitely refused → :class:`~zhifu.exceptions.PaymentError` with a code;
- a notification or return that cannot be trusted → :class:`Rejected` with a neutral reason.

A provider is a class with the attributes and methods of :class:`Provider`, listed in
``ZHIFU["PROVIDERS"]`` (see :mod:`zhifu.providers.registry`). ``docs/architecture.en.md`` walks
through adding one.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from ..exceptions import GatewayUnavailable

if TYPE_CHECKING:
    from django.core.checks import CheckMessage

    from ..bills.lines import Bill
    from ..models import Order, PaymentAttempt, Refund

__all__ = [
    "Acknowledgement",
    "BillSource",
    "CloseOutcome",
    "Event",
    "GatewayUnavailable",
    "Identity",
    "PayForm",
    "Payer",
    "PaymentAction",
    "PaymentEvent",
    "PaymentState",
    "PayoutResult",
    "PayoutSource",
    "PayoutState",
    "Provider",
    "RefundEvent",
    "RefundResult",
    "RefundState",
    "Rejected",
]


class PaymentState(enum.StrEnum):
    """Where a trade stands at the gateway."""

    PENDING = "pending"  # created, not paid (or unknown to the buyer yet)
    PAID = "paid"
    CLOSED = "closed"  # cannot be paid any more


class RefundState(enum.StrEnum):
    PENDING = "pending"  # accepted, money not moved yet (the gateway will say)
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # definitely not refunded
    UNKNOWN = "unknown"  # no answer: ask again with the same refund number


@dataclass(frozen=True)
class Identity:
    """Who the gateway says the payment is for: the merchant (Alipay ``seller_id``, WeChat
    ``mchid``) and the app (``app_id`` / ``appid``). Empty means "not stated"."""

    merchant_id: str = ""
    app_id: str = ""


@dataclass(frozen=True)
class PaymentEvent:
    """What a gateway says about one trade (notification, return, or query answer)."""

    provider: str
    out_trade_no: str
    state: PaymentState
    amount: Decimal | None  # the trade's total, yuan
    identity: Identity = field(default_factory=Identity)
    trade_no: str = ""  # the gateway's own number
    payer_id: str = ""
    paid_at: datetime | None = None
    # The gateway will send nothing more about this trade (Alipay TRADE_FINISHED): its data is
    # worth keeping even when the payment was applied already.
    final: bool = False
    event_id: str = ""  # the gateway's id of this message (notify_id), for the log
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def note(self) -> str:
        return f"payment {self.state}{' (final)' if self.final else ''}"


@dataclass(frozen=True)
class RefundEvent:
    """What a gateway says about one refund of a trade."""

    provider: str
    out_trade_no: str
    out_refund_no: str
    state: RefundState
    amount: Decimal | None  # this refund, yuan
    trade_amount: Decimal | None  # the trade's total, yuan, for the comparison with the attempt
    identity: Identity = field(default_factory=Identity)
    trade_no: str = ""
    refunded_at: datetime | None = None
    # A refund proves the trade was paid; a gateway that says so (Alipay) fills this in so that a
    # site which missed the payment notification learns of the payment first.
    payment: PaymentEvent | None = None
    event_id: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def note(self) -> str:
        return f"refund {self.out_refund_no} {self.state}"


Event = PaymentEvent | RefundEvent


@dataclass(frozen=True)
class PayForm:
    """A form the buyer's browser posts to the gateway (it submits itself)."""

    action: str
    fields: Mapping[str, str]
    charset: str = "utf-8"

    def html(self, nonce: str | None = None) -> str:
        """The form and the script that submits it; ``nonce`` is the page's CSP nonce, so a
        policy that forbids inline scripts still lets this one run. Without script, the button
        shows."""
        attr = f' nonce="{escape(nonce)}"' if nonce else ""
        inputs = "".join(
            f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
            for k, v in self.fields.items()
        )
        return (
            f'<form id="zhifu-pay-form" action="{escape(self.action)}" method="POST"'
            f' accept-charset="{escape(self.charset)}">{inputs}'
            '<noscript><button type="submit">Continue to pay</button></noscript></form>'
            f"<script{attr}>document.getElementById('zhifu-pay-form').submit();</script>"
        )


@dataclass(frozen=True)
class PaymentAction:
    """What the buyer needs to pay: a URL or auto-submitting form (cashier pages), a QR code text,
    parameters for a JavaScript bridge (WeChat JSAPI) — or, for a provider that settles at once
    (the wallet), a ``settled`` payment event."""

    url: str = ""
    form: PayForm | None = None
    qr_code: str = ""
    js_params: Mapping[str, str] = field(default_factory=dict)
    settled: PaymentEvent | None = None


@dataclass(frozen=True)
class Payer:
    """Who is paying, as far as the site knows at the moment of paying: some channels need it
    (a phone-browser payment needs the buyer's IP address; an in-app payment needs the buyer's
    id at the gateway, WeChat's ``openid``). Empty means "not known"."""

    ip: str = ""
    openid: str = ""


@dataclass(frozen=True)
class RefundResult:
    state: RefundState
    code: str = ""
    message: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Acknowledgement:
    """The HTTP answer a provider's gateway expects to a notification."""

    status: int
    body: str
    content_type: str = "text/plain"


CloseOutcome = Literal["closed", "not_exist", "not_closable"]


class Rejected(Exception):
    """A notification or return that must not change anything. ``reason`` is a short neutral
    code (``bad_signature``, ``malformed``, ``merchant``, ``app``, ``amount``, ``unknown_order``,
    ``unknown_status``...) stored on the notification; ``detail`` says what exactly was wrong;
    ``claimed`` is the trade number the message claims to be about (unverified: for logs only)."""

    def __init__(self, reason: str, detail: str, *, claimed: str = "") -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.claimed = claimed


@runtime_checkable
class Provider(Protocol):
    """One gateway (or the wallet) behind the pipeline.

    ``name`` is stored on each payment attempt (``attempt.provider``); ``channels`` maps each
    payment method it offers (``attempt.channel``) to a readable label. A ``remote`` provider has
    trades at a gateway that can be queried and closed, so the reconcile job watches them; a local
    one (the wallet) settles inside the site's own transaction, so its ``start`` and ``refund``
    are called under the order's row lock.

    Optionally, ``payer_id_channels`` (a set of its channels) names the channels that need the
    buyer's id at the gateway (``Payer.openid``) to start, so that views can ask for it up front.
    """

    name: str
    label: Any
    channels: Mapping[str, Any]
    remote: bool

    def identity(self) -> Identity:
        """The merchant and app the site is configured as; events must match it."""

    def check(self) -> list[CheckMessage]:
        """System-check messages about this provider's part of the ``ZHIFU`` setting."""

    def start(
        self,
        order: Order,
        attempt: PaymentAttempt,
        *,
        return_url: str | None,
        payer: Payer | None = None,
    ) -> PaymentAction:
        """Create the trade at the gateway (or settle it locally) for ``attempt``; ``payer`` is
        what the site knows of the buyer now (channels that need more refuse without it)."""

    def query(self, attempt: PaymentAttempt) -> PaymentEvent | None:
        """What the gateway says of the trade now; ``None`` if it has never heard of it."""

    def close(self, attempt: PaymentAttempt) -> CloseOutcome:
        """Close the trade so that it cannot be paid; ``not_closable`` if it is paid."""

    def refund(self, refund: Refund) -> RefundResult:
        """Ask for ``refund`` (idempotent per ``refund.out_request_no``)."""

    def query_refund(self, refund: Refund) -> RefundResult:
        """What the gateway says of ``refund`` now (``unknown`` if it cannot tell)."""

    def parse_notification(
        self, body: bytes, headers: Mapping[str, str], *, received_at: datetime | None = None
    ) -> Event:
        """Verify and parse an asynchronous notification; raises :class:`Rejected`.
        ``received_at``: when it arrived — a gateway that signs a timestamp is checked against
        that moment, so a stored notification can be replayed or swept later."""

    def parse_return(self, params: Mapping[str, Any]) -> PaymentEvent:
        """Verify and parse a browser return; raises :class:`Rejected`. The event is a hint: the
        pipeline queries the gateway before believing it."""

    def acknowledge(self, *, accepted: bool, retry: bool) -> Acknowledgement:
        """The answer to a notification: ``accepted`` (stop sending), or not, and if not whether
        the failure was ours and temporary (``retry``)."""


@runtime_checkable
class BillSource(Protocol):
    """A provider whose gateway issues daily bills (optional, beside :class:`Provider`).

    ``daily_bill`` downloads and parses the bill of ``day`` (a Beijing date) into a neutral
    :class:`~zhifu.bills.lines.Bill`; it raises :class:`GatewayUnavailable` when the gateway
    cannot be asked or the bill is not ready, and :class:`~zhifu.bills.lines.BillFormatError`
    when a file cannot be read. The reconciliation job (:mod:`zhifu.bills.reconcile`) compares
    it with the site's records.
    """

    name: str

    def daily_bill(self, day: date) -> Bill:
        """The gateway's bill of ``day``."""


class PayoutState(enum.StrEnum):
    """Where a payout (money sent from the merchant to a person's account) stands."""

    SUCCEEDED = "succeeded"  # the money reached the payee
    FAILED = "failed"  # definitely not paid: the money stayed with the merchant
    UNKNOWN = "unknown"  # no clear answer (timeout, system error, still processing): ask again
    NOT_FOUND = "not_found"  # (a query) the gateway never received it: send it again


@dataclass(frozen=True)
class PayoutResult:
    state: PayoutState
    code: str = ""
    message: str = ""
    gateway_no: str = ""  # the gateway's number of the payout
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@runtime_checkable
class PayoutSource(Protocol):
    """A provider that can pay money out to a person's account (optional, beside
    :class:`Provider`); used by :mod:`zhifu.withdrawals`.

    ``payout`` is idempotent per ``number``: sending the same number again never pays twice.
    ``payee_type`` is ``login`` (the account's login name; ``payee_name`` is its real name) or
    ``user_id`` (the gateway's user id).
    """

    name: str

    def payout(
        self,
        *,
        number: str,
        amount: Decimal,
        payee_type: str,
        payee: str,
        payee_name: str,
        title: str,
    ) -> PayoutResult:
        """Send the payout now; the answer says whether the money moved."""

    def query_payout(self, number: str) -> PayoutResult:
        """What the gateway says of payout ``number`` now."""
