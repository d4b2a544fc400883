"""Where the documentation pages are: ``docs/<name>.zh.md`` (Chinese, the site's default) and the
English original, ``docs/<name>.en.md`` or, for a page not renamed yet, ``docs/<name>.md``."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
LANGUAGES = ("zh", "en")


def page(name: str, language: str) -> Path:
    if language == "zh":
        return DOCS / f"{name}.zh.md"
    suffixed = DOCS / f"{name}.en.md"
    return suffixed if suffixed.exists() else DOCS / f"{name}.md"


def markdown_pages() -> list[Path]:
    """Every hand-written page (not the generated API reference, not build scripts)."""
    return sorted(
        p
        for p in DOCS.rglob("*.md")
        if "_scripts" not in p.parts
        and not p.relative_to(DOCS).as_posix().startswith("reference/api.")
    )
