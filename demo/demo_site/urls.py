"""URLs of the demo site. CSRF is on everywhere; Zhifu's notify view is the only exempt one.
The login forms are throttled; errors render 400/403/404/500.html from demo/templates."""

import os

from common import views, wechat
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularSwaggerSplitView

from demo_site.login_throttle import throttle_login

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "accounts/login/",
        throttle_login(auth_views.LoginView.as_view(template_name="registration/login.html")),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/login/", throttle_login(admin.site.login)),  # before the admin's own URLs
    path("admin/", admin.site.urls),
    path("zhifu/", include("zhifu.urls")),
    # Swagger UI with its init script as a file, not inline: it runs under the CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="zhifu-api:schema")),
    path("api/", include("common.api_urls")),
    path("api/", include("zhifu.api.urls")),
    path("shop/", include("shop.urls")),
    path("courses/", include("courses.urls")),
    path("articles/", include("rewards.urls")),
    path("orders/", views.order_list, name="orders"),
    path("orders/<str:out_trade_no>/", views.order_detail, name="order-detail"),
    path("orders/<str:out_trade_no>/pay/", views.pay, name="pay"),
    path("orders/<str:out_trade_no>/qr/", views.pay_qr, name="order-qr"),
    path("orders/<str:out_trade_no>/wechat/", wechat.pay_jsapi, name="pay-wechat-jsapi"),
    path("wechat/oauth/", wechat.oauth_back, name="wechat-oauth"),
    path("orders/<str:out_trade_no>/cancel/", views.cancel, name="order-cancel"),
    path("orders/<str:out_trade_no>/refund/", views.request_refund, name="order-refund"),
    path("orders/<str:out_trade_no>/status/", views.order_status, name="order-status"),
    path("wallet/", views.wallet, name="wallet"),
    path("wallet/top-up/", views.top_up, name="wallet-top-up"),
    path("wallet/withdraw/", views.withdraw, name="wallet-withdraw"),
]

if os.environ.get("DEMO_SERVE_STATIC"):
    # gunicorn in the demo: let Django serve the few static files (a proxy does it in production)
    urlpatterns.append(re_path(r"^static/(?P<path>.*)$", serve_static, {"insecure": True}))
