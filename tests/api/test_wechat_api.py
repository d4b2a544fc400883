"""Paying by WeChat Pay through the REST API, over real HTTP: the site runs as a live server,
the client calls its API with a JWT, the local sandbox is WeChat Pay (public-key mode), and the
sandbox's wallet pays and notifies the site. Native (QR), H5 (pay_url with redirect_url) and
JSAPI (js_params checked by the sandbox's WeixinJSBridge check), the request fields' validation,
the buyer's IP behind proxies, and a refund that is pending until WeChat's notification.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.test import RequestFactory
from rest_framework_simplejwt.tokens import RefreshToken

from tests.conftest import wait_until
from tests.core.factories import make_order
from zhifu.models import Notification, Order, PaymentAttempt, Refund
from zhifu.payer import client_ip, payer_from_request

pytestmark = pytest.mark.django_db(transaction=True)

NOTIFY = "/zhifu/wechatpay/notify/"
RETURN = "/zhifu/wechatpay/return/"


def api_client(live_server: Any, user: Any) -> httpx.Client:
    token = RefreshToken.for_user(user).access_token
    return httpx.Client(
        base_url=live_server.url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30.0,
    )


@pytest.fixture
def api(sandbox_wechat, live_server, user):
    with api_client(live_server, user) as client:
        yield client


def new_order(api: httpx.Client, **extra: Any) -> dict[str, Any]:
    response = api.post("/api/orders/", json={"items": [{"sku": "book-1"}], **extra})
    assert response.status_code == 201, response.text
    return response.json()


def paid(number: str) -> bool:
    return Order.objects.get(out_trade_no=number).status == Order.Status.PAID


def refused(response: httpx.Response, field: str) -> str:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert field in error["fields"], error
    assert error["message"].startswith(field + ": "), error["message"]
    return str(error["message"])


def sandbox_user(sb: Any) -> dict[str, Any]:
    return next(u for u in sb.wechat_info["users"] if u["login"])


# -- Native -----------------------------------------------------------------------------------


def test_native_create_and_pay_in_one_call(api, sandbox_wechat, product, fulfilled):
    body = new_order(api, channel="wechat_native")
    payment = body["payment"]
    assert payment["channel"] == "wechat_native"
    assert payment["qr_code"].startswith("weixin://wxpay/bizpayurl?pr=")
    assert payment["js_params"] == {} and payment["pay_url"] == "" and payment["paid"] is False
    attempt = PaymentAttempt.objects.get(out_trade_no=payment["payment_out_trade_no"])
    assert attempt.provider == "wechatpay" and attempt.qr_code == payment["qr_code"]

    # calling pay again reuses the trade (same number, same code_url: WeChat sees one order)
    again = api.post(f"/api/orders/{body['out_trade_no']}/pay/", json={"channel": "wechat_native"})
    assert again.status_code == 200, again.text
    assert again.json()["payment_out_trade_no"] == payment["payment_out_trade_no"]
    assert again.json()["qr_code"] == payment["qr_code"]

    sandbox_wechat.wechat_pay(payment["payment_out_trade_no"])
    assert wait_until(lambda: paid(body["out_trade_no"]))
    assert api.get(f"/api/orders/{body['out_trade_no']}/").json()["status"] == "paid"
    assert fulfilled == [("paid", body["out_trade_no"])]


# -- H5 ---------------------------------------------------------------------------------------


def test_h5_pay_url_brings_the_buyer_back_to_the_given_return_url(
    api, sandbox_wechat, live_server, product, fulfilled
):
    order = new_order(api)
    response = api.post(
        f"/api/orders/{order['out_trade_no']}/pay/",
        json={"channel": "wechat_h5", "return_url": RETURN},
    )
    assert response.status_code == 200, response.text
    payment = response.json()
    number = payment["payment_out_trade_no"]
    assert payment["qr_code"] == "" and payment["js_params"] == {}
    pay_url = payment["pay_url"]
    assert pay_url.startswith(sandbox_wechat.url + "/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=")
    # the path became this site's absolute URL, naming the trade for the return view
    back = parse_qs(urlsplit(pay_url).query)["redirect_url"][0]
    assert back == f"{live_server.url}{RETURN}?out_trade_no={number}"

    # the buyer's phone browser: the h5_url opens the wallet, paying sends it back
    with httpx.Client(timeout=30.0, follow_redirects=True) as browser:
        wallet = browser.get(pay_url)
        assert wallet.status_code == 200 and "/wechat/pay/" in str(wallet.url)
        buyer = sandbox_user(sandbox_wechat)
        answer = browser.post(
            str(wallet.url),
            data={"action": "pay", "login": buyer["login"], "password": buyer["password"]},
            follow_redirects=False,
        )
        assert answer.status_code == 303 and answer.headers["location"] == back
        landing = browser.get(back)  # the return view queries WeChat: never trusts the visit
        assert landing.status_code == 200
    assert wait_until(lambda: paid(order["out_trade_no"]))
    assert fulfilled == [("paid", order["out_trade_no"])]


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/steal",
        "//evil.example/steal",
        "/\\evil.example/steal",
        "javascript:alert(1)",
        "ftp://127.0.0.1/x",
        "http://user@evil.example/",
        "relative/path",
    ],
)
def test_a_return_url_of_another_site_is_refused(api, product, url):
    order = new_order(api)
    message = refused(
        api.post(
            f"/api/orders/{order['out_trade_no']}/pay/",
            json={"channel": "wechat_h5", "return_url": url},
        ),
        "return_url",
    )
    assert "this site" in message
    assert not PaymentAttempt.objects.exists()  # refused before anything was placed


def test_a_return_url_of_this_site_may_be_absolute(api, live_server, product):
    url = live_server.url + "/orders/done/?tab=1"
    body = new_order(api, channel="wechat_h5", return_url=url)
    back = parse_qs(urlsplit(body["payment"]["pay_url"]).query)["redirect_url"][0]
    assert back.startswith(url + "&out_trade_no=")


# -- JSAPI ------------------------------------------------------------------------------------


def test_jsapi_js_params_are_accepted_by_wechats_bridge(api, sandbox_wechat, product, fulfilled):
    buyer = sandbox_user(sandbox_wechat)
    order = new_order(api)
    response = api.post(
        f"/api/orders/{order['out_trade_no']}/pay/",
        json={"channel": "wechat_jsapi", "openid": buyer["openid"]},
    )
    assert response.status_code == 200, response.text
    payment = response.json()
    params = payment["js_params"]
    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["appId"] == sandbox_wechat.wechat_info["appid"]
    assert params["package"].startswith("prepay_id=") and params["signType"] == "RSA"
    assert params["timeStamp"].isdigit()  # a string, as getBrandWCPayRequest wants it
    assert payment["pay_url"] == payment["qr_code"] == ""

    # what WeixinJSBridge.invoke("getBrandWCPayRequest", params) does in WeChat's browser
    with httpx.Client(base_url=sandbox_wechat.url, timeout=30.0) as bridge:
        check = bridge.post("/wechat/jsapi/check", json=params).json()
        assert check["ok"] is True, check
        forged = bridge.post("/wechat/jsapi/check", json={**params, "nonceStr": "x" * 32}).json()
        assert forged["ok"] is False and "paySign" in forged["reason"]
        answer = bridge.post(
            check["wallet_url"],
            data={"action": "pay", "login": buyer["login"], "password": buyer["password"]},
        )
        assert answer.status_code == 200, answer.text
    assert wait_until(lambda: paid(order["out_trade_no"]))
    attempt = PaymentAttempt.objects.get(out_trade_no=payment["payment_out_trade_no"])
    assert attempt.channel == "wechat_jsapi"
    assert fulfilled == [("paid", order["out_trade_no"])]


def test_jsapi_in_the_creating_call(api, sandbox_wechat, product):
    buyer = sandbox_user(sandbox_wechat)
    body = new_order(api, channel="wechat_jsapi", openid=buyer["openid"])
    assert body["payment"]["js_params"]["package"].startswith("prepay_id=")
    assert sandbox_wechat.wechat_order(body["payment"]["payment_out_trade_no"])["trade_state"] == (
        "NOTPAY"
    )


@pytest.mark.parametrize(
    "openid",
    [
        None,  # absent
        "",
        "o" * 129,
        "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o\n",
        " oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        "oUpF8uMuAJO+M2pxb1Q9zNjWeS6o",
        "微信用户",
        12345,
    ],
    ids=["absent", "empty", "too-long", "newline", "space", "plus", "chinese", "number"],
)
def test_jsapi_needs_a_well_formed_openid(api, product, openid):
    order = new_order(api)
    body: dict[str, Any] = {"channel": "wechat_jsapi"}
    if openid is not None:
        body["openid"] = openid
    refused(api.post(f"/api/orders/{order['out_trade_no']}/pay/", json=body), "openid")
    refused(api.post("/api/orders/", json={"items": [{"sku": "book-1"}], **body}), "openid")
    assert not PaymentAttempt.objects.exists()


def test_an_openid_wechat_does_not_know_is_the_gateways_refusal(api, product):
    order = new_order(api)
    response = api.post(
        f"/api/orders/{order['out_trade_no']}/pay/",
        json={"channel": "wechat_jsapi", "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
    )
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert error["code"] == "gateway_refused" and "PARAM_ERROR" in error["message"]


def test_openid_is_ignored_by_other_channels_but_still_checked(api, product):
    body = new_order(api, channel="wechat_native", openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    assert body["payment"]["qr_code"]
    refused(
        api.post("/api/orders/", json={"items": [{"sku": "book-1"}], "openid": "bad openid"}),
        "openid",
    )


# -- the schema -------------------------------------------------------------------------------


def test_the_schema_declares_js_params_openid_and_return_url(api):
    schema = api.get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    components = schema.json()["components"]["schemas"]
    payment = components["Payment"]
    assert "js_params" in payment["required"]
    js = components["JsParams"]["properties"]
    assert set(js) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    for name in ("Pay", "CreateOrder"):
        openid = components[name]["properties"]["openid"]
        assert (openid["minLength"], openid["maxLength"]) == (1, 128)
        assert openid["pattern"] == "^[A-Za-z0-9_-]+$"
        assert components[name]["properties"]["return_url"]["maxLength"] == 1024
    # (the enum's component name depends on which channels drf-spectacular met first)
    enum = components["Pay"]["properties"]["channel"]["$ref"].rsplit("/", 1)[1]
    channels = set(components[enum]["enum"])
    assert {"wechat_native", "wechat_h5", "wechat_jsapi"} <= channels


# -- the buyer's IP address -------------------------------------------------------------------


def _request(remote: str, forwarded: str | None = None) -> Any:
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **headers)


def test_the_buyers_ip_ignores_x_forwarded_for_unless_proxies_are_declared(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK}
    settings.REST_FRAMEWORK.pop("NUM_PROXIES", None)
    assert client_ip(_request("10.0.0.5", "203.0.113.9")) == "10.0.0.5"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 0}
    assert client_ip(_request("10.0.0.5", "203.0.113.9")) == "10.0.0.5"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # the client wrote 6.6.6.6 itself
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (3, "203.0.113.9, 10.0.0.2", "203.0.113.9"),  # fewer entries than proxies: leftmost
        (1, "2001:db8::1", "2001:db8::1"),
        (1, "not-an-address", "10.0.0.5"),  # nothing usable: the proxy's own address
        (1, "", "10.0.0.5"),
    ],
)
def test_the_buyers_ip_behind_declared_proxies(settings, proxies, forwarded, expected):
    """The same rule as DRF's throttles (``NUM_PROXIES``), but only an IP address is taken."""
    from rest_framework.throttling import SimpleRateThrottle

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": proxies}
    request = _request("10.0.0.5", forwarded)
    assert client_ip(request) == expected
    assert payer_from_request(request, openid="o1").openid == "o1"
    if expected != "10.0.0.5":
        from rest_framework.request import Request

        # DRF's throttles identify the same address
        assert SimpleRateThrottle.get_ident(None, Request(request)) == expected  # type: ignore[arg-type]


