"""API endpoints of refund requests (included by zhifu.api.urls under refund-requests/)."""

from django.urls import URLPattern, URLResolver, path

from . import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("", api.RefundRequestListCreateView.as_view(), name="refund-requests"),
    path("<int:pk>/", api.RefundRequestDetailView.as_view(), name="refund-request"),
]
