"""The payment channels the site offers and their labels, from Zhifu's provider registry: the
demo keeps no list of its own, so a provider added to ``ZHIFU["PROVIDERS"]`` shows up here."""

from __future__ import annotations

from typing import Any

from django.utils.text import capfirst

from zhifu.providers import registry
from zhifu.wallet import CHANNEL as BALANCE

__all__ = ["BALANCE", "all_channels", "gateway_channels", "label"]


def all_channels() -> tuple[str, ...]:
    return tuple(registry.channels())


def gateway_channels() -> tuple[str, ...]:
    """Channels paid through a gateway (everything but the wallet): a top-up's choices."""
    return tuple(c for c in all_channels() if c != BALANCE)


def label(channel: Any) -> str:
    """A channel in the visitor's language; an unknown one as stored."""
    text = registry.channels().get(str(channel))
    return str(capfirst(text)) if text is not None else str(channel)
