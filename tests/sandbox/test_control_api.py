"""The JSON control API: info, apps, bad input answered with 400 JSON, the dashboard page."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import padding

from zhifu.alipay import (
    AlipayClient,
    beijing_now,
    cert_sn,
    load_public_key,
    public_key_pem,
    root_cert_sn,
)
from zhifu.alipay.certs import load_certificates
from zhifu.sandbox.clock import parse_beijing

from .conftest import open_page_pay
from .helpers import other_key_pair


def test_info(sb):
    info = httpx.get(sb.url + "/sandbox/api/info").json()
    assert info["gateway_url"] == sb.gateway_url
    assert info["alipay_public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert info["app_id"].startswith("9021000") and len(info["app_id"]) == 16
    assert info["seller_id"].startswith("2088") and len(info["seller_id"]) == 16
    assert any(b["balance"] == "1.00" for b in info["buyers"])


def test_register_an_app_and_use_it(sb, receiver):
    pair = other_key_pair()
    created = httpx.post(
        sb.url + "/sandbox/api/apps", json={"app_public_key": pair.public_one_line}
    )
    assert created.status_code == 201
    app = created.json()
    client = AlipayClient(
        app_id=app["app_id"],
        app_private_key=pair.private_pem,
        alipay_public_key=sb.default_app.alipay_public_key_pem,
        gateway_url=sb.gateway_url,
        notify_url=receiver.url,
    )
    open_page_pay(client.page_pay(out_trade_no="own1", total_amount="1.00", subject="s").url)
    assert sb.pay(app["app_id"], "own1") == ""
    assert client.query(out_trade_no="own1").is_paid
    form = sb.wait_for_notifications("own1", app_id=app["app_id"])[0]["form"]
    assert form["seller_id"] == app["seller_id"]
    # a chosen app id; the default app cannot see the other app's trades
    chosen = sb.register_app(other_key_pair().public_pem, app_id="2021000000000001")
    assert chosen["app_id"] == "2021000000000001"
    with pytest.raises(Exception):
        sb.client().query(out_trade_no="own1")


@pytest.mark.parametrize(
    ("method", "path", "body", "error"),
    [
        ("POST", "/sandbox/api/apps", b"{bad json", "invalid_json"),
        ("POST", "/sandbox/api/apps", b"[1]", "invalid_json"),
        ("POST", "/sandbox/api/apps", b"", "invalid_json"),
        ("POST", "/sandbox/api/apps", b'{"app_public_key": 5}', "invalid_field"),
        ("POST", "/sandbox/api/apps", b'{"app_public_key": "not a key"}', "invalid_app_public_key"),
        ("POST", "/sandbox/api/apps", b'{"app_public_key": "x", "colour": 1}', "invalid_field"),
        ("POST", "/sandbox/api/faults", b'{"drop_notifications": -1}', "invalid_fault"),
        ("POST", "/sandbox/api/faults", b'{"drop_notifications": true}', "invalid_fault"),
        ("POST", "/sandbox/api/faults", b'{"explode": 1}', "invalid_fault"),
        ("POST", "/sandbox/api/faults", b'{"methods": "alipay.trade.query"}', "invalid_fault"),
        ("POST", "/sandbox/api/faults", b'{"notification_delay": "NaN"}', "invalid_fault"),
        ("POST", "/sandbox/api/clock", b'{"advance_seconds": -5}', "invalid_field"),
        ("POST", "/sandbox/api/clock", b'{"advance_seconds": "10"}', "invalid_field"),
        ("POST", "/sandbox/api/clock", b'{"advance_seconds": 1e400}', "invalid_field"),
        ("POST", "/sandbox/api/clock", b"{}", "invalid_field"),
        ("POST", "/sandbox/api/clock", b"\xff\xfe", "invalid_json"),
        ("POST", "/sandbox/api/clock", b'{"reset": false}', "invalid_field"),
        ("POST", "/sandbox/api/clock", b'{"now": "2024-01-01T00:00:00"}', "invalid_field"),
        ("POST", "/sandbox/api/clock", b'{"now": 1700000000}', "invalid_field"),
        ("POST", "/sandbox/api/clock", b'{"reset": true, "advance_seconds": 5}', "invalid_field"),
        ("POST", "/sandbox/api/reset", b'{"everything": true}', "invalid_field"),
        ("POST", "/sandbox/api/trades/x/y/pay", b'{"buyer": 3}', "invalid_field"),
        ("POST", "/sandbox/api/settings", b'{"notify_triggers": {"x": []}}', "invalid_field"),
        (
            "POST",
            "/sandbox/api/settings",
            b'{"notify_triggers": {"alipay.trade.page.pay": ["PAID"]}}',
            "invalid_field",
        ),
        ("POST", "/sandbox/api/buyers/buyer1@sandbox.com", b'{"balance": "-1"}', "invalid_field"),
    ],
)
def test_bad_input_is_a_400_json_error(sb, method, path, body, error):
    response = httpx.request(
        method, sb.url + path, content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    data = response.json()
    assert data["error"] == error and data["message"]
    assert "Traceback" not in response.text


def test_unknown_paths_and_methods_answer_json(sb):
    missing = httpx.get(sb.url + "/sandbox/api/nothing")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong = httpx.get(sb.url + "/sandbox/api/trades/a/b/pay")
    assert wrong.status_code == 405 and "error" in wrong.json()
    assert (
        httpx.post(sb.url + "/sandbox/api/trades/nope/x/pay", json={}).json()["error"]
        == "unknown_app"
    )
    unknown_buyer = httpx.post(
        f"{sb.url}/sandbox/api/trades/{sb.default_app.app_id}/x/pay",
        json={"buyer": "ghost@sandbox.com"},
    )
    assert (unknown_buyer.status_code, unknown_buyer.json()["error"]) == (404, "unknown_buyer")


def test_garbage_gateway_requests_never_500(sb):
    for response in (
        httpx.get(sb.gateway_url),
        httpx.post(
            sb.gateway_url,
            content=b"\xff\xfe%%%",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        httpx.get(sb.gateway_url + "?charset=gbk&method=%FF%FF"),
        httpx.get(sb.url + "/cashier/nonexistent"),
        httpx.post(sb.url + "/cashier/nonexistent", data={"login": "x"}),
    ):
        assert response.status_code < 500, response.text


def test_set_balance_and_notify_triggers(sb):
    response = httpx.post(sb.url + "/sandbox/api/buyers/poor@sandbox.com", json={"balance": "2.50"})
    assert response.status_code == 200
    assert any(b["balance"] == "2.50" for b in response.json()["buyers"])
    triggers = sb.set_notify_triggers(**{"alipay.trade.precreate": ["TRADE_CLOSED"]})
    assert triggers["alipay.trade.precreate"] == ["TRADE_SUCCESS", "TRADE_CLOSED"]


def test_dashboard_lists_trades_refunds_and_attempts(sb, client, receiver):
    open_page_pay(client.page_pay(out_trade_no="dash1", total_amount="3.00", subject="仪表盘").url)
    sb.pay("dash1")
    client.refund(out_trade_no="dash1", refund_amount="1.00", out_request_no="dr1")
    sb.wait_for_notifications("dash1", 2)
    page = httpx.get(sb.url + "/sandbox/")
    assert page.status_code == 200
    assert "dash1" in page.text and "仪表盘" in page.text and "dr1" in page.text
    assert receiver.url in page.text
    assert "seller balance ¥2.00" in page.text  # paid 3.00, refunded 1.00
    assert httpx.get(sb.url + "/").status_code == 302


def test_trade_listing(sb, client):
    open_page_pay(client.page_pay(out_trade_no="list1", total_amount="3.00", subject="s").url)
    trades = httpx.get(sb.url + "/sandbox/api/trades", params={"out_trade_no": "list1"}).json()[
        "trades"
    ]
    assert len(trades) == 1 and trades[0]["trade_status"] == "WAIT_BUYER_PAY"
    assert sb.trade("list1")["total_amount"] == "3.00"


# -- certificates ------------------------------------------------------------------------------


def test_apps_get_certificates_issued_by_the_sandbox_root(sb):
    info = sb.info
    files = info["key_files"]
    root_pem = Path(files["alipay_root_cert"]).read_text()
    assert root_cert_sn(root_pem) == info["certificates"]["alipay_root_cert_sn"]
    alipay_cert = Path(files["alipay_public_cert"]).read_text()
    assert cert_sn(alipay_cert) == info["certificates"]["alipay_cert_sn"]
    assert public_key_pem(load_public_key(alipay_cert)) == info["alipay_public_key"]
    assert cert_sn(Path(files["app_cert"]).read_text()) == info["default_app"]["app_cert_sn"]
    saved = json.loads(Path(files["sandbox_json"]).read_text())
    assert saved["alipay_root_cert_sn"] == info["certificates"]["alipay_root_cert_sn"]
    # a newly registered key gets a certificate holding that key, signed by the RSA root
    pair = other_key_pair()
    app = sb.register_app(pair.public_pem)
    issued = load_certificates(app["app_cert"])[0]
    assert public_key_pem(issued.public_key()) == pair.public_pem
    assert cert_sn(app["app_cert"]) == app["app_cert_sn"]
    root = load_certificates(root_pem)[0]
    root.public_key().verify(
        issued.signature,
        issued.tbs_certificate_bytes,
        padding.PKCS1v15(),
        issued.signature_hash_algorithm,
    )
    assert issued.issuer == root.subject


# -- the clock and a clean slate -----------------------------------------------------------------


def test_the_clock_can_be_reset_and_set_back(sb, client):
    # a long run with a sped-up clock leaves the sandbox days ahead of real time
    sb.advance_clock(3 * 86400)
    expire = (beijing_now() + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    open_page_pay(
        client.page_pay(
            out_trade_no="clk1", total_amount="1.00", subject="s", time_expire=expire
        ).url
    )
    assert client.query(out_trade_no="clk1").trade_status == "TRADE_CLOSED"  # expired at once
    sb.reset_clock()
    now = httpx.get(sb.url + "/sandbox/api/clock").json()["timestamp"]
    assert abs(now - time.time()) < 5
    open_page_pay(
        client.page_pay(
            out_trade_no="clk2", total_amount="1.00", subject="s", time_expire=expire
        ).url
    )
    assert client.query(out_trade_no="clk2").trade_status == "WAIT_BUYER_PAY"
    # set back to a chosen (Beijing) time: new trades are numbered with its date
    sb.set_clock("2024-02-29 12:00:00")
    answer = httpx.get(sb.url + "/sandbox/api/clock").json()
    wanted = parse_beijing("2024-02-29 12:00:00")
    assert wanted is not None and abs(answer["timestamp"] - wanted) < 5
    pre = client.precreate(out_trade_no="clk3", total_amount="1.00", subject="s")
    httpx.get(pre.qr_code)
    assert client.query(out_trade_no="clk3").trade_no.startswith("20240229")


def test_reset_forgets_trades_and_notifications_and_stops_retries(sb, client, receiver):
    receiver.default_reply = "fail"  # the retry stays pending
    open_page_pay(client.page_pay(out_trade_no="rs1", total_amount="5.00", subject="s").url)
    sb.pay("rs1")
    sb.wait_for_notifications("rs1")
    sb.faults(gateway_errors=3)
    sb.set_notify_triggers(**{"alipay.trade.page.pay": ["TRADE_CLOSED"]})
    app_id = sb.default_app.app_id
    sb.reset()
    assert httpx.get(sb.url + "/sandbox/api/trades").json()["trades"] == []
    assert sb.notifications() == []
    assert sb.faults()["gateway_errors"] == 0
    assert httpx.get(sb.url + "/sandbox/api/settings").json()["notify_triggers"][
        "alipay.trade.page.pay"
    ] == ["TRADE_SUCCESS"]
    buyers = {
        b["login"]: b["balance"] for b in httpx.get(sb.url + "/sandbox/api/buyers").json()["buyers"]
    }
    assert buyers["buyer1@sandbox.com"] == "1000000.00"
    assert sb.info["app_id"] == app_id  # apps and keys stay: the site's settings still work
    delivered = len(receiver.received)
    sb.advance_clock(86400)  # a day: every retry would have come by now
    assert len(receiver.received) == delivered
    # and the same order number starts afresh
    open_page_pay(client.page_pay(out_trade_no="rs1", total_amount="5.00", subject="s").url)
    assert client.query(out_trade_no="rs1").trade_status == "WAIT_BUYER_PAY"
