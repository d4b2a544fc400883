# Two commands: `make demo` runs the demo site with the local sandbox; `make test` runs everything.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make demo` installs only what the demo needs ([demo]); `make test` adds the dev tools ([dev]).
DEMO_STAMP := $(VENV)/.installed-demo
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck pytest matrix-corners install install-demo chromium bench docs clean

$(BIN)/python:
	@echo "creating the virtualenv $(VENV) with $$($(PYTHON) --version 2>&1) ($(PYTHON))"
	$(PYTHON) -m venv $(VENV)
	@echo "installing the latest pip into $(VENV) ..."
	@$(BIN)/pip install -q --upgrade pip

$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	@echo "installing zhifu[demo] into $(VENV): Django, DRF, Celery, psycopg, redis, gunicorn ..."
	@$(BIN)/pip install -q -e '.[demo]'
	@touch $@

# [dev] includes [demo], so a dev install also satisfies `make demo`.
$(DEV_STAMP): pyproject.toml | $(BIN)/python
	@echo "installing zhifu[dev] into $(VENV): the demo's packages plus pytest, playwright, ruff, mypy, nox, build ..."
	@$(BIN)/pip install -q -e '.[dev]'
	@# python-alipay-sdk and alipay-sdk-python both ship alipay/__init__.py; the interop tests
	@# need python-alipay-sdk's, so it is reinstalled last.
	@$(BIN)/pip install -q --no-deps --force-reinstall "$$($(BIN)/pip freeze | grep -i '^python-alipay-sdk==')"
	@touch $@ $(DEMO_STAMP)

install: $(DEV_STAMP)
install-demo: $(DEMO_STAMP)

# Browser tests drive Debian's chromium through Playwright (no browser download); a CJK font so
# Chinese pages render in screenshots.
chromium:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi wenquanyi; then \
	  echo "installing Debian's chromium and fonts-wqy-microhei for the browser tests"; \
	  apt-get install -y -q chromium fonts-wqy-microhei >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && apt-get install -y -q chromium fonts-wqy-microhei >/dev/null; }; \
	fi

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench demo examples noxfile.py docs/_scripts
	$(BIN)/ruff format --check src tests bench demo examples noxfile.py docs/_scripts

typecheck: $(DEV_STAMP)
	$(BIN)/mypy
	$(BIN)/mypy --config-file demo/mypy.ini demo

# Two runs in the default virtualenv: Zhifu's own suite (tests/, settings tests.settings, with the
# wheel test) and the demo site's (demo/tests/, with the browser tests).
pytest: $(DEV_STAMP) chromium
	@$(BIN)/python -c 'import sys, django; print(f"default pair: Python {sys.version.split()[0]}, Django {django.get_version()}")'
	$(BIN)/pytest tests
	if [ -d demo/tests ]; then $(BIN)/pytest demo/tests --ds=demo_site.settings; fi

# The oldest and the newest supported pair (noxfile.py, tag "corners") on the core suite; a corner
# that is the default virtualenv's own pair was just run by `pytest` and is skipped.
matrix-corners: $(DEV_STAMP)
	@pair=$$($(BIN)/python -c 'import sys, django; print("tests-%d.%d-django%d.%d" % (*sys.version_info[:2], *django.VERSION[:2]))'); \
	echo "running the core suite on the matrix corners with nox (first run: installing into .nox/ ...)"; \
	ZHIFU_NOX_SKIP="$$pair" $(BIN)/nox -t corners

test: lint typecheck pytest matrix-corners

demo: $(DEMO_STAMP)
	$(BIN)/python demo/run_demo.py

# B1-B4 against references measured in the same run (bench/run.py; a PostgreSQL server at
# DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test). More: BENCH_ARGS="--large 1000000".
bench: $(DEV_STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The documentation site (mkdocs.yml), strictly: a broken link or anchor fails. `make test` builds
# it too (tests/docs/test_build.py). Output: var/docs-site/.
docs: $(DEV_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) .nox var test-output dist build .mypy_cache .ruff_cache .pytest_cache