def test_h5_tells_wechat_the_buyers_ip_from_behind_the_proxy(
    sandbox_wechat, settings, live_server, user, product, monkeypatch
):
    """Over HTTP, with one declared proxy: WeChat is told the address the proxy saw."""
    from zhifu.wechatpay import WechatPayClient

    placed: list[dict[str, Any]] = []
    h5 = WechatPayClient.h5

    def spy(self, **options: Any) -> Any:
        placed.append(options)
        return h5(self, **options)

    monkeypatch.setattr(WechatPayClient, "h5", spy)
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    with api_client(live_server, user) as api:
        order = make_order(user, "9.90")
        response = api.post(
            f"/api/orders/{order.out_trade_no}/pay/",
            json={"channel": "wechat_h5"},
            headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.23"},
        )
    assert response.status_code == 200, response.text
    assert [p["payer_client_ip"] for p in placed] == ["198.51.100.23"]


# -- refunds ----------------------------------------------------------------------------------


def test_a_refund_is_pending_until_wechats_notification(
    sandbox_wechat, live_server, user, refund_staff, product, fulfilled
):
    """WeChat answers a refund PROCESSING: the API says ``pending``; the sandbox's REFUND.SUCCESS
    notification (held back a moment) makes it ``succeeded`` and the order refunded in part."""
    with api_client(live_server, user) as api:
        order = new_order(api, channel="wechat_native")
    number = order["out_trade_no"]
    sandbox_wechat.wechat_pay(order["payment"]["payment_out_trade_no"])
    assert wait_until(lambda: paid(number))

    sandbox_wechat.wechat_faults(notification_delay=2.0)  # the notification comes a bit later
    with api_client(live_server, refund_staff) as staff_api:
        response = staff_api.post(
            "/api/refunds/", json={"out_trade_no": number, "amount": "2.30", "reason": "退课"}
        )
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "pending"  # PROCESSING at WeChat, not "unknown"
    refund = Refund.objects.get(order__out_trade_no=number)
    assert sandbox_wechat.wechat_order(order["payment"]["payment_out_trade_no"])["trade_state"] == (
        "REFUND"
    )
    assert wait_until(
        lambda: Refund.objects.get(pk=refund.pk).status == Refund.Status.SUCCEEDED, timeout=30
    )
    done = Order.objects.get(out_trade_no=number)
    assert done.status == Order.Status.PARTIALLY_REFUNDED
    assert done.refunded_amount == Decimal("2.30")
    assert ("refunded", number) in fulfilled
    refunds = [
        n for n in Notification.objects.filter(outcome="applied") if "REFUND.SUCCESS" in n.body
    ]
    assert len(refunds) == 1  # settled by the notification, not by a query


