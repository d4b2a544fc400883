"""Alipay's signature rules: what is signed, by whom, and what is refused."""

from __future__ import annotations

import copy

import pytest
from django.conf import settings

from zhifu.alipay import (
    KeyPair,
    SignatureError,
    Signer,
    Verifier,
    notification_content,
    request_content,
)
from zhifu.alipay.signing import flatten_params

if not settings.configured:  # running without pytest-django
    settings.configure(DEFAULT_CHARSET="utf-8")

from django.http import QueryDict


def test_request_content_sorts_drops_empties_and_sign_keeps_sign_type() -> None:
    params = {
        "timestamp": "2024-05-13 17:49:20",
        "app_id": "2021000122671080",
        "sign": "SHOULD-NOT-APPEAR",
        "method": "alipay.security.risk.content.analyze",
        "charset": "utf-8",
        "notify_url": "",
        "version": "1.0",
        "sign_type": "RSA2",
    }
    # The gateway's own echo of its string-to-sign for this request (reference section 2).
    assert request_content(params) == (
        "app_id=2021000122671080&charset=utf-8&method=alipay.security.risk.content.analyze"
        "&sign_type=RSA2&timestamp=2024-05-13 17:49:20&version=1.0"
    )


def test_request_content_uses_raw_values_and_byte_order() -> None:
    params = {
        "biz_content": '{"subject":"测试 a&b=c+d","total_amount":"0.01"}',
        "B": "upper sorts first",
        "a_b": "1",
        "ab": "2",
    }
    assert request_content(params) == (
        'B=upper sorts first&a_b=1&ab=2&biz_content={"subject":"测试 a&b=c+d","total_amount":"0.01"}'
    )


def test_notification_content_drops_sign_and_sign_type_and_empties() -> None:
    params = {"b": "2", "a": "1", "sign": "x", "sign_type": "RSA2", "empty": "", "c": "+ %"}
    assert notification_content(params) == "a=1&b=2&c=+ %"
    assert notification_content(params, keep_sign_type=True) == "a=1&b=2&c=+ %&sign_type=RSA2"


@pytest.mark.parametrize("sign_type", ["RSA2", "RSA"])
def test_sign_and_verify_both_sign_types(
    app_keys: KeyPair, other_keys: KeyPair, sign_type: str
) -> None:
    signer = Signer(app_keys.private_pem, sign_type)  # type: ignore[arg-type]
    verifier = Verifier(app_keys.public_pem)
    sign = signer.sign("a=1&b=测试")
    assert verifier.verify("a=1&b=测试", sign, sign_type)
    assert not verifier.verify("a=1&b=测试!", sign, sign_type)
    other = "RSA" if sign_type == "RSA2" else "RSA2"
    assert not verifier.verify("a=1&b=测试", sign, other)
    assert not Verifier(other_keys.public_pem).verify("a=1&b=测试", sign, sign_type)


def test_rsa2_signature_is_deterministic_pkcs1v15(app_keys: KeyPair) -> None:
    signer = Signer(app_keys.private_pem)
    assert signer.sign("abc") == signer.sign("abc")  # PKCS#1 v1.5, not PSS
    assert len(signer.sign("abc")) == 344  # 256 bytes in base64, no line breaks


def test_charset_changes_the_signed_bytes(app_keys: KeyPair) -> None:
    signer = Signer(app_keys.private_pem)
    verifier = Verifier(app_keys.public_pem)
    sign = signer.sign("subject=测试", "gbk")
    assert verifier.verify("subject=测试", sign, "RSA2", "gbk")
    assert not verifier.verify("subject=测试", sign, "RSA2", "utf-8")


def test_unknown_sign_type_and_charset_are_signature_errors(app_keys: KeyPair) -> None:
    with pytest.raises(SignatureError, match="unsupported sign_type"):
        Signer(app_keys.private_pem, "SM2")  # type: ignore[arg-type]
    verifier = Verifier(app_keys.public_pem)
    with pytest.raises(SignatureError, match="unsupported sign_type"):
        verifier.verify("a", "AAAA", "MD5")
    with pytest.raises(SignatureError, match="unknown charset"):
        verifier.verify("a", "AAAA", "RSA2", "klingon")


@pytest.mark.parametrize("bad", ["", "not base64!!", "AAA", "a b c d", "=" * 4, "QUJD\n"])
def test_bad_base64_sign_is_false_not_an_exception(app_keys: KeyPair, bad: str) -> None:
    assert Verifier(app_keys.public_pem).verify("a=1", bad) is False


def _notification(alipay_keys: KeyPair, **overrides: str) -> dict[str, str]:
    params = {
        "app_id": "2021000000000001",
        "charset": "utf-8",
        "notify_type": "trade_status_sync",
        "out_trade_no": "order_1",
        "subject": "a+b 测试 & co",
        "total_amount": "12.30",
        "trade_status": "TRADE_SUCCESS",
        "version": "1.0",
        "sign_type": "RSA2",
        "passback_params": "",
    }
    params.update(overrides)
    params["sign"] = Signer(alipay_keys.private_pem).sign_notification(params)
    return params


def test_verify_notification_returns_a_fresh_copy_and_never_mutates(alipay_keys: KeyPair) -> None:
    params = _notification(alipay_keys)
    before = copy.deepcopy(params)
    data = Verifier(alipay_keys.public_pem).verify_notification(params)
    assert params == before
    assert data == params
    assert data is not params
    data["total_amount"] = "0.01"
    assert params["total_amount"] == "12.30"


