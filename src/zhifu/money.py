"""Money as ``Decimal`` yuan with exactly two places.

Alipay takes amounts as strings like ``"12.30"`` in [0.01, 100000000]; WeChat Pay takes integer
fen. Floats are refused everywhere: ``0.1 + 0.2`` is not an amount anyone should be charged.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = [
    "MAX_AMOUNT",
    "MIN_AMOUNT",
    "ZERO",
    "AmountError",
    "format_amount",
    "from_fen",
    "parse_amount",
    "parse_money",
    "to_fen",
]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MIN_AMOUNT = Decimal("0.01")
MAX_AMOUNT = Decimal("100000000.00")


# ASCII digits only: Decimal() would also take "1_000", "١٢" (Arabic-Indic digits) or " 1e2 ".
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_SPECIAL = re.compile(r"[+-]?(?:nan|snan|inf|infinity)", re.IGNORECASE)


class AmountError(ValueError):
    """An amount that is not a valid sum of money; the message says what is wrong."""


def parse_money(value: object, *, field: str = "amount") -> Decimal:
    """Parse a non-negative sum with at most two decimal places (``"0.00"`` allowed).

    Accepts ``Decimal``, ``int`` and strings such as ``"12.3"``; returns a ``Decimal`` quantized
    to exactly two places. Rejects floats, booleans, NaN/infinity, negatives, exponents written
    to dodge the check (``"1e-3"``) and more than two decimal places.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise AmountError(
            f"{field}: {value!r} is a {type(value).__name__}; pass a string or Decimal such as '12.30'"
        )
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise AmountError(f"{field}: empty string is not an amount")
        if _SPECIAL.fullmatch(text):
            raise AmountError(f"{field}: {value!r} is not a finite number")
        if not _NUMBER.fullmatch(text):
            raise AmountError(f"{field}: {value!r} is not a number")
        try:
            number = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
            raise AmountError(f"{field}: {value!r} is not a number") from None
    else:
        raise AmountError(f"{field}: {type(value).__name__} is not an amount")
    if not number.is_finite():
        raise AmountError(f"{field}: {value!r} is not a finite number")
    if number < 0 or (number == 0 and number.is_signed()):
        raise AmountError(f"{field}: {value!r} is negative")
    # The range check comes before quantize(): quantizing a huge value raises InvalidOperation.
    if number > MAX_AMOUNT:
        raise AmountError(f"{field}: {value!r} is above the maximum of {MAX_AMOUNT}")
    # Trailing zeros are fine ("12.300" is 12.30); a non-zero third decimal is not.
    if number != number.quantize(CENT):
        raise AmountError(f"{field}: {value!r} has more than two decimal places")
    return number.quantize(CENT)


def parse_amount(value: object, *, field: str = "amount") -> Decimal:
    """Parse a payable amount: like :func:`parse_money` and within [0.01, 100000000]."""
    number = parse_money(value, field=field)
    if number < MIN_AMOUNT:
        raise AmountError(f"{field}: {value!r} is below the minimum of {MIN_AMOUNT}")
    return number


def format_amount(value: Decimal) -> str:
    """Format for Alipay: ``Decimal("12.3")`` -> ``"12.30"``."""
    return f"{parse_money(value):.2f}"


def to_fen(value: Decimal) -> int:
    """Yuan to integer fen: ``Decimal("12.30")`` -> ``1230``."""
    return int(parse_money(value).scaleb(2))


def from_fen(fen: int) -> Decimal:
    """Integer fen to yuan: ``1230`` -> ``Decimal("12.30")``."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise AmountError(f"fen: {fen!r} is not an integer")
    if fen < 0:
        raise AmountError(f"fen: {fen!r} is negative")
    return parse_money(Decimal(fen).scaleb(-2))
