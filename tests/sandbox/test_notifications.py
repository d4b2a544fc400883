"""Notifications: fields, signature, Alipay's retry schedule, same notify_id, exact 'success'."""

from __future__ import annotations

import itertools
import re

from zhifu.alipay import Verifier, beijing_now

from .conftest import open_page_pay
from .helpers import test_keys

SCHEDULE = [240, 600, 600, 3600, 7200, 21600, 54000]


def pay(sb, client, out_trade_no, **kw):
    open_page_pay(
        client.page_pay(
            out_trade_no=out_trade_no, total_amount="0.01", subject="通知 + 测试", **kw
        ).url
    )
    sb.pay(out_trade_no)


def test_notification_form_is_signed_and_has_alipay_fields(sb, client, receiver):
    pay(sb, client, "n1", body="desc", passback_params="a%3D1")
    sb.wait_for_notifications("n1")
    form = receiver.received[0]
    assert form["subject"] == "通知 + 测试"  # '+' survived form encoding
    for key in (
        "notify_time",
        "notify_type",
        "notify_id",
        "app_id",
        "auth_app_id",
        "charset",
        "version",
        "sign_type",
        "sign",
        "trade_no",
        "out_trade_no",
        "trade_status",
        "total_amount",
        "receipt_amount",
        "invoice_amount",
        "buyer_pay_amount",
        "point_amount",
        "buyer_id",
        "seller_id",
        "gmt_create",
        "gmt_payment",
        "fund_bill_list",
        "body",
        "passback_params",
    ):
        assert key in form, key
    assert form["notify_type"] == "trade_status_sync" and form["trade_status"] == "TRADE_SUCCESS"
    assert form["fund_bill_list"] == '[{"amount":"0.01","fundChannel":"ALIPAYACCOUNT"}]'
    assert all(value != "" for value in form.values())
    assert form["app_id"] == sb.default_app.app_id and form["seller_id"] == sb.default_app.seller_id
    Verifier(sb.default_app.alipay_public_key_pem).verify_notification(form)
    assert receiver.headers[0]["Content-Type"].startswith("application/x-www-form-urlencoded")


def test_retries_follow_the_schedule_with_the_same_notify_id(sb, client, receiver):
    receiver.replies = ["fail", "SUCCESS", "success\n", "<html>success</html>"]
    pay(sb, client, "n2")
    sb.wait_for_notifications("n2", 1)
    for n, interval in enumerate(SCHEDULE[:4], start=2):
        sb.advance_clock(interval - 1)
        assert len(sb.notifications(out_trade_no="n2")) == n - 1  # not due yet
        sb.advance_clock(1)
        assert len(sb.notifications(out_trade_no="n2")) == n
    attempts = sb.notifications(out_trade_no="n2")
    assert [a["outcome"] for a in attempts] == ["failure"] * 4 + ["success"]
    assert len({a["notify_id"] for a in attempts}) == 1
    assert len({a["form"]["sign"] for a in attempts}) == 1
    gaps = [b["scheduled_ts"] - a["scheduled_ts"] for a, b in itertools.pairwise(attempts)]
    assert gaps == SCHEDULE[:4]
    assert attempts[0]["status_code"] == 200 and attempts[0]["reply"] == "fail"
    sb.advance_clock(86400)
    assert len(sb.notifications(out_trade_no="n2")) == 5  # no more after success


def test_eight_attempts_at_most(sb, client, receiver):
    receiver.default_reply = "no"
    pay(sb, client, "n3")
    sb.wait_for_notifications("n3", 1)
    sb.advance_clock(2 * 86400)  # all due retries fire, one after another
    attempts = sb.notifications(out_trade_no="n3")
    assert [a["attempt"] for a in attempts] == list(range(1, 9))
    gaps = [b["scheduled_ts"] - a["scheduled_ts"] for a, b in itertools.pairwise(attempts)]
    assert gaps == SCHEDULE
    sb.advance_clock(7 * 86400)
    assert len(sb.notifications(out_trade_no="n3")) == 8


def test_unreachable_notify_url_is_recorded_and_retried(sb, receiver):
    client = sb.client(notify_url="http://127.0.0.1:9/closed")
    open_page_pay(client.page_pay(out_trade_no="n4", total_amount="1.00", subject="s").url)
    sb.pay("n4")
    attempts = sb.wait_for_notifications("n4", 1)
    assert attempts[0]["status_code"] is None and attempts[0]["error"]
    sb.advance_clock(240)
    assert len(sb.notifications(out_trade_no="n4")) == 2


def test_time_scale_drives_retries_in_real_time(receiver):
    from zhifu.sandbox.testing import SandboxServer

    receiver.replies = ["fail"]
    with SandboxServer(time_scale=2000.0, keys=test_keys()) as fast:
        client = fast.client(notify_url=receiver.url)
        open_page_pay(client.page_pay(out_trade_no="n5", total_amount="1.00", subject="s").url)
        fast.pay("n5")
        attempts = fast.wait_for_notifications("n5", 2, timeout=5)  # 240 s / 2000 = 0.12 s
        assert [a["outcome"] for a in attempts] == ["failure", "success"]


def test_no_notify_url_no_notification(sb):
    client = sb.client()
    open_page_pay(client.page_pay(out_trade_no="n6", total_amount="1.00", subject="s").url)
    sb.pay("n6")
    sb.advance_clock(1)
    assert sb.notifications(out_trade_no="n6") == []


def test_wap_pay_notifies_timeouts_by_default(sb, client, receiver):
    open_page_pay(
        client.wap_pay(
            out_trade_no="n7", total_amount="1.00", subject="s", timeout_express="5m"
        ).url
    )
    sb.advance_clock(600)
    attempts = sb.wait_for_notifications("n7", 1)
    assert (
        attempts[0]["form"]["trade_status"] == "TRADE_CLOSED" and "gmt_close" in attempts[0]["form"]
    )
    assert "gmt_payment" not in attempts[0]["form"]


def test_abandoned_notifications_are_never_retried(sb, client, receiver):
    receiver.default_reply = "fail"
    pay(sb, client, "ab1")
    pay(sb, client, "ab2")
    sb.wait_for_notifications("ab1", 1)
    sb.wait_for_notifications("ab2", 1)
    assert sb.abandon_notifications(out_trade_no="ab1") == 1
    sb.advance_clock(2 * 86400)
    assert len(sb.notifications(out_trade_no="ab1")) == 1  # no retry after abandoning
    assert len(sb.notifications(out_trade_no="ab2")) == 8  # the other one kept retrying
    states = {
        n["out_trade_no"]: n["state"]
        for n in sb._call("GET", "/sandbox/api/notifications")["notifications"]
    }
    assert states == {"ab1": "abandoned", "ab2": "failed"}
    assert sb.abandon_notifications() == 0  # nothing pending any more


def test_notifications_carry_buyer_logon_id_seller_email_and_a_numeric_notify_id(
    sb, client, receiver
):
    pay(sb, client, "n-ids")
    form = sb.wait_for_notifications("n-ids")[0]["form"]
    assert form["buyer_logon_id"] == "buy***@sandbox.com"  # masked, as in production
    assert form["seller_email"] == sb.info["seller_email"]
    assert re.fullmatch(r"seller\d{6}@sandbox\.com", form["seller_email"])
    # digits beginning with the (Beijing) date, not hex
    assert re.fullmatch(r"\d{34}", form["notify_id"])
    assert form["notify_id"][:8] == beijing_now().strftime("%Y%m%d")
    assert form["notify_id"][8:13] == "00222"  # then the time, as in captured ones
    Verifier(sb.default_app.alipay_public_key_pem).verify_notification(form)
