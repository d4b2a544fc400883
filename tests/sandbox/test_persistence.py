"""State, keys and pending notification retries survive a restart."""

from __future__ import annotations

import json
import sqlite3

import httpx

from zhifu.alipay import cert_sn
from zhifu.sandbox.testing import SandboxServer

from .conftest import open_page_pay
from .helpers import test_keys


def test_restart_keeps_trades_keys_and_pending_retries(tmp_path, receiver):
    data = tmp_path / "sb"
    receiver.default_reply = "not yet"
    sb = SandboxServer(data, time_scale=1.0, keys=test_keys()).start()
    try:
        app = sb.default_app
        client = sb.client(notify_url=receiver.url)
        open_page_pay(client.page_pay(out_trade_no="keep1", total_amount="2.00", subject="s").url)
        sb.pay("keep1")
        sb.wait_for_notifications("keep1", 1)
        sb.advance_clock(240)
        assert len(sb.notifications(out_trade_no="keep1")) == 2
    finally:
        sb.stop()

    files = {p.name for p in data.iterdir()}
    assert {
        "app_private_key.pem",
        "app_public_key.pem",
        "alipay_public_key.pem",
        "sandbox.json",
    } <= files
    info = json.loads((data / "sandbox.json").read_text())
    assert info["app_id"] == app.app_id and info["buyers"][0]["password"] == "111111"

    receiver.default_reply = "success"
    again = SandboxServer(data, time_scale=1.0, keys=test_keys()).start()
    try:
        assert again.default_app.app_id == app.app_id
        assert again.default_app.alipay_public_key_pem == app.alipay_public_key_pem
        client = again.client()
        assert client.query(out_trade_no="keep1").is_paid
        assert len(again.notifications(out_trade_no="keep1")) == 2  # nothing due yet
        again.advance_clock(600)  # the third attempt is 10 minutes after the second
        attempts = again.notifications(out_trade_no="keep1")
        assert [a["outcome"] for a in attempts] == ["failure", "failure", "success"]
        assert len({a["notify_id"] for a in attempts}) == 1
    finally:
        again.close()


def test_restart_via_helper_keeps_the_port(tmp_path):
    with SandboxServer(tmp_path / "sb2", keys=test_keys()) as sb:
        url = sb.url
        sb.restart()
        assert sb.info["app_id"]
        assert sb.url == url or sb.url.startswith("http://127.0.0.1:")


def test_a_data_dir_from_before_certificates_and_seller_balances_is_upgraded(tmp_path, receiver):
    data = tmp_path / "old"
    with SandboxServer(data, keys=test_keys()) as sb:
        app_id = sb.default_app.app_id
        client = sb.client(notify_url=receiver.url)
        open_page_pay(client.page_pay(out_trade_no="old1", total_amount="8.00", subject="s").url)
        sb.pay("old1")
        client.refund(out_trade_no="old1", refund_amount="3.00", out_request_no="r1")
    # what an earlier release left: no certificate columns or root key, no seller balance
    db = sqlite3.connect(data / "sandbox.sqlite3")
    for column in ("cert_pem", "cert_sn", "balance_fen"):
        db.execute(f"ALTER TABLE apps DROP COLUMN {column}")
    db.execute("DELETE FROM meta WHERE key IN ('root_private_key', 'root_certs', 'alipay_cert')")
    db.commit()
    db.close()
    with SandboxServer(data, keys=test_keys()) as sb:
        assert sb.default_app.app_id == app_id
        apps = httpx.get(sb.url + "/sandbox/api/apps").json()["apps"]
        assert apps[0]["seller_balance"] == "5.00"  # received 8.00, refunded 3.00
        assert apps[0]["app_cert_sn"] == cert_sn(apps[0]["app_cert"])
        client = sb.cert_client()
        assert client.query(out_trade_no="old1").is_paid
        assert client.refund(
            out_trade_no="old1", refund_amount="5.00", out_request_no="r2"
        ).fund_change
