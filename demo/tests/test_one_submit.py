"""One submit is one order: every form that creates an order or starts a payment carries a
one-time token; sending the same rendering again returns the first order and creates nothing.

Two kinds of test, and what each proves:
- the Django test client on the default database (SQLite): a second submit after the first
  (a reload of the answer, a double click that got through) — sequential, since SQLite
  serialises writers anyway;
- threads on PostgreSQL (skipped on SQLite, saying so): identical submits sent at the same
  moment through the whole view stack, each thread with its own database connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client
from rewards.models import Reward
from shop.models import Goods

from zhifu.models import LedgerEntry, Order
from zhifu.services import wallet

from .helpers import bobs_article, once, option

pytestmark = pytest.mark.django_db


def entry_points() -> dict[str, Callable[[], tuple[str, dict[str, Any]]]]:
    """Each order-creating form: (path, fields without the token)."""
    mug = Goods.objects.get(code="mug")
    return {
        "buy now": lambda: (f"/shop/{mug.pk}/buy/", {"quantity": "2"}),
        "checkout": lambda: (
            "/courses/checkout/",
            {"option": str(option("python", 30).pk), "action": "place", "credits": "10"},
        ),
        "top-up": lambda: ("/wallet/top-up/", {"amount": "30"}),
        "reward": lambda: (
            f"/articles/{bobs_article().pk}/reward/",
            {"amount": "5", "channel": "balance", "message": "thanks"},
        ),
    }


ENTRY_POINTS = ["buy now", "checkout", "top-up", "reward"]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_the_same_form_sent_twice_makes_one_order(alice_client: Any, entry: str) -> None:
    path, fields = entry_points()[entry]()
    data = {**fields, "once": once()}
    first = alice_client.post(path, data)
    second = alice_client.post(path, data)
    assert Order.objects.count() == 1
    order = Order.objects.get()
    assert first.status_code == second.status_code == 302
    assert order.out_trade_no in first["Location"] and order.out_trade_no in second["Location"]
    # a new rendering of the form (a new token) is a new, deliberate order
    alice_client.post(path, {**fields, "once": once()})
    assert Order.objects.count() == 2


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_form_without_its_token_or_with_a_reused_one_makes_nothing(en: Any, entry: str) -> None:
    path, fields = entry_points()[entry]()
    refused = en.post(path, fields, follow=True)
    assert "This form was not sent from the page" in refused.content.decode()
    assert not Order.objects.exists()
    token = once()
    en.post(path, {**fields, "once": token})
    changed = {**fields, "once": token, "quantity": "3", "amount": "31", "credits": "20"}
    reused = en.post(path, changed, follow=True)
    assert "already submitted with other values" in reused.content.decode()
    assert Order.objects.count() == 1


def test_the_pay_form_sent_twice_pays_once(alice_client: Any, seeded: dict[str, Any]) -> None:
    mug = Goods.objects.get(code="mug")
    alice_client.post(f"/shop/{mug.pk}/buy/", {"once": once()})
    order = Order.objects.get()
    data = {"channel": "balance", "once": once()}
    first = alice_client.post(f"/orders/{order.out_trade_no}/pay/", data)
    second = alice_client.post(f"/orders/{order.out_trade_no}/pay/", data)
    assert first["Location"] == second["Location"] == f"/orders/{order.out_trade_no}/"
    assert wallet.balance(seeded["alice"]) == Decimal("161.00")  # 200 − 39, once
    assert LedgerEntry.objects.filter(kind="payment").count() == 1


def test_the_reward_dialog_paid_from_the_wallet_sent_twice_charges_once(
    alice_client: Any, seeded: dict[str, Any]
) -> None:
    article = bobs_article()
    data = {"amount": "20", "channel": "balance", "once": once()}
    first = alice_client.post(f"/articles/{article.pk}/reward/", data)
    second = alice_client.post(f"/articles/{article.pk}/reward/", data)
    order = Order.objects.get()
    assert first["Location"] == second["Location"] == f"/orders/{order.out_trade_no}/"
    assert order.status == Order.Status.PAID and Reward.objects.count() == 1
    assert wallet.balance(seeded["alice"]) == Decimal("180.00")  # charged once
    assert wallet.balance(seeded["bob"]) == Decimal("70.00")  # credited once
    article.refresh_from_db()
    assert (article.reward_count, article.reward_total) == (1, Decimal("20.00"))


def test_every_order_creating_form_carries_a_token_and_disables_its_buttons(
    alice_client: Any,
) -> None:
    mug = Goods.objects.get(code="mug")
    alice_client.post(f"/shop/{mug.pk}/buy/", {"once": once()})
    order = Order.objects.get()
    pages = [
        "/shop/",
        f"/courses/checkout/?option={option('python', 30).pk}",
        "/wallet/",
        f"/articles/{bobs_article().pk}/",
        f"/orders/{order.out_trade_no}/pay/",
    ]
    for page in pages:
        html = alice_client.get(page).content.decode()
        assert 'name="once"' in html and "data-once" in html, page
        assert "common/site.js" in html, page  # disables the buttons of a data-once form


def test_reloading_the_qr_page_shows_the_same_code_and_creates_nothing(
    alice_client: Any, live_gateway: Any
) -> None:
    article = bobs_article()
    answer = alice_client.post(
        f"/articles/{article.pk}/reward/", {"amount": "5", "channel": "alipay_qr", "once": once()}
    )
    order = Order.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/orders/{order.out_trade_no}/qr/"
    pages = [alice_client.get(answer["Location"]).content.decode() for _ in range(2)]
    attempt = order.attempts.get()
    assert attempt.qr_code and all(attempt.qr_code in page for page in pages)
    assert Order.objects.count() == 1 and order.attempts.count() == 1


# --- at the same moment, on PostgreSQL --------------------------------------------------------


def _race(user: Any, path: str, data: dict[str, Any], n: int = 4) -> list[int]:
    barrier = threading.Barrier(n)
    statuses: list[int] = []

    def submit() -> None:
        client = Client()
        client.force_login(user)
        try:
            barrier.wait(timeout=10)
            statuses.append(client.post(path, data).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_identical_submits_at_the_same_moment_make_one_order(
    seeded: dict[str, Any], entry: str
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL (DATABASE_URL=postgres://...): SQLite serialises all writers, "
            "so threads would not race; the sequential tests above cover SQLite"
        )
    alice = seeded["alice"]
    path, fields = entry_points()[entry]()
    statuses = _race(alice, path, {**fields, "once": once()})
    assert statuses == [302] * 4
    assert Order.objects.count() == 1
    if entry == "reward":  # paid from the wallet: charged once, the author credited once
        assert wallet.balance(alice) == Decimal("195.00")
        assert wallet.balance(seeded["bob"]) == Decimal("55.00")
        assert LedgerEntry.objects.filter(kind="reward_income").count() == 1


@pytest.mark.django_db(transaction=True)
def test_identical_pay_submits_at_the_same_moment_pay_once(seeded: dict[str, Any]) -> None:
    """Pay later (the pay page of an unpaid order) with the wallet, sent from four threads."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...): SQLite serialises writers")
    from zhifu.services.orders import create_order_from_skus

    alice = seeded["alice"]
    order = create_order_from_skus(alice, [{"sku": Goods.objects.get(code="mug").sku}])
    statuses = _race(
        alice, f"/orders/{order.out_trade_no}/pay/", {"channel": "balance", "once": once()}
    )
    assert statuses == [302] * 4
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert wallet.balance(alice) == Decimal("161.00")  # 200 − 39, once
    assert LedgerEntry.objects.filter(kind="payment").count() == 1
