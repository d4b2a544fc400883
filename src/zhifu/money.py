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
    "format_yuan",
    "from_fen",
    "parse_amount",
    "parse_money",
    "parse_signed_amount",
    "to_fen",
]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MIN_AMOUNT = Decimal("0.01")
MAX_AMOUNT = Decimal("100000000.00")


# A plain decimal string: ASCII digits, an optional point and at most two places. Decimal() would
# also take "1_000", "١٢" (Arabic-Indic digits), "+5", "1e2" or "1E1"; none is how people or
# gateways write an amount, so none is accepted.
_PLAIN = re.compile(r"[0-9]+(?:\.[0-9]{1,2})?", re.ASCII)
_NUMBERISH = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_SPECIAL = re.compile(r"[+-]?(?:nan|snan|inf|infinity)", re.IGNORECASE)


class AmountError(ValueError):
    """An amount that is not a valid sum of money; the message says what is wrong."""


def parse_money(value: object, *, field: str = "amount") -> Decimal:
    """Parse a non-negative sum with at most two decimal places (``"0.00"`` allowed).

    Accepts ``Decimal``, ``int`` and plain decimal strings such as ``"12.3"``; returns a
    ``Decimal`` quantized to exactly two places. Rejects floats, booleans, NaN/infinity,
    negatives, signs and exponents in strings (``"+5"``, ``"1e2"``) and more than two decimal
    places.
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
        if not _PLAIN.fullmatch(text):
            raise AmountError(f"{field}: {_why_not_plain(text, value)}")
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


def _why_not_plain(text: str, value: object) -> str:
    if text.startswith("-") and _NUMBERISH.fullmatch(text):
        return f"{value!r} is negative"
    if _NUMBERISH.fullmatch(text):
        if "e" in text.lower() or text.startswith("+"):
            return f"{value!r} is not a plain amount; write digits such as 12.30"
        if Decimal(text) > MAX_AMOUNT:
            return f"{value!r} is above the maximum of {MAX_AMOUNT}"
        if "." in text and len(text.rsplit(".", 1)[1]) > 2:
            return f"{value!r} has more than two decimal places"
        return f"{value!r} is not a plain amount; write digits such as 12.30"
    return f"{value!r} is not a number"


def parse_amount(value: object, *, field: str = "amount") -> Decimal:
    """Parse a payable amount: like :func:`parse_money` and within [0.01, 100000000]."""
    number = parse_money(value, field=field)
    if number < MIN_AMOUNT:
        raise AmountError(f"{field}: {value!r} is below the minimum of {MIN_AMOUNT}")
    return number


def parse_signed_amount(value: object, *, field: str = "amount") -> Decimal:
    """A non-zero amount that may carry a leading ``-`` (a debit): ``"-12.30"``, ``Decimal("-1")``.

    The magnitude follows :func:`parse_amount`'s rules."""
    if isinstance(value, str) and value.strip().startswith("-"):
        magnitude = value.strip()[1:]
        if magnitude[:1] in ("-", "+"):
            raise AmountError(
                f"{field}: {value!r} is not a plain amount; write digits such as -12.30"
            )
        return -parse_amount(magnitude, field=field)
    if isinstance(value, Decimal | int) and not isinstance(value, bool) and value < 0:
        return -parse_amount(-value, field=field)
    return parse_amount(value, field=field)


def format_amount(value: Decimal) -> str:
    """Format for Alipay and JSON: ``Decimal("12.3")`` -> ``"12.30"``."""
    return f"{parse_money(value):.2f}"


def format_yuan(value: object, *, signed: bool = False) -> str:
    """Format for people: ``Decimal("1234.5")`` -> ``"¥1,234.50"`` (``"-¥3.00"`` for a debit;
    ``"+¥3.00"`` with ``signed``). A value with a third decimal place raises :class:`AmountError`
    instead of being rounded: a page must never show a sum other than the one stored."""
    if isinstance(value, bool) or isinstance(value, float):
        raise AmountError(f"{value!r} is a {type(value).__name__}, not an amount")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise AmountError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise AmountError(f"{value!r} is not a finite number")
    if number != number.quantize(CENT):
        raise AmountError(f"{value!r} has more than two decimal places")
    sign = "-" if number < 0 else ("+" if signed and number > 0 else "")
    return f"{sign}¥{abs(number):,.2f}"


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
