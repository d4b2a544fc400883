"""The goods shop: list and buy now (the order and its price come from the server's catalog)."""

from __future__ import annotations

from common.types import AuthenticatedHttpRequest
from common.views import error_message
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
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
    goods = Goods.objects.filter(pk=pk, is_active=True).first()
    if goods is None:
        messages.error(
            request, error_message(ZhifuError("unknown_sku", _("This item is not on sale.")))
        )
        return redirect("shop")
    text = request.POST.get("quantity", "1").strip() or "1"
    if not text.isdigit() or not 1 <= int(text) <= MAX_QUANTITY:
        messages.error(request, _("Enter a quantity from 1 to %(max)d.") % {"max": MAX_QUANTITY})
        return redirect("shop")
    quantity = int(text)
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
