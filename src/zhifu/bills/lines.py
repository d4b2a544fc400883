"""A gateway's daily bill in neutral words: what the comparison needs, no gateway's field names.

A provider that has bills (:class:`zhifu.providers.base.BillSource`) downloads and parses its
gateway's files into one :class:`Bill` of :class:`BillLine` rows; the comparison in
:mod:`zhifu.bills.reconcile` reads only this. No Django import: the parsers beside this module
are usable on their own (``zhifu.bills.alipay_bill``, ``zhifu.bills.wechat_bill``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

__all__ = ["Bill", "BillFormatError", "BillLine", "LineKind"]

ZERO = Decimal("0.00")


class BillFormatError(ValueError):
    """A bill file that cannot be read; the message says which file, line and field."""


class LineKind(enum.StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"


@dataclass(frozen=True)
class BillLine:
    """One money movement of the bill: a payment of a trade or a refund of one.

    ``amount`` is positive yuan for both kinds (a refund's amount is what went back).
    ``fee`` is what the gateway charged for this line: positive for a payment, negative for a
    refund (the part of the fee the gateway gave back), zero when none.
    """

    provider: str
    kind: LineKind
    out_trade_no: str
    gateway_trade_no: str
    amount: Decimal
    fee: Decimal = ZERO
    time: datetime | None = None
    out_refund_no: str = ""
    source: str = ""  # the file and line number it came from, e.g. "业务明细.csv:6"
    raw: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly copy (stored with a discrepancy)."""
        return {
            "provider": self.provider,
            "kind": str(self.kind),
            "out_trade_no": self.out_trade_no,
            "gateway_trade_no": self.gateway_trade_no,
            "out_refund_no": self.out_refund_no,
            "amount": str(self.amount),
            "fee": str(self.fee),
            "time": self.time.isoformat() if self.time is not None else None,
            "source": self.source,
            "raw": dict(self.raw),
        }


@dataclass(frozen=True)
class Bill:
    """A gateway's bill of one day (Beijing date).

    ``fee_totals`` are the fee totals the gateway states elsewhere than on the lines (its
    summary line, its account statement), by a short neutral name; each should equal the sum of
    the lines' fees.
    """

    provider: str
    day: date
    lines: tuple[BillLine, ...]
    fee_totals: Mapping[str, Decimal] = field(default_factory=dict)
    files: tuple[str, ...] = ()

    @property
    def payments(self) -> list[BillLine]:
        return [line for line in self.lines if line.kind == LineKind.PAYMENT]

    @property
    def refunds(self) -> list[BillLine]:
        return [line for line in self.lines if line.kind == LineKind.REFUND]

    @property
    def fee_total(self) -> Decimal:
        return sum((line.fee for line in self.lines), ZERO)

    @property
    def payment_total(self) -> Decimal:
        return sum((line.amount for line in self.payments), ZERO)

    @property
    def refund_total(self) -> Decimal:
        return sum((line.amount for line in self.refunds), ZERO)
