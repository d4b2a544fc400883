"""Load the demo's sample data: users, goods, courses with validity options, coupons, articles,
credits and wallet balances. Idempotent: running it again creates nothing twice."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

DEMO_PASSWORD = "zhifu-demo"  # noqa: S105 - shown on the login page: it is a demo
START_BALANCE_MEMO = "demo starting balance"

USERS = [
    # username, staff?, wallet, credits
    ("alice", False, Decimal("200.00"), 500),
    ("bob", False, Decimal("50.00"), 200),
    ("carol", False, Decimal("0.00"), 0),
    ("admin", True, Decimal("0.00"), 0),
]

GOODS = [
    ("Alipay sandbox mug", "A mug for the developer who tests payments.", "39.00", "☕"),
    ("Mechanical keyboard", "Blue switches, loud enough for an open office.", "369.00", "⌨️"),
    ("Notebook set", "Three notebooks for your order-state diagrams.", "12.30", "📓"),
    ("USB-C cable", "One metre; it charges and it syncs.", "19.90", "🔌"),
]

COURSES = [
    (
        "Django from zero",
        "Wang Lei",
        "Models, views, templates and the admin: build and deploy a real site.",
        "#2563eb",
        24,
        [(30, "49.00"), (90, "99.00"), (180, "159.00"), (None, "299.00")],
    ),
    (
        "Payments done right",
        "Li Na",
        "Orders, idempotent notifications, refunds and reconciliation with Alipay.",
        "#16a34a",
        16,
        [(30, "69.00"), (180, "199.00"), (None, "399.00")],
    ),
    (
        "Vue for back-end developers",
        "Zhang Wei",
        "Components, routing and talking to a DRF API.",
        "#9333ea",
        20,
        [(90, "79.00"), (None, "199.00")],
    ),
    (
        "PostgreSQL in practice",
        "Chen Jing",
        "Indexes, transactions, row locks and what SELECT ... FOR UPDATE really does.",
        "#ea580c",
        12,
        [(30, "29.00"), (90, "59.00"), (None, "149.00")],
    ),
]

ARTICLES = [
    (
        "bob",
        "Why your payment notification handler must be idempotent",
        "Alipay retries its notification until it hears “success”. Handle it twice, pay twice.",
        "Alipay sends the asynchronous notification again and again — after 4 minutes, 10 "
        "minutes, an hour — until your server answers with the seven characters “success”.\n\n"
        "If your handler adds the reward to the author's balance each time, a slow database or a "
        "timeout turns one reward into two. Lock the order row, check its status, change it once, "
        "and only then answer.",
    ),
    (
        "bob",
        "The return URL is not a receipt",
        "The browser redirect can be forged, lost, or arrive before the notification.",
        "When the buyer comes back from the cashier, the URL carries a signed set of parameters, "
        "but no trade status. Treat it as a hint: query Alipay, or wait for the notification.",
    ),
    (
        "carol",
        "Money is not a float",
        "0.1 + 0.2 is not 0.3, and Alipay wants exactly two decimal places.",
        "Store amounts as decimals with two places, send them as strings like “12.30”, and never "
        "let a float near a price. Your accountant will thank you.",
    ),
    (
        "carol",
        "Expiring unpaid orders without losing payments",
        "Close the trade at Alipay before you call an order expired.",
        "An order that expires locally may still be paid at the cashier a second later. Close the "
        "trade first; if Alipay says it is already paid, it is paid — fulfil it instead.",
    ),
    (
        "alice",
        "A week of learning Django",
        "Notes from my first week: models, the admin, and a tiny shop.",
        "I built a goods list, a cart and an order page. Next week: payments.",
    ),
]


class Command(BaseCommand):
    help = "Load the demo's sample data (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            users = self._users()
            self._goods()
            self._courses()
            self._coupons(users)
            self._articles(users)
            self._credits(users)
        self._wallets(users)
        self.stdout.write(self.style.SUCCESS("Sample data ready."))
        names = ", ".join(u for u, *_ in USERS)
        self.stdout.write(f"Demo users (password {DEMO_PASSWORD}): {names}")

    def _users(self) -> dict[str, Any]:
        user_model = get_user_model()
        users = {}
        for username, staff, _wallet, _credits in USERS:
            user, created = user_model.objects.get_or_create(
                username=username,
                defaults={
                    "email": f"{username}@example.com",
                    "is_staff": staff,
                    "is_superuser": staff,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            users[username] = user
        return users

    def _goods(self) -> None:
        from shop.models import Goods

        for name, description, price, emoji in GOODS:
            Goods.objects.get_or_create(
                name=name,
                defaults={"description": description, "price": Decimal(price), "emoji": emoji},
            )

    def _courses(self) -> None:
        from courses.models import Course, ValidityOption

        for title, teacher, summary, color, lessons, options in COURSES:
            course, _ = Course.objects.get_or_create(
                title=title,
                defaults={
                    "teacher": teacher,
                    "summary": summary,
                    "color": color,
                    "lessons": lessons,
                },
            )
            for days, price in options:
                ValidityOption.objects.get_or_create(
                    course=course, days=days, defaults={"price": Decimal(price)}
                )

    def _coupons(self, users: dict[str, Any]) -> None:
        from courses.models import Coupon, UserCoupon

        now = timezone.now()
        specs = [
            (
                "WELCOME20",
                "¥20 welcome coupon",
                "fixed",
                Decimal("20.00"),
                None,
                Decimal("99.00"),
                -1,
                90,
            ),
            ("TENOFF", "10% off everything", "percent", None, 10, Decimal("0.00"), -1, 60),
            (
                "BIG50",
                "¥50 off big orders",
                "fixed",
                Decimal("50.00"),
                None,
                Decimal("300.00"),
                -1,
                30,
            ),
            (
                "OLD5",
                "¥5 coupon (expired)",
                "fixed",
                Decimal("5.00"),
                None,
                Decimal("0.00"),
                -60,
                -1,
            ),
            ("SOON15", "15% off next month", "percent", None, 15, Decimal("0.00"), 30, 60),
        ]
        for code, name, kind, amount, percent, min_spend, start, end in specs:
            coupon, _ = Coupon.objects.get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "kind": kind,
                    "amount_off": amount,
                    "percent_off": percent,
                    "min_spend": min_spend,
                    "valid_from": now + timedelta(days=start),
                    "valid_until": now + timedelta(days=end),
                },
            )
            for username in ("alice", "bob", "carol"):
                UserCoupon.objects.get_or_create(user=users[username], coupon=coupon)

    def _articles(self, users: dict[str, Any]) -> None:
        from rewards.models import Article

        for author, title, summary, body in ARTICLES:
            Article.objects.get_or_create(
                title=title, defaults={"author": users[author], "summary": summary, "body": body}
            )

    def _credits(self, users: dict[str, Any]) -> None:
        from courses.models import CreditEntry
        from courses.services import grant_credits

        for username, _staff, _wallet, credits in USERS:
            user = users[username]
            if (
                credits
                and not CreditEntry.objects.filter(
                    user=user, kind=CreditEntry.Kind.GRANT, memo="welcome credits"
                ).exists()
            ):
                grant_credits(user, credits, "welcome credits")

    def _wallets(self, users: dict[str, Any]) -> None:
        from zhifu.models import LedgerEntry
        from zhifu.services import wallet

        for username, _staff, amount, _credits in USERS:
            user = users[username]
            if amount <= 0:
                continue
            if LedgerEntry.objects.filter(wallet__user=user, memo=START_BALANCE_MEMO).exists():
                continue
            wallet.post_entry(user, amount, "adjustment", memo=START_BALANCE_MEMO)
