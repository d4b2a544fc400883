"""Withdrawals through the author API (/api/withdrawals/): paid out by the sandbox over real HTTP
in certificate mode, one withdrawal per Idempotency-Key, refusals that return the money, bad
input answered in the API's error shape, and only one's own withdrawals."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from tests.api.test_fuzz import FUZZ, check, json_values, scalars
from tests.conftest import wait_until
from zhifu import wallet
from zhifu.models import LedgerEntry
from zhifu.wallet import post_entry
from zhifu.withdrawals.models import Withdrawal
from zhifu.withdrawals.services import request_withdrawal

from .conftest import PAYEE, PAYEE_NAME, withdrawal_settings

URL = "/api/withdrawals/"
BODY = {"amount": "30.00", "payee": PAYEE, "payee_name": PAYEE_NAME}
S = Withdrawal.Status


@pytest.fixture
def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def error(response) -> tuple[int, str, str]:
    assert response["Content-Type"] == "application/json", response.content[:300]
    body = response.json()["error"]
    return response.status_code, body["code"], body["message"]


def _buyer(sb, login: str) -> dict:
    rows = sb._call("GET", "/sandbox/api/buyers")
    rows = rows["buyers"] if isinstance(rows, dict) else rows
    return next(b for b in rows if b["login"] == login)


def _withdrawal_entries(user) -> list[tuple[str, Decimal]]:
    entries = wallet.get_wallet(user).entries.filter(kind__startswith="withdrawal")
    return [(e.kind, e.amount) for e in entries.order_by("id")]


@pytest.mark.django_db(transaction=True)
def test_an_author_withdraws_and_the_sandbox_payee_is_paid(payouts, author, api):
    before = Decimal(_buyer(payouts, PAYEE)["balance"])
    answer = api.post(URL, BODY, format="json")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["status"] == "succeeded" and body["amount"] == "30.00"
    assert body["out_biz_no"].startswith("W") and body["payee"] == PAYEE
    assert (body["payee_type"], body["payee_name"]) == ("login", PAYEE_NAME)
    assert (body["error_code"], body["error_message"]) == ("", "")
    assert body["created_at"] and body["finished_at"]
    assert wallet.balance(author) == Decimal("70.00")
    assert _withdrawal_entries(author) == [("withdrawal", Decimal("-30.00"))]  # debited once
    assert Decimal(_buyer(payouts, PAYEE)["balance"]) == before + Decimal("30.00")
    listing = api.get(URL).json()
    assert listing["count"] == 1 and [w["id"] for w in listing["results"]] == [body["id"]]
    assert api.get(f"{URL}{body['id']}/").json() == body
    assert wallet.audit() == []


@pytest.mark.django_db(transaction=True)
def test_to_a_user_id_without_a_name(payouts, author, api):
    buyer = _buyer(payouts, "buyer2@sandbox.com")
    answer = api.post(
        URL, {"amount": "12.30", "payee_type": "user_id", "payee": buyer["user_id"]}, format="json"
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["status"] == "succeeded" and answer.json()["payee_type"] == "user_id"
    assert wallet.balance(author) == Decimal("87.70")


@pytest.mark.django_db(transaction=True)
def test_the_same_idempotency_key_twice_is_one_withdrawal(payouts, author, api):
    before = Decimal(_buyer(payouts, PAYEE)["balance"])
    first = api.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="w-1")
    assert first.status_code == 201 and first.json()["status"] == "succeeded"
    assert "Idempotent-Replayed" not in first
    again = api.post(URL, {**BODY, "amount": "30"}, format="json", HTTP_IDEMPOTENCY_KEY="w-1")
    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    other = api.post(URL, {**BODY, "amount": "31.00"}, format="json", HTTP_IDEMPOTENCY_KEY="w-1")
    assert error(other)[:2] == (409, "idempotency_key_reused")
    assert Withdrawal.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="withdrawal").count() == 1
    assert wallet.balance(author) == Decimal("70.00")
    assert Decimal(_buyer(payouts, PAYEE)["balance"]) == before + Decimal("30.00")
    # another key is another withdrawal
    assert api.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="w-2").status_code == 201
    assert wallet.balance(author) == Decimal("40.00") and Withdrawal.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_key_replays_the_first_answer_not_the_later_state(payouts, author, api, staff, settings):
    withdrawal_settings(settings, APPROVAL="always")
    first = api.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="w-1")
    assert first.status_code == 201 and first.json()["status"] == "requested"
    from zhifu.withdrawals.services import approve_withdrawal

    approve_withdrawal(Withdrawal.objects.get(), staff)  # staff approve: it is paid
    again = api.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="w-1")
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert api.get(f"{URL}{first.json()['id']}/").json()["status"] == "succeeded"  # the state now


@pytest.mark.django_db(transaction=True)
def test_a_payee_alipay_does_not_know_fails_and_the_money_is_back(payouts, author, api):
    answer = api.post(URL, {**BODY, "payee": "nobody@sandbox.com"}, format="json")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["status"], body["error_code"]) == ("failed", "PAYEE_NOT_EXIST")
    assert body["error_message"]
    assert wallet.balance(author) == Decimal("100.00")
    assert _withdrawal_entries(author) == [
        ("withdrawal", Decimal("-30.00")),
        ("withdrawal_back", Decimal("30.00")),
    ]
    assert wallet.audit() == []


@pytest.mark.django_db(transaction=True)
def test_public_key_mode_fails_and_the_money_is_back(sandbox_zhifu, author, api):
    answer = api.post(URL, BODY, format="json")  # the sandbox_zhifu site has no certificates
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["status"], body["error_code"]) == ("failed", "invalid_request")
    assert "certificate mode" in body["error_message"]
    assert wallet.balance(author) == Decimal("100.00")


@pytest.mark.django_db
def test_bad_input_is_refused_with_its_code_and_nothing_is_held(fake_alipay, author, api):
    cases = [
        ({**BODY, "amount": "abc"}, 400, "invalid_amount"),
        ({**BODY, "amount": "1e2"}, 400, "invalid_amount"),
        ({**BODY, "amount": "-5"}, 400, "invalid_amount"),
        ({**BODY, "amount": "0.50"}, 400, "below_minimum"),
        ({**BODY, "amount": "5000.01"}, 400, "above_maximum"),
        ({**BODY, "amount": "100.01"}, 409, "insufficient_balance"),
        ({**BODY, "payee_name": ""}, 400, "payee_name_required"),
        ({"amount": "30.00", "payee": PAYEE}, 400, "payee_name_required"),
    ]
    for data, status, code in cases:
        assert error(api.post(URL, data, format="json"))[:2] == (status, code), data
    named = [
        ({**BODY, "amount": 30}, "amount"),  # a JSON number: not a plain decimal string
        ({"payee": PAYEE, "payee_name": PAYEE_NAME}, "amount"),
        ({"amount": "30.00", "payee_name": PAYEE_NAME}, "payee"),
        ({**BODY, "payee": "   "}, "payee"),
        ({**BODY, "payee": "x" * 101}, "payee"),
        ({**BODY, "payee_name": "名" * 65}, "payee_name"),
        ({**BODY, "payee_type": "email"}, "payee_type"),
        ({**BODY, "payee_name": "a\x00b"}, "payee_name"),
    ]
    for data, field in named:
        status, code, message = error(api.post(URL, data, format="json"))
        assert (status, code) == (400, "invalid_request") and field in message, (data, message)
    bad_key = api.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="")
    assert error(bad_key)[:2] == (400, "invalid_idempotency_key")
    assert not Withdrawal.objects.exists() and wallet.balance(author) == Decimal("100.00")


@pytest.mark.django_db
def test_the_daily_limit(fake_alipay, author, api, settings):
    withdrawal_settings(settings, APPROVAL="always", MAX="40.00", DAILY_MAX="40.00")
    first = api.post(URL, BODY, format="json")  # waits for staff: held, and counted today
    assert first.status_code == 201 and first.json()["status"] == "requested"
    status, code, message = error(api.post(URL, {**BODY, "amount": "10.01"}, format="json"))
    assert (status, code) == (400, "daily_limit") and "40.00" in message
    assert Withdrawal.objects.count() == 1 and wallet.balance(author) == Decimal("70.00")


@pytest.mark.django_db
def test_only_ones_own_withdrawals(fake_alipay, author, other_user, api, settings):
    withdrawal_settings(settings, APPROVAL="always")
    post_entry(other_user, "50.00", LedgerEntry.Kind.REWARD_INCOME)
    theirs = request_withdrawal(
        other_user, "20.00", payee_type="login", payee=PAYEE, payee_name=PAYEE_NAME
    )
    answer = api.get(f"{URL}{theirs.pk}/")
    assert error(answer)[:2] == (404, "not_found")
    assert api.get(URL).json()["results"] == []
    mine = api.post(URL, BODY, format="json").json()
    assert [w["id"] for w in api.get(URL).json()["results"]] == [mine["id"]]
    unauthenticated = APIClient()
    for response in (
        unauthenticated.get(URL),
        unauthenticated.post(URL, BODY, format="json"),
        unauthenticated.get(f"{URL}{mine['id']}/"),
    ):
        assert error(response)[:2] == (401, "not_authenticated")
    assert Withdrawal.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("pk", ["-5", "abc", "1" * 30, "0", "1.5"])
def test_an_id_that_cannot_exist_is_the_json_404(api, pk):
    answer = api.get(f"{URL}{pk}/")
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/json"
    assert answer.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_listing_pages(fake_alipay, author, api, settings):
    withdrawal_settings(settings, APPROVAL="always")
    for _ in range(21):
        assert api.post(URL, {**BODY, "amount": "1.00"}, format="json").status_code == 201
    first = api.get(URL).json()
    assert first["count"] == 21 and len(first["results"]) == 20 and first["next"]
    assert len(api.get(URL, {"page": "2"}).json()["results"]) == 1
    assert error(api.get(URL, {"page": "x"}))[:2] == (400, "invalid_request")
    assert error(api.get(URL, {"page": "3"}))[:2] == (404, "not_found")


@pytest.mark.django_db
def test_schema_describes_the_endpoints(fake_alipay, api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    post = paths["/api/withdrawals/"]["post"]
    assert {"201", "400", "401", "409"} <= set(post["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert "failed" in post["description"] and "201" in post["description"]
    assert "get" in paths["/api/withdrawals/"]
    (ident,) = paths["/api/withdrawals/{id}/"]["get"]["parameters"]
    assert (ident["name"], ident["schema"]["type"]) == ("id", "integer")


amounts = st.one_of(scalars, st.sampled_from(["1.00", "30", "99.99", "100.01", "0.99"]))
payees = st.one_of(scalars, st.sampled_from([PAYEE, "2088000000000001", " ", "x" * 101]))


@FUZZ
@pytest.mark.django_db
@given(
    payload=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {},
            optional={
                "amount": amounts,
                "payee": payees,
                "payee_name": st.one_of(scalars, st.just(PAYEE_NAME)),
                "payee_type": st.one_of(scalars, st.sampled_from(["login", "user_id"])),
            },
        ),
    ),
    key=st.one_of(st.none(), st.text(max_size=20)),
)
def test_anything_sent_is_answered_without_5xx(fake_alipay, author, payload, key):
    api = APIClient()
    api.force_authenticate(author)
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    body = check(api.post(URL, payload, format="json", **headers))
    if body is not None and "id" in body:
        assert Withdrawal.objects.filter(pk=body["id"], user=author).exists()
    assert wallet.audit() == []


@pytest.mark.django_db(transaction=True)
def test_two_requests_racing_with_one_key_withdraw_once(payouts, author, user):
    if connection.vendor != "postgresql":
        pytest.skip(
            "row locks need PostgreSQL (SQLite serialises writers): run with DATABASE_URL="
            "postgres://..."
        )
    before = Decimal(_buyer(payouts, PAYEE)["balance"])
    barrier = threading.Barrier(3)
    answers: list[tuple[int, str]] = []

    def worker() -> None:
        client = APIClient()
        client.force_authenticate(user)
        try:
            barrier.wait()
            answer = client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="race-1")
            answers.append((answer.status_code, answer.json()["out_biz_no"]))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(answers) == 3 and set(answers) == {(201, answers[0][1])}
    assert Withdrawal.objects.count() == 1
    assert wait_until(lambda: Withdrawal.objects.get().status == S.SUCCEEDED)
    assert wallet.balance(author) == Decimal("70.00") and wallet.audit() == []
    assert Decimal(_buyer(payouts, PAYEE)["balance"]) == before + Decimal("30.00")  # paid once
