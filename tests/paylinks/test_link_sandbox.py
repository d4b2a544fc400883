"""A payment link paid end to end over real HTTP: the site on a live port, the zhifu sandbox
(Alipay and WeChat Pay) on another, the buyer's browser an httpx client."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tests.conftest import wait_until
from zhifu.conf import DEFAULTS
from zhifu.models import Notification, Order, PaymentAttempt
from zhifu.paylinks.services import create_link

pytestmark = pytest.mark.django_db(transaction=True)

DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"
PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120 Mobile Safari"
WECHAT = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.47"


def _browser(live_server, ua: str) -> httpx.Client:
    return httpx.Client(base_url=live_server.url, headers={"User-Agent": ua}, timeout=15)


def _choose(browser: httpx.Client, link, channel: str, *, offered: bool = True) -> httpx.Response:
    """POST the link page's form with ``channel`` (``offered=False``: one the page does not offer,
    as a forged form would)."""
    page = browser.get(link.get_absolute_url())
    assert page.status_code == 200, page.text[:500]
    if offered:
        assert f'data-channel="{channel}"' in page.text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return browser.post(
        f"{link.get_absolute_url()}pay/",
        data={"channel": channel, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{browser.base_url}{link.get_absolute_url()}"},
    )


def test_an_alipay_link_is_paid_once_and_then_shows_paid(
    sandbox_zhifu, live_server, link_staff, user, fulfilled
):
    sb = sandbox_zhifu
    link = create_link(created_by=link_staff, amount="0.01", subject="加钱", buyer=user)
    browser = _browser(live_server, DESKTOP)

    # The buyer picks Alipay: the site answers with the signed form to the sandbox's cashier.
    answer = _choose(browser, link, "alipay_page")
    assert answer.status_code == 200, answer.text[:500]
    action = html.unescape(re.search(r'<form id="zhifu-pay-form" action="([^"]+)"', answer.text)[1])
    biz = html.unescape(re.search(r'name="biz_content" value="([^"]+)"', answer.text)[1])
    assert action.startswith(sb.gateway_url)
    cashier = httpx.post(action, data={"biz_content": biz}, follow_redirects=True, timeout=15)
    assert cashier.status_code == 200, cashier.text[:500]

    attempt = PaymentAttempt.objects.get(order=link.order)
    assert '"0.01"' in biz and attempt.out_trade_no in biz
    return_url = sb.pay(attempt.out_trade_no)
    assert wait_until(lambda: Order.objects.get(pk=link.order_id).status == Order.Status.PAID)
    deliveries = sb.wait_for_notifications(attempt.out_trade_no)
    assert deliveries[0]["reply"] == "success"
    assert fulfilled == [("paid", link.order.out_trade_no)]

    # The cashier sends the buyer back to the link itself, which now says paid.
    assert return_url.startswith(f"{live_server.url}{link.get_absolute_url()}?")
    back = browser.get(return_url)
    assert back.status_code == 200 and 'data-status="paid"' in back.text
    assert browser.get(f"{link.get_absolute_url()}status/").json() == {
        "status": "paid",
        "paid": True,
    }

    # Alipay sends the same notification again: acknowledged, nothing changes.
    form = deliveries[0]["form"]
    again = httpx.post(f"{live_server.url}/zhifu/alipay/notify/", data=form, timeout=15)
    assert again.status_code == 200 and again.text == "success"
    outcomes = list(
        Notification.objects.filter(out_trade_no=attempt.out_trade_no)
        .order_by("id")
        .values_list("outcome", flat=True)
    )
    assert outcomes == ["applied", "duplicate"]
    assert fulfilled == [("paid", link.order.out_trade_no)]
    order = Order.objects.get(pk=link.order_id)
    assert order.status == Order.Status.PAID and order.total_amount == link.amount
    # a paid link cannot start another payment
    assert _choose_after_paid(browser, link).status_code == 409


def _choose_after_paid(browser: httpx.Client, link) -> httpx.Response:
    page = browser.get(link.get_absolute_url())
    assert 'data-channel="' not in page.text
    token = browser.cookies.get("csrftoken")
    return browser.post(
        f"{link.get_absolute_url()}pay/",
        data={"channel": "alipay_page", "csrfmiddlewaretoken": token},
        headers={"Referer": f"{browser.base_url}{link.get_absolute_url()}"},
    )


def _with_wechat(sb, settings, live_server) -> None:
    """ZHIFU: the sandbox's Alipay app and its WeChat Pay merchant, notifying the live server."""
    sb.wechat_mode("public_key")
    settings.ZHIFU = {
        **settings.ZHIFU,
        "PROVIDERS": [*DEFAULTS["PROVIDERS"], "zhifu.providers.wechatpay.WechatPayProvider"],
        "WECHATPAY": sb.wechatpay_settings(live_server.url + "/zhifu/wechatpay/notify/"),
    }


