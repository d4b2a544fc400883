"""Buyer-facing pages of payment links (included by zhifu.urls under link/)."""

from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("poll.js", views.poll_script, name="link-js"),
    path("jsapi.js", views.jsapi_script, name="link-jsapi-js"),
    path("<str:code>/", views.link_page, name="link"),
    path("<str:code>/pay/", views.pay, name="link-pay"),
    path("<str:code>/qr/", views.qr_page, name="link-qr"),
    path("<str:code>/status/", views.status, name="link-status"),
    path("<str:code>/wechat/", views.jsapi_page, name="link-jsapi"),
    path("<str:code>/wechat/oauth/", views.wechat_oauth, name="link-wechat-oauth"),
]