# -- schemathesis -----------------------------------------------------------------------------


def test_schemathesis_on_paying_by_wechat(sandbox_wechat, user, product):
    """The two paying operations, in-process (Zhifu's WSGI app, no server) with every channel the
    schema offers — WeChat's among them, the sandbox answering — checked by all of
    schemathesis's checks with the repository's schemathesis.toml: every answer one the schema
    declares, in its shape (``js_params`` included), and schema-valid requests accepted or
    refused with a declared 4xx."""
    from pathlib import Path

    schemathesis = pytest.importorskip(
        "schemathesis", reason="schemathesis is a [dev] tool, not in the [test] extra"
    )
    from django.core.signals import request_finished, request_started
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hypothesis_settings
    from schemathesis.config import SchemathesisConfig
    from schemathesis.core.result import Ok

    config = SchemathesisConfig.from_path(
        str(Path(__file__).resolve().parents[2] / "schemathesis.toml")
    )
    order = make_order(user, "9.90")
    headers = {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}
    # the WSGI handler would close the test's own database connection (as in the demo's test)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi(
            "/api/schema/", get_wsgi_application(), config=config
        )
        wanted = {("POST", "/api/orders/"), ("POST", "/api/orders/{out_trade_no}/pay/")}
        failures: dict[str, str] = {}
        tested = 0
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), result
            operation = result.ok()
            if (operation.method.upper(), operation.path) not in wanted:
                continue

            anything = operation.as_strategy()
            # and as many paying by WeChat (else chance decides how many there are)
            wechat = anything.filter(
                lambda case: (
                    isinstance(case.body, dict)
                    and str(case.body.get("channel", "")).startswith("wechat_")
                )
            )
            for name, strategy in (("any", anything), ("wechat", wechat)):

                @given(case=strategy)
                @hypothesis_settings(
                    max_examples=15,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                def run(case: Any) -> None:
                    if case.path_parameters:
                        case.path_parameters = {"out_trade_no": order.out_trade_no}
                    case.call_and_validate(headers=headers)

                try:
                    run()
                except Exception as exc:  # one failure must not hide the next
                    failures[f"{operation.label} ({name})"] = str(exc)[:3000]
            tested += 1
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert tested == 2
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    channels = set(PaymentAttempt.objects.values_list("channel", flat=True))
    assert channels & {"wechat_native", "wechat_h5", "wechat_jsapi"}, channels  # WeChat was met
