"""Bad input never produces a 500 or a traceback: /gateway.do and the control API, fuzzed.

The sandbox WSGI application is driven in-process (werkzeug's test client), which reaches the
same dispatch as HTTP; every answer must be < 500 and a JSON body or an HTML page.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from zhifu.alipay import Signer, beijing_now
from zhifu.sandbox import Sandbox
from zhifu.sandbox.accounts import APP_PRIVATE_KEY_FILE

from .helpers import test_keys

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
METHODS = [
    "alipay.trade.page.pay",
    "alipay.trade.wap.pay",
    "alipay.trade.precreate",
    "alipay.trade.query",
    "alipay.trade.close",
    "alipay.trade.cancel",
    "alipay.trade.refund",
    "alipay.trade.fastpay.refund.query",
]
PARAM_NAMES = [
    "app_id",
    "method",
    "format",
    "charset",
    "sign_type",
    "sign",
    "timestamp",
    "version",
    "biz_content",
    "notify_url",
    "return_url",
    "app_cert_sn",
]
BIZ_KEYS = [
    "out_trade_no",
    "trade_no",
    "total_amount",
    "refund_amount",
    "out_request_no",
    "subject",
    "body",
    "product_code",
    "timeout_express",
    "time_expire",
    "query_options",
    "passback_params",
]

text = st.text(max_size=40)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
amounts = st.sampled_from(["1.00", "0.01", "0", "-1", "1e3", "100000001", "1.001", "NaN", ""])


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    box = Sandbox(Path(tmp_path_factory.mktemp("fuzz")), keys=test_keys())
    yield box
    box.close()


@pytest.fixture(scope="module")
def web(sandbox: Sandbox) -> Client:
    return Client(sandbox)


@pytest.fixture(scope="module")
def signer(sandbox: Sandbox) -> Signer:
    return Signer(sandbox.data_dir / APP_PRIVATE_KEY_FILE)


def assert_answered(response: Any) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    body = response.get_data()
    kind = response.mimetype
    if response.status_code in (301, 302, 303):
        assert response.headers["Location"]
    elif kind == "application/json":
        data = json.loads(body.decode(response.mimetype_params.get("charset", "utf-8")))
        assert isinstance(data, dict) and data
    else:
        assert kind == "text/html" and b"<html" in body.lower(), (kind, body[:200])
    assert b"Traceback" not in body


@FUZZ
@given(
    params=st.dictionaries(st.sampled_from(PARAM_NAMES) | text, text, max_size=10),
    post=st.booleans(),
    charset=st.sampled_from(["utf-8", "gbk", "latin-1", "", "x" * 50]),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/json",
            "multipart/form-data; boundary=zz",
            "text/plain",
            "",
        ]
    ),
    raw_tail=st.binary(max_size=60),
)
def test_gateway_garbage(web, params, post, charset, content_type, raw_tail):
    if charset:
        params = dict(params, charset=charset)
    query = urlencode(params, encoding="utf-8", errors="replace")
    if post:
        body = query.encode("ascii") + b"&" + raw_tail
        response = web.post("/gateway.do", data=body, content_type=content_type or None)
    else:
        response = web.get("/gateway.do?" + query + "&" + quote(raw_tail))
    assert_answered(response)


@FUZZ
@given(
    method=st.sampled_from(METHODS),
    biz=st.dictionaries(st.sampled_from(BIZ_KEYS), json_values | amounts, max_size=8) | json_values,
    raw_biz=st.none() | st.text(max_size=60),
    sign_type=st.sampled_from(["RSA2", "RSA"]),
    charset=st.sampled_from(["utf-8", "gbk"]),
    post=st.booleans(),
)
def test_gateway_signed_requests_with_random_business_content(
    sandbox, web, signer, method, biz, raw_biz, sign_type, charset, post
):
    """Correctly signed requests whose biz_content is anything: always Alipay's envelope."""
    params = {
        "app_id": sandbox.accounts.default_app().app_id,
        "method": method,
        "format": "JSON",
        "charset": charset,
        "sign_type": sign_type,
        "timestamp": beijing_now().strftime("%Y-%m-%d %H:%M:%S"),
        "version": "1.0",
        "biz_content": raw_biz if raw_biz is not None else json.dumps(biz, ensure_ascii=False),
    }
    codec = "gb18030" if charset == "gbk" else "utf-8"
    try:
        params["biz_content"].encode(codec)
    except UnicodeEncodeError:
        return  # not representable in GBK: a client cannot send it
    sign_with = Signer(signer._key, sign_type)
    params["sign"] = sign_with.sign_params(params, codec)
    encoded = urlencode(params, encoding=codec)
    if post:
        response = web.post(
            "/gateway.do",
            data=encoded.encode("ascii"),
            content_type=f"application/x-www-form-urlencoded;charset={charset}",
        )
    else:
        response = web.get("/gateway.do?" + encoded)
    assert_answered(response)
    if response.mimetype == "application/json":
        top = json.loads(response.get_data().decode(codec))
        node = top[method.replace(".", "_") + "_response"]
        assert node["code"] in ("10000", "40001", "40002", "40004"), node
        assert "sign" in top


