"""Runs inside the demo site (its settings, its database), in a process of its own:
``python -m tests.reliability.sitectl <command> '<json>'`` prints one JSON answer, and
``python -m tests.reliability.sitectl serve`` answers commands read from stdin.

The reliability tests drive the site over HTTP and read its state through this script only, so
that the test process (configured with ``tests.settings``) never imports the demo's apps.
"""

from __future__ import annotations

import json
import operator
import os
import sys
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from functools import reduce
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_site.settings")


def seed(spec: dict[str, Any]) -> dict[str, Any]:
    """Users (with wallet money and an access token), goods, courses and articles."""
    from courses.models import Course, ValidityOption
    from django.contrib.auth import get_user_model
    from rest_framework_simplejwt.tokens import RefreshToken
    from rewards.models import Article
    from shop.models import Goods

    from zhifu import wallet

    prefix = spec["prefix"]
    users: dict[str, Any] = {}
    for name in spec.get("users", []):
        user = get_user_model().objects.create_user(f"{prefix}-{name}", password="pw-reliab-1")
        money = spec.get("wallet", {}).get(name)
        if money:
            wallet.post_entry(user, Decimal(money), "adjustment", memo="reliability seed")
        users[name] = {"id": user.pk, "token": str(RefreshToken.for_user(user).access_token)}
    if spec.get("staff"):  # may refund (zhifu.add_refund), through the API
        from django.contrib.auth.models import Permission

        staff = get_user_model().objects.create_user(
            f"{prefix}-staff", password="pw-reliab-1", is_staff=True
        )
        staff.user_permissions.add(
            *Permission.objects.filter(
                content_type__app_label="zhifu", codename__in=["add_refund", "view_refund"]
            )
        )
        users["staff"] = {"id": staff.pk, "token": str(RefreshToken.for_user(staff).access_token)}
    goods = [
        Goods.objects.create(name=f"{prefix} goods {i}", price=Decimal("1.00")).pk
        for i in range(spec.get("goods", 0))
    ]
    courses = []
    for i in range(spec.get("courses", 0)):
        course = Course.objects.create(title=f"{prefix} course {i}", teacher="T")
        option = ValidityOption.objects.create(course=course, days=30, price=Decimal("2.00"))
        courses.append({"id": course.pk, "sku": option.sku})
    articles = {}
    for name in spec.get("articles", []):
        author = get_user_model().objects.get(pk=users[name]["id"])
        articles[name] = Article.objects.create(author=author, title=f"{prefix} by {name}").pk
    return {"users": users, "goods": goods, "courses": courses, "articles": articles}


def reconcile(spec: dict[str, Any]) -> dict[str, Any]:
    """The reconcile job, every open attempt (as after an outage), ``hours`` from now."""
    from django.utils import timezone

    from zhifu.services.reconcile import reconcile_payments

    now = timezone.now() + timedelta(hours=spec.get("hours", 0))
    report = reconcile_payments(now=now, everything=True)
    return {
        "checked": report.checked,
        "paid": report.paid,
        "errors": report.errors,
        "swept": report.swept,
    }


def retry_refunds(spec: dict[str, Any]) -> dict[str, Any]:
    from zhifu.services.refunds import retry_refunds as retry

    result = retry()
    return {"result": str(result)}


