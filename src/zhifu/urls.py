from django.urls import include, path

from . import views

app_name = "zhifu"

urlpatterns = [
    path("link/", include("zhifu.paylinks.urls")),
    path("<slug:provider>/notify/", views.notify, name="notify"),
    path("<slug:provider>/return/", views.payment_return, name="return"),
    # The names sites configured before there was more than one provider.
    path("alipay/notify/", views.notify, {"provider": "alipay"}, name="alipay-notify"),
    path("alipay/return/", views.payment_return, {"provider": "alipay"}, name="alipay-return"),
]
