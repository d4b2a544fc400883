"""The JSON control API: info, apps, bad input answered with 400 JSON, the dashboard page."""

from __future__ import annotations

import httpx
import pytest

from zhifu.alipay import AlipayClient, generate_key_pair

from .conftest import open_page_pay


def test_info(sb):
    info = httpx.get(sb.url + "/sandbox/api/info").json()
    assert info["gateway_url"] == sb.gateway_url
    assert info["alipay_public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert info["app_id"].startswith("9021000") and len(info["app_id"]) == 16
    assert info["seller_id"].startswith("2088") and len(info["seller_id"]) == 16
    assert any(b["balance"] == "1.00" for b in info["buyers"])


def test_register_an_app_and_use_it(sb, receiver):
    pair = generate_key_pair()
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
    chosen = sb.register_app(generate_key_pair().public_pem, app_id="2021000000000001")
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
    assert httpx.get(sb.url + "/").status_code == 302


def test_trade_listing(sb, client):
    open_page_pay(client.page_pay(out_trade_no="list1", total_amount="3.00", subject="s").url)
    trades = httpx.get(sb.url + "/sandbox/api/trades", params={"out_trade_no": "list1"}).json()[
        "trades"
    ]
    assert len(trades) == 1 and trades[0]["trade_status"] == "WAIT_BUYER_PAY"
    assert sb.trade("list1")["total_amount"] == "3.00"
