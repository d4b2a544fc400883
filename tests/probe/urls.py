"""The test site's URLs plus notify endpoints that are wrong on purpose, for the probe to catch.

``naive/alipay/notify/`` is seed 003's ``check_order``: it verifies the signature, updates the
order "where out_trade_no = …" (nothing, for an order it does not have) and answers ``success``
anyway. The others acknowledge everything, answer WeChat Pay with 200 even when refusing (WeChat
reads only the status), crash, or are slow.
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from tests.urls import urlpatterns as site_urlpatterns
from zhifu.alipay import Verifier, notification_content
from zhifu.models import Order


@csrf_exempt
def acknowledge_everything_alipay(request: HttpRequest) -> HttpResponse:
    return HttpResponse("success")


@csrf_exempt
def acknowledge_everything_wechat(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"code": "SUCCESS", "message": "成功"})


@csrf_exempt
def naive_alipay(request: HttpRequest) -> HttpResponse:
    """Seed 003's handler: verify, update whatever matches, say ``success``."""
    post_dict = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
    sign = post_dict.pop("sign", None)
    verifier = Verifier(settings.ZHIFU["ALIPAY_PUBLIC_KEY"])
    if sign and verifier.verify(notification_content(post_dict), sign):
        Order.objects.filter(out_trade_no=post_dict.get("out_trade_no", "")).update(
            status=Order.Status.PAID
        )
        return HttpResponse("success")
    return HttpResponse("支付失败")


@csrf_exempt
def refuses_with_200_wechat(request: HttpRequest) -> HttpResponse:
    """Refuses everything, but with HTTP 200: WeChat Pay reads the status, not the body."""
    return JsonResponse({"code": "FAIL", "message": "失败"}, status=200)


@csrf_exempt
def crashes_wechat(request: HttpRequest) -> HttpResponse:
    """A handler that lets the exception out: Django's bare 500, no {"code": "FAIL"}."""
    json.loads(request.body)  # malformed bodies raise
    raise RuntimeError("the signature check is not written yet")


@csrf_exempt
def slow_alipay(request: HttpRequest) -> HttpResponse:
    time.sleep(0.3)
    return HttpResponse("fail", status=400)


urlpatterns = [
    *site_urlpatterns,
    path("anything/alipay/notify/", acknowledge_everything_alipay),
    path("anything/wechatpay/notify/", acknowledge_everything_wechat),
    path("naive/alipay/notify/", naive_alipay),
    path("status200/wechatpay/notify/", refuses_with_200_wechat),
    path("crash/wechatpay/notify/", crashes_wechat),
    path("slow/alipay/notify/", slow_alipay),
]
