"""Build the distributions once per run and make clean virtualenvs to install them into.

Installs come from PyPI through uv when it is installed (the [dev] extra has it) or pip; both
keep their download cache between runs (~/.cache/uv, ~/.cache/pip), so only the first run
downloads. The build is isolated (``python -m build``), as a release build would be.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MINIMAL_SITE = Path(__file__).resolve().parent / "minimal_site"


def run(*args: str | Path, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure, fail the test with its output (not a bare exit status)."""
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kwargs
    )
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited {done.returncode}\n"
            f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
        )
    return done


def _uv() -> str | None:
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


@dataclass
class Venv:
    """A fresh virtualenv: ``install`` adds requirements, ``python``/``bin`` run things in it."""

    path: Path
    uv: str | None

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name

    def install(self, *requirements: str | Path) -> None:
        if self.uv:
            run(self.uv, "pip", "install", "-q", "--python", self.python, *requirements)
        else:
            run(self.python, "-m", "pip", "install", "-q", *requirements)

    def version_of(self, distribution: str) -> str | None:
        code = (
            "import importlib.metadata as m, sys\n"
            "try: print(m.version(sys.argv[1]))\n"
            "except m.PackageNotFoundError: print('')"
        )
        return run(self.python, "-c", code, distribution).stdout.strip() or None


@pytest.fixture(scope="session")
def make_venv(tmp_path_factory):
    uv = _uv()

    def make(python: str | Path = sys.executable, name: str = "venv") -> Venv:
        path = tmp_path_factory.mktemp(name)
        if uv:
            run(uv, "venv", "-q", "--python", python, path)
        else:
            run(python, "-m", "venv", path)
        return Venv(path, uv)

    return make


@dataclass
class Dist:
    wheel: Path
    sdist: Path

    def wheel_names(self) -> list[str]:
        with zipfile.ZipFile(self.wheel) as zf:
            return zf.namelist()


@pytest.fixture(scope="session")
def dist(tmp_path_factory) -> Dist:
    if importlib.util.find_spec("build") is None:
        pytest.skip("the `build` package is not installed (pip install -e '.[dev]')")
    out = tmp_path_factory.mktemp("dist")
    args = [sys.executable, "-m", "build", "--outdir", str(out)]
    if _uv():
        args.append("--installer=uv")
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        if "Could not find a version" in done.stderr or "Failed to establish" in done.stderr:
            pytest.skip(f"cannot build: the build backend is not reachable\n{done.stderr[-2000:]}")
        pytest.fail(f"python -m build failed\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    wheels, sdists = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return Dist(wheel=wheels[0], sdist=sdists[0])
