"""The demo's admin (issue 9): actions name their permissions, ledgers and rewards are view-only,
and the operator sees labels and headings in Chinese."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.test import Client

from zhifu.models import Order


def _admin(seeded: dict[str, Any], language: str = "zh-hans") -> Client:
    client = Client()
    client.force_login(seeded["admin"])
    client.cookies["django_language"] = language
    return client


def test_every_action_of_the_site_declares_its_permission() -> None:
    site_wide = [action for _, action in admin.site.actions]  # delete_selected
    for model, model_admin in admin.site._registry.items():
        own = [
            getattr(model_admin, a) if isinstance(a, str) else a for a in model_admin.actions or ()
        ]
        for action in [*own, *site_wide]:
            assert getattr(action, "allowed_permissions", ()), f"{model.__name__}: {action}"


def test_ledgers_and_rewards_have_no_save_buttons(seeded: dict[str, Any]) -> None:
    from courses.models import CreditAccount, CreditEntry

    client = _admin(seeded)
    account = CreditAccount.objects.first()
    entry = CreditEntry.objects.first()
    assert account is not None and entry is not None
    for url in (
        f"/admin/courses/creditaccount/{account.pk}/change/",
        f"/admin/courses/creditentry/{entry.pk}/change/",
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        assert b'name="_save"' not in page.content, url
    assert client.get("/admin/courses/creditaccount/add/").status_code == 403
    assert client.get("/admin/rewards/reward/add/").status_code == 403


def test_orders_show_kind_labels_and_the_heading_in_chinese(seeded: dict[str, Any]) -> None:
    from zhifu.services.orders import LineSpec, create_order

    for kind in ("purchase", "reward", "topup"):
        create_order(seeded["bob"], lines=[LineSpec("x", Decimal("1.00"))], kind=kind)
    assert Order.objects.filter(kind="topup").exists()
    client = _admin(seeded)
    home = client.get("/admin/").content.decode()
    assert "支付" in home and "Zhifu payments" not in home
    listing = client.get("/admin/zhifu/order/").content.decode()
    for label in ("购买", "打赏", "钱包充值"):
        assert label in listing
    assert ">topup<" not in listing and "<small>topup</small>" not in listing
