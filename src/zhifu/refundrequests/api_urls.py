"""API endpoints of refund requests (included by zhifu.api.urls under refund-requests/)."""

from django.urls import URLPattern, URLResolver, path

from . import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("", api.RefundRequestListCreateView.as_view(), name="refund-requests"),
    # str, not int: a URL like -5/ or a 30-digit number must get the API's JSON 404 from the
    # view, not the site's HTML page from the URL resolver (or an out-of-range database error).
    path("<str:pk>/", api.RefundRequestDetailView.as_view(), name="refund-request"),
]