def audit(spec: dict[str, Any]) -> dict[str, Any]:
    """What happened to ``orders`` (order numbers) and the seeded rows: statuses, attempts,
    notifications, refunds, ledger entries, counters, enrollments, rewards, wallet audit."""
    from courses.models import Course, EnrollmentGrant
    from django.db.models import Q
    from rewards.models import Reward
    from shop.models import Goods

    from zhifu import wallet
    from zhifu.models import LedgerEntry, Notification, Order, PaymentAttempt, Refund

    numbers = spec.get("orders", [])
    orders = {o.out_trade_no: o for o in Order.objects.filter(out_trade_no__in=numbers)}
    attempts: Counter[str] = Counter()
    attempt_numbers: list[str] = []
    paid_attempts: Counter[str] = Counter()
    extra_attempts: Counter[str] = Counter()
    for a in PaymentAttempt.objects.filter(order__out_trade_no__in=numbers).select_related("order"):
        attempts[a.order.out_trade_no] += 1
        attempt_numbers.append(a.out_trade_no)
        if a.status == PaymentAttempt.Status.SUCCEEDED:
            paid_attempts[a.order.out_trade_no] += 1
        elif a.status == PaymentAttempt.Status.EXTRA:
            extra_attempts[a.order.out_trade_no] += 1
    # WeChat's notifications are encrypted: their event ids (in the clear) find them
    needles = [*attempt_numbers, *spec.get("notification_ids", [])]
    in_body = reduce(operator.or_, (Q(body__contains=n) for n in needles), Q(pk__in=[]))
    outcomes = Counter(Notification.objects.filter(in_body).values_list("outcome", flat=True))
    refunds: dict[str, list[dict[str, Any]]] = {}
    for r in Refund.objects.filter(order__out_trade_no__in=numbers).select_related("order"):
        refunds.setdefault(r.order.out_trade_no, []).append(
            {"amount": str(r.amount), "status": r.status, "automatic": r.automatic}
        )
    ledger: dict[str, list[str]] = {}
    for e in LedgerEntry.objects.filter(order__out_trade_no__in=numbers).select_related("order"):
        assert e.order is not None
        ledger.setdefault(e.order.out_trade_no, []).append(e.kind)
    grants = Counter(
        EnrollmentGrant.objects.filter(order_no__in=numbers).values_list("order_no", flat=True)
    )
    rewards = {
        r.order.out_trade_no: r.status
        for r in Reward.objects.filter(order__out_trade_no__in=numbers).select_related("order")
    }
    lines: dict[str, dict[str, int]] = {}
    for o in orders.values():
        lines[o.out_trade_no] = {line.sku: line.quantity for line in o.lines.all()}
    return {
        "orders": {
            no: {
                "status": o.status,
                "kind": o.kind,
                "total": str(o.total_amount),
                "refunded": str(o.refunded_amount),
                "needs_attention": o.needs_attention,
                "attempts": attempts[no],
                "paid_attempts": paid_attempts[no],
                "extra_attempts": extra_attempts[no],
                "lines": lines[no],
            }
            for no, o in orders.items()
        },
        "notification_outcomes": dict(outcomes),
        # a failed or unprocessed notification may be linked to nothing (its transaction rolled
        # back): found by the trade number in its body
        "errors": dict(
            Counter(
                (detail.strip().splitlines() or ["?"])[0][:100]
                for detail in Notification.objects.filter(
                    in_body, outcome=Notification.Outcome.ERROR
                ).values_list("detail", flat=True)
            )
        ),
        "unprocessed": Notification.objects.filter(
            in_body, outcome=Notification.Outcome.RECEIVED
        ).count(),
        "refunds": refunds,
        "ledger": ledger,
        "grants": dict(grants),
        "rewards": rewards,
        "goods_sold": {
            str(g.pk): g.sold for g in Goods.objects.filter(pk__in=spec.get("goods", []))
        },
        "students": {
            str(c.pk): c.students for c in Course.objects.filter(pk__in=spec.get("courses", []))
        },
        "wallets": {
            str(uid): str(wallet.balance(type("U", (), {"pk": uid})()))
            for uid in spec.get("users", [])
        },
        "wallet_mismatches": len(wallet.audit()),
    }


def wechat(spec: dict[str, Any]) -> dict[str, Any]:
    """How the site is configured for WeChat Pay: the providers offered, the WeChat Pay
    provider's own checks, its key mode and where WeChat is told to notify."""
    from django.conf import settings

    from zhifu.providers import registry

    names = [p.name for p in registry.all_providers()]
    conf = settings.ZHIFU.get("WECHATPAY") or {}
    return {
        "providers": names,
        "checks": [f"{m.id}: {m.msg}" for m in registry.get("wechatpay").check()]
        if "wechatpay" in names
        else [],
        "public_key_mode": bool(conf.get("PUBLIC_KEY")) and not conf.get("PLATFORM_CERT_DIR"),
        "notify_url": conf.get("NOTIFY_URL", ""),
        "gateway_url": conf.get("GATEWAY_URL", ""),
    }


COMMANDS = {
    "seed": seed,
    "reconcile": reconcile,
    "retry_refunds": retry_refunds,
    "audit": audit,
    "wechat": wechat,
}


def serve() -> None:
    """One command a line on stdin (``{"command": ..., "arg": ...}``), one JSON answer a line on
    stdout (``{"result": ...}`` or ``{"error": traceback}``): Django starts once per site."""
    import traceback

    from django.db import connection

    for line in sys.stdin:
        request = json.loads(line)
        connection.close()  # a fresh connection each time: the database may have restarted
        answer: dict[str, Any]
        try:
            answer = {"result": COMMANDS[request["command"]](request.get("arg") or {})}
        except Exception:  # reported to the test, which raises it
            answer = {"error": traceback.format_exc()}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


def main() -> None:
    import django

    django.setup()
    if sys.argv[1] == "serve":
        serve()
        return
    command, arg = sys.argv[1], json.loads(sys.argv[2] if len(sys.argv) > 2 else "{}")
    print(json.dumps(COMMANDS[command](arg)))


if __name__ == "__main__":
    main()
