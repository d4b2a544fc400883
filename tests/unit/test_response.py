"""Synchronous responses: the signed node is the exact raw text, found quote-aware."""

from __future__ import annotations

import json

import pytest

from zhifu.alipay import KeyPair, SignatureError, Signer, Verifier
from zhifu.alipay.errors import AlipayResponseError
from zhifu.alipay.signing import extract_response

METHOD = "alipay.trade.query"
NODE = "alipay_trade_query_response"


def envelope(signer: Signer, node: str, *, cert_sn: str | None = None, name: str = NODE) -> str:
    sn = f',"alipay_cert_sn":"{cert_sn}"' if cert_sn else ""
    return f'{{"{name}":{node}{sn},"sign":"{signer.sign(node)}"}}'


@pytest.fixture
def signer(alipay_keys: KeyPair) -> Signer:
    return Signer(alipay_keys.private_pem)


@pytest.fixture
def verifier(alipay_keys: KeyPair) -> Verifier:
    return Verifier(alipay_keys.public_pem)


def test_braces_and_quotes_inside_strings(signer: Signer, verifier: Verifier) -> None:
    node = (
        '{"code":"10000","msg":"Success","subject":"a } b { \\"quoted\\" }}",'
        '"nested":{"x":[1,{"y":"}"}]},"out_trade_no":"o1"}'
    )
    body = envelope(signer, node)
    name, raw, sign, cert_sn, data = extract_response(body, METHOD)
    assert sign == signer.sign(node)
    assert (name, raw, cert_sn) == (NODE, node, None)
    assert data["subject"] == 'a } b { "quoted" }}'
    assert verifier.verify_response(body, METHOD).data["nested"] == {"x": [1, {"y": "}"}]}


def test_whitespace_and_key_order_are_kept_exactly(signer: Signer, verifier: Verifier) -> None:
    node = '{ "msg" : "Success",\n  "code": "10000" }'
    body = '{\n  "sign": "' + signer.sign(node) + '",\n  "' + NODE + '" : ' + node + "\n}"
    result = verifier.verify_response(body, METHOD)
    assert result.raw_node == node and result.signed


def test_escaped_slashes_as_alipay_sent_them(signer: Signer, verifier: Verifier) -> None:
    node = '{"code":"10000","msg":"Success","qr_code":"https:\\/\\/qr.alipay.com\\/bax1"}'
    result = verifier.verify_response(envelope(signer, node), METHOD)
    assert result.data["qr_code"] == "https://qr.alipay.com/bax1"
    # Signed over the unescaped text (the Java SDK's fallback) also verifies.
    unescaped_sign = signer.sign(node.replace("\\/", "/"))
    body = f'{{"{NODE}":{node},"sign":"{unescaped_sign}"}}'
    assert verifier.verify_response(body, METHOD).signed


def test_cert_sn_between_node_and_sign(signer: Signer, verifier: Verifier) -> None:
    node = '{"code":"10000","msg":"Success"}'
    body = envelope(signer, node, cert_sn="abe4af5e686f52544fcd9d5592fce1f3")
    result = verifier.verify_response(body, METHOD)
    assert result.alipay_cert_sn == "abe4af5e686f52544fcd9d5592fce1f3"
    assert result.raw_node == node
    verifier.verify_response(body, METHOD, expected_cert_sn="abe4af5e686f52544fcd9d5592fce1f3")
    with pytest.raises(SignatureError, match="download the new certificate"):
        verifier.verify_response(body, METHOD, expected_cert_sn="0" * 32)


def test_error_response_signed_and_unsigned(signer: Signer, verifier: Verifier) -> None:
    node = '{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.code-invalid"}'
    result = verifier.verify_response(envelope(signer, node, name="error_response"), METHOD)
    assert (result.node_name, result.signed, result.data["code"]) == (
        "error_response",
        True,
        "40002",
    )
    unsigned = '{"error_response":' + node + ',"alipay_cert_sn":"x","sign":""}'
    result = verifier.verify_response(unsigned, METHOD)
    assert not result.signed and result.data["sub_code"] == "isv.code-invalid"


def test_unsigned_success_is_refused(verifier: Verifier) -> None:
    body = '{"' + NODE + '":{"code":"10000","msg":"Success","trade_status":"TRADE_SUCCESS"}}'
    with pytest.raises(SignatureError, match="carries no signature"):
        verifier.verify_response(body, METHOD)


def test_bad_signature_is_refused(signer: Signer, verifier: Verifier) -> None:
    node = '{"code":"10000","msg":"Success","total_amount":"12.30"}'
    body = envelope(signer, node).replace("12.30", "0.01")
    with pytest.raises(SignatureError, match="does not hold"):
        verifier.verify_response(body, METHOD)


def test_duplicated_node_is_refused(signer: Signer) -> None:
    good = '{"code":"10000","msg":"Success","trade_status":"WAIT_BUYER_PAY"}'
    forged = '{"code":"10000","msg":"Success","trade_status":"TRADE_SUCCESS"}'
    body = f'{{"{NODE}":{good},"sign":"{signer.sign(good)}","{NODE}":{forged}}}'
    with pytest.raises(AlipayResponseError, match="repeats the key"):
        extract_response(body, METHOD)
    inner = '{"code":"10000","trade_status":"WAIT_BUYER_PAY","trade_status":"TRADE_SUCCESS"}'
    with pytest.raises(AlipayResponseError, match="repeats the key 'trade_status'"):
        extract_response(envelope(signer, inner), METHOD)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<html>502 Bad Gateway</html>", "not JSON"),
        ("", "not JSON"),
        ('{"a":1} trailing', "not JSON"),
        ('{"' + NODE + '":{"code":"10000"} "sign":"x"}', "not JSON"),  # missing comma
        ("[1,2]", "not a JSON object"),
        ('{"other_response":{"code":"10000"},"sign":"x"}', "has no 'alipay_trade_query_response'"),
        ('{"' + NODE + '":"text","sign":"x"}', "is not an object"),
        ('{"' + NODE + '":{"code":"10000"},"sign":5}', "'sign' is not a string"),
    ],
)
def test_malformed_bodies(body: str, message: str) -> None:
    with pytest.raises(AlipayResponseError, match=message):
        extract_response(body, METHOD)


def test_bytes_in_the_response_charset(alipay_keys: KeyPair) -> None:
    node = '{"code":"10000","msg":"Success","subject":"测试"}'
    signer = Signer(alipay_keys.private_pem)
    sign = signer.sign(node, "gbk")
    body = f'{{"{NODE}":{node},"sign":"{sign}"}}'.encode("gbk")
    verifier = Verifier(alipay_keys.public_pem)
    assert verifier.verify_response(body, METHOD, charset="gbk").data["subject"] == "测试"
    with pytest.raises(AlipayResponseError, match="not valid utf-8"):
        verifier.verify_response(body, METHOD)


def test_rsa_sha1_response(alipay_keys: KeyPair) -> None:
    node = '{"code":"10000","msg":"Success"}'
    body = envelope(Signer(alipay_keys.private_pem, "RSA"), node)
    verifier = Verifier(alipay_keys.public_pem)
    assert verifier.verify_response(body, METHOD, sign_type="RSA").signed
    with pytest.raises(SignatureError):
        verifier.verify_response(body, METHOD, sign_type="RSA2")


def test_data_is_the_parsed_node(signer: Signer, verifier: Verifier) -> None:
    node = json.dumps({"code": "10000", "msg": "Success", "n": 1}, separators=(",", ":"))
    assert verifier.verify_response(envelope(signer, node), METHOD).data == json.loads(node)
