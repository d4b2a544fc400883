from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from zhifu.alipay import Verifier

from .conftest import open_page_pay


def test_page_pay_return_and_notification(sb, client, receiver):
    request = client.page_pay(out_trade_no="smoke1", total_amount="9.90", subject="书")
    open_page_pay(request.url)
    return_url = sb.pay(sb.default_app.app_id, "smoke1")
    params = dict(parse_qsl(urlsplit(return_url).query))
    verified = Verifier(sb.default_app.alipay_public_key_pem).verify_notification(params)
    assert verified["method"] == "alipay.trade.page.pay.return"
    attempts = sb.wait_for_notifications("smoke1")
    assert attempts[0]["outcome"] == "success"
    assert receiver.received[0]["trade_status"] == "TRADE_SUCCESS"
    assert client.query(out_trade_no="smoke1").is_paid
