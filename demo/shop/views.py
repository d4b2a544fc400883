"""The goods shop: list and buy now (the order and its price come from the server's catalog)."""

from __future__ import annotations

from common.views import error_message
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from zhifu.exceptions import ZhifuError
from zhifu.services.orders import create_order_from_skus

from .models import Goods


def goods_list(request: HttpRequest) -> HttpResponse:
    return render(request, "shop/goods_list.html", {"goods": Goods.objects.filter(is_active=True)})


@login_required
@require_POST
def buy_now(request: HttpRequest, pk: int) -> HttpResponse:
    goods = Goods.objects.filter(pk=pk, is_active=True).first()
    if goods is None:
        messages.error(
            request, error_message(ZhifuError("unknown_sku", "This item is not on sale."))
        )
        return redirect("shop")
    try:
        quantity = max(1, min(99, int(request.POST.get("quantity", "1"))))
    except ValueError:
        quantity = 1
    try:
        order = create_order_from_skus(
            request.user,
            [{"sku": goods.sku, "quantity": quantity}],
            subject=goods.name,
            metadata={"site": "shop"},
        )
    except ZhifuError as exc:
        messages.error(request, error_message(exc))
        return redirect("shop")
    return redirect("pay", out_trade_no=order.out_trade_no)
