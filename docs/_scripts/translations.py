"""Which Chinese pages are behind their English originals.

Each ``docs/<name>.zh.md`` ends with ``<!-- translation-of: <git blob id> -->``: the English text
it was translated from. When the English page changes, its blob id changes, and this script says
so and shows how to see what changed:

    python docs/_scripts/translations.py            # list stale translations (exit 1 if any)
    python docs/_scripts/translations.py mark NAME  # after updating NAME.zh.md: record the source

The marker is an HTML comment at the end of the page, invisible on the site.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"<!-- translation-of: ([0-9a-f]{7,40}) -->\s*\Z")


def english(name: str) -> Path:
    suffixed = DOCS / f"{name}.en.md"
    return suffixed if suffixed.exists() else DOCS / f"{name}.md"


def blob(path: Path) -> str:
    return subprocess.run(
        ["git", "hash-object", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()


def chinese_pages() -> list[Path]:
    """Hand-written Chinese pages (not the API reference, which is generated in both languages)."""
    return sorted(
        p
        for p in DOCS.rglob("*.zh.md")
        if "_scripts" not in p.parts and p.relative_to(DOCS).as_posix() != "reference/api.zh.md"
    )


def source_of(page: Path) -> str | None:
    match = MARKER.search(page.read_text(encoding="utf-8"))
    return match.group(1) if match else None


def mark(name: str) -> None:
    page = DOCS / f"{name}.zh.md"
    text = MARKER.sub("", page.read_text(encoding="utf-8")).rstrip("\n")
    page.write_text(f"{text}\n\n<!-- translation-of: {blob(english(name))} -->\n", encoding="utf-8")


def stale() -> list[str]:
    lines = []
    for page in chinese_pages():
        name = page.name.removesuffix(".zh.md")
        source, now = source_of(page), blob(english(name))
        if source is None:
            lines.append(f"{name}: no translation-of marker (run: mark {name})")
        elif source != now:
            lines.append(f"{name}: English changed since translated; see git diff {source} {now}")
    return lines


def main(argv: list[str]) -> int:
    if argv[:1] == ["mark"]:
        for name in argv[1:]:
            mark(name)
        return 0
    report = stale()
    print("\n".join(report) or "every Chinese page is up to date with its English original")
    return 1 if report else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
