"""Template helpers: amounts as ¥1,234.50, the labels of Zhifu's codes (order status, kind,
payment channel, ledger entry kind) from Zhifu's own models, and the one-time form token."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import TextChoices
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from common import channels
from common.once import FIELD, new_token
from zhifu.models import LedgerEntry, Order
from zhifu.money import format_yuan

register = template.Library()

# Memos the demo writes itself (sample data), shown in the visitor's language.
KNOWN_NOTES = {
    "demo starting balance": _("Starting balance of the demo"),
    "welcome credits": _("Welcome credits"),
}


@register.filter
def yuan(value: Any) -> str:
    """``Decimal("1234.5")`` -> ``¥1,234.50``, ``-¥5.00`` for a debit (``zhifu.money``'s
    formatter): exact or an error, never a rounded sum. Empty for no value."""
    if value is None or value == "":
        return ""
    return format_yuan(value)


@register.filter
def signed_yuan(value: Any) -> str:
    """``+¥5.00`` for a credit, ``-¥5.00`` for a debit."""
    if value is None or value == "":
        return ""
    return format_yuan(value, signed=True)


def _label(choices: type[TextChoices], value: Any) -> str:
    """The label of a stored code in the visitor's language; a code the model does not know
    (a site-defined order kind) as stored."""
    try:
        return str(capfirst(choices(str(value)).label))
    except ValueError:
        return str(value)


@register.filter
def order_status(value: Any) -> str:
    return _label(Order.Status, value)


@register.filter
def kind_label(value: Any) -> str:
    return _label(Order.Kind, value)


register.filter("channel_label", channels.label)


@register.filter
def ledger_label(value: Any) -> str:
    return _label(LedgerEntry.Kind, value)


@register.filter
def note(value: Any) -> str:
    """A ledger/credits memo: the demo's own memos translated, others as stored."""
    return str(KNOWN_NOTES.get(str(value), value))


@register.simple_tag
def once_field() -> SafeString:
    """The hidden one-time token of a form that creates an order (see ``common.once``)."""
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD, new_token())


@register.filter
def line_validity(line: Any) -> str:
    """A course line's validity in the visitor's language ("90 days", "Permanent"); "—" else."""
    if not str(getattr(line, "sku", "")).startswith("course:"):
        return "—"
    days = (getattr(line, "metadata", None) or {}).get("days")
    if days is None:
        return str(_("Permanent"))
    return str(_("%(days)d days") % {"days": int(days)})


@register.filter
def has_courses(order: Any) -> bool:
    return any(str(line.sku).startswith("course:") for line in order.lines.all())
