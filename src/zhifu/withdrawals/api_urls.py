"""API endpoints of withdrawals (included by zhifu.api.urls under withdrawals/)."""

from django.urls import URLPattern, URLResolver, path

from . import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("", api.WithdrawalListCreateView.as_view(), name="withdrawals"),
    # str, not int: see zhifu.api.paths
    path("<str:pk>/", api.WithdrawalDetailView.as_view(), name="withdrawal"),
]
