"""What the audit of issue 4 added: refunds and credits, CSRF everywhere but the notify view,
malformed and tampered input never answered with a 500, Alipay unreachable shown clearly,
Chinese-first sample data, and the demo's beat interval."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from courses import services
from courses.models import (
    Course,
    CreditAccount,
    CreditEntry,
    Enrollment,
    UserCoupon,
    ValidityOption,
)
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rewards.models import Article
from shop.models import Goods

from zhifu.models import Order
from zhifu.services import payments, refunds, wallet

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")


def option(code: str, days: int | None) -> ValidityOption:
    return ValidityOption.objects.get(course__code=code, days=days)


def _coupon(user: Any, code: str) -> UserCoupon:
    return UserCoupon.objects.get(user=user, coupon__code=code)


def _paid_course_order(alice: Any, *, credits: int) -> Order:
    """Python 入门 permanent (¥299) with the ¥20 coupon and ``credits`` credits, paid from the
    wallet (a refund of a balance payment goes back to the wallet: no gateway needed)."""
    order = services.checkout(
        alice,
        [option("python", None).pk],
        user_coupon_id=_coupon(alice, "WELCOME20").pk,
        credits=credits,
    )
    wallet.post_entry(alice, Decimal("500.00"), "adjustment", memo="test")
    payments.start_payment(order, "balance", user=alice)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


# --- refunds: credits in proportion, coupons not returned, access only revoked on a full refund


@pytest.fixture
def en(alice_client: Any) -> Any:
    """alice's client with the English language cookie (the site is Chinese by default)."""
    alice_client.cookies["django_language"] = "en"
    return alice_client


def _refund(capture: Any, order: Order, amount: Decimal | None = None) -> None:
    with capture(execute=True):  # the refund is executed after the commit
        refunds.refund_order(order, amount=amount, reason="test")


