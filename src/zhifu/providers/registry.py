"""The providers a site uses, by name and by payment channel.

``ZHIFU["PROVIDERS"]`` lists provider classes by dotted path (default: Alipay and the wallet).
Services ask this module for ``get(attempt.provider)`` or ``for_channel(channel)``; they never
import a concrete provider. Instances are built once per process (their clients hold keys loaded
once) and dropped when the ``ZHIFU`` setting changes.
"""

from __future__ import annotations

import threading
from typing import Any

from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from ..exceptions import ConfigurationError, PaymentError
from .base import Provider

__all__ = ["all_providers", "channel_choices", "channels", "for_channel", "get", "reset"]

_lock = threading.Lock()
_providers: dict[str, Provider] | None = None


def _load() -> dict[str, Provider]:
    global _providers
    found = _providers
    if found is not None:
        return found
    with _lock:
        if _providers is None:
            from ..conf import zhifu_settings

            loaded: dict[str, Provider] = {}
            for path in zhifu_settings.PROVIDERS:
                try:
                    cls = import_string(path) if isinstance(path, str) else path
                except ImportError as exc:
                    raise ConfigurationError(
                        "configuration_error", f'ZHIFU["PROVIDERS"]: cannot import {path!r}: {exc}'
                    ) from None
                provider = cls()
                if provider.name in loaded:
                    raise ConfigurationError(
                        "configuration_error",
                        f'ZHIFU["PROVIDERS"] lists two providers named {provider.name!r}',
                    )
                loaded[provider.name] = provider
            _providers = loaded
        return _providers


def reset() -> None:
    """Forget the built providers (the setting changed, or a test swaps one)."""
    global _providers
    with _lock:
        _providers = None


def all_providers() -> list[Provider]:
    return list(_load().values())


def get(name: str) -> Provider:
    """The provider called ``name`` (``attempt.provider``)."""
    try:
        return _load()[name]
    except KeyError:
        raise ConfigurationError(
            "configuration_error",
            _("the payment provider %(name)s is not configured"),
            name=repr(name),
        ) from None


def channels() -> dict[str, Any]:
    """Every payment channel the site offers, with its label, in provider order."""
    return {c: label for p in _load().values() for c, label in p.channels.items()}


def channel_choices() -> list[tuple[str, Any]]:
    return list(channels().items())


def needs_payer_id(channel: str) -> bool:
    """Whether paying through ``channel`` needs the buyer's id at the gateway (``Payer.openid``)."""
    provider = next((p for p in _load().values() if channel in p.channels), None)
    return channel in getattr(provider, "payer_id_channels", frozenset())


def for_channel(channel: Any) -> Provider:
    """The provider that offers ``channel``; a clear ``invalid_channel`` error otherwise."""
    if isinstance(channel, str):
        for provider in _load().values():
            if channel in provider.channels:
                return provider
    raise PaymentError(
        "invalid_channel",
        _("the payment method must be one of %(channels)s"),
        channels=", ".join(channels()),
    )
