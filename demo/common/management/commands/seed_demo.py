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

# Chinese first, like the tutorials. Each row has a stable ``code``: seeding finds rows by it (so
# running again creates nothing twice) and tests find them by it, never by title.
GOODS = [
    # code, name, description, price, picture
    ("mug", "支付宝沙箱马克杯", "给天天测试支付的开发者准备的马克杯。", "39.00", "☕"),
    ("keyboard", "机械键盘（青轴）", "青轴，声音大到整个办公室都知道你在写代码。", "369.00", "⌨"),
    ("notebook", "笔记本三件套", "三本笔记本，正好画订单状态机。", "12.30", "✎"),
    ("cable", "USB-C 数据线", "一米长，能充电也能传数据。", "19.90", "⚡"),
]

COURSES = [
    # code, title, teacher, summary, cover colour, lessons, [(days or None=permanent, price)]
    (
        "python",
        "Python 入门",
        "王磊",
        "变量、函数、面向对象和常用标准库：零基础写出第一个小程序。",
        "#2563eb",
        24,
        [(30, "49.00"), (90, "99.00"), (180, "159.00"), (None, "299.00")],
    ),
    (
        "payments",
        "Django 支付实战",
        "李娜",
        "订单、幂等的异步通知、退款与对账：用 Django 接入支付宝。",
        "#16a34a",
        16,
        [(30, "69.00"), (180, "199.00"), (None, "399.00")],
    ),
    (
        "vue",
        "Vue 前端开发",
        "张伟",
        "组件、路由，以及如何调用 DRF 接口。",
        "#9333ea",
        20,
        [(90, "79.00"), (None, "199.00")],
    ),
    (
        "postgres",
        "PostgreSQL 实战",
        "陈静",
        "索引、事务、行锁，以及 SELECT ... FOR UPDATE 到底做了什么。",
        "#ea580c",
        12,
        [(30, "29.00"), (90, "59.00"), (None, "149.00")],
    ),
]

ARTICLES = [
    # code, author, title, summary, body
    (
        "idempotent",
        "bob",
        "为什么支付宝异步通知的处理必须幂等",
        "支付宝收不到 success 就会一直重发通知。处理两次，就会记两次账。",
        "支付宝的异步通知会一遍又一遍地发送——4 分钟后、10 分钟后、1 小时后……直到你的服务器"
        "回复那 7 个字符 “success” 为止。\n\n"
        "如果每收到一次通知就给作者余额加一次钱，一次数据库变慢或者超时，一笔打赏就变成了两笔。"
        "先锁住订单行，检查状态，只改一次，然后再回复。",
    ),
    (
        "return-url",
        "bob",
        "同步跳转不是收据",
        "浏览器跳转回来的参数可能被伪造、丢失，也可能比异步通知先到。",
        "买家从收银台回来时，URL 上带着一组签过名的参数，却没有交易状态。把它当作一个提示："
        "去查询支付宝，或者等待异步通知。",
    ),
    (
        "decimal",
        "carol",
        "金额不要用浮点数",
        "0.1 + 0.2 不等于 0.3，而支付宝要的正好是两位小数。",
        "金额用两位小数的 Decimal 存储，以 “12.30” 这样的字符串发送，永远别让 float 靠近价格。"
        "财务会感谢你的。",
    ),
    (
        "expiry",
        "carol",
        "订单超时关闭，别把钱弄丢",
        "先在支付宝关闭交易，再把订单标记为超时。",
        "一个在本地已经超时的订单，下一秒仍可能在收银台被支付。先关闭交易；如果支付宝说已经付过了，"
        "那就是付过了——给用户发货，而不是取消。",
    ),
    (
        "first-week",
        "alice",
        "学 Django 的第一周",
        "第一周的笔记：模型、后台，还有一个小小的商城。",
        "我做了商品列表、购物车和订单页。下周：接入支付。",
    ),
]


# Sample data written before rows had a code was found by its English title: give those rows
# their code, so that a data directory from then is not seeded a second time.
EARLIER_TITLES = {
    "goods": {
        "mug": "Alipay sandbox mug",
        "keyboard": "Mechanical keyboard",
        "notebook": "Notebook set",
        "cable": "USB-C cable",
    },
    "courses": {
        "python": "Django from zero",
        "payments": "Payments done right",
        "vue": "Vue for back-end developers",
        "postgres": "PostgreSQL in practice",
    },
    "articles": {
        "idempotent": "Why your payment notification handler must be idempotent",
        "return-url": "The return URL is not a receipt",
        "decimal": "Money is not a float",
        "expiry": "Expiring unpaid orders without losing payments",
        "first-week": "A week of learning Django",
    },
}


def _adopt_earlier_rows(model: Any, field: str, titles: dict[str, str]) -> None:
    for code, title in titles.items():
        if not model.objects.filter(code=code).exists():
            model.objects.filter(code="", **{field: title}).update(code=code)


class Command(BaseCommand):
    help = "Load the demo's sample data (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        from courses.models import Course
        from rewards.models import Article
        from shop.models import Goods

        with transaction.atomic():
            _adopt_earlier_rows(Goods, "name", EARLIER_TITLES["goods"])
            _adopt_earlier_rows(Course, "title", EARLIER_TITLES["courses"])
            _adopt_earlier_rows(Article, "title", EARLIER_TITLES["articles"])
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

        for code, name, description, price, emoji in GOODS:
            Goods.objects.get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "description": description,
                    "price": Decimal(price),
                    "emoji": emoji,
                },
            )

    def _courses(self) -> None:
        from courses.models import Course, ValidityOption

        for code, title, teacher, summary, color, lessons, options in COURSES:
            course, _ = Course.objects.get_or_create(
                code=code,
                defaults={
                    "title": title,
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
                "新人券 满 99 减 20",
                "fixed",
                Decimal("20.00"),
                None,
                Decimal("99.00"),
                -1,
                90,
            ),
            ("TENOFF", "全场九折", "percent", None, 10, Decimal("0.00"), -1, 60),
            (
                "BIG50",
                "满 300 减 50",
                "fixed",
                Decimal("50.00"),
                None,
                Decimal("300.00"),
                -1,
                30,
            ),
            (
                "OLD5",
                "5 元券（已过期）",
                "fixed",
                Decimal("5.00"),
                None,
                Decimal("0.00"),
                -60,
                -1,
            ),
            ("SOON15", "下月八五折", "percent", None, 15, Decimal("0.00"), 30, 60),
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

        for code, author, title, summary, body in ARTICLES:
            Article.objects.get_or_create(
                code=code,
                defaults={
                    "author": users[author],
                    "title": title,
                    "summary": summary,
                    "body": body,
                },
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
