"""alipay.trade.refund and alipay.trade.fastpay.refund.query, and the notifications refunds send."""

from __future__ import annotations

from decimal import Decimal

import pytest

from zhifu.alipay import AlipayBusinessError, Verifier

from .conftest import open_page_pay
from .helpers import call, params_for


def paid(sb, client, out_trade_no, amount="10.00"):
    open_page_pay(client.page_pay(out_trade_no=out_trade_no, total_amount=amount, subject="s").url)
    sb.pay(out_trade_no)


def sub_code(call_) -> str:
    with pytest.raises(AlipayBusinessError) as info:
        call_()
    return str(info.value.sub_code)


def test_partial_refunds_idempotency_and_limits(sb, client, receiver):
    paid(sb, client, "rf1")
    first = client.refund(out_trade_no="rf1", refund_amount="3.00", out_request_no="a")
    assert first.fund_change and first.refund_fee == Decimal("3.00")
    repeat = client.refund(out_trade_no="rf1", refund_amount="3.00", out_request_no="a")
    assert not repeat.fund_change and repeat.refund_fee == Decimal("3.00")
    assert (
        sub_code(
            lambda: client.refund(out_trade_no="rf1", refund_amount="4.00", out_request_no="a")
        )
        == "ACQ.DISCORDANT_REPEAT_REQUEST"
    )
    assert (
        sub_code(
            lambda: client.refund(out_trade_no="rf1", refund_amount="7.01", out_request_no="b")
        )
        == "ACQ.REASON_TRADE_REFUND_FEE_ERR"
    )
    assert client.query(out_trade_no="rf1").trade_status == "TRADE_SUCCESS"
    second = client.refund(out_trade_no="rf1", refund_amount="7.00", out_request_no="b")
    assert second.fund_change and second.refund_fee == Decimal("10.00")
    assert client.query(out_trade_no="rf1").trade_status == "TRADE_CLOSED"
    assert (
        sub_code(
            lambda: client.refund(out_trade_no="rf1", refund_amount="0.01", out_request_no="c")
        )
        == "ACQ.REASON_TRADE_REFUND_FEE_ERR"
    )
    # a retry of a refund that already happened still answers success, money unmoved
    assert not client.refund(
        out_trade_no="rf1", refund_amount="7.00", out_request_no="b"
    ).fund_change

    query = client.refund_query(out_trade_no="rf1", out_request_no="a")
    assert (
        query.succeeded
        and query.refund_amount == Decimal("3.00")
        and query.total_amount == Decimal("10.00")
    )
    missing = client.refund_query(out_trade_no="rf1", out_request_no="zzz")
    assert not missing.succeeded


def test_refund_notifications(sb, client, receiver):
    # page pay notifies TRADE_SUCCESS only by default; enable TRADE_CLOSED to see the full refund
    sb.set_notify_triggers(**{"alipay.trade.page.pay": ["TRADE_SUCCESS", "TRADE_CLOSED"]})
    paid(sb, client, "rf2")
    client.refund(out_trade_no="rf2", refund_amount="4.00", out_request_no="p1")
    client.refund(out_trade_no="rf2", refund_amount="6.00", out_request_no="p2")
    attempts = sb.wait_for_notifications("rf2", 3)
    forms = [a["form"] for a in attempts]
    assert [f["trade_status"] for f in forms] == ["TRADE_SUCCESS", "TRADE_SUCCESS", "TRADE_CLOSED"]
    partial, full = forms[1], forms[2]
    assert (partial["refund_fee"], partial["out_biz_no"]) == (
        "4.00",
        "p1",
    ) and "gmt_refund" in partial
    assert (full["refund_fee"], full["out_biz_no"]) == ("10.00", "p2") and "gmt_close" in full
    assert len({f["notify_id"] for f in forms}) == 3
    verifier = Verifier(sb.default_app.alipay_public_key_pem)
    for form in receiver.received:
        verifier.verify_notification(form)


def test_full_refund_not_notified_by_default_for_page_pay(sb, client, receiver):
    paid(sb, client, "rf3")
    client.refund(out_trade_no="rf3", refund_amount="10.00", out_request_no="all")
    sb.advance_clock(1)
    statuses = [a["trade_status"] for a in sb.notifications(out_trade_no="rf3")]
    assert statuses == ["TRADE_SUCCESS"]


def test_refund_without_out_request_no_must_be_the_total(sb, client):
    paid(sb, client, "rf4")
    biz = {"out_trade_no": "rf4", "refund_amount": "5.00"}
    _, _, node, _ = call(sb, params_for(sb, "alipay.trade.refund", biz))
    assert node["sub_code"] == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"
    assert (node["refund_fee"], node["send_back_fee"]) == ("0.00", "0.00")
    biz["refund_amount"] = "10.00"
    _, _, node, _ = call(sb, params_for(sb, "alipay.trade.refund", biz))
    assert node["code"] == "10000" and node["fund_change"] == "Y"
    # its request number defaults to out_trade_no
    assert client.refund_query(out_trade_no="rf4", out_request_no="rf4").succeeded


def test_refund_of_unpaid_or_unknown_trade(sb, client):
    open_page_pay(client.page_pay(out_trade_no="rf5", total_amount="1.00", subject="s").url)
    assert (
        sub_code(
            lambda: client.refund(out_trade_no="rf5", refund_amount="1.00", out_request_no="x")
        )
        == "ACQ.TRADE_STATUS_ERROR"
    )
    assert (
        sub_code(
            lambda: client.refund(out_trade_no="nope", refund_amount="1.00", out_request_no="x")
        )
        == "ACQ.TRADE_NOT_EXIST"
    )
    _, _, node, _ = call(
        sb,
        params_for(
            sb,
            "alipay.trade.refund",
            {"out_trade_no": "rf5", "refund_amount": "abc", "out_request_no": "x"},
        ),
    )
    assert node["sub_code"] == "ACQ.INVALID_PARAMETER"


def test_refund_returns_money_to_the_buyer(sb, client):
    def balance():
        return next(
            b["balance"] for b in sb.info_fresh()["buyers"] if b["login"] == "buyer1@sandbox.com"
        )

    sb.info_fresh = lambda: __import__("httpx").get(sb.url + "/sandbox/api/info").json()
    start = Decimal(balance())
    paid(sb, client, "rf6", "8.00")
    assert Decimal(balance()) == start - Decimal("8.00")
    client.refund(out_trade_no="rf6", refund_amount="2.50", out_request_no="one")
    assert Decimal(balance()) == start - Decimal("5.50")
