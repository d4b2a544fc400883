"""The code examples in the docs run.

A fenced block is preceded by an HTML comment (invisible on the site) that says how it runs:

- ``<!-- run: python -->``: plain Python (no Django). The page's python blocks run in order in
  one fresh interpreter, in a project directory whose ``var/sandbox`` is the data directory of a
  real sandbox started for the test — what a reader has after ``zhifu sandbox --data-dir
  var/sandbox``.
- ``<!-- run: sh -->``: shell commands, run in order with ``bash -eu`` in such a directory, with
  the project's ``zhifu`` command on ``PATH``.
- ``<!-- run: settings -->``: a fragment of a Django ``settings.py``. Executed with ``BASE_DIR``
  set to that directory; the ``ZHIFU`` it defines must pass Zhifu's system checks, and a
  ``urlpatterns`` it defines must resolve Zhifu's URLs.
- ``<!-- run: django -->``: code for ``python manage.py shell`` on a site configured as the docs
  say. The page's django blocks run in order in one namespace, in this test process, against a
  real sandbox that notifies a live Django server (``tests.settings``).
- ``<!-- norun: <reason> -->``: not run, and the reason says why (a fragment of your own
  models, a production host, ...).

Every ``python``/``sh``/``bash``/``console`` block in a page this project's docs own must carry
one of them; the English originals edited by others (listed in ``UNMARKED_ALLOWED``) may leave
blocks unmarked, which are then reported, not run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.checks import ERROR
from django.test import override_settings

from .pages import DOCS, ROOT, markdown_pages

FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<lang>[\w+-]*)")
MARKER = re.compile(r"^\s*<!--\s*(?P<what>run|norun)\s*:\s*(?P<arg>.*?)\s*-->\s*$")
CODE_LANGUAGES = {"python", "py", "sh", "bash", "console", "shell"}
KINDS = {"python", "sh", "settings", "django"}
# English pages other helpers write; their blocks are run only where they carry a marker.
UNMARKED_ALLOWED = {"sandbox", "deployment", "payments", "architecture", "wechatpay", "performance"}


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    lang: str
    marker: str  # "run" | "norun" | ""
    arg: str  # the kind, or the reason
    code: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, indent = m["fence"], len(m["indent"])
        start = i
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        i += 1
        prev = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        mark = MARKER.match(prev)
        found.append(
            Block(
                page=page,
                line=start + 1,
                lang=m["lang"].lower(),
                marker=mark["what"] if mark else "",
                arg=mark["arg"] if mark else "",
                code="\n".join(body) + "\n",
            )
        )
    return found


def all_blocks() -> list[Block]:
    return [b for page in markdown_pages() for b in blocks(page)]


def _base_name(page: Path) -> str:
    return page.name.split(".")[0]


def _is_english_original(page: Path) -> bool:
    return not page.name.endswith(".zh.md") and _base_name(page) in UNMARKED_ALLOWED


def runnable(kind: str) -> list[pytest.param]:
    by_page: dict[Path, list[Block]] = {}
    for b in all_blocks():
        if b.marker == "run" and b.arg == kind:
            by_page.setdefault(b.page, []).append(b)
    return [
        pytest.param(page_blocks, id=str(page.relative_to(DOCS)))
        for page, page_blocks in sorted(by_page.items())
    ]


def test_every_code_block_says_whether_it_runs():
    problems = []
    unmarked_elsewhere = []
    for b in all_blocks():
        if b.marker == "run" and b.arg not in KINDS:
            problems.append(f"{b.where}: unknown kind {b.arg!r} (one of {sorted(KINDS)})")
        elif b.marker == "norun" and not b.arg:
            problems.append(f"{b.where}: norun without a reason")
        elif not b.marker and b.lang in CODE_LANGUAGES:
            if _is_english_original(b.page):
                unmarked_elsewhere.append(b.where)
            else:
                problems.append(
                    f"{b.where}: ```{b.lang} block without <!-- run: ... --> or "
                    "<!-- norun: reason -->"
                )
    if unmarked_elsewhere:
        print("not run (unmarked, in pages other helpers own):", *unmarked_elsewhere, sep="\n  ")
    assert not problems, "\n".join(problems)


def test_some_examples_of_each_kind_exist():
    # If the markers were renamed or the parser broke, the tests below would silently vanish.
    for kind in KINDS:
        assert runnable(kind), f"no docs example is marked <!-- run: {kind} -->"


# --- plain Python and shell, against a sandbox in a project directory ---------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A reader's project directory with ``zhifu sandbox --data-dir var/sandbox`` running."""
    from zhifu.sandbox.testing import SandboxServer

    root = tmp_path_factory.mktemp("project")
    data = root / "var" / "sandbox"
    data.mkdir(parents=True)
    with SandboxServer(data) as server:
        assert (data / "sandbox.json").is_file(), "the sandbox did not write sandbox.json"
        yield root, server


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.mark.parametrize("page_blocks", runnable("python"))
def test_python_examples(page_blocks, project):
    root, _ = project
    code = "\n".join(b.code for b in page_blocks)
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, (
        f"examples at {[b.where for b in page_blocks]} failed:\n{run.stdout}\n{run.stderr}"
    )


