"""Every page exists in both languages: Simplified Chinese (the site's default) and English."""

from __future__ import annotations

import re

from .pages import DOCS, markdown_pages

# Pages kept in English only, and why. They stay unsuffixed (<name>.md), so that the Chinese site
# shows the English text instead of missing the page.
ENGLISH_ONLY: dict[str, str] = {}


def test_every_english_page_has_a_chinese_page():
    english = [p for p in markdown_pages() if not p.name.endswith(".zh.md")]
    assert english, "no English pages found"
    missing = [
        str(p.relative_to(DOCS))
        for p in english
        if not (p.parent / (p.name.split(".")[0] + ".zh.md")).exists()
        and p.name.split(".")[0] not in ENGLISH_ONLY
    ]
    assert not missing, f"pages without a Chinese version (add <name>.zh.md beside them): {missing}"
    renamed = [name for name in ENGLISH_ONLY if (DOCS / f"{name}.en.md").exists()]
    assert not renamed, f"English-only pages must stay <name>.md to show in Chinese too: {renamed}"


def test_every_chinese_page_has_an_english_original():
    orphans = [
        str(p.relative_to(DOCS))
        for p in markdown_pages()
        if p.name.endswith(".zh.md")
        and not any(
            (p.parent / (p.name.split(".")[0] + suffix)).exists() for suffix in (".md", ".en.md")
        )
    ]
    assert not orphans, f"Chinese pages without an English original: {orphans}"


END_MARKER = re.compile(r"<!-- translation-of: [0-9a-f]{7,40} -->\s*\Z")


def test_every_chinese_page_records_the_english_text_it_translates():
    # docs/_scripts/translations.py lists the pages whose English original changed since.
    unmarked = [
        str(p.relative_to(DOCS))
        for p in markdown_pages()
        if p.name.endswith(".zh.md")
        # at the very end, where the script reads it (a section appended after it hid it once)
        and not END_MARKER.search(p.read_text(encoding="utf-8"))
    ]
    assert not unmarked, (
        "Chinese pages without a translation-of marker "
        f"(run: python docs/_scripts/translations.py mark NAME): {unmarked}"
    )
