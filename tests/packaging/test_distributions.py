"""`python -m build` makes a wheel and an sdist that carry everything a site needs, and twine
finds nothing wrong with them."""

from __future__ import annotations

import importlib.util
import sys
import tarfile
import zipfile

import pytest

from .conftest import ROOT, Dist, run


def test_wheel_carries_templates_migrations_locale_and_py_typed(dist: Dist) -> None:
    names = set(dist.wheel_names())
    expected = {
        "zhifu/py.typed",
        "zhifu/templates/zhifu/return.html",
        "zhifu/templates/admin/zhifu/order/change_form.html",
        "zhifu/templates/admin/zhifu/order/refund.html",
        "zhifu/migrations/0001_initial.py",
        "zhifu/locale/zh_Hans/LC_MESSAGES/django.po",
        "zhifu/locale/zh_Hans/LC_MESSAGES/django.mo",
        "zhifu/sandbox/templates/cashier.html",
    }
    assert expected <= names, f"missing from the wheel: {sorted(expected - names)}"
    # Every migration and template in the source tree is in the wheel, not just the ones above.
    src = ROOT / "src"
    for pattern in ("zhifu/migrations/*.py", "zhifu/**/templates/**/*.html"):
        for path in src.glob(pattern):
            assert path.relative_to(src).as_posix() in names, f"{path} is not in the wheel"
    assert not [n for n in names if n.startswith(("tests/", "demo/")) or "__pycache__" in n]


def test_wheel_metadata_declares_the_extras_and_the_cli(dist: Dist) -> None:
    names = dist.wheel_names()
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    with zipfile.ZipFile(dist.wheel) as zf:
        meta = zf.read(metadata).decode()
        scripts = zf.read(entry_points).decode()
    for extra in ("django", "api", "celery", "postgres", "demo", "dev"):
        assert f"Provides-Extra: {extra}" in meta
    # The core needs no Django: Django is only ever required through an extra.
    django_reqs = [line for line in meta.splitlines() if line.startswith("Requires-Dist: django")]
    assert django_reqs and all("extra ==" in line for line in django_reqs), django_reqs
    assert "Classifier: Framework :: Django :: 6.1" in meta
    assert "zhifu = zhifu.cli:main" in scripts


def test_sdist_builds_the_same_package(dist: Dist) -> None:
    with tarfile.open(dist.sdist) as tf:
        names = {name.split("/", 1)[1] for name in tf.getnames() if "/" in name}
    for needed in (
        "pyproject.toml",
        "README.md",
        "CHANGELOG.md",
        "src/zhifu/py.typed",
        "src/zhifu/locale/zh_Hans/LC_MESSAGES/django.mo",
        "src/zhifu/templates/zhifu/return.html",
    ):
        assert needed in names, f"{needed} is not in the sdist"


def test_twine_check_is_clean(dist: Dist) -> None:
    if importlib.util.find_spec("twine") is None:
        pytest.skip("twine is not installed (pip install -e '.[dev]')")
    done = run(sys.executable, "-m", "twine", "check", "--strict", dist.wheel, dist.sdist)
    assert done.stdout.count("PASSED") == 2, done.stdout