@pytest.mark.parametrize("page_blocks", runnable("sh"))
def test_shell_examples(page_blocks, project, tmp_path):
    root, _ = project
    work = tmp_path / "project"
    work.mkdir()
    (work / "var").symlink_to(root / "var")
    script = "set -eu\n" + "\n".join(b.code for b in page_blocks)
    run = subprocess.run(
        ["bash", "-c", script], cwd=work, env=_env(), capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, (
        f"examples at {[b.where for b in page_blocks]} failed:\n{run.stdout}\n{run.stderr}"
    )


# --- Django: settings fragments and shell sessions -----------------------------------------------


@pytest.mark.parametrize("page_blocks", runnable("settings"))
def test_settings_examples(page_blocks, project, monkeypatch):
    from zhifu.checks import check_zhifu_settings

    root, server = project
    app = server.default_app
    # What the production pages tell the reader to put in the environment.
    monkeypatch.setenv("ZHIFU_APP_ID", app.app_id)
    monkeypatch.setenv("ZHIFU_SELLER_ID", app.seller_id)
    monkeypatch.setenv("ZHIFU_APP_PRIVATE_KEY", str(root / "var/sandbox/app_private_key.pem"))
    monkeypatch.setenv("ZHIFU_ALIPAY_PUBLIC_KEY", str(root / "var/sandbox/alipay_public_key.pem"))
    monkeypatch.setenv("ZHIFU_GATEWAY_URL", server.gateway_url)
    monkeypatch.setenv("SITE_URL", "https://shop.example.com")
    for b in page_blocks:
        namespace: dict[str, object] = {"BASE_DIR": root, "__name__": "settings"}
        exec(compile(b.code, b.where, "exec"), namespace)
        if "ZHIFU" in namespace:
            with override_settings(ZHIFU=namespace["ZHIFU"], DEBUG=True):
                errors = [m for m in check_zhifu_settings() if m.level >= ERROR]
            assert not errors, f"{b.where}: ZHIFU fails the system checks: {errors}"
        if "urlpatterns" in namespace:
            from django.urls import URLResolver

            assert any(isinstance(p, URLResolver) for p in namespace["urlpatterns"]), b.where


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("page_blocks", runnable("django"))
def test_django_examples(page_blocks, sandbox_zhifu):
    from zhifu import signals

    # Receivers the examples connect must not outlive this test (the next page would pay twice).
    saved = {name: list(sig.receivers) for name, sig in vars(signals).items() if _is_signal(sig)}
    namespace: dict[str, object] = {"__name__": "__docs__"}
    try:
        for b in page_blocks:
            try:
                exec(compile(textwrap.dedent(b.code), b.where, "exec"), namespace)
            except Exception as exc:
                raise AssertionError(f"the example at {b.where} failed: {exc!r}") from exc
    finally:
        for name, receivers in saved.items():
            sig = getattr(signals, name)
            sig.receivers = receivers
            sig.sender_receivers_cache.clear()


def _is_signal(value: object) -> bool:
    from django.dispatch import Signal

    return isinstance(value, Signal)
