"""Refund requests from the order page: the demo's policy (automatic within 7 days for courses
not yet studied, the rest waits for staff), the state on the order page and in "my orders"."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from courses.models import Enrollment
from django.urls import reverse
from django.utils import timezone

from tests.helpers import paid_course_order
from zhifu.models import Order
from zhifu.refundrequests.models import RefundRequest
from zhifu.services import wallet


def ask(client: Any, order: Order, capture: Any, **data: Any) -> Any:
    with capture(execute=True):  # the refund is sent after the commit, as in use
        answer = client.post(
            reverse("order-refund", args=[order.out_trade_no]),
            {"whole": "1", "reason": "wrong course", **data},
        )
    assert answer.status_code == 302  # post, then redirect to the order page
    return client.get(answer["Location"])


def test_a_course_not_studied_is_refunded_at_once_to_the_wallet(
    en: Any, seeded: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    alice = seeded["alice"]
    order = paid_course_order(alice, credits=0)
    before = wallet.balance(alice)
    listing = en.get(reverse("orders")).content.decode()
    assert f"{reverse('order-detail', args=[order.out_trade_no])}#refund" in listing
    page = en.get(reverse("order-detail", args=[order.out_trade_no])).content.decode()
    assert 'data-testid="refund-form"' in page
    answer = ask(en, order, django_capture_on_commit_callbacks)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert 'data-state="refunded"' in html and "wallet balance" in html
    req = RefundRequest.objects.get(order=order)
    assert req.automatic and req.state == RefundRequest.State.REFUNDED
    assert wallet.balance(alice) == before + order.total_amount
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    # the fulfilment reversal of the one refund path: the access is gone
    assert Enrollment.objects.get(user=alice, course__code="python").revoked
    assert 'data-testid="refund-form"' not in html
    listing = en.get(reverse("orders")).content.decode()
    assert 'data-testid="refund-request-state" data-state="refunded"' in listing


def test_a_studied_course_waits_for_staff(
    en: Any, seeded: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    alice = seeded["alice"]
    order = paid_course_order(alice, credits=0)
    enrollment = Enrollment.objects.get(user=alice, course__code="python")
    assert enrollment.started_at is None
    en.get(reverse("course-detail", args=[enrollment.course_id]))  # studying it
    enrollment.refresh_from_db()
    assert enrollment.started_at is not None
    html = ask(en, order, django_capture_on_commit_callbacks).content.decode()
    assert 'data-state="pending"' in html
    assert 'data-testid="refund-form"' not in html  # one open request per order
    req = RefundRequest.objects.get(order=order)
    assert req.status == RefundRequest.Status.PENDING and req.refund is None
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    # sent again (a double submit): still the one request
    ask(en, order, django_capture_on_commit_callbacks)
    assert RefundRequest.objects.filter(order=order).count() == 1
    listing = en.get(reverse("orders")).content.decode()
    assert 'data-testid="refund-request-state" data-state="pending"' in listing
    assert 'data-testid="refund-link"' not in listing  # the request is waiting


def test_older_than_seven_days_waits_for_staff(
    en: Any, seeded: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    order = paid_course_order(seeded["alice"], credits=0)
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(days=8))
    ask(en, order, django_capture_on_commit_callbacks)
    assert RefundRequest.objects.get(order=order).status == RefundRequest.Status.PENDING


def test_a_reason_is_needed_and_only_own_orders(
    en: Any, client: Any, seeded: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    order = paid_course_order(seeded["alice"], credits=0)
    html = ask(en, order, django_capture_on_commit_callbacks, reason=" ").content.decode()
    assert "reason" in html and not RefundRequest.objects.exists()
    bad_line = ask(en, order, django_capture_on_commit_callbacks, whole="", lines="nope")
    assert "line" in bad_line.content.decode() and not RefundRequest.objects.exists()
    en.logout()
    en.force_login(seeded["bob"])
    answer = en.post(
        reverse("order-refund", args=[order.out_trade_no]), {"whole": "1", "reason": "mine"}
    )
    assert answer.status_code == 404 and not RefundRequest.objects.exists()
    assert en.get(reverse("order-refund", args=[order.out_trade_no])).status_code == 405
