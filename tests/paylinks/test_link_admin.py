"""Payment links in the admin: the create form (through the service), the link shown with its
URL, QR code and status, never edited; cancelling needs the order permission."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from zhifu.models import Order
from zhifu.paylinks.models import PaymentLink
from zhifu.paylinks.services import create_link

pytestmark = pytest.mark.django_db

ADD = "/admin/zhifu/paymentlink/add/"
LIST = "/admin/zhifu/paymentlink/"


@pytest.fixture
def admin_client_for(fake_alipay):
    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


def _form(**changes):
    when = timezone.localtime() + timedelta(hours=2)
    data = {
        "amount": "12.30",
        "subject": "定制课程",
        "buyer": "",
        "expires_at_0": when.strftime("%Y-%m-%d"),
        "expires_at_1": when.strftime("%H:%M:%S"),
    }
    data.update(changes)
    return data


def test_staff_create_a_link_in_the_admin(admin_client_for, link_staff, user):
    client = admin_client_for(link_staff)
    page = client.get(ADD)
    assert page.status_code == 200 and 'name="amount"' in page.content.decode()
    response = client.post(ADD, _form(buyer=str(user.pk)), follow=True)
    assert response.status_code == 200
    link = PaymentLink.objects.get()
    assert link.created_by == link_staff and link.buyer == user
    assert str(link.amount) == "12.30" and link.order.user == user
    assert link.order.kind == "payment_link" and link.order.status == Order.Status.PENDING
    assert f"http://testserver/zhifu/link/{link.code}/" in response.content.decode()


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        ({"amount": "1.005"}, "0.01"),
        ({"amount": "abc"}, "0.01"),
        ({"amount": "0"}, "0.01"),
        ({"subject": ""}, "subject"),
    ],
)
def test_bad_input_is_shown_on_the_form(admin_client_for, link_staff, changes, text):
    response = admin_client_for(link_staff).post(ADD, _form(**changes))
    assert response.status_code == 200  # the form again, with the error
    assert "errorlist" in response.content.decode()
    assert not PaymentLink.objects.exists() and not Order.objects.exists()


def test_an_expiry_out_of_range_is_shown_on_the_form(admin_client_for, link_staff):
    past = timezone.localtime() - timedelta(hours=1)
    far = timezone.localtime() + timedelta(days=20)
    for when in (past, far):
        response = admin_client_for(link_staff).post(
            ADD,
            _form(expires_at_0=when.strftime("%Y-%m-%d"), expires_at_1=when.strftime("%H:%M:%S")),
        )
        html = response.content.decode()
        assert response.status_code == 200 and "errorlist" in html
        assert "between 1 minute and 15 days" in html
    assert not PaymentLink.objects.exists()


def test_a_link_is_shown_with_its_url_qr_and_status_and_not_editable(admin_client_for, link_staff):
    link = create_link(created_by=link_staff, amount="3", subject="x")
    client = admin_client_for(link_staff)
    listing = client.get(LIST).content.decode()
    assert link.code in listing
    page = client.get(f"{LIST}{link.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert f'href="http://testserver/zhifu/link/{link.code}/"' in html
    assert "<svg" in html
    assert "waiting for payment" in html
    assert 'name="_save"' not in html  # view only
    assert client.post(f"{LIST}{link.pk}/change/", {"subject": "y"}).status_code == 403
    assert client.post(f"{LIST}{link.pk}/delete/", {"post": "yes"}).status_code == 403
    assert PaymentLink.objects.get().subject == "x"


def test_status_filter(admin_client_for, link_staff):
    pending = create_link(created_by=link_staff, amount="1", subject="x")
    client = admin_client_for(link_staff)
    assert pending.code in client.get(LIST, {"status": "pending"}).content.decode()
    assert pending.code not in client.get(LIST, {"status": "paid"}).content.decode()


def test_cancelling_needs_the_order_permission(admin_client_for, link_staff):
    link = create_link(created_by=link_staff, amount="1", subject="x")
    action = {"action": "cancel_links", "_selected_action": [str(link.pk)]}
    client = admin_client_for(link_staff)
    client.post(LIST, action)
    assert Order.objects.get(pk=link.order_id).status == Order.Status.PENDING
    link_staff.user_permissions.add(
        Permission.objects.get(content_type__app_label="zhifu", codename="change_order")
    )
    client = admin_client_for(link_staff)
    client.post(LIST, action)
    assert Order.objects.get(pk=link.order_id).status == Order.Status.CANCELLED


def test_a_buyer_cannot_reach_the_admin(admin_client_for, user):
    response = admin_client_for(user).get(ADD)
    assert response.status_code == 302 and "/login/" in response["Location"]
