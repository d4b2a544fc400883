"""The sample data (seed_demo), the languages (Chinese first, every message translated), the
demo's beat interval, and the offline API docs."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from courses.models import Coupon, Course, UserCoupon, ValidityOption
from django.core.management import call_command
from django.test import Client
from rewards.models import Article
from shop.models import Goods

from zhifu.models import LedgerEntry
from zhifu.services import wallet

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_chinese_by_default_english_on_request(seeded: dict[str, Any]) -> None:
    client = Client()
    zh = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in zh and "课程" in zh
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    en = client.get("/").content.decode()
    assert '<html lang="en">' in en and "Courses" in en


def test_seed_demo_is_idempotent(seeded: dict[str, Any]) -> None:
    counts = (
        Goods.objects.count(),
        Course.objects.count(),
        ValidityOption.objects.count(),
        Coupon.objects.count(),
        UserCoupon.objects.count(),
        Article.objects.count(),
        LedgerEntry.objects.count(),
    )
    call_command("seed_demo", verbosity=0)
    again = (
        Goods.objects.count(),
        Course.objects.count(),
        ValidityOption.objects.count(),
        Coupon.objects.count(),
        UserCoupon.objects.count(),
        Article.objects.count(),
        LedgerEntry.objects.count(),
    )
    assert again == counts and counts[0] > 0 and counts[-1] == 2
    assert wallet.balance(seeded["alice"]) == Decimal("200.00")


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


def test_my_coupons_tells_expired_and_not_yet_valid_apart(en: Any) -> None:
    page = en.get("/courses/coupons/").content.decode()
    status = dict(re.findall(r'data-testid="coupon-status-(\w+)">([^<]+)<', page))
    assert status["OLD5"] == "Expired"
    assert status["SOON15"] == "Not valid yet"
    assert status["TENOFF"] == "Available"


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
