"""What a site sells, as Zhifu sees it: ``ZHIFU["CATALOG"]`` names a callable
``resolve(sku: str, user) -> CatalogItem`` that raises :class:`UnknownSku`. Prices always come from
here (the server), never from the client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.module_loading import import_string

from .exceptions import ConfigurationError, OrderError

__all__ = ["CatalogItem", "UnknownSku", "get_resolver", "resolve"]


class UnknownSku(OrderError):
    """The site does not sell this SKU (or not to this user)."""

    code = "unknown_sku"


@dataclass(frozen=True)
class CatalogItem:
    sku: str
    title: str
    unit_price: Decimal
    item: Any = None  # the model instance sold (stored on the order line via a GenericForeignKey)
    max_quantity: int | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


def get_resolver() -> Callable[[str, Any], CatalogItem]:
    from .conf import zhifu_settings

    path = zhifu_settings.CATALOG
    if not path:
        raise ConfigurationError(
            "catalog_not_configured", 'ZHIFU["CATALOG"] is not set: name a resolve(sku, user)'
        )
    if callable(path):
        return path  # type: ignore[no-any-return]
    try:
        return import_string(path)  # type: ignore[no-any-return]
    except ImportError as exc:
        raise ConfigurationError(
            "catalog_not_configured", f'ZHIFU["CATALOG"] = {path!r} cannot be imported: {exc}'
        ) from None


def resolve(sku: str, user: Any) -> CatalogItem:
    item = get_resolver()(sku, user)
    if not isinstance(item, CatalogItem):
        raise ConfigurationError(
            "catalog_not_configured", f"the catalog returned {type(item).__name__}, not CatalogItem"
        )
    return item
