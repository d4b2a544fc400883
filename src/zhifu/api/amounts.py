"""Amounts in requests: plain decimal strings (``"12.30"``, ``"5"``), never JSON numbers,
exponents or signs, from 0.01 to a maximum. The schema states that exactly, as a pattern built
from the maximum, so that a client (or schemathesis) knows before sending what is accepted."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.core.validators import RegexValidator
from django.utils.functional import lazy
from django.utils.translation import gettext
from rest_framework import serializers

from ..money import MAX_AMOUNT

__all__ = ["AmountField", "amount_pattern"]


def _one_to(k: int) -> list[str]:
    """Alternatives matching the whole numbers 1..k written without leading zeros."""
    s = str(k)
    parts = [f"[1-9][0-9]{{0,{len(s) - 2}}}"] if len(s) > 1 else []
    for i, char in enumerate(s):
        low, high = (1 if i == 0 else 0), int(char) - 1
        if high >= low:
            digit = f"[{low}-{high}]" if high > low else str(low)
            rest = len(s) - i - 1
            parts.append(s[:i] + digit + (f"[0-9]{{{rest}}}" if rest else ""))
    return [*parts, s]


def amount_pattern(maximum: Decimal) -> str:
    """A regular expression (anchored) for the amounts from 0.01 to ``maximum`` (at least 1)."""
    whole, cents = int(maximum), int(maximum * 100) % 100
    assert whole >= 1, "a maximum below 1 yuan is not supported"
    alternatives = [r"0\.(?:0[1-9]|[1-9][0-9]?)"]  # 0.01 .. 0.99
    if whole > 1:
        below = "|".join(_one_to(whole - 1))
        alternatives.append(rf"(?:{below})(?:\.[0-9]{{1,2}})?")
    # the maximum's own whole part, with a fraction no larger than its cents
    fractions = [f for f in (f"{n:02d}" for n in range(cents + 1))]
    fractions += sorted({f[0] for f in fractions if f[1] == "0"})
    alternatives.append(rf"{whole}(?:\.(?:{'|'.join(fractions)}))?")
    return "^(?:" + "|".join(alternatives) + ")$"


def _message(maximum: Decimal) -> str:
    return gettext('an amount from 0.01 to %(maximum)s, as a string such as "12.30"') % {
        "maximum": maximum
    }


class AmountField(serializers.CharField):
    """A plain decimal string from 0.01 to ``maximum``; validated as a string (what the service
    parses), so the schema's pattern and the check are the same thing."""

    def __init__(self, *, maximum: Decimal = MAX_AMOUNT, **kwargs: Any) -> None:
        self.maximum = maximum
        # Translated when shown (lazily), in the language of the request.
        message = lazy(_message, str)(maximum)
        validator = RegexValidator(re.compile(amount_pattern(maximum)), message)
        kwargs.setdefault("help_text", message)
        super().__init__(trim_whitespace=False, max_length=16, validators=[validator], **kwargs)
        self.error_messages["invalid"] = message

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):  # 5.5 as a JSON number: binary floating point, refused
            self.fail("invalid")
        return str(super().to_internal_value(data))
