"""The admin lets staff do only what their permissions say (issue 9): every action names the
permission it needs, read-only pages offer no save button, kinds show labels, the app heading is
translated."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import translation

from tests.core.factories import make_attempt, make_order
from zhifu.models import Notification, Order, Refund
from zhifu.services import wallet
from zhifu.services.payments import pay_with_balance

pytestmark = pytest.mark.django_db


def staff_with(django_user_model, *codenames: str) -> Client:
    member = django_user_model.objects.create_user("member", password="pw", is_staff=True)
    member.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="zhifu", codename__in=codenames)
    )
    client = Client()
    client.force_login(member)
    return client


@pytest.fixture
def paid_order(fake_alipay, user) -> Order:
    wallet.post_entry(user, "20.00", "adjustment")
    order = make_order(user, "10.00")
    pay_with_balance(order, user=user)
    return Order.objects.get(pk=order.pk)


def run_action(client: Client, model: str, action: str, pk: int):
    return client.post(
        f"/admin/zhifu/{model}/", {"action": action, "_selected_action": [pk]}, follow=True
    )


def test_every_zhifu_action_declares_its_permission() -> None:
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "zhifu":
            continue
        for name in model_admin.actions or ():
            action = getattr(model_admin, name)
            permissions = getattr(action, "allowed_permissions", ())
            assert permissions, f"{type(model_admin).__name__}.{name} declares no permission"
            for permission in permissions:
                assert hasattr(model_admin, f"has_{permission}_permission")


def test_viewing_orders_is_not_refunding_them(django_user_model, paid_order) -> None:
    client = staff_with(django_user_model, "view_order")
    listing = client.get("/admin/zhifu/order/")
    assert listing.status_code == 200
    assert b"refund_in_full" not in listing.content and b"reconcile_now" not in listing.content
    run_action(client, "order", "refund_in_full", paid_order.pk)
    run_action(client, "order", "reconcile_now", paid_order.pk)
    assert not Refund.objects.exists()
    assert Order.objects.get(pk=paid_order.pk).status == "paid"
    # the refund page itself is refused, and its link is not shown
    assert client.get(f"/admin/zhifu/order/{paid_order.pk}/refund/").status_code == 403
    assert client.post(f"/admin/zhifu/order/{paid_order.pk}/refund/", {}).status_code == 403
    page = client.get(f"/admin/zhifu/order/{paid_order.pk}/change/")
    assert b"/refund/" not in page.content
    assert not Refund.objects.exists()


def test_add_refund_permission_allows_refunding(django_user_model, paid_order) -> None:
    client = staff_with(django_user_model, "view_order", "add_refund")
    assert b"refund_in_full" in client.get("/admin/zhifu/order/").content
    run_action(client, "order", "refund_in_full", paid_order.pk)
    refund = Refund.objects.get()
    assert refund.amount == Decimal("10.00")
    assert b"/refund/" in client.get(f"/admin/zhifu/order/{paid_order.pk}/change/").content


def test_replay_needs_change_permissions(django_user_model, fake_alipay, user) -> None:
    order = make_order(user)
    attempt = make_attempt(order)
    body = fake_alipay.body(fake_alipay.notification(attempt)).decode()
    note = Notification.objects.create(provider="alipay", body=body, outcome="error")
    client = staff_with(django_user_model, "view_notification", "view_order")
    assert b'value="replay"' not in client.get("/admin/zhifu/notification/").content
    run_action(client, "notification", "replay", note.pk)
    assert Notification.objects.get(pk=note.pk).outcome == "error"
    assert Order.objects.get(pk=order.pk).status == "pending"


def test_retry_needs_change_refund(django_user_model, paid_order) -> None:
    client = staff_with(django_user_model, "view_refund")
    assert b'value="retry"' not in client.get("/admin/zhifu/refund/").content


def test_read_only_pages_offer_no_save_button(admin_client, paid_order) -> None:
    refund = Refund.objects.create(
        order=paid_order,
        attempt=paid_order.attempts.get(),
        out_request_no="R1",
        amount=Decimal("1.00"),
    )
    wallet_pk = wallet.get_wallet(paid_order.user).pk
    for url in (
        f"/admin/zhifu/order/{paid_order.pk}/change/",
        f"/admin/zhifu/refund/{refund.pk}/change/",
        f"/admin/zhifu/wallet/{wallet_pk}/change/",
    ):
        page = admin_client.get(url)
        assert page.status_code == 200, url
        assert b'name="_save"' not in page.content, url
        assert b'name="_continue"' not in page.content, url


def test_kinds_show_labels_not_codes(admin_client, fake_alipay, user) -> None:
    make_order(user, kind="topup")
    make_order(user, kind="coffee")  # a kind of the site's own: shown as it is
    page = admin_client.get("/admin/zhifu/order/").content.decode()
    assert "wallet top-up" in page and "coffee" in page
    assert ">topup<" not in page
    with translation.override("zh-hans"):
        from zhifu.admin import _kind_label

        assert _kind_label("topup") == "钱包充值" and _kind_label("reward") == "打赏"


def test_the_app_heading_is_translated(admin_client) -> None:
    assert b"Zhifu payments" in admin_client.get("/admin/").content
    with translation.override("zh-hans"):
        assert str(apps.get_app_config("zhifu").verbose_name) == "支付"
