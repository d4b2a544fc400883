"""Refund requests through the buyer API (/api/refund-requests/) and the staff admin."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.core.factories import make_order
from tests.refundrequests.conftest import paid_by_pipeline, paid_through_sandbox, with_policy
from zhifu.models import Order
from zhifu.refundrequests import services
from zhifu.refundrequests.models import RefundRequest

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/refund-requests/"


@pytest.fixture
def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def error(response) -> tuple[int, str, str]:
    body = response.json()["error"]
    return response.status_code, body["code"], body["message"]


def test_a_buyer_asks_and_is_refunded_at_once_through_the_sandbox(
    settings, sandbox_zhifu, user, product, api
):
    with_policy(settings, days=7)
    order = paid_through_sandbox(sandbox_zhifu, user, [{"sku": product.sku, "quantity": 1}])
    answer = api.post(
        URL, {"out_trade_no": order.out_trade_no, "reason": "wrong course"}, format="json"
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["state"] == "refunded" and body["automatic"] is True
    assert body["amount"] == "12.30" and body["refund_no"]
    assert body["refund_to"]  # the channel's label: Alipay
    assert sandbox_zhifu.trade(order.attempts.get().out_trade_no)["refunded_amount"] == "12.30"
    listing = api.get(URL).json()
    assert [r["id"] for r in listing["results"]] == [body["id"]]
    assert api.get(f"{URL}{body['id']}/").json()["state"] == "refunded"


def test_waiting_for_staff_then_idempotent(fake_alipay, user, api):
    order = paid_by_pipeline(user)
    data = {"out_trade_no": order.out_trade_no, "reason": "please"}
    first = api.post(URL, data, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201 and first.json()["state"] == "pending"
    again = api.post(URL, data, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    double = api.post(URL, data, format="json")  # a double submit without a key
    assert double.status_code == 200 and double.json()["id"] == first.json()["id"]
    other = api.post(URL, {**data, "reason": "other"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert error(other)[:2] == (409, "idempotency_key_reused")
    open_ = api.post(URL, {**data, "reason": "other"}, format="json")
    assert error(open_)[:2] == (409, "refund_request_open")
    assert RefundRequest.objects.count() == 1


def test_bad_requests_are_400_naming_what_is_wrong(fake_alipay, user, api):
    order = paid_by_pipeline(user)
    cases = [
        ({"out_trade_no": order.out_trade_no}, "reason"),
        ({"out_trade_no": order.out_trade_no, "reason": "  "}, "reason"),
        ({"out_trade_no": order.out_trade_no, "reason": "r", "lines": ["a"]}, "lines"),
        ({"out_trade_no": order.out_trade_no, "reason": "r", "lines": [424242]}, "424242"),
        ({"out_trade_no": order.out_trade_no, "reason": "r", "lines": "1"}, "lines"),
        ({"reason": "r"}, "out_trade_no"),
        ({"out_trade_no": order.out_trade_no, "reason": "a\x00b"}, "reason"),
    ]
    for data, named in cases:
        status, _code, message = error(api.post(URL, data, format="json"))
        assert status == 400 and named in message, (data, message)
    # a lone surrogate (valid JSON, not storable text)
    raw = '{"out_trade_no": "' + order.out_trade_no + '", "reason": "\\udab8"}'
    status, _code, message = error(api.post(URL, raw, content_type="application/json"))
    assert status == 400 and "reason" in message
    assert not RefundRequest.objects.exists()


def test_only_own_paid_orders(fake_alipay, user, other_user, api):
    theirs = paid_by_pipeline(other_user)
    assert error(
        api.post(URL, {"out_trade_no": theirs.out_trade_no, "reason": "r"}, format="json")
    )[:2] == (404, "order_not_found")
    unpaid = make_order(user)
    assert error(
        api.post(URL, {"out_trade_no": unpaid.out_trade_no, "reason": "r"}, format="json")
    )[:2] == (409, "order_not_refundable")
    req, _ = services.request_refund(other_user, theirs, reason="mine")
    assert api.get(f"{URL}{req.pk}/").status_code == 404
    assert api.get(URL).json()["results"] == []
    assert APIClient().get(URL).status_code == 401


@pytest.mark.parametrize("pk", ["-5", "abc", "1" * 30, "0"])
def test_a_request_id_that_cannot_exist_is_the_json_404(api, pk):
    # found by schemathesis: -5/ did not match <int:pk> and got the site's HTML 404 page
    answer = api.get(f"{URL}{pk}/")
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/json"
    assert answer.json()["error"]["code"] == "not_found"


def test_schema_describes_the_endpoints(fake_alipay, api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    post = paths["/api/refund-requests/"]["post"]
    assert {"201", "400", "409"} <= set(post["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert "/api/refund-requests/{id}/" in paths
    (ident,) = paths["/api/refund-requests/{id}/"]["get"]["parameters"]
    assert (ident["name"], ident["schema"]["type"]) == ("id", "integer")


def test_admin_approve_with_one_click_needs_the_permissions(
    settings, sandbox_zhifu, user, product, staff, decider, client
):
    order = paid_through_sandbox(sandbox_zhifu, user, [{"sku": product.sku, "quantity": 1}])
    req, _ = services.submit(user, order, reason="refund please")
    page = f"/admin/zhifu/refundrequest/{req.pk}/change/"
    approve = f"/admin/zhifu/refundrequest/{req.pk}/approve/"
    # staff who may only look: the page, no button, and the approval is refused
    from django.contrib.auth.models import Permission

    viewer = type(staff).objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_refundrequest"))
    client.force_login(viewer)
    shown = client.get(page)
    assert shown.status_code == 200 and approve not in shown.content.decode()
    assert client.post(approve).status_code == 403
    req.refresh_from_db()
    assert req.status == RefundRequest.Status.PENDING
    # a decider: one click
    client.force_login(decider)
    assert approve in client.get(page).content.decode()
    done = client.post(approve, follow=True)
    assert done.status_code == 200
    req.refresh_from_db()
    assert req.state == RefundRequest.State.REFUNDED and req.decided_by == decider
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert client.post(approve, follow=True).status_code == 200  # twice: refused, said so
    assert order.refunds.count() == 1


def test_admin_reject_asks_for_a_reason(fake_alipay, user, decider, client):
    order = paid_by_pipeline(user)
    req, _ = services.request_refund(user, order, reason="no longer needed")
    client.force_login(decider)
    changelist = "/admin/zhifu/refundrequest/"
    asked = client.post(changelist, {"action": "reject", "_selected_action": [req.pk]})
    assert asked.status_code == 200 and 'name="reason"' in asked.content.decode()
    empty = client.post(
        changelist, {"action": "reject", "_selected_action": [req.pk], "apply": "1", "reason": ""}
    )
    assert empty.status_code == 200  # the form again, with its error
    req.refresh_from_db()
    assert req.status == RefundRequest.Status.PENDING
    client.post(
        changelist,
        {"action": "reject", "_selected_action": [req.pk], "apply": "1", "reason": "used already"},
    )
    req.refresh_from_db()
    assert (req.state, req.rejection_reason, req.decided_by) == (
        "rejected",
        "used already",
        decider,
    )


def test_admin_actions_hidden_without_the_decide_permission(fake_alipay, user, staff, client):
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(Permission.objects.get(codename="view_refundrequest"))
    order = paid_by_pipeline(user)
    req, _ = services.request_refund(user, order, reason="r")
    client.force_login(staff)
    listing = client.get("/admin/zhifu/refundrequest/").content.decode()
    assert 'value="approve"' not in listing and 'value="reject"' not in listing
    assert client.get(f"/admin/zhifu/refundrequest/{req.pk}/reject/").status_code == 403
