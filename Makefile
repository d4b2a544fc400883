# Two commands: `make demo` runs the demo site with the local sandbox; `make test` runs everything.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck pytest install chromium bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[django,dev]'
	touch $(STAMP)

install: $(STAMP)

# Browser tests drive Debian's chromium through Playwright (no browser download); a CJK font so
# Chinese pages render in screenshots.
chromium:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi wenquanyi; then \
	  echo "installing Debian's chromium and fonts-wqy-microhei for the browser tests"; \
	  apt-get install -y -q chromium fonts-wqy-microhei >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && apt-get install -y -q chromium fonts-wqy-microhei >/dev/null; }; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check src tests bench demo examples
	$(BIN)/ruff format --check src tests bench demo examples

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy --config-file demo/mypy.ini demo

# Two runs: Zhifu's own suite (tests/, settings tests.settings) and the demo site's (demo/tests/).
pytest: $(STAMP) chromium
	$(BIN)/pytest tests
	if [ -d demo/tests ]; then $(BIN)/pytest demo/tests --ds=demo_site.settings; fi

test: lint typecheck pytest

demo: $(STAMP)
	$(BIN)/python demo/run_demo.py

bench: $(STAMP)
	$(BIN)/python bench/signing.py

clean:
	rm -rf $(VENV) var test-output .mypy_cache .ruff_cache .pytest_cache
