"""The transition table: allowed changes happen, repeats are no-ops, everything else raises."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from tests.core.factories import make_attempt, make_order
from zhifu.exceptions import IllegalTransition
from zhifu.models import Order, PaymentAttempt, Refund
from zhifu.services.transitions import TRANSITIONS, can_transition, transition

pytestmark = pytest.mark.django_db


def _instance(model, user, status):
    order = make_order(user)
    if model is Order:
        Order.objects.filter(pk=order.pk).update(status=status)
        return Order.objects.get(pk=order.pk)
    attempt = make_attempt(order)
    if model is PaymentAttempt:
        PaymentAttempt.objects.filter(pk=attempt.pk).update(status=status)
        return PaymentAttempt.objects.get(pk=attempt.pk)
    refund = Refund.objects.create(
        order=order,
        attempt=attempt,
        out_request_no=f"{attempt.out_trade_no}R1",
        amount=Decimal("1.00"),
    )
    Refund.objects.filter(pk=refund.pk).update(status=status)
    return Refund.objects.get(pk=refund.pk)


CASES = [
    (model, current, target)
    for model in (Order, PaymentAttempt, Refund)
    for current, target in itertools.product(model.Status.values, repeat=2)
]


@pytest.mark.parametrize(
    ("model", "current", "target"), CASES, ids=lambda v: getattr(v, "__name__", v)
)
def test_every_pair_of_statuses(fake_alipay, user, model, current, target):
    obj = _instance(model, user, current)
    if current == target:
        assert transition(obj, target) is False  # a repeat is a no-op
        assert type(obj).objects.get(pk=obj.pk).status == current
    elif can_transition(model, current, target):
        assert transition(obj, target) is True
        assert obj.status == target
        assert type(obj).objects.get(pk=obj.pk).status == target
    else:
        with pytest.raises(IllegalTransition) as info:
            transition(obj, target)
        assert info.value.code == "illegal_transition"
        assert type(obj).objects.get(pk=obj.pk).status == current


def test_table_shape():
    order = TRANSITIONS[Order]
    assert ("pending", "paid") in order
    assert ("paid", "pending") not in order
    assert ("refunded", "paid") not in order
    assert not any(src in ("cancelled", "expired", "refunded") for src, _ in order)  # terminal
    assert ("succeeded", "pending") not in TRANSITIONS[PaymentAttempt]
    assert ("succeeded", "failed") not in TRANSITIONS[Refund]


def test_transition_sets_fields_and_updates_the_instance(fake_alipay, user):
    order = make_order(user)
    stale = Order.objects.get(pk=order.pk)
    assert transition(order, Order.Status.CANCELLED, closed_at=order.created_at)
    # a stale copy re-reads the row under the lock: cancelled -> paid is refused
    with pytest.raises(IllegalTransition):
        transition(stale, Order.Status.PAID)
    assert transition(stale, Order.Status.CANCELLED) is False
    assert stale.status == Order.Status.CANCELLED and stale.closed_at == order.created_at


def test_at_most_one_succeeded_attempt_per_order_in_the_database(fake_alipay, user):
    from django.db import IntegrityError, transaction

    order = make_order(user)
    first, second = make_attempt(order), make_attempt(order)
    PaymentAttempt.objects.filter(pk=first.pk).update(status="succeeded")
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentAttempt.objects.filter(pk=second.pk).update(status="succeeded")
