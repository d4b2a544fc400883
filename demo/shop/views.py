"""The goods shop: list and buy now (the order and its price come from the server's catalog)."""

from __future__ import annotations

from common.errors import DemoError, error_message
from common.inputs import parse_quantity
from common.once import submit_once
from common.types import AuthenticatedHttpRequest
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from zhifu.exceptions import ZhifuError
from zhifu.services.orders import create_order_from_skus

from .models import Goods

MAX_QUANTITY = 99


def goods_list(request: HttpRequest) -> HttpResponse:
    return render(request, "shop/goods_list.html", {"goods": Goods.objects.filter(is_active=True)})


@login_required
@require_POST
def buy_now(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """One order per submit of the buy-now form, then its pay page."""
    goods = Goods.objects.filter(pk=pk, is_active=True).first()
    if goods is None:
        messages.error(request, error_message(ZhifuError("unknown_sku")))
        return redirect("shop")
    try:
        quantity = parse_quantity(request.POST.get("quantity"), maximum=MAX_QUANTITY)
        order, _created = submit_once(
            request,
            "buy-now",
            {"sku": goods.sku, "quantity": quantity},
            lambda: create_order_from_skus(
                request.user,
                [{"sku": goods.sku, "quantity": quantity}],
                subject=goods.name,
                metadata={"site": "shop"},
            ),
        )
    except (DemoError, ZhifuError) as exc:
        messages.error(request, error_message(exc))
        return redirect("shop")
    return redirect("pay", out_trade_no=order.out_trade_no)
