"""The support matrix: Zhifu's core suite (``pytest tests``) on each supported Python x Django pair.

    nox -l                              list the sessions
    nox                                 every pair (about 3 minutes each on SQLite)
    nox -t corners                      the oldest and the newest pair (``make test`` runs these)
    nox -s tests-3.13-django6.1         one pair; arguments after ``--`` go to pytest

Each pair has its own virtualenv in ``.nox/``, reused from run to run (``-R`` also skips the
install step); uv installs into them when it is available. ``DATABASE_URL`` selects PostgreSQL,
as for ``make test`` (and adds tests/reliability, the demo under gunicorn). The browser tests
(demo/tests) and the wheel tests (tests/packaging) run once, in the default virtualenv; the
wheel is the same for every pair.
"""

from __future__ import annotations

import glob
import os
import tomllib
from collections.abc import Callable
from pathlib import Path

import nox

# Python -> the Django feature releases supported on it (Django 6.x needs Python >= 3.12).
MATRIX: dict[str, tuple[str, ...]] = {
    "3.11": ("5.2",),
    "3.12": ("5.2", "6.0", "6.1"),
    "3.13": ("5.2", "6.0", "6.1"),
}
CORNERS = {("3.11", "5.2"), ("3.13", "6.1")}

# python-alipay-sdk and alipay-sdk-python both ship alipay/__init__.py; the interop tests need
# python-alipay-sdk's, so it is reinstalled last (as pinned in the [test] extra).
_TEST_EXTRA = tomllib.loads(Path("pyproject.toml").read_text())["project"]["optional-dependencies"]
ALIPAY_SDK = next(r for r in _TEST_EXTRA["test"] if r.startswith("python-alipay-sdk"))

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True


def _find_interpreters() -> None:
    """Put pyenv's pythonX.Y first on PATH: its shims hide versions that are not active."""
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for version in MATRIX:
        found = sorted(glob.glob(os.path.join(root, "versions", f"{version}.*", "bin")))
        if found:
            os.environ["PATH"] = found[-1] + os.pathsep + os.environ["PATH"]


_find_interpreters()


def _core_suite(django: str) -> Callable[[nox.Session], None]:
    def tests(session: nox.Session) -> None:
        skip = os.environ.get("ZHIFU_NOX_SKIP", "")
        if session.name in skip.split():
            session.skip(f"{session.name} is the default virtualenv's pair, already run by make")
        # [demo] too: tests/reliability runs the demo site under gunicorn (on PostgreSQL).
        session.install("-e", ".[test,demo]", f"Django~={django}.0")
        if session.venv_backend == "uv":
            session.install("--no-deps", "--reinstall-package", "python-alipay-sdk", ALIPAY_SDK)
        else:
            session.install("--no-deps", "--force-reinstall", ALIPAY_SDK)
        session.run(
            "python", "-c", "import django, sys; print('Django', django.get_version(), sys.version)"
        )
        # No path: pytest's testpaths (tests/) unless paths are passed after `--`.
        session.run(
            "pytest", "--ignore=tests/packaging", "-p", "no:cacheprovider", *session.posargs
        )

    return tests


for _python, _djangos in MATRIX.items():
    for _django in _djangos:
        nox.session(
            python=_python,
            name=f"tests-{_python}-django{_django}",
            tags=["corners"] if (_python, _django) in CORNERS else [],
        )(_core_suite(_django))