def test_a_wechat_native_link_is_paid_in_wechats_browser(
    sandbox_zhifu, settings, live_server, link_staff, fulfilled
):
    sb = sandbox_zhifu
    _with_wechat(sb, settings, live_server)
    link = create_link(created_by=link_staff, amount="8.80", subject="微信收款")
    browser = _browser(live_server, WECHAT)
    page = browser.get(link.get_absolute_url())
    assert re.findall(r'data-channel="([a-z0-9_]+)"', page.text) == ["wechat_native"]
    assert 'id="zhifu-in-wechat"' in page.text  # says why, and how to pay

    answer = _choose(browser, link, "wechat_native")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/qr/")
    qr_page = browser.get(answer.headers["Location"])
    assert qr_page.status_code == 200 and 'id="zhifu-pay-qr"' in qr_page.text
    attempt = PaymentAttempt.objects.get(order=link.order)
    assert attempt.channel == "wechat_native"
    assert attempt.qr_code.startswith("weixin://wxpay/bizpayurl")
    assert "<svg" in qr_page.text

    sb.wechat_pay(attempt.out_trade_no)
    assert wait_until(lambda: Order.objects.get(pk=link.order_id).status == Order.Status.PAID)
    assert fulfilled == [("paid", link.order.out_trade_no)]
    assert browser.get(f"{link.get_absolute_url()}status/").json()["status"] == "paid"
    # the QR page of a paid link goes back to the link, which says paid
    after = browser.get(f"{link.get_absolute_url()}qr/", follow_redirects=True)
    assert 'data-status="paid"' in after.text


def test_a_qr_page_opened_hours_later_shows_a_code_that_still_works(
    sandbox_zhifu, settings, live_server, link_staff
):
    """WeChat's code_url lives 2 hours; a link lives days: the QR page renews the code (the same
    trade at WeChat) instead of showing one the buyer's scan would refuse."""
    sb = sandbox_zhifu
    _with_wechat(sb, settings, live_server)
    link = create_link(created_by=link_staff, amount="6.60", subject="两小时后")
    browser = _browser(live_server, DESKTOP)
    answer = _choose(browser, link, "wechat_native")
    assert answer.status_code == 302
    attempt = PaymentAttempt.objects.get(order=link.order)
    first = attempt.qr_code

    def scan(code_url: str) -> int:
        page = httpx.get(f"{sb.url}/wechat/scan", params={"code_url": code_url})
        return page.status_code

    PaymentAttempt.objects.filter(pk=attempt.pk).update(
        created_at=attempt.created_at - timedelta(hours=3)
    )
    sb.advance_clock(2 * 3600 + 60)
    assert scan(first) == 410  # what the buyer's WeChat would now say of the stored code
    qr_page = browser.get(f"{link.get_absolute_url()}qr/")
    assert qr_page.status_code == 200 and 'id="zhifu-pay-qr"' in qr_page.text
    attempt.refresh_from_db()
    assert attempt.qr_code != first and scan(attempt.qr_code) == 302  # on to the wallet page
    assert PaymentAttempt.objects.filter(order=link.order).count() == 1  # the same trade


def test_a_phone_browser_pays_a_link_by_wechat_h5(
    sandbox_zhifu, settings, live_server, link_staff, fulfilled
):
    sb = sandbox_zhifu
    _with_wechat(sb, settings, live_server)
    link = create_link(created_by=link_staff, amount="6.66", subject="H5 收款")
    browser = _browser(live_server, PHONE)
    answer = _choose(browser, link, "wechat_h5")
    # to WeChat's H5 cashier, which sends the buyer back to the link afterwards
    assert answer.status_code == 302, answer.text[:500]
    cashier = answer.headers["Location"]
    assert cashier.startswith(sb.url) and "prepay_id=" in cashier
    attempt = PaymentAttempt.objects.get(order=link.order)
    assert attempt.channel == "wechat_h5"
    redirect = dict(parse_qsl(urlsplit(cashier).query)).get("redirect_url", "")
    assert redirect.startswith(f"{live_server.url}{link.get_absolute_url()}")
    assert sb.wechat_order(attempt.out_trade_no)["trade_type"] == "MWEB"  # H5, with the IP

    sb.wechat_pay(attempt.out_trade_no)
    assert wait_until(lambda: Order.objects.get(pk=link.order_id).status == Order.Status.PAID)
    assert fulfilled == [("paid", link.order.out_trade_no)]
    back = browser.get(redirect)
    assert back.status_code == 200 and 'data-status="paid"' in back.text
