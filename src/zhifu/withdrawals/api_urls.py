"""API endpoints of withdrawals (included by zhifu.api.urls under withdrawals/)."""

from django.urls import URLPattern, URLResolver, path

from . import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("", api.WithdrawalListCreateView.as_view(), name="withdrawals"),
    # str, not int: a URL like -5/ or a 30-digit number must get the API's JSON 404 from the
    # view, not the site's HTML page from the URL resolver (or an out-of-range database error).
    path("<str:pk>/", api.WithdrawalDetailView.as_view(), name="withdrawal"),
]
