"""alipay.trade.refund and alipay.trade.fastpay.refund.query, and the notifications refunds send."""

from __future__ import annotations

import re
from decimal import Decimal

import httpx
import pytest

from zhifu.alipay import AlipayBusinessError, Verifier, parse_time

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


# -- failure bodies, as Alipay writes them --------------------------------------------------------


def test_refund_failures_echo_out_trade_no_with_zero_fees(sb, client):
    paid(sb, client, "rf-e1")
    # without out_request_no only the whole amount can be refunded
    _, _, node, _ = call(
        sb,
        params_for(sb, "alipay.trade.refund", {"out_trade_no": "rf-e1", "refund_amount": "1.00"}),
    )
    assert node == {
        "code": "40004",
        "msg": "Business Failed",
        "sub_code": "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
        "sub_msg": "撤销或退款金额与订单金额不一致",
        "out_trade_no": "rf-e1",
        "refund_fee": "0.00",
        "send_back_fee": "0.00",
    }
    client.refund(out_trade_no="rf-e1", refund_amount="1.00", out_request_no="r1")
    biz = {"out_trade_no": "rf-e1", "refund_amount": "2.00", "out_request_no": "r1"}
    _, _, node, _ = call(sb, params_for(sb, "alipay.trade.refund", biz))
    assert (node["sub_code"], node["sub_msg"]) == (
        "ACQ.DISCORDANT_REPEAT_REQUEST",
        "退款金额不一致",
    )
    assert (node["out_trade_no"], node["refund_fee"], node["send_back_fee"]) == (
        "rf-e1",
        "0.00",
        "0.00",
    )


# -- refund query ------------------------------------------------------------------------------


def test_refund_query_of_a_refund_that_never_happened_is_success_without_data(sb, client):
    paid(sb, client, "rq1")
    biz = {"out_trade_no": "rq1", "out_request_no": "never"}
    _, _, node, _ = call(sb, params_for(sb, "alipay.trade.fastpay.refund.query", biz))
    assert node == {"code": "10000", "msg": "Success"}  # not even trade_no or out_trade_no
    result = client.refund_query(out_trade_no="rq1", out_request_no="never")
    assert not result.found and not result.succeeded


def test_refund_query_returns_gmt_refund_pay_and_send_back_fee_only_when_asked(sb, client):
    paid(sb, client, "rq2")
    client.refund(out_trade_no="rq2", refund_amount="4.00", out_request_no="rq2-a")
    plain = client.refund_query(out_trade_no="rq2", out_request_no="rq2-a")
    assert plain.succeeded and plain.refund_amount == Decimal("4.00")
    assert plain.total_amount == Decimal("10.00") and plain.out_request_no == "rq2-a"
    assert "gmt_refund_pay" not in plain.raw and "send_back_fee" not in plain.raw
    timed = client.refund_query(
        out_trade_no="rq2", out_request_no="rq2-a", query_options=["gmt_refund_pay"]
    )
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", timed.gmt_refund_pay)
    assert "send_back_fee" not in timed.raw
    # send_back_fee comes with the refund's fund channels
    detailed = client.refund_query(
        out_trade_no="rq2", out_request_no="rq2-a", query_options=["refund_detail_item_list"]
    )
    assert detailed.send_back_fee == Decimal("4.00") and "gmt_refund_pay" not in detailed.raw
    assert detailed.raw["refund_detail_item_list"][0]["fund_channel"] == "ALIPAYACCOUNT"


# -- refund notifications ------------------------------------------------------------------------


