"""Buyer-facing pages of payment links (included by zhifu.urls under link/)."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
