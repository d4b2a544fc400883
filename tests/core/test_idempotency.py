"""One submit is one order: :mod:`zhifu.services.idempotency` (run on SQLite and, with
DATABASE_URL, on PostgreSQL — the concurrency test uses real threads and connections)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from zhifu.exceptions import IdempotencyConflict, InvalidIdempotencyKey, OrderError
from zhifu.models import IdempotencyKey, Order
from zhifu.services import idempotency
from zhifu.services.orders import create_order_from_skus


def _load(ref: str) -> Order:
    return Order.objects.get(out_trade_no=ref)


def _ref(order: Order) -> str:
    return order.out_trade_no


def buy(user, key, *, quantity=1, scope="test:buy", calls=None, delay=0.0):
    items = [{"sku": "book-1", "quantity": quantity}]

    def create() -> Order:
        if calls is not None:
            calls.append(1)
        order = create_order_from_skus(user, items)
        time.sleep(delay)  # hold the transaction open so that a racing call must wait
        return order

    return idempotency.run_once(
        user=user,
        scope=scope,
        key=key,
        fingerprint=idempotency.fingerprint({"items": items}),
        create=create,
        load=_load,
        ref=_ref,
    )


@pytest.mark.django_db
def test_same_key_same_request_gives_the_first_result(fake_alipay, user, product):
    calls: list[int] = []
    first, created = buy(user, "k-1", calls=calls)
    again, created_again = buy(user, "k-1", calls=calls)
    assert created is True and created_again is False
    assert again.pk == first.pk
    assert len(calls) == 1
    assert Order.objects.count() == 1
    assert IdempotencyKey.objects.get().ref == first.out_trade_no


@pytest.mark.django_db
def test_same_key_different_request_is_a_conflict(fake_alipay, user, product):
    buy(user, "k-1")
    with pytest.raises(IdempotencyConflict) as raised:
        buy(user, "k-1", quantity=2)
    assert raised.value.code == "idempotency_key_reused"
    assert raised.value.status == 409
    assert "Idempotency-Key" in raised.value.english_message
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_keys_belong_to_a_user_and_a_scope(fake_alipay, user, other_user, product):
    mine, _ = buy(user, "k-1")
    theirs, created = buy(other_user, "k-1")
    elsewhere, created_elsewhere = buy(user, "k-1", scope="test:other")
    assert created and created_elsewhere
    assert len({mine.pk, theirs.pk, elsewhere.pk}) == 3
    assert theirs.user == other_user


@pytest.mark.django_db
@pytest.mark.parametrize(
    "key", ["", " ", "a b", "x" * 256, "订单", "line\nbreak", None, 12345], ids=repr
)
def test_bad_keys_are_refused_clearly(fake_alipay, user, product, key):
    with pytest.raises(InvalidIdempotencyKey) as raised:
        buy(user, key)
    assert raised.value.code == "invalid_idempotency_key"
    assert raised.value.status == 400
    assert "255" in raised.value.english_message
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_longest_key_is_accepted(fake_alipay, user, product):
    key = "K" * idempotency.MAX_KEY_LENGTH
    assert buy(user, key)[1] is True
    assert buy(user, key)[1] is False


@pytest.mark.django_db
def test_anonymous_caller_is_refused(fake_alipay, product):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(OrderError) as raised:
        buy(AnonymousUser(), "k-1")
    assert raised.value.code == "login_required"


@pytest.mark.django_db
def test_a_failed_creation_keeps_nothing_and_the_key_can_be_retried(fake_alipay, user, product):
    product.active = False
    product.save()
    with pytest.raises(OrderError):
        buy(user, "k-1")
    assert IdempotencyKey.objects.count() == 0
    product.active = True
    product.save()
    order, created = buy(user, "k-1")
    assert created and order.total_amount == Decimal("12.30")


@pytest.mark.django_db
def test_expired_keys_are_free_again_and_purged(fake_alipay, user, product):
    first, _ = buy(user, "k-1")
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    second, created = buy(user, "k-1", quantity=2)  # a new request: the old key has expired
    assert created and second.pk != first.pk
    buy(user, "k-2")
    IdempotencyKey.objects.filter(key="k-2").update(expires_at=timezone.now() - timedelta(hours=1))
    assert idempotency.purge_expired() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["k-1"]
    # using any key removes that user's expired ones (no job needed to keep the table small)
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    buy(user, "k-3")
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["k-3"]


def test_fingerprint_ignores_key_order_and_sees_values():
    a = idempotency.fingerprint({"items": [{"sku": "x", "quantity": 1}], "channel": "balance"})
    b = idempotency.fingerprint({"channel": "balance", "items": [{"quantity": 1, "sku": "x"}]})
    c = idempotency.fingerprint({"channel": "balance", "items": [{"quantity": 2, "sku": "x"}]})
    assert a == b != c
    assert idempotency.fingerprint({"amount": Decimal("10.00")}) != idempotency.fingerprint(
        {"amount": Decimal("10.01")}
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_calls_create_one_order(fake_alipay, user, product):
    """Six threads (six connections) send the same key at once; the first holds its transaction
    open for a moment, so the others must wait for it at the key's unique index (PostgreSQL) or
    the write lock (SQLite), then read its order."""
    n = 6
    barrier = threading.Barrier(n)
    calls: list[int] = []
    results: list[tuple[int, bool] | str] = []

    def submit() -> None:
        try:
            barrier.wait()
            order, created = buy(user, "same-key", calls=calls, delay=0.3)
            results.append((order.pk, created))
        except Exception as exc:  # any error is a failure, reported below
            results.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, tuple) for r in results), results
    assert Order.objects.count() == 1
    order = Order.objects.get()
    assert sorted(results, key=lambda r: not r[1]) == [(order.pk, True)] + [(order.pk, False)] * (
        n - 1
    )
    assert len(calls) == 1
    assert IdempotencyKey.objects.count() == 1