API_PATHS = [
    "/sandbox/api/info",
    "/sandbox/api/apps",
    "/sandbox/api/trades",
    "/sandbox/api/trades/{a}/{b}",
    "/sandbox/api/trades/{a}/{b}/pay",
    "/sandbox/api/notifications",
    "/sandbox/api/faults",
    "/sandbox/api/clock",
    "/sandbox/api/settings",
    "/sandbox/api/buyers",
    "/sandbox/api/buyers/{a}",
    "/sandbox/api/apps/{a}/balance",
    "/sandbox/api/reset",
    "/sandbox/api/{a}",
]


@FUZZ
@given(
    path=st.sampled_from(API_PATHS),
    a=st.text(min_size=1, max_size=20),
    b=st.text(min_size=1, max_size=20),
    http_method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    body=json_values.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=80),
    args=st.dictionaries(st.sampled_from(["app_id", "out_trade_no"]) | text, text, max_size=3),
)
def test_control_api_garbage(web, path, a, b, http_method, body, args):
    url = path.format(a=quote(a, safe=""), b=quote(b, safe=""))
    if path.endswith("/clock") and http_method == "POST":
        body = b"{}"  # moving the clock by random amounts is legal and would slow the rest
    response = web.open(
        url, method=http_method, data=body, query_string=args, content_type="application/json"
    )
    assert_answered(response)
    if response.status_code >= 400:
        assert response.mimetype == "application/json"
        assert set(response.get_json()) == {"error", "message"}


@FUZZ
@given(
    field=st.sampled_from(
        [
            "drop_notifications",
            "notification_copies",
            "notification_delay",
            "gateway_errors",
            "gateway_timeout_seconds",
            "methods",
            "reset",
            "advance_seconds",
            "now",
            "notify_triggers",
            "app_public_key",
            "app_id",
            "buyer",
            "balance",
        ]
    ),
    value=json_values,
    target=st.sampled_from(
        [
            "/sandbox/api/faults",
            "/sandbox/api/clock",
            "/sandbox/api/settings",
            "/sandbox/api/apps",
            "/sandbox/api/buyers/poor@sandbox.com",
            "/sandbox/api/trades/x/y/pay",
            "/sandbox/api/apps/x/balance",
        ]
    ),
)
def test_control_api_fields_of_the_wrong_type(web, field, value, target):
    if (
        field == "advance_seconds"
        and not isinstance(value, bool)
        and isinstance(value, int | float)
    ):
        value = min(abs(value), 60)  # legal values only move the clock a little
    if field in ("notification_delay", "gateway_timeout_seconds") and isinstance(
        value, int | float
    ):
        value = 0  # legal: no waiting
    response = web.post(target, json={field: value})
    assert_answered(response)
    if response.status_code >= 400:
        assert set(response.get_json()) == {"error", "message"}
