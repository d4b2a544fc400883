"""API endpoints of payment links (included by zhifu.api.urls under links/)."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
