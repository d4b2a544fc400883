"""The test site's catalog: ZHIFU["CATALOG"] = "tests.shop.catalog.resolve"."""

from zhifu.catalog import CatalogItem, UnknownSku

from .models import Product


def resolve(sku, user):
    product = Product.objects.filter(sku=sku, active=True).first()
    if product is None:
        raise UnknownSku("unknown_sku", f"no product {sku!r}")
    return CatalogItem(
        sku=product.sku,
        title=product.title,
        unit_price=product.price,
        item=product,
        max_quantity=product.max_quantity,
    )
