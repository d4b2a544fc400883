"""/gateway.do: common parameters, signatures and Alipay's error codes, over real HTTP."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import httpx
import pytest

from zhifu.alipay import AlipayBusinessError
from zhifu.sandbox.testing import SandboxServer

from .helpers import call, other_key_pair, params_for, test_keys, verify

QUERY = "alipay.trade.query"


@pytest.fixture(scope="module")
def sb():
    # one sandbox for the whole module: these tests neither move the clock nor inject faults
    with SandboxServer(time_scale=1.0, keys=test_keys()) as server:
        yield server


@pytest.fixture(scope="module")
def client(sb):
    return sb.client(notify_url="http://127.0.0.1:9/notify")


def test_success_envelope_is_compact_code_first_and_signed_over_exact_bytes(sb, client):
    client.precreate(out_trade_no="env1", total_amount="1.00", subject="s")
    top, name, _node, text = call(
        sb,
        params_for(
            sb,
            "alipay.trade.precreate",
            {"out_trade_no": "env1", "total_amount": "1.00", "subject": "s"},
        ),
    )
    assert name == "alipay_trade_precreate_response"
    assert text.startswith('{"alipay_trade_precreate_response":{"code":"10000","msg":"Success",')
    assert ", " not in text and ": " not in text
    assert list(top) == [name, "sign"]
    verified = verify(sb, text, "alipay.trade.precreate")
    assert verified.signed and verified.data["qr_code"].startswith(sb.url + "/cashier/")


@pytest.mark.parametrize(
    ("missing", "sub_code"),
    [
        ("app_id", "isv.missing-app-id"),
        ("method", "isv.missing-method"),
        ("sign_type", "isv.missing-signature-type"),
        ("timestamp", "isv.missing-timestamp"),
        ("version", "isv.missing-version"),
    ],
)
def test_missing_parameters(sb, missing, sub_code):
    params = params_for(sb, QUERY, {"out_trade_no": "x"}, **{missing: None})
    top, _name, node, _text = call(sb, params)
    assert (node["code"], node["msg"], node["sub_code"]) == (
        "40001",
        "Missing Required Arguments",
        sub_code,
    )
    assert "sign" in top  # signed, unlike isv.invalid-app-id
    if missing == "app_id":
        assert node["sub_msg"] == "缺少appId参数"  # Alipay's own words


def test_missing_signature(sb):
    params = params_for(sb, QUERY, {"out_trade_no": "x"})
    del params["sign"]
    _, _, node, _ = call(sb, params)
    assert node["sub_code"] == "isv.missing-signature"


def test_invalid_app_id_is_unsigned(sb):
    params = params_for(sb, QUERY, {"out_trade_no": "x"}, app_id="9021000000000000")
    top, name, node, _text = call(sb, params)
    assert name == "alipay_trade_query_response"
    assert (node["code"], node["sub_code"]) == ("40002", "isv.invalid-app-id")
    assert "sign" not in top


def test_invalid_method_answers_error_response(sb):
    _top, name, node, text = call(sb, params_for(sb, "alipay.trade.nonsense", {"a": 1}))
    assert name == "error_response" and node["sub_code"] == "isv.invalid-method"
    assert verify(sb, text, "alipay.trade.nonsense").signed


@pytest.mark.parametrize(
    ("override", "sub_code"),
    [
        ({"timestamp": "2024-01-01T10:00:00"}, "isv.invalid-timestamp"),
        ({"timestamp": "2024-13-45 10:00:00"}, "isv.invalid-timestamp"),
        ({"timestamp": "2024-1-1 10:00:00"}, "isv.invalid-timestamp"),
        ({"sign_type": "MD5"}, "isv.invalid-signature-type"),
        ({"format": "XML"}, "isv.invalid-format"),
        ({"version": "2.0"}, "isv.invalid-parameter"),
        ({"charset": "latin-1"}, "isv.invalid-charset"),
    ],
)
def test_invalid_common_parameters(sb, override, sub_code):
    _top, _name, node, _text = call(sb, params_for(sb, QUERY, {"out_trade_no": "x"}, **override))
    assert (node["code"], node["sub_code"]) == ("40002", sub_code), node


def test_tampered_parameter_fails_signature_and_echoes_string_to_sign(sb):
    params = params_for(sb, QUERY, {"out_trade_no": "x"})
    params["biz_content"] = '{"out_trade_no":"y"}'
    _top, _, node, text = call(sb, params)
    assert node["sub_code"] == "isv.invalid-signature"
    # HTML-escaped as Alipay writes it: & as &amp; and " as &quot;
    assert (
        "biz_content={&quot;out_trade_no&quot;:&quot;y&quot;}&amp;charset=utf-8" in node["sub_msg"]
    )
    assert verify(sb, text, QUERY).signed


def test_unknown_extra_parameter_is_part_of_the_signature(sb):
    params = params_for(sb, QUERY, {"out_trade_no": "x"})
    params["alipay_sdk"] = "added-after-signing"
    _, _, node, _ = call(sb, params)
    assert node["sub_code"] == "isv.invalid-signature"


def test_signature_made_with_another_key_is_refused(sb):
    from zhifu.alipay import Signer

    params = params_for(sb, QUERY, {"out_trade_no": "x"})
    params["sign"] = Signer(other_key_pair().private_pem).sign_params(params)
    _, _, node, _ = call(sb, params)
    assert node["sub_code"] == "isv.invalid-signature"


def test_sign_type_mismatch_is_named(sb):
    from zhifu.alipay import Signer

    params = params_for(sb, QUERY, {"out_trade_no": "x"})
    # declared RSA2 but signed with SHA1withRSA
    params["sign"] = Signer(sb.default_app.app_private_key_pem, "RSA").sign_params(params)
    _, _, node, _ = call(sb, params)
    assert node["sub_code"] == "isv.invalid-signature"
    assert "sign_type参数值为RSA2" in node["sub_msg"]


def test_empty_values_are_not_signed(sb):
    params = params_for(sb, QUERY, {"out_trade_no": "nope"})
    params["notify_url"] = ""  # empty: dropped from the string to sign
    _, _, node, _ = call(sb, params)
    assert node["sub_code"] == "ACQ.TRADE_NOT_EXIST"


def test_biz_content_is_verified_as_received_not_reserialised(sb):
    spaced = json.dumps({"out_trade_no": "nope", "query_options": ["fund_bill_list"]}, indent=2)
    _, _, node, _ = call(sb, params_for(sb, QUERY, spaced))
    assert node["sub_code"] == "ACQ.TRADE_NOT_EXIST"  # the signature held


def test_rsa_sha1_requests_get_rsa_signed_answers(sb):
    _, _, node, text = call(sb, params_for(sb, QUERY, {"out_trade_no": "nope"}, sign_type="RSA"))
    assert node["sub_code"] == "ACQ.TRADE_NOT_EXIST"
    assert verify(sb, text, QUERY, sign_type="RSA").signed
    with pytest.raises(Exception):
        verify(sb, text, QUERY, sign_type="RSA2")


def test_gbk_request_with_chinese_text(sb):
    biz = {"out_trade_no": "gbk1", "total_amount": "2.00", "subject": "中文商品"}
    params = params_for(sb, "alipay.trade.precreate", biz, charset="gbk")
    _top, _, node, _raw = call(sb, params, charset="gbk")
    assert node["code"] == "10000"
    bad = dict(params)
    bad["subject"] = "x"  # an unsigned extra param breaks it
    _, _, node, _ = call(sb, bad, charset="gbk")
    assert node["sub_code"] == "isv.invalid-signature"


def test_get_and_post_and_split_query_body_all_work(sb, client):
    client.precreate(out_trade_no="split1", total_amount="1.00", subject="s")  # query + body
    params = params_for(sb, QUERY, {"out_trade_no": "split1"})
    _, _, node, _ = call(sb, params, post=False)
    assert node["sub_code"] == "ACQ.TRADE_NOT_EXIST"  # precreate QR not scanned yet
    _, _, node, _ = call(sb, params, post=True)
    assert node["sub_code"] == "ACQ.TRADE_NOT_EXIST"


def test_duplicate_parameter_with_different_values_is_an_attack(sb):
    params = params_for(sb, QUERY, {"out_trade_no": "x"})
    url = sb.gateway_url + "?" + urlencode(params) + "&method=alipay.trade.close"
    node = httpx.get(url).json()["error_response"]
    assert node["sub_code"] == "isv.suspected-attack"


@pytest.mark.parametrize(
    ("biz", "sub_code"),
    [
        ("{not json", "isv.invalid-parameter"),
        ("[1, 2]", "isv.invalid-parameter"),
        (None, "isv.invalid-parameter"),
    ],
)
def test_bad_biz_content(sb, biz, sub_code):
    _, _, node, _ = call(sb, params_for(sb, QUERY, biz))
    assert node["sub_code"] == sub_code


@pytest.mark.parametrize(
    "biz",
    [
        {"out_trade_no": "bad-no!", "total_amount": "1.00", "subject": "s"},
        {"out_trade_no": "b1", "total_amount": "1.001", "subject": "s"},
        {"out_trade_no": "b1", "total_amount": "0.00", "subject": "s"},
        {"out_trade_no": "b1", "total_amount": "100000000.01", "subject": "s"},
        {"out_trade_no": "b1", "total_amount": "-1", "subject": "s"},
        {"out_trade_no": "b1", "total_amount": "1.00"},
        {"out_trade_no": "b1", "total_amount": "1.00", "subject": "s", "timeout_express": "1.5h"},
        {"out_trade_no": "b1", "total_amount": "1.00", "subject": "s", "timeout_express": "16d"},
        {"out_trade_no": "b1", "total_amount": "1.00", "subject": "s", "time_expire": "tomorrow"},
        {"out_trade_no": "b1", "total_amount": "1.00", "subject": "s", "product_code": "X"},
    ],
)
def test_invalid_business_parameters(sb, biz):
    _, _, node, _ = call(sb, params_for(sb, "alipay.trade.precreate", biz))
    assert (node["code"], node["msg"], node["sub_code"]) == (
        "40004",
        "Business Failed",
        "ACQ.INVALID_PARAMETER",
    )


def test_json_number_amounts_are_accepted(sb):
    biz = '{"out_trade_no":"num1","total_amount":12.3,"subject":"s"}'
    _, _, node, _ = call(sb, params_for(sb, "alipay.trade.precreate", biz))
    assert node["code"] == "10000"


def test_page_pay_errors_render_an_error_page(sb, client):
    request = client.page_pay(out_trade_no="pe1", total_amount="1.00", subject="s")
    tampered = request.url.replace("total_amount%22%3A%221.00", "total_amount%22%3A%220.01")
    assert tampered != request.url
    page = httpx.get(tampered)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "isv.invalid-signature" in page.text


def test_page_pay_form_post_with_biz_content_in_body(sb, client):
    request = client.page_pay(out_trade_no="form1", total_amount="1.00", subject="s")
    system = {k: v for k, v in request.params.items() if k != "biz_content"}
    response = httpx.post(
        sb.gateway_url + "?" + urlencode(system),
        data={"biz_content": request.params["biz_content"]},
    )
    assert response.status_code == 302 and "/cashier/" in response.headers["location"]


def test_business_errors_raise_in_zhifu_client(sb, client):
    with pytest.raises(AlipayBusinessError) as info:
        client.query(out_trade_no="never")
    assert info.value.sub_code == "ACQ.TRADE_NOT_EXIST"
