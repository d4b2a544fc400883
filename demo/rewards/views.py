"""Articles and the reward dialog. Paying goes through the shared pay flow."""

from __future__ import annotations

from common.errors import DemoError
from common.types import AuthenticatedHttpRequest
from common.views import error_message, respond_to_start
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from zhifu.exceptions import ZhifuError
from zhifu.services import payments

from .models import Article, Reward
from .services import create_reward


def article_list(request: HttpRequest) -> HttpResponse:
    articles = Article.objects.select_related("author")
    return render(request, "rewards/article_list.html", {"articles": articles})


def article_detail(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(Article.objects.select_related("author"), pk=pk)
    rewards = (
        Reward.objects.filter(article=article, status=Reward.Status.PAID)
        .select_related("user")
        .order_by("-paid_at")[:50]
    )
    balance = None
    if request.user.is_authenticated:
        from zhifu.services import wallet

        balance = wallet.balance(request.user)
    return render(
        request,
        "rewards/article_detail.html",
        {
            "article": article,
            "rewards": rewards,
            "presets": settings.DEMO_REWARD_PRESETS,
            "balance": balance,
            "own": request.user.is_authenticated and request.user.pk == article.author_id,
        },
    )


@login_required
@require_POST
def reward(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(Article, pk=pk)
    amount = request.POST.get("custom_amount", "").strip() or request.POST.get("amount", "")
    channel = request.POST.get("channel", "alipay_page")
    try:
        order = create_reward(
            request.user, article, amount, request.POST.get("message", ""), channel
        )
    except DemoError as exc:
        messages.error(request, exc.message)
        return redirect("article-detail", pk=article.pk)
    except ZhifuError as exc:
        messages.error(request, error_message(exc))
        return redirect("article-detail", pk=article.pk)
    # Go straight to the chosen channel; on failure the pay page offers the others.
    try:
        start = payments.start_payment(order, channel, user=request.user)
    except ZhifuError as exc:
        messages.error(request, error_message(exc))
        return redirect("pay", out_trade_no=order.out_trade_no)
    return respond_to_start(request, order, start) or redirect(
        "pay", out_trade_no=order.out_trade_no
    )
