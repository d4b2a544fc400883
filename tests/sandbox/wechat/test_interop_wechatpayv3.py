"""``wechatpayv3`` from PyPI, unmodified, drives the sandbox: Native, H5 and JSAPI orders (its
JSAPI ``paySign`` accepted by the sandbox's bridge), query, close,
refund, refund query and its own callback verification + decryption, each in public-key mode and
in platform-certificate mode (Native with a certificate rotated under it).

wechatpayv3 hard-codes ``https://api.mch.weixin.qq.com``; the only change is pointing its
``_core._gate_way`` at the sandbox, as its users do for any proxy. In certificate mode its
constructor would download ``/v3/certificates`` from WeChat, so its ``cert_dir`` is seeded with
the platform certificates the sandbox wrote (its documented cache layout, ``<serial>.pem``).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from zhifu.sandbox.testing import SandboxServer

from .conftest import WechatReceiver

wechatpayv3 = pytest.importorskip(
    "wechatpayv3", reason="wechatpayv3 is not installed (pip install -e '.[dev]')"
)


def _client(sb: SandboxServer, notify_url: str, cert_dir: Path | None = None) -> Any:
    info = sb.wechat_info
    files = info["key_files"]
    options: dict[str, Any] = {
        "wechatpay_type": wechatpayv3.WeChatPayType.NATIVE,
        "mchid": info["mchid"],
        "private_key": Path(files["merchant_private_key"]).read_text(encoding="ascii"),
        "cert_serial_no": info["merchant_serial_no"],
        "appid": info["appid"],
        "apiv3_key": info["apiv3_key"],
        "notify_url": notify_url,
    }
    if cert_dir is None:
        options["public_key"] = info["wechatpay_public_key"]
        options["public_key_id"] = info["wechatpay_public_key_id"]
    else:
        options["cert_dir"] = str(cert_dir)
    client = wechatpayv3.WeChatPay(**options)
    client._core._gate_way = sb.url  # its only way to another host
    return client


def _drive(sb: SandboxServer, client: Any, receiver: WechatReceiver, number: str) -> None:
    code, text = client.pay(description="课程", out_trade_no=number, amount={"total": 990})
    assert code == 200, text
    assert json.loads(text)["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
    code, text = client.query(out_trade_no=number)
    assert (code, json.loads(text)["trade_state"]) == (200, "NOTPAY")
    sb.wechat_pay(number)
    code, text = client.query(out_trade_no=number)
    paid = json.loads(text)
    assert (code, paid["trade_state"], paid["amount"]["total"]) == (200, "SUCCESS", 990)
    code, text = client.query(transaction_id=paid["transaction_id"])
    assert code == 200 and json.loads(text)["out_trade_no"] == number
    code, text = client.refund(
        out_refund_no=f"R{number}",
        amount={"refund": 190, "total": 990, "currency": "CNY"},
        out_trade_no=number,
    )
    assert (code, json.loads(text)["status"]) == (200, "PROCESSING"), text
    sb.advance_clock(10)
    code, text = client.query_refund(out_refund_no=f"R{number}")
    assert (code, json.loads(text)["status"]) == (200, "SUCCESS")
    # its callback() verifies and decrypts what the site received
    sb.wait_for_wechat_notifications(number, 2)
    events = []
    for headers, body in zip(receiver.headers, receiver.bodies, strict=True):
        result = client.callback(headers, body)
        assert result, "wechatpayv3 refused a sandbox notification"
        events.append((result["event_type"], result["resource"]["out_trade_no"]))
    assert events == [("TRANSACTION.SUCCESS", number), ("REFUND.SUCCESS", number)]
    # close: an unpaid order answers 204 (signed, empty body)
    client.pay(description="x", out_trade_no=f"{number}C", amount={"total": 1})
    code, _ = client.close(out_trade_no=f"{number}C")
    assert code == 204
    code, text = client.query(out_trade_no=f"{number}C")
    assert json.loads(text)["trade_state"] == "CLOSED"


def test_public_key_mode(sb: SandboxServer, wx_receiver: WechatReceiver) -> None:
    _drive(sb, _client(sb, wx_receiver.url), wx_receiver, "WPV3PK01")


def test_certificate_mode_with_a_rotation(
    sb: SandboxServer, wx_receiver: WechatReceiver, tmp_path: Path
) -> None:
    sb.wechat_mode("certificate")
    cert_dir = tmp_path / "certs"
    shutil.copytree(sb.wechat_info["key_files"]["platform_certificates_dir"], cert_dir)
    client = _client(sb, wx_receiver.url, cert_dir)
    _drive(sb, client, wx_receiver, "WPV3CT01")
    rotated = sb._call("POST", "/sandbox/api/wechat/certificates/rotate", json={})
    code, text = client.query(out_trade_no="WPV3CT01")  # signed by the new certificate
    assert code == 200, text
    assert (cert_dir / f"{rotated['serial_no']}.pem").exists()  # it downloaded /v3/certificates


def test_a_forged_notification_is_refused_by_its_callback(
    sb: SandboxServer, wx_receiver: WechatReceiver
) -> None:
    client = _client(sb, wx_receiver.url)
    sb.wechat_faults(corrupt_notifications=1)
    client.pay(description="x", out_trade_no="WPV3FG01", amount={"total": 1})
    sb.wechat_pay("WPV3FG01")
    sb.wait_for_wechat_notifications("WPV3FG01")
    assert not client.callback(wx_receiver.headers[0], wx_receiver.bodies[0])


def _client_in(sb: SandboxServer, mode: str, notify_url: str, tmp_path: Path) -> Any:
    if mode == "public_key":
        return _client(sb, notify_url)
    sb.wechat_mode("certificate")
    cert_dir = tmp_path / "certs"
    shutil.copytree(sb.wechat_info["key_files"]["platform_certificates_dir"], cert_dir)
    return _client(sb, notify_url, cert_dir)


@pytest.mark.parametrize("mode", ["public_key", "certificate"])
def test_h5_and_jsapi_orders_and_its_pay_sign(
    sb: SandboxServer, wx_receiver: WechatReceiver, tmp_path: Path, mode: str
) -> None:
    """H5 and JSAPI, in each key mode: placed, paid, queried (trade_type MWEB / JSAPI), closed,
    refunded, and every notification verified and decrypted by its callback()."""
    client = _client_in(sb, mode, wx_receiver.url, tmp_path)
    info = sb.wechat_info
    buyer = info["users"][0]
    suffix = "PK" if mode == "public_key" else "CT"
    h5, jsapi = f"WPV3H5{suffix}1", f"WPV3JS{suffix}1"
    code, text = client.pay(
        description="x",
        out_trade_no=h5,
        amount={"total": 100},
        pay_type=wechatpayv3.WeChatPayType.H5,
        scene_info={"payer_client_ip": "1.2.3.4", "h5_info": {"type": "Wap"}},
    )
    assert code == 200, text
    assert httpx.get(json.loads(text)["h5_url"], follow_redirects=True).status_code == 200
    code, text = client.pay(
        description="x",
        out_trade_no=jsapi,
        amount={"total": 100},
        pay_type=wechatpayv3.WeChatPayType.JSAPI,
        payer={"openid": buyer["openid"]},
    )
    assert code == 200, text
    package = f"prepay_id={json.loads(text)['prepay_id']}"
    stamp, nonce = str(int(time.time())), "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"
    params = {
        "appId": info["appid"],
        "timeStamp": stamp,
        "nonceStr": nonce,
        "package": package,
        "signType": "RSA",
        "paySign": client.sign([info["appid"], stamp, nonce, package]),
    }
    check = httpx.post(f"{sb.url}/wechat/jsapi/check", json=params).json()
    assert check["ok"], check  # the sandbox's bridge accepts wechatpayv3's paySign

    for number, trade_type in ((h5, "MWEB"), (jsapi, "JSAPI")):
        sb.wechat_pay(number, buyer["login"])
        code, text = client.query(out_trade_no=number)
        paid = json.loads(text)
        assert (code, paid["trade_state"], paid["trade_type"]) == (200, "SUCCESS", trade_type)
    assert paid["payer"]["openid"] == buyer["openid"]
    code, text = client.refund(
        out_refund_no=f"R{jsapi}",
        amount={"refund": 100, "total": 100, "currency": "CNY"},
        out_trade_no=jsapi,
    )
    assert (code, json.loads(text)["status"]) == (200, "PROCESSING"), text
    sb.advance_clock(10)
    code, text = client.query_refund(out_refund_no=f"R{jsapi}")
    assert (code, json.loads(text)["status"]) == (200, "SUCCESS")
    # an unpaid H5 order is closed (204, signed, empty body)
    client.pay(
        description="x",
        out_trade_no=f"{h5}C",
        amount={"total": 1},
        pay_type=wechatpayv3.WeChatPayType.H5,
        scene_info={"payer_client_ip": "1.2.3.4", "h5_info": {"type": "Wap"}},
    )
    assert client.close(out_trade_no=f"{h5}C")[0] == 204
    assert json.loads(client.query(out_trade_no=f"{h5}C")[1])["trade_state"] == "CLOSED"

    sb.wait_for_wechat_notifications(h5)
    sb.wait_for_wechat_notifications(jsapi, 2)
    events = set()
    for headers, body in received(wx_receiver):
        result = client.callback(headers, body)
        assert result, f"wechatpayv3 refused a sandbox notification ({mode})"
        resource = result["resource"]
        events.add((result["event_type"], resource["out_trade_no"]))
        if result["event_type"] == "TRANSACTION.SUCCESS":
            assert resource["trade_type"] in ("MWEB", "JSAPI")
    assert events == {
        ("TRANSACTION.SUCCESS", h5),
        ("TRANSACTION.SUCCESS", jsapi),
        ("REFUND.SUCCESS", jsapi),
    }


def received(receiver: WechatReceiver) -> list[tuple[dict[str, str], bytes]]:
    with receiver.lock:
        return list(zip(receiver.headers, receiver.bodies, strict=True))
