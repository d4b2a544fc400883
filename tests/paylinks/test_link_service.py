"""Creating payment links: the pending order behind each, amounts, expiry, codes, who may."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.core.factories import make_attempt, paid_event
from zhifu.exceptions import OrderError, ZhifuError
from zhifu.models import Order
from zhifu.paylinks import services
from zhifu.paylinks.models import KIND, PaymentLink
from zhifu.paylinks.services import PaymentLinkError, create_link, find_link
from zhifu.services.orders import expire_orders
from zhifu.services.payments import apply_payment_event
from zhifu.services.transitions import lock

pytestmark = pytest.mark.django_db


def test_a_link_creates_one_pending_order_for_its_amount(fake_alipay, link_staff, user):
    link = create_link(created_by=link_staff, amount="12.30", subject="定制课程", buyer=user)
    order = link.order
    assert order.status == Order.Status.PENDING and link.status == "pending"
    assert order.kind == KIND
    assert order.total_amount == link.amount == Decimal("12.30")
    assert order.subject == link.subject == "定制课程"
    assert order.user == user  # the buyer's, so it shows in their orders
    assert [(line.title, line.unit_price) for line in order.lines.all()] == [
        ("定制课程", Decimal("12.30"))
    ]
    assert order.expires_at == link.expires_at
    assert order.metadata == {"payment_link": link.code}


def test_without_a_buyer_the_order_is_the_creators(fake_alipay, link_staff):
    link = create_link(created_by=link_staff, amount=Decimal("5"), subject="打赏")
    assert link.buyer is None and link.order.user == link_staff
    assert link.amount == Decimal("5.00")


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("0", "below the minimum"),
        ("-1", "negative"),
        ("1.005", "more than two decimal places"),
        ("abc", "not a number"),
        ("1e3", "not a plain amount"),
        ("100000000.01", "above the maximum"),
        (1.5, "float"),
        ("", "empty"),
    ],
)
def test_a_bad_amount_is_a_clear_invalid_amount_error(fake_alipay, link_staff, amount, reason):
    with pytest.raises(OrderError) as caught:
        create_link(created_by=link_staff, amount=amount, subject="x")
    error = caught.value
    assert error.code == "invalid_amount" and error.status == 400
    assert "0.01" in error.message and "100000000" in error.message  # says what is allowed
    assert reason in error.detail  # and, for the logs, what exactly was wrong
    assert not Order.objects.exists() and not PaymentLink.objects.exists()


@pytest.mark.parametrize("subject", ["", "   ", None, "x" * 257])
def test_a_bad_subject_is_refused(fake_alipay, link_staff, subject):
    with pytest.raises(PaymentLinkError) as caught:
        create_link(created_by=link_staff, amount="1", subject=subject)
    assert caught.value.code == "invalid_subject"
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "expiry",
    [
        {"expires_in": timedelta(seconds=30)},
        {"expires_in": timedelta(days=16)},
        {"expires_in": -5},
        {"expires_at": timezone.now() - timedelta(hours=1)},
        {"expires_at": timezone.now().replace(tzinfo=None) + timedelta(hours=1)},
        {"expires_in": 3600, "expires_at": timezone.now() + timedelta(hours=1)},
    ],
)
def test_a_bad_expiry_is_refused(fake_alipay, link_staff, expiry):
    with pytest.raises(PaymentLinkError) as caught:
        create_link(created_by=link_staff, amount="1", subject="x", **expiry)
    assert caught.value.code == "invalid_expiry"


def test_expiry_defaults_to_a_day_and_follows_what_staff_chose(fake_alipay, link_staff):
    before = timezone.now()
    default = create_link(created_by=link_staff, amount="1", subject="x")
    assert before + timedelta(days=1) <= default.expires_at <= timezone.now() + timedelta(days=1)
    at = timezone.now() + timedelta(hours=3)
    chosen = create_link(created_by=link_staff, amount="1", subject="x", expires_at=at)
    assert abs(chosen.expires_at - at) < timedelta(seconds=2)
    seconds = create_link(created_by=link_staff, amount="1", subject="x", expires_in=600)
    assert seconds.order.expires_at - seconds.order.created_at < timedelta(seconds=602)


def test_only_staff_create_links(fake_alipay, user):
    with pytest.raises(PaymentLinkError) as caught:
        create_link(created_by=user, amount="1", subject="x")
    assert caught.value.code == "permission_denied" and caught.value.status == 403
    assert not Order.objects.exists()


def test_codes_are_short_urlsafe_unguessable_and_unique(fake_alipay, link_staff):
    links = [create_link(created_by=link_staff, amount="1", subject="x") for _ in range(20)]
    codes = [link.code for link in links]
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert re.fullmatch(r"[A-Za-z0-9_-]{12}", code)  # 9 random bytes = 72 bits
        assert code not in links[0].order.out_trade_no
    # not sequential: no two codes share a long prefix
    assert len({code[:4] for code in codes}) > 15


def test_a_colliding_code_is_drawn_again(fake_alipay, link_staff, monkeypatch):
    first = create_link(created_by=link_staff, amount="1", subject="x")
    draws = iter([first.code, "fresh-code-123"])
    monkeypatch.setattr(services, "new_code", lambda: next(draws))
    second = create_link(created_by=link_staff, amount="2", subject="y")
    assert second.code == "fresh-code-123"
    assert Order.objects.count() == 2  # the failed draw left no order behind


def test_find_link_refuses_unknown_and_malformed_codes(fake_alipay, link_staff):
    link = create_link(created_by=link_staff, amount="1", subject="x")
    assert find_link(link.code).pk == link.pk
    for code in ["nope-nope-nope", "", "../../etc", link.code + "x" * 40, None, 12]:
        with pytest.raises(ZhifuError) as caught:
            find_link(code)
        assert caught.value.code == "link_not_found" and caught.value.status == 404


def test_status_is_the_orders_and_expires_with_it(fake_alipay, link_staff):
    link = create_link(created_by=link_staff, amount="1", subject="x", expires_in=120)
    later = timezone.now() + timedelta(minutes=3)
    assert link.status_at(later) == "expired"  # at once, before the expiry job ran
    assert expire_orders(now=later) == 1
    link = find_link(link.code)
    assert link.order.status == Order.Status.EXPIRED and link.status == "expired"
    assert not link.payable


def test_a_paid_order_makes_a_paid_link(fake_alipay, link_staff):
    from django.db import transaction

    link = create_link(created_by=link_staff, amount="3.00", subject="x")
    attempt = make_attempt(link.order)
    with transaction.atomic():
        order = lock(link.order)
        apply_payment_event(order, lock(attempt), paid_event(attempt), source="test")
    link = find_link(link.code)
    assert link.status == "paid" and link.is_paid and not link.payable


def test_device_detection_and_channels(with_wechat):
    desktop = services.device_of("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120")
    phone = services.device_of("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile/15E148 Safari")
    wechat = services.device_of(
        "Mozilla/5.0 (iPhone) AppleWebKit Mobile/15E148 MicroMessenger/8.0.47 NetType/WIFI"
    )
    assert [c for c, _ in services.channels_for(desktop)] == ["alipay_page", "wechat_native"]
    assert [c for c, _ in services.channels_for(phone)] == ["alipay_wap", "wechat_h5"]
    assert [c for c, _ in services.channels_for(wechat)] == ["wechat_native"]


def test_only_configured_providers_are_offered(fake_alipay):
    desktop = services.device_of("Mozilla/5.0 (X11; Linux x86_64)")
    assert [c for c, _ in services.channels_for(desktop)] == ["alipay_page"]
    assert services.channels_for(services.Device("wechat")) == []
