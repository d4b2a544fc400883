"""``alipay.fund.trans.uni.transfer`` and ``alipay.fund.trans.common.query`` against the sandbox
over real HTTP: certificate mode only (refused locally, and by the gateway), payees, the
merchant's balance, idempotency per out_biz_no, and the unknown-outcome faults."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import pytest

from zhifu.alipay import AlipayBusinessError, AlipayTimeoutError, InvalidRequestError

PAYEE = "buyer1@sandbox.com"
PAYEE_NAME = "沙箱买家一"
METHOD = "alipay.fund.trans.uni.transfer"


def _no() -> str:
    return "W" + uuid.uuid4().hex


@pytest.fixture
def funded(sandbox):
    sandbox.faults(reset=True)
    sandbox.set_seller_balance("100.00")
    yield sandbox
    sandbox.faults(reset=True)


def _transfer(client, out_biz_no: str, amount: str = "12.30", **kw):
    options = {"payee_identity": PAYEE, "payee_name": PAYEE_NAME, "order_title": "提现"}
    options.update(kw)
    return client.transfer(out_biz_no=out_biz_no, trans_amount=amount, **options)


def _buyer_balance(sandbox, login: str = PAYEE) -> Decimal:
    rows = sandbox._call("GET", "/sandbox/api/buyers")
    rows = rows["buyers"] if isinstance(rows, dict) else rows
    return Decimal(next(b["balance"] for b in rows if b["login"] == login))


def test_transfer_succeeds_and_query_finds_it(funded):
    client = funded.cert_client()
    number = _no()
    before = _buyer_balance(funded)
    result = _transfer(client, number)
    assert result.succeeded and result.out_biz_no == number
    assert result.trans_amount == Decimal("12.30") and len(result.order_id) == 32
    assert result.pay_date
    assert _buyer_balance(funded) == before + Decimal("12.30")
    found = client.transfer_query(out_biz_no=number)
    assert found.succeeded and not found.failed and found.order_id == result.order_id
    assert client.transfer_query(order_id=result.order_id).out_biz_no == number


def test_same_out_biz_no_transfers_once(funded):
    client = funded.cert_client()
    number = _no()
    first = _transfer(client, number, "30.00")
    again = _transfer(client, number, "30.00")
    assert again.order_id == first.order_id
    # 100 - 30 once: 70.01 is more than is left
    with pytest.raises(AlipayBusinessError) as info:
        _transfer(client, _no(), "70.01")
    assert info.value.sub_code == "PAYER_BALANCE_NOT_ENOUGH" and not info.value.retryable
    with pytest.raises(AlipayBusinessError) as info:
        _transfer(client, number, "31.00")  # the same number for another request
    assert info.value.sub_code == "INVALID_PARAMETER"


def test_public_key_mode_is_refused_locally_and_by_the_gateway(funded):
    plain = funded.client()
    with pytest.raises(InvalidRequestError, match="certificate mode"):
        _transfer(plain, _no())
    with pytest.raises(InvalidRequestError, match="certificate mode"):
        plain.transfer_query(out_biz_no=_no())
    # what the gateway answers a client that skips the local check
    with pytest.raises(AlipayBusinessError) as info:
        plain.execute(
            METHOD,
            {
                "out_biz_no": _no(),
                "trans_amount": "1.00",
                "product_code": "TRANS_ACCOUNT_NO_PWD",
                "biz_scene": "DIRECT_TRANSFER",
                "order_title": "x",
                "payee_info": {"identity": PAYEE, "identity_type": "ALIPAY_LOGON_ID"},
            },
        )
    assert info.value.code == "40002" and info.value.sub_code == "isv.missing-app-cert-sn"


def test_payee_checks(funded):
    client = funded.cert_client()
    with pytest.raises(AlipayBusinessError) as info:
        _transfer(client, _no(), payee_identity="nobody@sandbox.com")
    assert info.value.sub_code == "PAYEE_NOT_EXIST"
    with pytest.raises(AlipayBusinessError) as info:
        _transfer(client, _no(), payee_name="张三")
    assert info.value.sub_code == "PAYEE_USER_INFO_ERROR"
    with pytest.raises(InvalidRequestError, match="payee_name"):
        _transfer(client, _no(), payee_name="")
    with pytest.raises(InvalidRequestError, match="out_biz_no"):
        _transfer(client, "bad number!")
    with pytest.raises(InvalidRequestError, match="trans_amount"):
        _transfer(client, _no(), "-1")


def test_query_of_unknown_number(funded):
    with pytest.raises(AlipayBusinessError) as info:
        funded.cert_client().transfer_query(out_biz_no=_no())
    assert info.value.sub_code == "ORDER_NOT_EXIST" and not info.value.retryable


def test_system_error_then_same_number_succeeds(funded):
    client = funded.cert_client()
    number = _no()
    funded.faults(gateway_errors=1, methods=[METHOD])
    with pytest.raises(AlipayBusinessError) as info:
        _transfer(client, number)
    assert info.value.retryable  # outcome unknown: query, or send the same number again
    with pytest.raises(AlipayBusinessError) as info:
        client.transfer_query(out_biz_no=number)
    assert info.value.sub_code == "ORDER_NOT_EXIST"
    assert _transfer(client, number).succeeded


def test_timeout_then_query_says_success(funded):
    client = funded.cert_client(timeout=httpx.Timeout(1.0))
    number = _no()
    funded.faults(gateway_timeouts=1, gateway_timeout_seconds=3, methods=[METHOD])
    with pytest.raises(AlipayTimeoutError):
        _transfer(client, number)
    assert client.transfer_query(out_biz_no=number).succeeded  # it was made


def test_the_dashboard_lists_transfers(funded):
    number = _no()
    _transfer(funded.cert_client(), number, "1.50")
    page = httpx.get(funded.url + "/sandbox/", timeout=10).text
    assert 'id="transfers"' in page and number in page and "1.50" in page


def test_the_sandboxs_reset_forgets_transfers():
    """A reset sandbox has no transfers left (its own, so the session's sandbox keeps its)."""
    from zhifu.sandbox.testing import SandboxServer

    with SandboxServer() as own:
        own.set_seller_balance("50.00")
        client = own.cert_client()
        number = _no()
        assert _transfer(client, number, "1.00").succeeded
        own.reset()
        with pytest.raises(AlipayBusinessError) as info:
            client.transfer_query(out_biz_no=number)
        assert info.value.sub_code == "ORDER_NOT_EXIST"
