from django.urls import path

from . import views

app_name = "zhifu"

urlpatterns = [
    path("alipay/notify/", views.alipay_notify, name="alipay-notify"),
    path("alipay/return/", views.alipay_return, name="alipay-return"),
]
