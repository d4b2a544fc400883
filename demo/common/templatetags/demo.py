"""Template helpers: amounts as ¥12.30, translated order statuses and payment channels."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

STATUS_LABELS = {
    "pending": _("Awaiting payment"),
    "paid": _("Paid"),
    "partially_refunded": _("Partially refunded"),
    "refunded": _("Refunded"),
    "cancelled": _("Cancelled"),
    "expired": _("Expired"),
}
CHANNEL_LABELS = {
    "alipay_page": _("Alipay (computer)"),
    "alipay_wap": _("Alipay (mobile)"),
    "alipay_qr": _("Alipay QR code"),
    "balance": _("Wallet balance"),
}
KIND_LABELS = {
    "purchase": _("Purchase"),
    "reward": _("Reward"),
    "topup": _("Top-up"),
}
# Memos the demo writes itself (sample data), shown in the visitor's language.
KNOWN_NOTES = {
    "demo starting balance": _("Starting balance of the demo"),
    "welcome credits": _("Welcome credits"),
}
LEDGER_LABELS = {
    "topup": _("Top-up"),
    "payment": _("Payment"),
    "reward_income": _("Reward income"),
    "refund": _("Refund"),
    "adjustment": _("Adjustment"),
}


@register.filter
def yuan(value: Any) -> str:
    """``Decimal("12.3")`` -> ``¥12.30``; negative amounts as ``-¥5.00``."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return str(value)
    sign = "-" if number < 0 else ""
    return f"{sign}¥{abs(number):,.2f}"


@register.filter
def signed_yuan(value: Any) -> str:
    text = yuan(value)
    try:
        positive = Decimal(str(value)) > 0
    except (InvalidOperation, ValueError):
        positive = False
    return f"+{text}" if positive else text


def _label_filter(name: str, labels: dict[str, Any], doc: str) -> Callable[[Any], str]:
    """Register filter ``name``: a stored code shown with its label, unknown codes as stored."""

    def label(value: Any) -> str:
        return str(labels.get(str(value), value))

    label.__doc__ = doc
    register.filter(name, label)
    return label


order_status = _label_filter(
    "order_status", STATUS_LABELS, "An order status in the visitor's language."
)
_label_filter("channel_label", CHANNEL_LABELS, "A payment channel in the visitor's language.")
_label_filter("kind_label", KIND_LABELS, "An order kind in the visitor's language.")
_label_filter("ledger_label", LEDGER_LABELS, "A ledger entry kind in the visitor's language.")
_label_filter(
    "note", KNOWN_NOTES, "A ledger/credits memo: the demo's own memos translated, else as stored."
)


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
