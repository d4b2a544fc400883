"""The buyer's pages of a link over Django's test client: what each device is offered, starting
a payment, the QR page, the status endpoint, and that a link shows nothing but itself."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from tests.core.factories import make_attempt, make_order, paid_event
from zhifu.models import PaymentAttempt
from zhifu.paylinks.services import create_link
from zhifu.services.orders import cancel_order
from zhifu.services.payments import apply_payment_event
from zhifu.services.transitions import lock

pytestmark = pytest.mark.django_db

DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120 Safari/537.36"
PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120 Mobile Safari"
WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
)


def browser(ua: str = DESKTOP) -> Client:
    return Client(HTTP_USER_AGENT=ua)


@pytest.fixture
def link(fake_alipay, link_staff, user):
    return create_link(created_by=link_staff, amount="12.30", subject="定制课程", buyer=user)


def pay_buttons(html: str) -> list[str]:
    import re

    return re.findall(r'data-channel="([a-z0-9_]+)"', html)


def test_the_page_shows_the_request_and_the_desktop_channels(link):
    response = browser().get(link.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "定制课程" in html and "12.30" in html
    assert 'data-status="pending"' in html
    assert pay_buttons(html) == ["alipay_page"]  # only what the site's providers offer
    assert "<svg" in html  # the link's own QR, to open it on a phone
    assert response["Cache-Control"].startswith("max-age=0")
    assert response["Referrer-Policy"] == "same-origin"
    # polling: the app's own script (CSP script-src 'self'), no inline script at all
    assert '<script src="/zhifu/link/poll.js"' in html and "<script>" not in html
    assert 'data-zhifu-link-status="/zhifu/link/' in html


@pytest.mark.parametrize(
    ("ua", "offered"),
    [
        (DESKTOP, ["alipay_page", "wechat_native"]),
        (PHONE, ["alipay_wap", "wechat_h5"]),
        (WECHAT, ["wechat_native"]),
    ],
)
def test_each_device_is_offered_its_channels(with_wechat, link_staff, ua, offered):
    link = create_link(created_by=link_staff, amount="1.00", subject="x")
    html = browser(ua).get(link.get_absolute_url()).content.decode()
    assert pay_buttons(html) == offered
    assert ('id="zhifu-in-wechat"' in html) == (ua == WECHAT)


def test_paying_by_alipay_page_renders_the_signed_cashier_form(link, fake_alipay):
    client = browser()
    response = client.post(f"{link.get_absolute_url()}pay/", {"channel": "alipay_page"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="zhifu-pay-form"' in html
    action = html.split('action="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert action.startswith(fake_alipay.config["GATEWAY_URL"])
    params = parse_qs(urlsplit(action).query)
    # back to the link page after paying, whoever the visitor is
    assert params["return_url"] == [f"http://testserver{link.get_absolute_url()}"]
    attempt = PaymentAttempt.objects.get(order=link.order)
    assert attempt.channel == "alipay_page" and attempt.amount == link.amount
    assert response["Referrer-Policy"] == "same-origin"


def test_a_phone_pays_by_alipay_wap(link):
    response = browser(PHONE).post(f"{link.get_absolute_url()}pay/", {"channel": "alipay_wap"})
    assert response.status_code == 200
    assert "alipay.trade.wap.pay" in response.content.decode()


def test_a_channel_not_offered_on_this_device_is_refused(with_wechat, link_staff):
    link = create_link(created_by=link_staff, amount="1.00", subject="x")
    for ua, channel in [(WECHAT, "alipay_wap"), (DESKTOP, "wechat_h5"), (DESKTOP, "balance")]:
        response = browser(ua).post(f"{link.get_absolute_url()}pay/", {"channel": channel})
        assert response.status_code == 400
        assert 'data-code="invalid_channel"' in response.content.decode()
    assert not PaymentAttempt.objects.exists()


def test_the_qr_page_shows_the_open_qr_attempt_and_polls(link):
    # (Alipay's QR channel: this module's site has Alipay only; WeChat Native's page, and its
    # code renewed after 2 hours, are tested against the sandbox in test_link_sandbox.py)
    attempt = make_attempt(link.order, channel="alipay_qr")
    PaymentAttempt.objects.filter(pk=attempt.pk).update(qr_code="https://qr.alipay.com/bax0abc")
    response = browser(WECHAT).get(f"{link.get_absolute_url()}qr/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="zhifu-pay-qr"' in html and "<svg" in html
    assert 'id="zhifu-in-wechat"' in html  # press and hold, in WeChat
    assert "poll.js" in html


def test_the_qr_page_without_an_open_qr_goes_back_to_the_link(link):
    response = browser().get(f"{link.get_absolute_url()}qr/")
    assert response.status_code == 302 and response["Location"] == link.get_absolute_url()


def _pay(link):
    attempt = make_attempt(link.order)
    with transaction.atomic():
        order = lock(link.order)
        apply_payment_event(order, lock(attempt), paid_event(attempt), source="test")


def test_a_paid_link_says_so_and_offers_nothing(link):
    _pay(link)
    html = browser().get(link.get_absolute_url()).content.decode()
    assert 'data-status="paid"' in html and 'id="zhifu-link-paid"' in html
    assert pay_buttons(html) == [] and "poll.js" not in html
    response = browser().post(f"{link.get_absolute_url()}pay/", {"channel": "alipay_page"})
    assert response.status_code == 409
    assert 'data-code="link_not_payable"' in response.content.decode()
    assert browser().get(f"{link.get_absolute_url()}status/").json() == {
        "status": "paid",
        "paid": True,
    }


def test_an_expired_or_cancelled_link_cannot_be_paid(fake_alipay, link_staff):
    expired = create_link(created_by=link_staff, amount="1", subject="x", expires_in=60)
    later = timezone.now() + timedelta(minutes=2)
    from unittest import mock

    with mock.patch("django.utils.timezone.now", return_value=later):
        html = browser().get(expired.get_absolute_url()).content.decode()
        assert 'data-status="expired"' in html and pay_buttons(html) == []
        response = browser().post(f"{expired.get_absolute_url()}pay/", {"channel": "alipay_page"})
        assert response.status_code == 409
    cancelled = create_link(created_by=link_staff, amount="1", subject="x")
    cancel_order(cancelled.order, user=link_staff)
    html = browser().get(cancelled.get_absolute_url()).content.decode()
    assert 'data-status="cancelled"' in html and pay_buttons(html) == []


def test_status_endpoint_tells_the_status_only(link):
    response = browser().get(f"{link.get_absolute_url()}status/")
    assert response.status_code == 200
    assert response.json() == {"status": "pending", "paid": False}
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_unknown_codes_are_404_everywhere(link):
    client = browser()
    for path in ["nope-nope-nope/", "nope-nope-nope/qr/", "nope-nope-nope/status/"]:
        assert client.get(f"/zhifu/link/{path}").status_code == 404
    assert (
        client.post("/zhifu/link/nope-nope-nope/pay/", {"channel": "alipay_page"}).status_code
        == 404
    )
    assert client.get("/zhifu/link/%2e%2e/").status_code == 404


def test_a_link_shows_nothing_of_other_orders_and_return_params_are_only_a_hint(
    link, user, link_staff, fake_alipay
):
    other = make_order(user, "99.00")
    other_attempt = make_attempt(other)
    # someone puts another order's trade number on the link's URL: it is ignored, not queried
    response = browser().get(link.get_absolute_url(), {"out_trade_no": other_attempt.out_trade_no})
    html = response.content.decode()
    assert response.status_code == 200
    assert other.out_trade_no not in html and "99.00" not in html
    assert 'data-status="pending"' in html
    other.refresh_from_db()
    assert (
        other_attempt.last_checked_at is None if hasattr(other_attempt, "last_checked_at") else True
    )
    # the link's page never shows the buyer's name
    assert user.username not in html and link_staff.username not in html


def test_a_return_to_the_link_asks_the_gateway_about_its_own_trade(link, monkeypatch):
    from zhifu.paylinks import services

    attempt = make_attempt(link.order)
    asked = []
    monkeypatch.setattr(services, "sync_attempt", lambda a: asked.append(a.out_trade_no))
    url = link.get_absolute_url()
    browser().get(url, {"out_trade_no": attempt.out_trade_no, "sign": "whatever"})
    browser().get(url, {"out_trade_no": attempt.out_trade_no})  # within 5 s: not again
    assert asked == [attempt.out_trade_no]


def test_poll_script_is_served_as_javascript(fake_alipay):
    response = browser().get("/zhifu/link/poll.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "data-zhifu-link-status" in response.content.decode()


def test_pages_are_in_chinese_on_a_chinese_site(link, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    html = browser().get(link.get_absolute_url()).content.decode()
    assert 'lang="zh-hans"' in html
    assert "等待付款" in html


def test_the_pages_style_carries_the_csp_nonce_when_the_site_has_one(fake_alipay):
    from django.template.loader import render_to_string

    error = {"code": "link_not_found", "message": "no such payment link"}
    with_nonce = render_to_string(
        "zhifu/paylinks/link.html", {"error": error, "csp_nonce": "n0nce"}
    )
    assert '<style nonce="n0nce">' in with_nonce
    without = render_to_string("zhifu/paylinks/link.html", {"error": error})
    assert "<style>" in without