def test_verify_notification_accepts_a_django_querydict(alipay_keys: KeyPair) -> None:
    params = _notification(alipay_keys)
    query = QueryDict(mutable=True)
    for key, value in params.items():
        query[key] = value
    query._mutable = False  # as Django hands request.POST to a view
    encoded_before = query.urlencode()
    data = Verifier(alipay_keys.public_pem).verify_notification(query)
    assert data["subject"] == "a+b 测试 & co"
    assert query.urlencode() == encoded_before
    # And one parsed from a real form body, with + as %2B and a space as +.
    body = QueryDict(query.urlencode())
    assert Verifier(alipay_keys.public_pem).verify_notification(body)["subject"] == "a+b 测试 & co"


def test_duplicate_parameters_are_refused(alipay_keys: KeyPair) -> None:
    params = _notification(alipay_keys)
    query = QueryDict(mutable=True)
    for key, value in params.items():
        query[key] = value
    query.appendlist("total_amount", "0.01")
    with pytest.raises(SignatureError, match="'total_amount' appears 2 times"):
        Verifier(alipay_keys.public_pem).verify_notification(query)
    as_lists = {key: [value] for key, value in params.items()}  # a parse_qs() result
    assert (
        Verifier(alipay_keys.public_pem).verify_notification(as_lists)["out_trade_no"] == "order_1"
    )
    as_lists["out_trade_no"] = ["order_1", "order_2"]
    with pytest.raises(SignatureError, match="appears 2 times"):
        Verifier(alipay_keys.public_pem).verify_notification(as_lists)


def test_tampering_forged_or_missing_signatures_fail(
    alipay_keys: KeyPair, other_keys: KeyPair
) -> None:
    verifier = Verifier(alipay_keys.public_pem)
    params = _notification(alipay_keys)
    with pytest.raises(SignatureError, match="does not match"):
        verifier.verify_notification({**params, "total_amount": "0.01"})
    with pytest.raises(SignatureError, match="does not match"):
        verifier.verify_notification({**params, "extra": "added"})
    with pytest.raises(SignatureError, match="does not match"):
        verifier.verify_notification(_notification(other_keys))
    with pytest.raises(SignatureError, match="no 'sign'"):
        verifier.verify_notification({k: v for k, v in params.items() if k != "sign"})
    with pytest.raises(SignatureError, match="does not match"):
        verifier.verify_notification({**params, "sign": "%%%not base64%%%"})
    with pytest.raises(SignatureError, match="unsupported sign_type"):
        verifier.verify_notification({**params, "sign_type": "MD5"})
    with pytest.raises(SignatureError, match="unknown charset"):
        verifier.verify_notification({**params, "charset": "klingon"})


def test_empty_values_are_not_signed_so_adding_one_is_harmless(alipay_keys: KeyPair) -> None:
    params = _notification(alipay_keys)
    assert Verifier(alipay_keys.public_pem).verify_notification({**params, "body": ""})


def test_documented_variant_and_older_variant_with_sign_type(alipay_keys: KeyPair) -> None:
    """The documented string omits sign_type; older integrations saw it kept. Both verify,
    and each is checked to really be the variant that was signed."""
    signer = Signer(alipay_keys.private_pem)
    verifier = Verifier(alipay_keys.public_pem)
    base = {"a": "1", "sign_type": "RSA2", "charset": "utf-8"}
    documented = {**base, "sign": signer.sign(notification_content(base))}
    older = {**base, "sign": signer.sign(notification_content(base, keep_sign_type=True))}
    assert documented["sign"] != older["sign"]
    assert verifier.verify_notification(documented)
    assert verifier.verify_notification(older)
    # Neither variant verifies without its sign_type matching the string.
    assert not verifier.verify(notification_content(base, keep_sign_type=True), documented["sign"])
    assert not verifier.verify(notification_content(base), older["sign"])


def test_rsa_sha1_notification(alipay_keys: KeyPair) -> None:
    params = {"a": "1", "sign_type": "RSA", "charset": "utf-8"}
    params["sign"] = Signer(alipay_keys.private_pem, "RSA").sign_notification(params)
    assert Verifier(alipay_keys.public_pem).verify_notification(params)
    with pytest.raises(SignatureError):
        Verifier(alipay_keys.public_pem).verify_notification({**params, "sign_type": "RSA2"})


def test_gbk_notification(alipay_keys: KeyPair) -> None:
    params = {"subject": "测试商品", "charset": "gbk", "sign_type": "RSA2"}
    params["sign"] = Signer(alipay_keys.private_pem).sign_notification(params, "gbk")
    assert Verifier(alipay_keys.public_pem).verify_notification(params)


def test_flatten_params_rejects_non_strings_and_drops_none() -> None:
    assert flatten_params({"a": "1", "b": None}) == {"a": "1"}
    with pytest.raises(SignatureError, match="is a int"):
        flatten_params({"a": 1})
    with pytest.raises(SignatureError, match="must be a mapping"):
        flatten_params(["a"])  # type: ignore[arg-type]


def test_signer_sign_params_matches_request_content(app_keys: KeyPair) -> None:
    signer = Signer(app_keys.private_pem)
    params = {"app_id": "1", "sign": "old", "method": "x", "empty": ""}
    assert Verifier(app_keys.public_pem).verify("app_id=1&method=x", signer.sign_params(params))
