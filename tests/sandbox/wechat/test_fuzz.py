"""Bad input never produces a 500 or a traceback on the WeChat side: signed ``/v3`` bodies of
any shape, and the WeChat control API, driven in-process (werkzeug's test client)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from zhifu.sandbox import Sandbox
from zhifu.wechatpay import RequestSigner

from ..helpers import test_keys

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=12,
)
FIELDS = ["appid", "mchid", "description", "out_trade_no", "notify_url", "amount", "time_expire",
          "attach", "scene_info", "payer", "out_refund_no", "transaction_id", "reason"]  # fmt: skip
PATHS = [
    "/v3/pay/transactions/native",
    "/v3/pay/transactions/h5",
    "/v3/pay/transactions/jsapi",
    "/v3/pay/transactions/out-trade-no/ZF000001/close",
    "/v3/refund/domestic/refunds",
]


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Sandbox, Client, RequestSigner]]:
    sandbox = Sandbox(tmp_path_factory.mktemp("wxfuzz"), keys=test_keys())
    merchant = sandbox.wechat.keys.default()
    signer = RequestSigner(
        mchid=merchant.mchid,
        serial_no=merchant.serial,
        private_key=Path(sandbox.wechat.keys.files()["merchant_private_key"]),
    )
    yield sandbox, Client(sandbox), signer
    sandbox.close()


def _post(client: Client, signer: RequestSigner, path: str, body: bytes) -> Any:
    headers = {
        "Accept": "application/json",
        "User-Agent": "fuzz",
        "Content-Type": "application/json",
        "Authorization": signer.authorization("POST", path, body, timestamp=int(time.time())),
    }
    return client.post(path, data=body, headers=headers)


@FUZZ
@given(
    path=st.sampled_from(PATHS),
    body=st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=8),
    amount=st.dictionaries(st.sampled_from(["total", "refund", "currency"]), JSON, max_size=3),
)
def test_signed_bodies_of_any_shape(
    app: tuple[Sandbox, Client, RequestSigner],
    path: str,
    body: dict[str, Any],
    amount: dict[str, Any],
) -> None:
    sandbox, client, signer = app
    merchant = sandbox.wechat.keys.default()
    body.setdefault("mchid", merchant.mchid)
    body.setdefault("appid", merchant.appid)
    body.setdefault("amount", amount)
    response = _post(client, signer, path, json.dumps(body).encode())
    assert response.status_code < 500, response.get_data(as_text=True)
    assert "Request-ID" in response.headers
    if response.status_code >= 400:
        assert json.loads(response.get_data())["code"]


@FUZZ
@given(raw=st.binary(max_size=200), path=st.sampled_from(PATHS))
def test_signed_bytes_that_are_not_json(
    app: tuple[Sandbox, Client, RequestSigner], raw: bytes, path: str
) -> None:
    _, client, signer = app
    response = _post(client, signer, path, raw)
    assert response.status_code < 500


@FUZZ
@given(
    tail=st.sampled_from(
        [
            "merchants",
            "merchants/1900000000/mode",
            "faults",
            "orders/1/2/pay",
            "notifications/abandon",
            "certificates/rotate",
        ]
    ),
    body=JSON,
)
def test_the_control_api(app: tuple[Sandbox, Client, RequestSigner], tail: str, body: Any) -> None:
    _, client, _ = app
    response = client.post(f"/sandbox/api/wechat/{tail}", data=json.dumps(body))
    assert response.status_code < 500, response.get_data(as_text=True)