def test_partial_refunds_return_credits_in_proportion(
    seeded: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    alice = seeded["alice"]
    order = _paid_course_order(alice, credits=150)  # 299 − 20 − 15 = ¥264 paid
    assert order.total_amount == Decimal("264.00")
    account = CreditAccount.objects.get(user=alice)
    assert (account.balance, account.held) == (350, 0)

    _refund(capture, order, Decimal("66.00"))
    account.refresh_from_db()
    assert account.balance == 350 + 37  # floor(150 × 66 / 264) = floor(37.5)
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_REFUNDED
    enrollment = Enrollment.objects.get(user=alice, course__code="python")
    assert not enrollment.revoked  # a partial refund keeps access

    _refund(capture, order, Decimal("66.00"))
    account.refresh_from_db()
    assert account.balance == 350 + 75  # floor(150 × 132 / 264): cumulative, no rounding drift

    _refund(capture, order)  # the rest: every credit is back
    account.refresh_from_db()
    assert account.balance == 500
    returned = CreditEntry.objects.filter(order_no=order.out_trade_no, kind="return")
    assert sorted(e.amount for e in returned) == [37, 38, 75]
    enrollment.refresh_from_db()
    assert enrollment.revoked
    assert _coupon(alice, "WELCOME20").status == UserCoupon.Status.USED  # not given back


def test_full_refund_at_once_returns_all_credits_once(
    seeded: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    alice = seeded["alice"]
    order = _paid_course_order(alice, credits=100)
    _refund(django_capture_on_commit_callbacks, order)
    account = CreditAccount.objects.get(user=alice)
    assert account.balance == 500
    assert CreditEntry.objects.filter(order_no=order.out_trade_no, kind="return").count() == 1
    assert Course.objects.get(code="python").students == 0


# --- CSRF ------------------------------------------------------------------------------------


def _walk(resolver: URLResolver, prefix: str = "") -> list[tuple[str, Any]]:
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            found += _walk(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            found.append((prefix + str(entry.pattern), entry.callback))
    return found


def test_only_the_alipay_notify_view_is_csrf_exempt() -> None:
    """Every Django view keeps CSRF, except Zhifu's notify view. DRF views are marked exempt by
    DRF itself and do their own check: session auth enforces CSRF, JWT is a header, not a cookie."""
    from rest_framework.authentication import SessionAuthentication
    from rest_framework.views import APIView
    from rest_framework_simplejwt.authentication import JWTAuthentication

    exempt = []
    for route, callback in _walk(get_resolver()):
        if not getattr(callback, "csrf_exempt", False):
            continue
        view_class = getattr(callback, "cls", None)
        if view_class is not None and issubclass(view_class, APIView):
            for auth in view_class().get_authenticators():
                assert isinstance(auth, (SessionAuthentication, JWTAuthentication)), (route, auth)
            continue
        exempt.append(route)
    assert exempt == ["zhifu/alipay/notify/"]


def test_api_with_a_session_cookie_needs_the_csrf_token(seeded: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(seeded["alice"])
    mug = Goods.objects.get(code="mug")
    response = client.post(
        "/api/orders/", {"items": [{"sku": mug.sku}]}, content_type="application/json"
    )
    assert response.status_code == 403
    assert not Order.objects.exists()


# --- malformed and tampered input -------------------------------------------------------------


@pytest.mark.parametrize(
    "path,data",
    [
        ("/courses/cart/", {"action": "remove:abc"}),
        ("/courses/cart/", {"action": "remove:"}),
        ("/courses/cart/", {"selected": ["x", "1"], "option-1": "999", "action": "checkout"}),
        ("/courses/cart/add/", {"option": "x"}),
        ("/courses/checkout/", {"option": "1", "action": "place", "credits": "1e5"}),
        ("/courses/checkout/", {"option": "1", "action": "place", "credits": "9" * 30}),
        ("/courses/checkout/", {"option": "1", "action": "place", "coupon": "9" * 30}),
        ("/articles/ARTICLE/reward/", {"amount": "NaN", "channel": "balance"}),
        ("/articles/ARTICLE/reward/", {"amount": "1e400", "channel": "balance"}),
        ("/articles/ARTICLE/reward/", {"amount": "5", "channel": "wechat"}),
        ("/wallet/top-up/", {"amount": "Infinity"}),
        ("/wallet/top-up/", {"amount": "-1"}),
        ("/orders/NOPE/pay/", {"channel": "balance"}),
        ("/orders/NOPE/cancel/", {}),
    ],
)
def test_malformed_form_input_never_answers_500(
    alice_client: Any, path: str, data: dict[str, Any]
) -> None:
    article = Article.objects.exclude(author__username="alice").first()
    assert article is not None
    response = alice_client.post(path.replace("ARTICLE", str(article.pk)), data)
    assert response.status_code in (200, 302, 404), response.status_code
    assert not Order.objects.filter(status=Order.Status.PAID).exists()


@pytest.mark.parametrize("quantity", ["abc", "-5", "0", "1e9", "100"])
def test_goods_quantity_out_of_range_is_refused_with_a_message(en: Any, quantity: str) -> None:
    mug = Goods.objects.get(code="mug")
    response = en.post(f"/shop/{mug.pk}/buy/", {"quantity": quantity}, follow=True)
    assert "Enter a quantity from 1 to 99." in response.content.decode()
    assert not Order.objects.exists()


def test_prices_and_totals_sent_by_the_browser_are_ignored(alice_client: Any) -> None:
    mug = Goods.objects.get(code="mug")
    alice_client.post(
        f"/shop/{mug.pk}/buy/", {"quantity": "2", "price": "0.01", "total_amount": "0.01"}
    )
    order = Order.objects.get()
    assert order.total_amount == Decimal("78.00")


def test_another_users_order_number_is_not_found(alice_client: Any, seeded: dict[str, Any]) -> None:
    mug = Goods.objects.get(code="mug")
    bob = Client()
    bob.force_login(seeded["bob"])
    bob.post(f"/shop/{mug.pk}/buy/")
    order = Order.objects.get(user=seeded["bob"])
    no = order.out_trade_no
    for method, path in [
        ("get", f"/orders/{no}/"),
        ("get", f"/orders/{no}/pay/"),
        ("post", f"/orders/{no}/pay/"),
        ("post", f"/orders/{no}/cancel/"),
        ("get", f"/orders/{no}/status/"),
        ("get", f"/api/orders/{no}/"),
        ("post", f"/api/orders/{no}/pay/"),
        ("post", f"/api/orders/{no}/cancel/"),
    ]:
        response = getattr(alice_client, method)(path, {"channel": "balance"})
        assert response.status_code == 404, (method, path, response.status_code)
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


def test_paying_an_already_paid_order_says_so(en: Any, seeded: dict[str, Any]) -> None:
    alice_client = en
    mug = Goods.objects.get(code="mug")
    alice_client.post(f"/shop/{mug.pk}/buy/")
    order = Order.objects.get()
    alice_client.post(f"/orders/{order.out_trade_no}/pay/", {"channel": "balance"})
    before = wallet.balance(seeded["alice"])
    again = alice_client.post(
        f"/orders/{order.out_trade_no}/pay/", {"channel": "balance"}, follow=True
    )
    assert "This order has already been paid." in again.content.decode()
    assert wallet.balance(seeded["alice"]) == before  # not charged twice


def test_api_malformed_reward_and_order_requests_are_400s(alice_client: Any) -> None:
    article = Article.objects.exclude(author__username="alice").first()
    assert article is not None
    for body in (
        {"amount": "abc"},
        {"amount": None},
        {"amount": ["5"]},
        {"amount": "5", "channel": "x"},
        {"amount": "1e400", "channel": "balance"},
        {"amount": "5", "message": {"a": 1}},
    ):
        response = alice_client.post(
            f"/api/articles/{article.pk}/rewards/", body, content_type="application/json"
        )
        assert response.status_code == 400, body
        assert response.json()["error"]["code"], body
    broken = alice_client.post(
        f"/api/articles/{article.pk}/rewards/", "{", content_type="application/json"
    )
    assert broken.status_code == 400
    unknown = alice_client.post(
        "/api/orders/", {"items": [{"sku": "goods:1:"}]}, content_type="application/json"
    )
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_sku"
    assert not Order.objects.exists()


# --- Alipay unreachable ------------------------------------------------------------------------


@pytest.fixture
def dead_gateway(settings: Any, tmp_path: Any) -> Any:
    """Zhifu configured with a real sandbox app's keys, then the sandbox stopped: every call to
    the gateway meets a closed port."""
    from zhifu.sandbox.testing import SandboxServer

    with SandboxServer(tmp_path / "sandbox") as sandbox:
        app = sandbox.default_app
        gateway = sandbox.gateway_url
    settings.ZHIFU = {
        **settings.ZHIFU,
        "APP_ID": app.app_id,
        "SELLER_ID": app.seller_id,
        "APP_PRIVATE_KEY": app.app_private_key_pem,
        "APP_PUBLIC_KEY": app.app_public_key_pem,
        "ALIPAY_PUBLIC_KEY": app.alipay_public_key_pem,
        "GATEWAY_URL": gateway,
        "HTTP_TIMEOUT": 3,
    }
    return gateway


UNREACHABLE = "Alipay cannot be reached right now"


def test_alipay_unreachable_qr_pay_shows_a_message(alice_client: Any, dead_gateway: str) -> None:
    """In Chinese, the default."""
    mug = Goods.objects.get(code="mug")
    alice_client.post(f"/shop/{mug.pk}/buy/")
    order = Order.objects.get()
    response = alice_client.post(f"/orders/{order.out_trade_no}/pay/", {"channel": "alipay_qr"})
    assert response.status_code == 200
    assert "暂时无法连接支付宝" in response.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


def test_alipay_unreachable_result_page_and_reward_and_api(en: Any, dead_gateway: str) -> None:
    alice_client = en
    mug = Goods.objects.get(code="mug")
    alice_client.post(f"/shop/{mug.pk}/buy/")
    order = Order.objects.get()
    # page pay only signs a URL, but the buyer is told before being sent to a dead cashier
    pay = alice_client.post(f"/orders/{order.out_trade_no}/pay/", {"channel": "alipay_page"})
    assert pay.status_code == 200 and UNREACHABLE in pay.content.decode()
    # the result page asks Alipay, which is down
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    page = alice_client.get(f"/orders/{order.out_trade_no}/?check=0")  # back from Alipay
    assert page.status_code == 200 and UNREACHABLE in page.content.decode()

    article = Article.objects.exclude(author__username="alice").first()
    assert article is not None
    for channel in ("alipay_qr", "alipay_page", "alipay_wap"):
        reward = alice_client.post(
            f"/articles/{article.pk}/reward/", {"amount": "5", "channel": channel}, follow=True
        )
        assert reward.status_code == 200 and UNREACHABLE in reward.content.decode(), channel
        assert reward.redirect_chain[-1][0].endswith("/pay/")  # the pay page, to try again

    api = alice_client.post(
        f"/api/orders/{order.out_trade_no}/pay/",
        {"channel": "alipay_qr"},
        content_type="application/json",
    )
    assert api.status_code >= 500 and api.status_code != 500
    assert api.json()["error"]["code"] == "gateway_unavailable"


# --- sample data and the beat --------------------------------------------------------------------


def test_sample_data_is_chinese_first_with_several_authors(seeded: dict[str, Any]) -> None:
    for title in [
        *Goods.objects.values_list("name", flat=True),
        *Course.objects.values_list("title", flat=True),
        *Article.objects.values_list("title", flat=True),
    ]:
        assert CJK.search(title), title
    assert Course.objects.filter(title="Python 入门").exists()
    authors = set(Article.objects.values_list("author__username", flat=True))
    assert len(authors) >= 3
    assert all(code for code in Goods.objects.values_list("code", flat=True))


def test_demo_beat_seconds_reschedules_zhifus_jobs(settings: Any) -> None:
    from demo_site.celery import demo_beat_schedule

    from zhifu.tasks import BEAT_SCHEDULE

    settings.DEMO_BEAT_SECONDS = None
    assert demo_beat_schedule(BEAT_SCHEDULE, {}) == BEAT_SCHEDULE
    settings.DEMO_BEAT_SECONDS = 3.0
    fast = demo_beat_schedule(BEAT_SCHEDULE, {"site-job": {"task": "x", "schedule": 99.0}})
    assert {name: entry["schedule"] for name, entry in fast.items()} == {
        **{name: 3.0 for name in BEAT_SCHEDULE},
        "site-job": 99.0,
    }
    assert {entry["task"] for entry in fast.values()} >= {"zhifu.expire_orders"}


def test_a_course_bought_through_the_api_enrolls_and_shows_in_my_orders(
    en: Any, seeded: dict[str, Any]
) -> None:
    course_option = option("vue", None)
    mug = Goods.objects.get(code="mug")
    created = en.post(
        "/api/orders/",
        {"items": [{"sku": course_option.sku}, {"sku": mug.sku, "quantity": 2}]},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    no = created.json()["out_trade_no"]
    assert created.json()["total_amount"] == "277.00"  # 199 + 2 × 39, priced by the server
    wallet.post_entry(seeded["alice"], Decimal("100.00"), "adjustment", memo="test")
    paid = en.post(f"/api/orders/{no}/pay/", {"channel": "balance"}, "application/json")
    assert paid.status_code == 200 and paid.json()["paid"], paid.content
    enrollment = Enrollment.objects.get(user=seeded["alice"], course=course_option.course)
    assert enrollment.expires_at is None
    assert Goods.objects.get(code="mug").sold == 2
    page = en.get("/orders/").content.decode()
    assert "Permanent" in page and 'data-testid="study"' in page


def test_my_coupons_tells_expired_and_not_yet_valid_apart(en: Any) -> None:
    page = en.get("/courses/coupons/").content.decode()
    status = dict(re.findall(r'data-testid="coupon-status-(\w+)">([^<]+)<', page))
    assert status["OLD5"] == "Expired"
    assert status["SOON15"] == "Not valid yet"
    assert status["TENOFF"] == "Available"


def test_my_orders_shows_what_was_refunded(
    en: Any, seeded: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    order = _paid_course_order(seeded["alice"], credits=0)
    _refund(django_capture_on_commit_callbacks, order, Decimal("30.00"))
    page = en.get("/orders/").content.decode()
    assert "refunded ¥30.00" in page and "Partially refunded" in page
    assert 'data-testid="study"' in page  # a partial refund keeps access


def test_every_message_has_a_chinese_translation() -> None:
    """The .po (refreshed with makemessages + locale/translate_zh.py) has no empty or fuzzy
    entry, and the compiled catalogue answers in Chinese for strings added by the audit."""
    from pathlib import Path

    from django.utils import translation

    po = Path(__file__).resolve().parents[1] / "locale/zh_Hans/LC_MESSAGES/django.po"
    blocks = po.read_text(encoding="utf-8").split("\n\n")[1:]  # the header has an empty msgid
    empty = [b for b in blocks if b.rstrip().endswith(('msgstr ""', 'msgstr[0] ""'))]
    assert not empty, empty[:3]
    assert not [b for b in blocks if "#, fuzzy" in b]
    with translation.override("zh-hans"):
        assert translation.gettext("Not valid yet") == "尚未生效"
        assert translation.gettext("Paid with") == "支付方式"


def test_api_docs_need_no_internet(seeded: dict[str, Any]) -> None:
    import importlib.util

    if importlib.util.find_spec("drf_spectacular_sidecar") is None:
        pytest.skip(
            "drf-spectacular-sidecar is not installed: /api/docs/ loads Swagger UI from a CDN"
        )
    page = Client().get("/api/docs/").content.decode()
    assert "swagger-ui-bundle.js" in page
    assert "cdn.jsdelivr.net" not in page


def test_result_page_asks_alipay_only_when_coming_back_and_not_forever(
    en: Any, dead_gateway: str
) -> None:
    mug = Goods.objects.get(code="mug")
    en.post(f"/shop/{mug.pk}/buy/")
    order = Order.objects.get()
    payments.start_payment(order, "alipay_page", user=order.user)
    url = f"/orders/{order.out_trade_no}/"
    plain = en.get(url).content.decode()  # from "my orders": no question to Alipay
    assert "Awaiting payment" in plain and UNREACHABLE not in plain
    assert 'http-equiv="refresh"' not in plain
    back = en.get(url + "?check=0").content.decode()  # back from the cashier
    assert "Waiting for Alipay" in back and UNREACHABLE in back
    assert 'content="3;url=?check=1"' in back
    last = en.get(url + "?check=20").content.decode()  # a minute later: stop refreshing
    assert 'http-equiv="refresh"' not in last and "I have paid: check again" in last


def test_api_course_checkout_with_coupon_and_credits(en: Any, seeded: dict[str, Any]) -> None:
    """What the tutorials' Vue client does at checkout, through the API alone."""
    mine = en.get("/api/me/coupons/").json()
    assert mine["credits"] == {"balance": 500, "held": 0, "available": 500, "credits_per_yuan": 10}
    welcome = next(c for c in mine["coupons"] if c["code"] == "WELCOME20")
    old = next(c for c in mine["coupons"] if c["code"] == "OLD5")
    skus = [option("python", 90).sku, option("payments", None).sku]

    quote = en.post(
        "/api/courses/quote/",
        {"skus": skus, "coupon": welcome["id"], "credits": 100},
        content_type="application/json",
    ).json()
    assert (quote["subtotal"], quote["total"], quote["errors"]) == ("498.00", "468.00", [])
    expired = en.post(
        "/api/courses/quote/", {"skus": skus, "coupon": old["id"]}, content_type="application/json"
    ).json()
    assert any("expired" in e for e in expired["errors"])

    refused = en.post(
        "/api/courses/checkout/",
        {"skus": skus, "coupon": old["id"]},
        content_type="application/json",
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "checkout_invalid"
    goods = en.post(
        "/api/courses/checkout/",
        {"skus": [Goods.objects.get(code="mug").sku]},
        content_type="application/json",
    )
    assert goods.status_code == 400 and goods.json()["error"]["code"] == "unknown_sku"
    body: dict[str, Any]
    for body in (
        {"skus": []},
        {"skus": "x"},
        {"skus": skus, "credits": -1},
        {"skus": skus, "coupon": "x"},
    ):
        bad = en.post("/api/courses/checkout/", body, content_type="application/json")
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request", body

    wallet.post_entry(seeded["alice"], Decimal("300.00"), "adjustment", memo="test")
    created = en.post(
        "/api/courses/checkout/",
        {"skus": skus, "coupon": welcome["id"], "credits": 100, "channel": "balance"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["paid"] and created.json()["total_amount"] == "468.00"
    after = en.get("/api/me/coupons/").json()
    assert after["credits"]["balance"] == 400
    assert next(c for c in after["coupons"] if c["code"] == "WELCOME20")["status"] == "used"
    assert Enrollment.objects.filter(user=seeded["alice"]).count() == 2


def test_refunding_a_reward_takes_it_back_from_the_author(
    seeded: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    from rewards.models import Reward
    from rewards.services import create_reward

    alice, bob = seeded["alice"], seeded["bob"]
    article = Article.objects.filter(author=bob).first()
    assert article is not None
    order = create_reward(alice, article, "20", "", "balance")
    payments.start_payment(order, "balance", user=alice)
    order.refresh_from_db()
    _refund(django_capture_on_commit_callbacks, order, Decimal("5.00"))
    assert wallet.balance(bob) == Decimal("65.00")  # 50 + 20 − 5
    article.refresh_from_db()
    assert article.reward_count == 1  # still rewarded after a partial refund

    wallet.post_entry(bob, Decimal("-65.00"), "adjustment", memo="bob spent it all")
    _refund(django_capture_on_commit_callbacks, order)  # the rest, the author's wallet is empty
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert wallet.balance(bob) == Decimal("0.00")  # never negative; the shortfall is logged
    assert wallet.balance(alice) == Decimal("200.00")  # the buyer got everything back
    article.refresh_from_db()
    assert (article.reward_count, article.reward_total) == (0, Decimal("0.00"))
    assert Reward.objects.get(order=order).status == "refunded"
    assert not wallet.audit()


def test_seeding_a_data_directory_from_before_the_codes_adds_no_duplicates(
    seeded: dict[str, Any],
) -> None:
    from django.core.management import call_command

    # what an earlier seed_demo left: English titles, no codes
    Goods.objects.filter(code="mug").update(code="", name="Alipay sandbox mug")
    Course.objects.filter(code="python").update(code="", title="Django from zero")
    Article.objects.filter(code="decimal").update(code="", title="Money is not a float")
    counts = (Goods.objects.count(), Course.objects.count(), Article.objects.count())
    call_command("seed_demo", verbosity=0)
    assert (Goods.objects.count(), Course.objects.count(), Article.objects.count()) == counts
    assert Goods.objects.get(code="mug").name == "Alipay sandbox mug"  # adopted, not replaced
