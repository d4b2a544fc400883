"""Trade lifecycle: page/wap pay through the cashier, precreate, query, close, cancel, timeouts."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from zhifu.alipay import AlipayBusinessError, Verifier, beijing_now
from zhifu.sandbox.testing import SandboxError

from .conftest import open_page_pay
from .helpers import call, params_for, test_keys


def sub_code(call) -> str:
    with pytest.raises(AlipayBusinessError) as info:
        call()
    return str(info.value.sub_code)


def test_page_pay_trade_exists_only_once_the_cashier_opens(sb, client):
    request = client.page_pay(out_trade_no="p1", total_amount="12.30", subject="课程")
    assert sub_code(lambda: client.query(out_trade_no="p1")) == "ACQ.TRADE_NOT_EXIST"
    first = httpx.get(request.url)
    assert first.status_code == 302
    assert sub_code(lambda: client.query(out_trade_no="p1")) == "ACQ.TRADE_NOT_EXIST"
    assert sub_code(lambda: client.close(out_trade_no="p1")) == "ACQ.TRADE_NOT_EXIST"
    page = httpx.get(first.headers["location"])
    assert "课程" in page.text and "12.30" in page.text and "Zhifu 沙箱商户" in page.text
    assert 'id="qr"' in page.text and "data:image/svg+xml" in page.text
    result = client.query(out_trade_no="p1")
    assert result.trade_status == "WAIT_BUYER_PAY"
    assert re.fullmatch(r"\d{28}", result.trade_no)
    assert result.trade_no[:8] == beijing_now().strftime("%Y%m%d")


def test_cashier_login_and_pay_redirects_with_signed_return(sb, client, receiver):
    request = client.page_pay(out_trade_no="p2", total_amount="5.00", subject="s")
    page = open_page_pay(request.url)
    cashier = str(page.url)
    wrong = httpx.post(cashier, data={"login": "buyer1@sandbox.com", "password": "nope"})
    assert "wrong password" in wrong.text
    paid = httpx.post(cashier, data={"login": "buyer2@sandbox.com", "password": "111111"})
    assert paid.status_code == 303
    location = paid.headers["location"]
    assert location.startswith("http://shop.test/return?")
    params = dict(parse_qsl(urlsplit(location).query))
    assert "trade_status" not in params
    assert params["method"] == "alipay.trade.page.pay.return"
    assert params["seller_id"] == sb.default_app.seller_id
    assert params["total_amount"] == "5.00"
    Verifier(sb.default_app.alipay_public_key_pem).verify_notification(params)
    query = client.query(out_trade_no="p2")
    assert query.is_paid and query.buyer_logon_id == "buy***@sandbox.com"
    assert query.trade_no == params["trade_no"]
    # the cashier of a paid trade says so
    assert 'id="paid"' in httpx.get(cashier).text


def test_wap_pay_return_method(sb, client):
    request = client.wap_pay(
        out_trade_no="w1", total_amount="1.00", subject="s", quit_url="http://shop.test/"
    )
    open_page_pay(request.url)
    params = dict(parse_qsl(urlsplit(sb.pay(sb.default_app.app_id, "w1")).query))
    assert params["method"] == "alipay.trade.wap.pay.return"


def test_insufficient_balance_is_refused(sb, client):
    request = client.page_pay(out_trade_no="poor1", total_amount="50.00", subject="s")
    page = open_page_pay(request.url)
    refused = httpx.post(str(page.url), data={"login": "poor@sandbox.com", "password": "111111"})
    assert refused.status_code == 200 and "余额不足" in refused.text
    with pytest.raises(SandboxError) as info:
        sb.pay(sb.default_app.app_id, "poor1", buyer="poor@sandbox.com")
    assert (info.value.status, info.value.code) == (409, "insufficient_balance")
    assert client.query(out_trade_no="poor1").trade_status == "WAIT_BUYER_PAY"


def test_control_api_pay_needs_a_gateway_request(sb):
    with pytest.raises(SandboxError) as info:
        sb.pay(sb.default_app.app_id, "never_sent")
    assert (info.value.status, info.value.code) == (404, "trade_not_found")


def test_paying_twice_is_refused(sb, client):
    open_page_pay(client.page_pay(out_trade_no="twice", total_amount="1.00", subject="s").url)
    sb.pay("twice")
    with pytest.raises(SandboxError) as info:
        sb.pay("twice")
    assert info.value.code in ("already_paid", "ACQ.TRADE_HAS_SUCCESS")


def test_out_trade_no_reuse_rules(sb, client):
    open_page_pay(client.page_pay(out_trade_no="r1", total_amount="1.00", subject="s").url)
    # the same order again is fine (a new cashier session for the same trade)
    open_page_pay(client.page_pay(out_trade_no="r1", total_amount="1.00", subject="s").url)
    changed = httpx.get(client.page_pay(out_trade_no="r1", total_amount="2.00", subject="s").url)
    assert "ACQ.CONTEXT_INCONSISTENT" in changed.text
    sb.pay("r1")
    again = httpx.get(client.page_pay(out_trade_no="r1", total_amount="1.00", subject="s").url)
    assert "ACQ.TRADE_HAS_SUCCESS" in again.text
    open_page_pay(client.page_pay(out_trade_no="r2", total_amount="1.00", subject="s").url)
    client.close(out_trade_no="r2")
    closed = httpx.get(client.page_pay(out_trade_no="r2", total_amount="1.00", subject="s").url)
    assert "ACQ.TRADE_HAS_CLOSE" in closed.text
    assert (
        sub_code(lambda: client.precreate(out_trade_no="r2", total_amount="1.00", subject="s"))
        == "ACQ.TRADE_HAS_CLOSE"
    )


def test_close(sb, client):
    open_page_pay(client.page_pay(out_trade_no="c1", total_amount="1.00", subject="s").url)
    result = client.close(out_trade_no="c1")
    assert result.out_trade_no == "c1" and result.trade_no
    assert client.query(out_trade_no="c1").trade_status == "TRADE_CLOSED"
    assert sub_code(lambda: client.close(out_trade_no="c1")) == "ACQ.TRADE_STATUS_ERROR"
    with pytest.raises(SandboxError) as info:
        sb.pay("c1")
    assert info.value.code in ("trade_closed", "ACQ.TRADE_HAS_CLOSE")
    open_page_pay(client.page_pay(out_trade_no="c2", total_amount="1.00", subject="s").url)
    sb.pay("c2")
    assert sub_code(lambda: client.close(out_trade_no="c2")) == "ACQ.TRADE_STATUS_ERROR"


def test_query_by_trade_no(sb, client):
    open_page_pay(client.page_pay(out_trade_no="q1", total_amount="1.00", subject="s").url)
    trade_no = client.query(out_trade_no="q1").trade_no
    assert client.query(trade_no=trade_no).out_trade_no == "q1"
    assert (
        sub_code(lambda: client.query(trade_no="2020010122001000000000000000"))
        == "ACQ.TRADE_NOT_EXIST"
    )


def test_precreate_qr_points_to_the_cashier(sb, client):
    result = client.precreate(out_trade_no="qr1", total_amount="3.00", subject="扫码")
    assert result.qr_code.startswith(sb.url + "/cashier/")
    again = client.precreate(out_trade_no="qr1", total_amount="3.00", subject="扫码")
    assert again.qr_code == result.qr_code  # same QR while nobody scanned it
    assert sub_code(lambda: client.query(out_trade_no="qr1")) == "ACQ.TRADE_NOT_EXIST"
    page = httpx.get(result.qr_code)
    assert page.status_code == 200 and "扫码" in page.text
    assert client.query(out_trade_no="qr1").trade_status == "WAIT_BUYER_PAY"
    assert sb.pay("qr1") == ""  # no return_url for a QR payment
    assert client.query(out_trade_no="qr1").is_paid


def test_cancel_unpaid_paid_and_unscanned(sb, client):
    open_page_pay(client.page_pay(out_trade_no="x1", total_amount="1.00", subject="s").url)
    result = client.cancel(out_trade_no="x1")
    assert (result.action, result.retry_flag) == ("close", False)
    assert client.query(out_trade_no="x1").trade_status == "TRADE_CLOSED"

    open_page_pay(client.page_pay(out_trade_no="x2", total_amount="4.00", subject="s").url)
    before = _balance(sb, "buyer1@sandbox.com")
    sb.pay("x2")
    result = client.cancel(out_trade_no="x2")
    assert result.action == "refund"
    assert client.query(out_trade_no="x2").trade_status == "TRADE_CLOSED"
    assert _balance(sb, "buyer1@sandbox.com") == before

    qr = client.precreate(out_trade_no="x3", total_amount="1.00", subject="s")
    assert client.cancel(out_trade_no="x3").action == "close"
    assert 'id="closed"' in httpx.get(qr.qr_code).text
    assert sub_code(lambda: client.cancel(out_trade_no="x_unknown")) == "ACQ.TRADE_NOT_EXIST"


def test_cancel_after_a_day_is_refused(sb, client):
    open_page_pay(client.page_pay(out_trade_no="late1", total_amount="1.00", subject="s").url)
    sb.pay("late1")
    sb.advance_clock(86400 + 60)
    assert sub_code(lambda: client.cancel(out_trade_no="late1")) == "ACQ.TRADE_CANCEL_TIME_OUT"


def _balance(sb, login):
    import httpx as h

    buyers = h.get(sb.url + "/sandbox/api/buyers").json()["buyers"]
    return next(b["balance"] for b in buyers if b["login"] == login)


def test_timeout_express_closes_the_trade(sb, client):
    open_page_pay(
        client.page_pay(
            out_trade_no="t1", total_amount="1.00", subject="s", timeout_express="30m"
        ).url
    )
    sb.advance_clock(29 * 60)
    assert client.query(out_trade_no="t1").trade_status == "WAIT_BUYER_PAY"
    sb.advance_clock(2 * 60)
    assert client.query(out_trade_no="t1").trade_status == "TRADE_CLOSED"
    trade = sb.trade("t1")
    assert trade["trade_status"] == "TRADE_CLOSED" and trade["close_reason"] == "timeout"


def test_page_pay_closed_by_timeout_can_be_reopened_and_paid(sb, client):
    open_page_pay(
        client.page_pay(
            out_trade_no="t2", total_amount="1.00", subject="s", timeout_express="1m"
        ).url
    )
    sb.advance_clock(120)
    assert client.query(out_trade_no="t2").trade_status == "TRADE_CLOSED"
    # a new page pay request with the same order reopens it (reference section 6)
    open_page_pay(client.page_pay(out_trade_no="t2", total_amount="1.00", subject="s").url)
    assert client.query(out_trade_no="t2").trade_status == "WAIT_BUYER_PAY"
    sb.pay("t2")
    assert client.query(out_trade_no="t2").is_paid


def test_time_expire_wins_and_default_is_fifteen_days(sb, client):
    expire = (beijing_now() + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    open_page_pay(
        client.page_pay(
            out_trade_no="t3",
            total_amount="1.00",
            subject="s",
            timeout_express="15d",
            time_expire=expire,
        ).url
    )
    open_page_pay(client.page_pay(out_trade_no="t4", total_amount="1.00", subject="s").url)
    sb.advance_clock(2 * 3600)
    assert client.query(out_trade_no="t3").trade_status == "TRADE_CLOSED"
    assert client.query(out_trade_no="t4").trade_status == "WAIT_BUYER_PAY"
    sb.advance_clock(15 * 86400)
    assert client.query(out_trade_no="t4").trade_status == "TRADE_CLOSED"


def test_time_scale_compresses_timeouts():
    import time

    from zhifu.sandbox.testing import SandboxServer

    with SandboxServer(time_scale=600.0, keys=test_keys()) as fast:
        client = fast.client()
        open_page_pay(
            client.page_pay(
                out_trade_no="f1", total_amount="1.00", subject="s", timeout_express="1m"
            ).url
        )
        time.sleep(0.3)  # 180 sandbox seconds
        assert client.query(out_trade_no="f1").trade_status == "TRADE_CLOSED"


def test_paid_trade_finishes_after_the_refund_period(sb, client):
    open_page_pay(client.page_pay(out_trade_no="fin1", total_amount="1.00", subject="s").url)
    sb.pay("fin1")
    sb.advance_clock(91 * 86400)
    assert client.query(out_trade_no="fin1").trade_status == "TRADE_FINISHED"
    assert (
        sub_code(
            lambda: client.refund(out_trade_no="fin1", refund_amount="1.00", out_request_no="rf")
        )
        == "ACQ.TRADE_HAS_FINISHED"
    )


def test_cashier_shows_amounts_as_yuan_with_separators(sandbox) -> None:
    client = sandbox.client(return_url="http://127.0.0.1:1/return")
    url = client.page_pay(out_trade_no="yuan_fmt", total_amount="1234.5", subject="格式").url
    page = httpx.get(url, follow_redirects=True).text
    assert 'id="amount">¥1,234.50<' in page
    assert "余额 ¥1.00" in page  # poor@sandbox.com


# -- what real Alipay traffic looks like ----------------------------------------------------


def test_hyphenated_order_and_refund_numbers_are_accepted(sb, client):
    number = str(uuid.uuid4())  # 36 characters with '-', as many sites number their orders
    open_page_pay(client.page_pay(out_trade_no=number, total_amount="2.00", subject="s").url)
    sb.pay(number)
    assert client.query(out_trade_no=number).is_paid
    assert client.refund(
        out_trade_no=number, refund_amount="1.00", out_request_no="SO-2022-0001-R1"
    ).fund_change
    assert client.refund_query(out_trade_no=number, out_request_no="SO-2022-0001-R1").succeeded
    # the gateway's own rule, without the client's: '-' and '_' pass, other marks do not
    _, _, node, _ = call(sb, params_for(sb, "alipay.trade.query", {"out_trade_no": "SO-2022_1"}))
    assert node["sub_code"] == "ACQ.TRADE_NOT_EXIST"
    _, _, node, _ = call(sb, params_for(sb, "alipay.trade.query", {"out_trade_no": "SO.2022"}))
    assert node["sub_code"] == "ACQ.INVALID_PARAMETER"


def test_response_fields_come_after_code_and_msg_in_alphabetical_order(sb, client):
    open_page_pay(client.page_pay(out_trade_no="ord1", total_amount="1.00", subject="s").url)
    sb.pay("ord1")
    _, _, node, text = call(sb, params_for(sb, "alipay.trade.query", {"out_trade_no": "ord1"}))
    keys = list(node)
    assert keys[:2] == ["code", "msg"] and keys[2:] == sorted(keys[2:]) and len(keys) > 8
    assert text.startswith('{"alipay_trade_query_response":{"code":"10000","msg":"Success",')


def test_query_failure_echoes_out_trade_no_with_zero_amounts(sb):
    _, _, node, text = call(sb, params_for(sb, "alipay.trade.query", {"out_trade_no": "nope-1"}))
    assert node == {
        "code": "40004",
        "msg": "Business Failed",
        "sub_code": "ACQ.TRADE_NOT_EXIST",
        "sub_msg": "交易不存在",
        "buyer_pay_amount": "0.00",
        "invoice_amount": "0.00",
        "out_trade_no": "nope-1",
        "point_amount": "0.00",
        "receipt_amount": "0.00",
    }
    # in that order, as Alipay writes it
    assert list(json.loads(text)["alipay_trade_query_response"]) == list(node)
