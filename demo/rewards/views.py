"""Articles and the reward dialog. Paying goes through the shared pay flow."""

from __future__ import annotations

from common import wechat
from common.errors import DemoError, error_message
from common.once import submit_once
from common.types import AuthenticatedHttpRequest
from common.views import redirect_after_resubmit, start_and_respond
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from zhifu.exceptions import ZhifuError

from .models import Article, Reward
from .services import create_reward, parse_reward_amount


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
            "wechat_channel": wechat.reward_channel(request),
        },
    )


@login_required
@require_POST
def reward(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """One reward order per submit of the dialog, then straight to the chosen channel; a second
    submit of the same dialog shows the first reward and pays nothing again."""
    article = get_object_or_404(Article, pk=pk)
    text = request.POST.get("custom_amount", "").strip() or request.POST.get("amount", "")
    channel = request.POST.get("channel", "alipay_page")
    note = request.POST.get("message", "").strip()[:200]
    try:
        amount = parse_reward_amount(text)
        order, first = submit_once(
            request,
            "reward",
            {"article": article.pk, "amount": amount, "message": note, "channel": channel},
            lambda: create_reward(request.user, article, amount, note, channel),
        )
    except (DemoError, ZhifuError) as exc:
        messages.error(request, error_message(exc))
        return redirect("article-detail", pk=article.pk)
    if not first:
        return redirect_after_resubmit(order)
    # Go straight to the chosen channel; on failure the pay page offers the others.
    try:
        response = start_and_respond(request, order, channel)
    except ZhifuError as exc:
        messages.error(request, error_message(exc))
        return redirect("pay", out_trade_no=order.out_trade_no)
    return response or redirect("pay", out_trade_no=order.out_trade_no)
