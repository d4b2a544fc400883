from typing import Any

from common import channels
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import Article, Reward


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "author", "reward_count", "reward_total", "created_at"]


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    """A reward follows its order (rewards.fulfilment): shown here, never edited."""

    list_display = ["article", "user", "amount", "paid_with", "status", "paid_at"]
    list_filter = ["status", "channel"]

    @admin.display(description=_("paid with"), ordering="channel")
    def paid_with(self, reward: Reward) -> str:
        return channels.label(reward.channel)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
