from django.contrib import admin

from .models import Article, Reward


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "author", "reward_count", "reward_total", "created_at"]


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    list_display = ["article", "user", "amount", "channel", "status", "paid_at"]
    list_filter = ["status", "channel"]
