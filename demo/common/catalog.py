"""The demo's catalog: what can be bought, by SKU, with the price computed here on the server.

SKUs: ``goods:<id>`` (a goods item), ``course:<id>:<days>`` and ``course:<id>:permanent`` (a
course with one validity option). Rewards and top-ups are not catalog items: their amount is
chosen by the buyer within limits, and they are created by their own services.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext as _

from zhifu.catalog import CatalogItem, UnknownSku

_GOODS = re.compile(r"goods:([0-9]{1,9})", re.ASCII)
_COURSE = re.compile(r"course:([0-9]{1,9}):([0-9]{1,9}|permanent)", re.ASCII)


def resolve(sku: str, user: Any) -> CatalogItem:
    """Resolve a SKU to a priced item; ``UnknownSku`` (with a message) for anything else.
    Digits are ASCII digits only: ``goods:²`` is an unknown SKU, not a crash."""
    from courses.models import ValidityOption
    from shop.models import Goods

    if match := _GOODS.fullmatch(sku):
        goods = Goods.objects.filter(pk=int(match[1]), is_active=True).first()
        if goods is None:
            raise UnknownSku(message=_("No goods on sale with SKU %(sku)s.") % {"sku": sku})
        return CatalogItem(
            sku=goods.sku,
            title=goods.name,
            unit_price=goods.price,
            item=goods,
            metadata={"kind": "goods", "goods_id": goods.pk},
        )
    if match := _COURSE.fullmatch(sku):
        options = ValidityOption.objects.select_related("course").filter(
            course_id=int(match[1]), course__is_active=True
        )
        if match[2] == "permanent":
            option = options.filter(days__isnull=True).first()
        else:
            option = options.filter(days=int(match[2])).first()
        if option is None:
            raise UnknownSku(message=_("No course option on sale with SKU %(sku)s.") % {"sku": sku})
        return course_item(option)
    raise UnknownSku(message=_("Unknown SKU %(sku)s.") % {"sku": sku})


def course_item(option: Any) -> CatalogItem:
    course = option.course
    return CatalogItem(
        sku=option.sku,
        title=f"{course.title} ({option.label})",
        unit_price=option.price,
        item=option,
        max_quantity=1,
        metadata={"kind": "course", "course_id": course.pk, "days": option.days},
    )


def iter_catalog() -> Iterator[dict[str, Any]]:
    """Everything on sale, for ``GET /api/catalog/``."""
    from courses.models import Course
    from shop.models import Goods

    for goods in Goods.objects.filter(is_active=True):
        yield {
            "sku": goods.sku,
            "kind": "goods",
            "title": goods.name,
            "price": goods.price,
            "validity_options": [],
        }
    for course in Course.objects.filter(is_active=True).prefetch_related("options"):
        options = list(course.options.all())
        yield {
            "sku": options[0].sku if options else "",
            "kind": "course",
            "title": course.title,
            "price": min((o.price for o in options), default=None),
            "validity_options": [
                {"sku": o.sku, "days": o.days, "label": o.label, "price": o.price} for o in options
            ],
        }
