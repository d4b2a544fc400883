"""Refund requests: the policy (automatic within N days for what is not studied, through the
sandbox over real HTTP), staff decisions, limits, double submits and the wallet."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from tests.core.factories import make_order
from tests.refundrequests.conftest import (
    STUDIED,
    paid_by_pipeline,
    paid_through_sandbox,
    with_policy,
)
from zhifu.checks import check_refund_requests
from zhifu.models import Order, Refund
from zhifu.refundrequests import services
from zhifu.refundrequests.models import RefundRequest
from zhifu.refundrequests.services import RefundRequestError
from zhifu.services import wallet
from zhifu.services.payments import pay_with_balance
from zhifu.services.refunds import refund_order

pytestmark = pytest.mark.django_db(transaction=True)


def test_within_the_days_and_not_studied_is_refunded_at_once_through_the_sandbox(
    settings, sandbox_zhifu, user, product, fulfilled
):
    with_policy(settings, days=7)
    order = paid_through_sandbox(sandbox_zhifu, user, [{"sku": product.sku, "quantity": 1}])
    req, created = services.submit(user, order, reason="bought the wrong course")
    assert created
    assert req.status == RefundRequest.Status.APPROVED and req.automatic
    assert req.state == RefundRequest.State.REFUNDED
    assert req.decided_by is None and req.amount == Decimal("12.30")
    trade = sandbox_zhifu.trade(req.refund.attempt.out_trade_no)
    assert trade["refunded_amount"] == "12.30"
    assert [r["out_request_no"] for r in trade["refunds"]] == [req.refund.out_request_no]
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert ("refunded", order.out_trade_no) in fulfilled  # the one pipeline's fulfilment reversal
    assert "支付宝" in services.way_back(req) or "Alipay" in services.way_back(req)
    # the same request again (a double submit) is the same request, and refunds nothing more
    again, created = services.submit(user, order, reason="bought the wrong course")
    assert (again.pk, created) == (req.pk, False)
    assert Refund.objects.filter(order=order).count() == 1


def test_older_than_the_days_waits_for_staff(settings, fake_alipay, user):
    with_policy(settings, days=7)
    order = paid_by_pipeline(user, days_ago=8)
    req, _ = services.submit(user, order, reason="changed my mind")
    assert req.status == RefundRequest.Status.PENDING and req.refund is None
    assert not Refund.objects.exists()


def test_studied_waits_for_staff(settings, fake_alipay, user):
    with_policy(settings, days=7)
    order = paid_by_pipeline(user)
    STUDIED.add(order.out_trade_no)
    req, _ = services.submit(user, order, reason="not what I expected")
    assert req.state == RefundRequest.State.PENDING
    assert not Refund.objects.exists()


def broken_predicate(order, lines) -> bool:
    raise RuntimeError("the site's predicate has a bug")


def test_a_broken_predicate_leaves_the_request_for_staff(settings, fake_alipay, user):
    with_policy(settings, days=7, predicate=f"{__name__}.broken_predicate")
    order = paid_by_pipeline(user)
    req, created = services.submit(user, order, reason="please")
    assert created and req.status == RefundRequest.Status.PENDING
    assert not Refund.objects.exists()


def test_no_policy_means_staff_decide_everything(fake_alipay, user):
    order = paid_by_pipeline(user)
    req, _ = services.submit(user, order, reason="please")
    assert req.status == RefundRequest.Status.PENDING


def test_staff_approval_refunds_through_the_sandbox_and_rejection_keeps_the_order_paid(
    sandbox_zhifu, user, product, decider, fulfilled
):
    order = paid_through_sandbox(sandbox_zhifu, user, [{"sku": product.sku, "quantity": 2}])
    req, _ = services.submit(user, order, reason="too expensive")
    req = services.reject(req, by=decider, reason="the course was downloaded")
    assert req.state == "rejected" and req.rejection_reason == "the course was downloaded"
    with pytest.raises(RefundRequestError) as info:
        services.approve(req, by=decider)
    assert info.value.code == "already_decided" and info.value.status == 409
    # a new request after a rejection is allowed, and staff approve it
    req2, created = services.submit(user, order, reason="too expensive, really")
    assert created and req2.pk != req.pk
    req2 = services.approve(req2, by=decider)
    assert req2.state == RefundRequest.State.REFUNDED and req2.decided_by == decider
    assert sandbox_zhifu.trade(req2.refund.attempt.out_trade_no)["refunded_amount"] == "24.60"
    assert ("refunded", order.out_trade_no) in fulfilled


def test_a_refund_the_gateway_refuses_shows_as_failed(sandbox_zhifu, user, product, decider):
    order = paid_through_sandbox(sandbox_zhifu, user, [{"sku": product.sku, "quantity": 1}])
    req, _ = services.submit(user, order, reason="late")
    sandbox_zhifu.advance_clock(91 * 86400)  # Alipay's refund period is over: TRADE_FINISHED
    req = services.approve(req, by=decider)
    assert req.state == RefundRequest.State.REFUND_FAILED
    assert req.refund.status == Refund.Status.FAILED
    assert "ACQ.TRADE_HAS_FINISHED" in req.refund.error_code or services.refund_error(req)
    assert services.refund_error(req)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_some_lines_then_the_rest_never_more_than_refundable(
    sandbox_zhifu, user, product, second_product, decider
):
    order = paid_through_sandbox(
        sandbox_zhifu,
        user,
        [{"sku": product.sku, "quantity": 1}, {"sku": second_product.sku, "quantity": 2}],
    )
    book = order.lines.get(sku=product.sku)
    pens = order.lines.get(sku=second_product.sku)
    assert (book.amount, pens.amount) == (Decimal("12.30"), Decimal("7.00"))
    req, _ = services.submit(user, order, lines=[pens.pk], reason="pens broken")
    assert req.amount == Decimal("7.00")
    with pytest.raises(RefundRequestError) as info:  # another request while one is open
        services.submit(user, order, lines=[book.pk], reason="and the book")
    assert info.value.code == "refund_request_open"
    services.approve(req, by=decider)
    with pytest.raises(RefundRequestError) as info:
        services.submit(user, order, lines=[pens.pk], reason="pens again")
    assert info.value.code == "invalid_lines" and str(pens.pk) in info.value.message
    # staff refunded part of the book by hand: a request for the book gets only what is left
    refund_order(order, amount="10.00", by=decider)
    req2, _ = services.submit(user, order, lines=[book.pk], reason="the book too")
    assert req2.amount == Decimal("2.30")
    services.approve(req2, by=decider)
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    with pytest.raises(RefundRequestError) as info:
        services.submit(user, order, reason="anything left?")
    assert info.value.code == "order_not_refundable"


@pytest.mark.parametrize(
    ("lines", "reason", "code", "named"),
    [
        (["x"], "r", "invalid_lines", "'x'"),
        ([999999], "r", "invalid_lines", "999999"),
        (None, "   ", "invalid_reason", "reason"),
        (None, "长" * 257, "invalid_reason", "256"),
        (None, "a\x00b", "invalid_reason", "control"),
    ],
)
def test_bad_requests_name_what_is_wrong(fake_alipay, user, lines, reason, code, named):
    order = paid_by_pipeline(user)
    with pytest.raises(RefundRequestError) as info:
        services.request_refund(user, order, lines=lines, reason=reason)
    assert info.value.code == code and info.value.status == 400
    assert named in info.value.message


def test_only_the_buyer_and_only_paid_orders(fake_alipay, user, other_user):
    order = paid_by_pipeline(user)
    with pytest.raises(Exception) as info:
        services.request_refund(other_user, order, reason="mine?")
    assert getattr(info.value, "code", "") == "order_not_found"
    unpaid = make_order(user)
    with pytest.raises(RefundRequestError) as info:
        services.request_refund(user, unpaid, reason="never paid")
    assert info.value.code == "order_not_refundable"


def test_wallet_paid_order_goes_back_to_the_wallet(settings, fake_alipay, user, fulfilled):
    with_policy(settings, days=7, predicate="")
    wallet.post_entry(user, "30.00", "adjustment")
    order = make_order(user, "12.30")
    pay_with_balance(order, user=user)
    assert wallet.balance(user) == Decimal("17.70")
    req, _ = services.submit(user, Order.objects.get(pk=order.pk), reason="by mistake")
    assert req.state == RefundRequest.State.REFUNDED
    assert wallet.balance(user) == Decimal("30.00")
    assert wallet.audit() == []
    assert services.way_back(req) == "wallet balance"


def test_concurrent_identical_requests_make_one(fake_alipay, user):
    order = paid_by_pipeline(user)
    n = 6
    barrier = threading.Barrier(n)
    results: list[object] = []

    def submit() -> None:
        try:
            barrier.wait()
            req, created = services.request_refund(user, order, reason="twice")
            results.append((req.pk, created))
        except Exception as exc:  # reported below
            results.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, tuple) for r in results), results
    assert RefundRequest.objects.count() == 1
    pk = RefundRequest.objects.get().pk
    assert sorted(results, key=lambda r: not r[1]) == [(pk, True)] + [(pk, False)] * (n - 1)


def test_the_setting_is_checked(settings, fake_alipay):
    with_policy(settings, days=7, predicate="")
    assert check_refund_requests() == []
    with_policy(settings, days=-1, predicate="no.such.thing")
    ids = [(m.id, m.msg) for m in check_refund_requests()]
    assert len(ids) == 2 and all(i == "zhifu.E040" for i, _ in ids)
    assert "AUTO_APPROVE_DAYS" in ids[0][1] and "no.such.thing" in ids[1][1]
    settings.ZHIFU = {**settings.ZHIFU, "REFUND_REQUESTS": {"AUTO_APROVE_DAYS": 3}}
    assert "AUTO_APROVE_DAYS" in check_refund_requests()[0].msg
