"""Refund requests of orders paid with WeChat Pay, through the sandbox over real HTTP both ways.

WeChat answers a refund with PROCESSING and settles it later with a REFUND.* notification: an
approved request shows ``refunding`` until that notification arrives, then ``refunded`` (or
``refund_failed`` when WeChat closes the refund). The sandbox holds its notifications a moment
(``notification_delay``) so the state in between is seen for certain.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import wait_until
from tests.refundrequests.conftest import with_policy
from zhifu.models import Notification, Order, Refund
from zhifu.refundrequests import services
from zhifu.refundrequests.models import RefundRequest
from zhifu.services.orders import create_order_from_skus
from zhifu.services.payments import start_payment

pytestmark = pytest.mark.django_db(transaction=True)

NOTIFY = "/zhifu/wechatpay/notify/"
HOLD = 1.5  # real seconds the sandbox waits before each notification, once the order is paid


def paid_with_wechat(sb, user, items) -> Order:
    """An order paid in the sandbox's WeChat wallet (its QR code scanned), marked paid by
    WeChat's TRANSACTION.SUCCESS notification over real HTTP."""
    order = create_order_from_skus(user, items)
    attempt = start_payment(order, "wechat_native", user=user).attempt
    sb.wechat_pay(attempt.out_trade_no)
    assert wait_until(lambda: Order.objects.get(pk=order.pk).status == Order.Status.PAID)
    order.refresh_from_db()
    return order


def state_of(req: RefundRequest) -> str:
    return RefundRequest.objects.select_related("refund").get(pk=req.pk).state


def test_staff_approval_is_refunding_until_wechat_says_refund_success(
    sandbox_wechat, user, product, decider, fulfilled
):
    sb = sandbox_wechat
    order = paid_with_wechat(sb, user, [{"sku": product.sku, "quantity": 2}])
    req, created = services.submit(user, order, reason="bought twice")
    assert created and req.state == RefundRequest.State.PENDING  # no policy: staff decide
    assert "WeChat" in services.way_back(req) or "微信" in services.way_back(req)

    sb.wechat_faults(notification_delay=HOLD)
    req = services.approve(req, by=decider)
    assert req.state == RefundRequest.State.REFUNDING  # WeChat answered PROCESSING
    assert req.refund.status == Refund.Status.PENDING and req.refund.error_code == ""
    assert state_of(req) == RefundRequest.State.REFUNDING
    at_wechat = sb.wechat_order(req.refund.attempt.out_trade_no)["refunds"]
    assert [(r["out_refund_no"], r["refund"]) for r in at_wechat] == [
        (req.refund.out_request_no, "24.60")
    ]

    assert wait_until(lambda: state_of(req) == RefundRequest.State.REFUNDED, timeout=30)
    refund = Refund.objects.get(pk=req.refund.pk)
    assert refund.status == Refund.Status.SUCCEEDED
    assert sb.wechat_order(refund.attempt.out_trade_no)["refunds"][0]["status"] == "SUCCESS"
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED and order.refunded_amount == Decimal("24.60")
    assert fulfilled == [("paid", order.out_trade_no), ("refunded", order.out_trade_no)]
    refund_notes = Notification.objects.filter(provider="wechatpay", state__startswith="refund")
    assert refund_notes.filter(outcome="applied").count() == 1  # the REFUND.SUCCESS
    assert set(Notification.objects.values_list("outcome", flat=True)) <= {"applied", "duplicate"}


def test_the_policy_approves_one_line_and_wechat_settles_it(
    settings, sandbox_wechat, user, product, second_product, fulfilled
):
    with_policy(settings, days=7)
    sb = sandbox_wechat
    order = paid_with_wechat(
        sb,
        user,
        [{"sku": product.sku, "quantity": 1}, {"sku": second_product.sku, "quantity": 2}],
    )
    pens = order.lines.get(sku=second_product.sku)
    sb.wechat_faults(notification_delay=HOLD)
    req, created = services.submit(user, order, lines=[pens.pk], reason="pens broken")
    assert created and req.automatic and req.status == RefundRequest.Status.APPROVED
    assert req.state == RefundRequest.State.REFUNDING and req.amount == Decimal("7.00")

    assert wait_until(lambda: state_of(req) == RefundRequest.State.REFUNDED, timeout=30)
    refunds = sb.wechat_order(req.refund.attempt.out_trade_no)["refunds"]
    assert [(r["refund"], r["status"]) for r in refunds] == [("7.00", "SUCCESS")]
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_REFUNDED
    assert order.refunded_amount == Decimal("7.00")


def test_a_refund_wechat_closes_shows_as_failed(sandbox_wechat, user, product, decider):
    sb = sandbox_wechat
    order = paid_with_wechat(sb, user, [{"sku": product.sku, "quantity": 1}])
    req, _ = services.submit(user, order, reason="late")
    sb.wechat_faults(closed_refunds=1, notification_delay=HOLD)  # WeChat will close it
    req = services.approve(req, by=decider)
    assert req.state == RefundRequest.State.REFUNDING

    assert wait_until(lambda: state_of(req) == RefundRequest.State.REFUND_FAILED, timeout=30)
    req = RefundRequest.objects.select_related("refund").get(pk=req.pk)
    assert req.refund.status == Refund.Status.FAILED
    assert sb.wechat_order(req.refund.attempt.out_trade_no)["refunds"][0]["status"] == "CLOSED"
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.refunded_amount == 0
