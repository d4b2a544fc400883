"""API endpoints of refund requests (included by zhifu.api.urls under refund-requests/)."""

from django.urls import URLPattern, URLResolver, path

from . import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("", api.RefundRequestListCreateView.as_view(), name="refund-requests"),
    # str, not int: see zhifu.api.paths
    path("<str:pk>/", api.RefundRequestDetailView.as_view(), name="refund-request"),
]
