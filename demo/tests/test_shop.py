"""The goods shop: buy now makes an order priced by the server; quantities are checked."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from shop.models import Goods

from zhifu.models import Order

from .helpers import once

pytestmark = pytest.mark.django_db


def test_buy_now_creates_an_order_priced_by_the_server(
    alice_client: Any, seeded: dict[str, Any]
) -> None:
    mug = Goods.objects.get(code="mug")
    response = alice_client.post(
        f"/shop/{mug.pk}/buy/",
        {"quantity": "2", "price": "0.01", "total_amount": "0.01", "once": once()},
    )
    order = Order.objects.get(user=seeded["alice"])
    assert response["Location"] == f"/orders/{order.out_trade_no}/pay/"
    assert order.total_amount == Decimal("78.00")  # 2 × 39: what the browser said is ignored
    assert order.lines.get().sku == f"goods:{mug.pk}"


@pytest.mark.parametrize("quantity", ["abc", "-5", "0", "1e9", "100", "²", "١٢"])
def test_goods_quantity_out_of_range_is_refused_with_a_message(en: Any, quantity: str) -> None:
    mug = Goods.objects.get(code="mug")
    response = en.post(f"/shop/{mug.pk}/buy/", {"quantity": quantity, "once": once()}, follow=True)
    assert "Enter a quantity from 1 to 99." in response.content.decode()
    assert not Order.objects.exists()


def test_goods_not_on_sale_cannot_be_bought(en: Any) -> None:
    mug = Goods.objects.get(code="mug")
    Goods.objects.filter(pk=mug.pk).update(is_active=False)
    response = en.post(f"/shop/{mug.pk}/buy/", {"once": once()}, follow=True)
    assert "This item is not on sale" in response.content.decode()
    assert not Order.objects.exists()
