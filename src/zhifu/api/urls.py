"""Include at ``/api/``: ``path("api/", include("zhifu.api.urls"))``."""

from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import tokens, views

app_name = "zhifu-api"

urlpatterns: list[URLPattern | URLResolver] = [
    path("token/", tokens.TokenObtainView.as_view(), name="token"),
    path("token/refresh/", tokens.TokenRefreshView.as_view(), name="token-refresh"),
    path("token/logout/", tokens.LogoutView.as_view(), name="token-logout"),
    path("orders/", views.OrderListCreateView.as_view(), name="orders"),
    path("orders/<str:out_trade_no>/", views.OrderDetailView.as_view(), name="order"),
    path("orders/<str:out_trade_no>/pay/", views.OrderPayView.as_view(), name="order-pay"),
    path("orders/<str:out_trade_no>/cancel/", views.OrderCancelView.as_view(), name="order-cancel"),
    path("wallet/", views.WalletView.as_view(), name="wallet"),
    path("wallet/ledger/", views.LedgerView.as_view(), name="wallet-ledger"),
    path("wallet/top-up/", views.TopUpView.as_view(), name="wallet-top-up"),
    path("refunds/", views.RefundListCreateView.as_view(), name="refunds"),
    path("links/", include("zhifu.paylinks.api_urls")),
    path("refund-requests/", include("zhifu.refundrequests.api_urls")),
    path("withdrawals/", include("zhifu.withdrawals.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="zhifu-api:schema"), name="docs"),
]
