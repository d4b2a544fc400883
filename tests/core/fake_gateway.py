"""A tiny payment gateway and its Zhifu provider, living entirely in the tests.

It proves the provider seam: this one module plus a line in ``ZHIFU["PROVIDERS"]`` give Zhifu a
new gateway — no core file changes, no migration. The "gateway" keeps its trades in memory,
signs its notifications (JSON bodies) with HMAC-SHA256 in a header, and answers a notification
with ``204`` like WeChat Pay does, so the pipeline's provider-specific parts are all exercised.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.checks import CheckMessage

from zhifu.exceptions import GatewayUnavailable
from zhifu.providers.base import (
    Acknowledgement,
    CloseOutcome,
    Event,
    Identity,
    PaymentAction,
    PaymentEvent,
    PaymentState,
    RefundEvent,
    RefundResult,
    RefundState,
    Rejected,
)

SECRET = b"fake-gateway-secret"
MERCHANT = "M-0001"


@dataclass
class Trade:
    out_trade_no: str
    amount: Decimal
    state: PaymentState = PaymentState.PENDING
    trade_no: str = ""
    refunds: dict[str, Decimal] = field(default_factory=dict)


class FakeGateway:
    """The gateway's side: trades, payment by the buyer, signed notifications."""

    def __init__(self) -> None:
        self.trades: dict[str, Trade] = {}
        self.down = False

    def _reachable(self) -> None:
        if self.down:
            raise GatewayUnavailable("gateway_unavailable")

    def pay(self, out_trade_no: str) -> bytes:
        trade = self.trades[out_trade_no]
        trade.state, trade.trade_no = PaymentState.PAID, f"FG{len(self.trades):06d}"
        return self.notification(trade)

    def notification(self, trade: Trade, **extra: Any) -> bytes:
        body = {
            "merchant": MERCHANT,
            "out_trade_no": trade.out_trade_no,
            "trade_no": trade.trade_no,
            "state": trade.state.value,
            "amount_fen": int(trade.amount * 100),
            **extra,
        }
        return json.dumps(body).encode()

    @staticmethod
    def headers(body: bytes) -> dict[str, str]:
        return {"X-Fake-Signature": hmac.new(SECRET, body, hashlib.sha256).hexdigest()}


GATEWAY = FakeGateway()


class FakeGatewayProvider:
    name = "fake"
    label = "Fake gateway"
    channels: Mapping[str, Any] = {"fake_qr": "Fake gateway (QR)"}
    remote = True

    def identity(self) -> Identity:
        return Identity(merchant_id=MERCHANT)

    def check(self) -> list[CheckMessage]:
        return []

    def start(
        self, order: Any, attempt: Any, *, return_url: str | None = None, payer: Any = None
    ) -> PaymentAction:
        GATEWAY._reachable()
        GATEWAY.trades.setdefault(attempt.out_trade_no, Trade(attempt.out_trade_no, attempt.amount))
        return PaymentAction(qr_code=f"fake://pay/{attempt.out_trade_no}")

    def _event(self, trade: Trade) -> PaymentEvent:
        return PaymentEvent(
            provider=self.name,
            out_trade_no=trade.out_trade_no,
            state=trade.state,
            amount=trade.amount,
            identity=self.identity(),
            trade_no=trade.trade_no,
        )

    def query(self, attempt: Any) -> PaymentEvent | None:
        GATEWAY._reachable()
        trade = GATEWAY.trades.get(attempt.out_trade_no)
        return self._event(trade) if trade else None

    def close(self, attempt: Any) -> CloseOutcome:
        GATEWAY._reachable()
        trade = GATEWAY.trades.get(attempt.out_trade_no)
        if trade is None:
            return "not_exist"
        if trade.state == PaymentState.PAID:
            return "not_closable"
        trade.state = PaymentState.CLOSED
        return "closed"

    def refund(self, refund: Any) -> RefundResult:
        GATEWAY._reachable()
        trade = GATEWAY.trades[refund.attempt.out_trade_no]
        if refund.out_request_no not in trade.refunds:
            if sum(trade.refunds.values()) + refund.amount > trade.amount:
                return RefundResult(RefundState.FAILED, "TOO_MUCH", "more than paid")
            trade.refunds[refund.out_request_no] = refund.amount
        return RefundResult(RefundState.PENDING)  # confirmed later by a notification

    def query_refund(self, refund: Any) -> RefundResult:
        trade = GATEWAY.trades.get(refund.attempt.out_trade_no)
        done = trade is not None and refund.out_request_no in trade.refunds
        return RefundResult(RefundState.SUCCEEDED if done else RefundState.FAILED)

    def parse_notification(
        self, body: bytes, headers: Mapping[str, str], *, received_at: Any = None
    ) -> Event:
        given = {k.lower(): v for k, v in headers.items()}.get("x-fake-signature", "")
        expected = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given, expected):
            raise Rejected("bad_signature", "X-Fake-Signature does not match")
        try:
            data = json.loads(body)
            amount = Decimal(int(data["amount_fen"])) / 100
        except (ValueError, KeyError, TypeError) as exc:
            raise Rejected("malformed", str(exc)) from None
        identity = Identity(merchant_id=str(data.get("merchant", "")))
        if "refund_no" in data:
            return RefundEvent(
                provider=self.name,
                out_trade_no=data["out_trade_no"],
                out_refund_no=data["refund_no"],
                state=RefundState(data["refund_state"]),
                amount=Decimal(int(data["refund_fen"])) / 100,
                trade_amount=amount,
                identity=identity,
                raw=data,
            )
        return PaymentEvent(
            provider=self.name,
            out_trade_no=data["out_trade_no"],
            state=PaymentState(data["state"]),
            amount=amount,
            identity=identity,
            trade_no=data.get("trade_no", ""),
            raw=data,
        )

    def parse_return(self, params: Mapping[str, Any]) -> PaymentEvent:
        raise Rejected("unsupported", "the fake gateway has no return page")

    def acknowledge(self, *, accepted: bool, retry: bool) -> Acknowledgement:
        if accepted:
            return Acknowledgement(204, "")
        body = json.dumps({"code": "FAIL", "message": "retry" if retry else "rejected"})
        return Acknowledgement(500 if retry else 400, body, "application/json")