def test_refund_notifications_carry_gmt_refund_in_milliseconds_and_no_payment_amounts(
    sb, client, receiver
):
    sb.set_notify_triggers(**{"alipay.trade.page.pay": ["TRADE_SUCCESS", "TRADE_CLOSED"]})
    paid(sb, client, "rn1")
    client.refund(out_trade_no="rn1", refund_amount="3.00", out_request_no="rn1-a")
    client.refund(out_trade_no="rn1", refund_amount="7.00", out_request_no="rn1-b")
    forms = [a["form"] for a in sb.wait_for_notifications("rn1", 3)]
    payment, partial, full = forms
    amounts = (
        "receipt_amount",
        "invoice_amount",
        "buyer_pay_amount",
        "point_amount",
        "fund_bill_list",
    )
    assert all(key in payment for key in amounts) and "gmt_refund" not in payment
    verifier = Verifier(sb.default_app.alipay_public_key_pem)
    for form, status in ((partial, "TRADE_SUCCESS"), (full, "TRADE_CLOSED")):
        assert form["trade_status"] == status
        assert not any(key in form for key in amounts), form
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}", form["gmt_refund"])
        assert parse_time(form["gmt_refund"]) is not None
        for key in ("buyer_id", "buyer_logon_id", "gmt_payment", "seller_email", "out_biz_no"):
            assert form[key], key
        verifier.verify_notification(form)
    assert (partial["refund_fee"], full["refund_fee"]) == ("3.00", "10.00")


# -- the merchant's balance ------------------------------------------------------------------------


def seller_balance(sb) -> str:
    apps = httpx.get(sb.url + "/sandbox/api/apps").json()["apps"]
    return next(a["seller_balance"] for a in apps if a["app_id"] == sb.default_app.app_id)


def test_a_refund_above_the_seller_balance_fails_until_topped_up(sb, client, receiver):
    assert seller_balance(sb) == "0.00"
    paid(sb, client, "sbal1")
    assert seller_balance(sb) == "10.00"  # payments add to it
    sb.set_seller_balance("2.00")  # the merchant withdrew the rest
    with pytest.raises(AlipayBusinessError) as info:
        client.refund(out_trade_no="sbal1", refund_amount="3.00", out_request_no="sb-1")
    assert (info.value.sub_code, info.value.sub_msg) == (
        "ACQ.SELLER_BALANCE_NOT_ENOUGH",
        "卖家余额不足",
    )
    assert info.value.retryable  # top up, then retry with the same out_request_no
    assert sb.trade("sbal1")["refunds"] == []
    assert not client.refund_query(out_trade_no="sbal1", out_request_no="sb-1").found
    # what is within the balance still goes through
    assert client.refund(
        out_trade_no="sbal1", refund_amount="2.00", out_request_no="sb-2"
    ).fund_change
    assert seller_balance(sb) == "0.00"
    sb.set_seller_balance("50.00")
    retry = client.refund(out_trade_no="sbal1", refund_amount="3.00", out_request_no="sb-1")
    assert retry.fund_change and retry.refund_fee == Decimal("5.00")
    assert seller_balance(sb) == "47.00"
    # alipay.trade.cancel refunds from the same balance
    paid(sb, client, "sbal2", "5.00")
    sb.set_seller_balance("1.00")
    with pytest.raises(AlipayBusinessError) as info:
        client.cancel(out_trade_no="sbal2")
    assert info.value.sub_code == "ACQ.SELLER_BALANCE_NOT_ENOUGH"
    assert client.query(out_trade_no="sbal2").trade_status == "TRADE_SUCCESS"


@pytest.mark.parametrize(
    ("app_id", "body", "status", "error"),
    [
        (None, {"balance": "-1.00"}, 400, "invalid_field"),
        (None, {"balance": "1.001"}, 400, "invalid_field"),
        (None, {"balance": 1.5}, 400, "invalid_field"),  # a float: never money
        (None, {}, 400, "invalid_field"),
        (None, {"balance": "1.00", "x": 1}, 400, "invalid_field"),
        ("nope", {"balance": "1.00"}, 404, "unknown_app"),
    ],
)
def test_seller_balance_bad_input(sb, app_id, body, status, error):
    app = app_id or sb.default_app.app_id
    response = httpx.post(f"{sb.url}/sandbox/api/apps/{app}/balance", json=body)
    assert (response.status_code, response.json()["error"]) == (status, error)
