"""The documentation site builds strictly (`mkdocs build --strict`: any warning — a broken link
or anchor, a page missing from the nav — fails), in both languages, with the API reference."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from .pages import LANGUAGES, ROOT

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None
    or importlib.util.find_spec("mkdocs_static_i18n") is None,
    reason="mkdocs / mkdocs-static-i18n not installed (pip install -e '.[docs]')",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the API reference hook uses tests.settings itself
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stdout}\n{run.stderr}"
    return out


def test_chinese_is_the_default_and_english_is_beside_it(site):
    zh = (site / "index.html").read_text(encoding="utf-8")
    en = (site / "en" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="zh"' in zh
    assert '<html lang="en"' in en


def built(site, language):
    """The language's part of the site: the root for the default language, else a folder."""
    folder = site / language
    return folder if (folder / "index.html").is_file() else site


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_api_reference_is_rendered_from_the_schema(site, language):
    page = (built(site, language) / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    for endpoint in (
        "POST /api/orders/",
        "POST /api/orders/{out_trade_no}/pay/",
        "GET /api/wallet/",
    ):
        assert endpoint in page
    assert 'id="schema-orderdetail"' in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_of_the_nav_is_built(site, language):
    for name in (
        "quickstart",
        "going-live",
        "sandbox",
        "notifications",
        "refunds",
        "wallet",
        "deployment",
        "migrating",
        "troubleshooting",
        "payments",
    ):
        page = built(site, language) / name / "index.html"
        assert page.is_file(), f"{language}: {name} missing"
        assert f'<html lang="{language}"' in page.read_text(encoding="utf-8")


def test_the_chinese_search_index_is_cut_into_words(site):
    # Without word segmentation (jieba) a Chinese sentence is one search token, and searching
    # for 退款 finds nothing; Material joins the words jieba finds with U+200B.
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    refunds = [d["text"] for d in index["docs"] if "退款" in d["text"]]
    assert refunds, "no Chinese page in the search index"
    assert any("\u200b退款\u200b" in text for text in refunds)
