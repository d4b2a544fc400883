"""What pages receive, parsed in one place: ids, quantities, credits, amounts and ``next`` URLs.

Each parser takes the raw text of a form field or query parameter and returns a value or raises
``DemoError`` with a message that says what is wrong. Only ASCII digits count as digits:
``str.isdigit()`` also accepts ``"²"`` and ``"١٢"``, which ``int()`` then refuses (a 500 before).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from zhifu.money import AmountError, parse_amount

from .errors import DemoError

_WHOLE = re.compile(r"[0-9]{1,9}", re.ASCII)  # up to 999 999 999: fits every integer column


def is_whole(text: object) -> bool:
    """``text`` is a whole number written with ASCII digits only (no sign, no space)."""
    return isinstance(text, str) and _WHOLE.fullmatch(text) is not None


def parse_id(text: object, *, what: str = "") -> int:
    """A database id (``"12"``); ``DemoError("invalid_id")`` for anything else."""
    value = text.strip() if isinstance(text, str) else text
    if not is_whole(value) or int(str(value)) < 1:
        raise DemoError(
            "invalid_id",
            _("%(what)s must be a number such as 12, not “%(value)s”.")
            % {"what": what or _("The id"), "value": _shown(text)},
        )
    return int(str(value))


def optional_id(text: object, *, what: str = "") -> int | None:
    """An id, or ``None`` for an empty field."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    return parse_id(text, what=what)


def parse_quantity(text: object, *, maximum: int) -> int:
    """A quantity from 1 to ``maximum``; an empty field is 1."""
    value = text.strip() if isinstance(text, str) else text
    if value in (None, ""):
        return 1
    if not is_whole(value) or not 1 <= int(str(value)) <= maximum:
        raise DemoError(
            "invalid_quantity",
            _("Enter a quantity from 1 to %(max)d.") % {"max": maximum},
        )
    return int(str(value))


def parse_credits(text: object) -> int:
    """Credits to use: a whole number of 0 or more; an empty field is 0. One message per
    mistake (the limits of an order are checked by the checkout)."""
    value = text.strip() if isinstance(text, str) else ""
    if value == "":
        return 0
    if value.startswith("-") and is_whole(value[1:]):
        raise DemoError("invalid_credits", _("Credits cannot be negative."))
    if not is_whole(value):
        raise DemoError(
            "invalid_credits",
            _("Credits must be a whole number such as 100, not “%(value)s”.")
            % {"value": _shown(text)},
        )
    return int(value)


def parse_yuan(text: object, *, maximum: Decimal, too_large: str) -> Decimal:
    """An amount of money typed by a person: digits, an optional point and at most two
    decimals (``zhifu.money.parse_amount``), from ¥0.01 to ``maximum``. ``too_large`` is the
    message for an amount above ``maximum`` (each limit explains itself)."""
    try:
        amount = parse_amount(text.strip() if isinstance(text, str) else text)
    except AmountError:
        raise DemoError(
            "invalid_amount", _("Enter an amount such as 50 or 12.30 (at most two decimals).")
        ) from None
    if amount > maximum:
        raise DemoError("amount_too_large", too_large)
    return amount


def limit(name: str) -> Decimal:
    """An amount limit from the settings (``DEMO_TOP_UP_MAX``, ``DEMO_REWARD_MAX``), in yuan."""
    return parse_amount(getattr(settings, name))


def safe_next(request: HttpRequest, value: object, fallback: str) -> str:
    """Where to go after a POST: ``value`` if it is a URL on this site, else ``fallback`` (a
    URL name or path). A posted ``next=https://evil.example/`` is never followed."""
    if (
        isinstance(value, str)
        and value
        and url_has_allowed_host_and_scheme(
            value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return value
    return resolve_url(fallback)


def _shown(value: Any) -> str:
    """A value quoted back to the visitor, shortened."""
    text = str(value)
    return text if len(text) <= 20 else text[:20] + "…"
