"""The wallet as a payment provider: a payment is a ledger debit, a refund a ledger credit.

It settles inside the site's own transaction (``remote = False``): the pipeline calls
:meth:`start` and :meth:`refund` under the order's row lock, so the ledger entry and the status
change commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.checks import CheckMessage
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import wallet
from ..exceptions import PaymentError
from ..models import LedgerEntry, Order
from .base import (
    Acknowledgement,
    CloseOutcome,
    Event,
    Identity,
    Payer,
    PaymentAction,
    PaymentEvent,
    PaymentState,
    RefundResult,
    RefundState,
    Rejected,
)

if TYPE_CHECKING:
    from ..models import PaymentAttempt, Refund

__all__ = ["BalanceProvider"]


class BalanceProvider:
    name = wallet.CHANNEL
    label = _("wallet")
    channels: Mapping[str, Any] = {wallet.CHANNEL: _("wallet balance")}
    remote = False

    def identity(self) -> Identity:
        return Identity()

    def check(self) -> list[CheckMessage]:
        return []

    def start(
        self,
        order: Order,
        attempt: PaymentAttempt,
        *,
        return_url: str | None = None,
        payer: Payer | None = None,
    ) -> PaymentAction:
        """Debit the buyer's wallet (``InsufficientBalance`` rolls everything back)."""
        if order.kind == Order.Kind.TOPUP:
            raise PaymentError(
                "invalid_channel", _("a wallet top-up cannot be paid from the wallet")
            )
        wallet.post_entry(
            order.user,
            -attempt.amount,
            LedgerEntry.Kind.PAYMENT,
            order=order,
            memo=f"payment {order.out_trade_no}",
        )
        return PaymentAction(
            settled=PaymentEvent(
                provider=self.name,
                out_trade_no=attempt.out_trade_no,
                state=PaymentState.PAID,
                amount=attempt.amount,
                paid_at=timezone.now(),
                raw={"provider": self.name},
            )
        )

    def query(self, attempt: PaymentAttempt) -> PaymentEvent | None:
        return None  # settled in the same transaction as the attempt: nothing to ask

    def close(self, attempt: PaymentAttempt) -> CloseOutcome:
        return "closed"

    def refund(self, refund: Refund) -> RefundResult:
        """Give the refund back to the buyer's wallet (once: the ledger entry is unique per
        refund)."""
        wallet.post_entry(
            refund.order.user,
            refund.amount,
            LedgerEntry.Kind.REFUND,
            order=refund.order,
            refund=refund,
            memo=f"refund {refund.out_request_no}",
        )
        return RefundResult(RefundState.SUCCEEDED)

    def query_refund(self, refund: Refund) -> RefundResult:
        done = LedgerEntry.objects.filter(refund=refund).exists()
        return RefundResult(RefundState.SUCCEEDED if done else RefundState.FAILED)

    def parse_notification(
        self, body: bytes, headers: Mapping[str, str], *, received_at: datetime | None = None
    ) -> Event:
        raise Rejected("unsupported", "the wallet sends no notifications")

    def parse_return(self, params: Mapping[str, Any]) -> PaymentEvent:
        raise Rejected("unsupported", "the wallet has no payment page to return from")

    def acknowledge(self, *, accepted: bool, retry: bool) -> Acknowledgement:
        return Acknowledgement(404, "no notifications for the wallet")
