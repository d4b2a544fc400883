"""The one comparison of a gateway's event with what the site created: merchant and app
identity, trade number and amount. A mismatch is a :class:`~zhifu.providers.base.Rejected`."""

from __future__ import annotations

from ..models import PaymentAttempt
from ..providers.base import Event, Provider, RefundEvent, Rejected

__all__ = ["check_event"]


def check_event(provider: Provider, attempt: PaymentAttempt, event: Event) -> None:
    """Raise :class:`Rejected` unless ``event`` is about ``attempt`` as the site made it."""
    expected = provider.identity()
    if expected.app_id and event.identity.app_id != expected.app_id:
        raise Rejected("app_id", f"app id {event.identity.app_id!r} is not ours")
    if expected.merchant_id and event.identity.merchant_id != expected.merchant_id:
        raise Rejected("merchant", f"merchant {event.identity.merchant_id!r} is not ours")
    if event.provider != attempt.provider or event.out_trade_no != attempt.out_trade_no:
        raise Rejected(
            "unknown_order", f"{event.provider} trade {event.out_trade_no!r} is not this attempt"
        )
    amount = event.trade_amount if isinstance(event, RefundEvent) else event.amount
    if amount is None or amount != attempt.amount:
        raise Rejected("amount", f"amount {amount} != {attempt.amount} expected")
