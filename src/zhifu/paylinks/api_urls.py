"""API endpoints of payment links (included by zhifu.api.urls under links/)."""

from django.urls import URLPattern, URLResolver, path

from . import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("", api.LinkListCreateView.as_view(), name="links"),
    path("<str:code>/", api.LinkDetailView.as_view(), name="link"),
]
