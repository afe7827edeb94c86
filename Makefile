# Two commands on a fresh machine: `make demo` and `make test`. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

LOCK := requirements/lock.txt
# Extra pip options, e.g. PIP_EXTRA="--extra-index-url https://download.pytorch.org/whl/cpu"
# where the default index would serve torch's CUDA build.
PIP_EXTRA ?=

.PHONY: setup demo test test-fast lint lock check-lock clean

setup: $(STAMP)

# Installed with the lock as constraints: the versions CI passed with, not whatever is newest
# (an unpinned typer once broke every usage error). The lock pins torch's CPU build version;
# CUDA users install their torch first.
$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "rscolor needs Python 3.11+ (the locked numpy, scipy, typer need it): make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(PIP_EXTRA) -c $(LOCK) -e ".[test]"
	touch $(STAMP)

# Rewrite the lock from the working venv (after a tested upgrade). CUDA runtime wheels are
# left out and torch's local version tag (+cpu) dropped, so the pin matches any build.
lock: $(STAMP)
	{ sed -n '/^#/p' $(LOCK); $(BIN)/pip freeze --exclude-editable \
	  | grep -v -i -E '^(nvidia|cuda|triton)' | sed 's/+[a-z0-9.]*$$//'; } > $(LOCK).new
	mv $(LOCK).new $(LOCK)

# Fails when the venv's versions are not the lock's (CI runs it before the tests).
check-lock: $(STAMP)
	$(BIN)/pip freeze --exclude-editable | grep -v -i -E '^(nvidia|cuda|triton)' \
	  | sed 's/+[a-z0-9.]*$$//' | diff - <(grep -v '^#' $(LOCK)) \
	  && echo "installed versions match $(LOCK)"

demo: $(STAMP)
	$(BIN)/rscolor colorize samples/ -o demo-output --force
	$(BIN)/python -m rscolor.demo samples/ demo-output demo-output/side_by_side.png
	@echo "figure: demo-output/side_by_side.png"

test: $(STAMP)
	$(BIN)/python -m pytest

# The quick loop while editing (under a minute): everything but the tests marked slow.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

# ruff (the linter, then the formatter's layout, which no `fmt: skip` escapes:
# tests/test_code_size.py), the layers contract (pyproject.toml's [tool.importlinter],
# docs/architecture.md), then the type checker on src/ ([tool.mypy]).
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts qgis_plugin
	$(BIN)/ruff format --check src tests benchmarks scripts qgis_plugin
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

clean:
	rm -rf demo-output .pytest_cache .ruff_cache .mypy_cache

# The QGIS Processing plugin as an installable zip (QGIS: Plugins > Install from ZIP);
# stdlib only, so no venv is needed. See docs/qgis.md.
.PHONY: qgis-plugin
qgis-plugin:
	$(PYTHON) scripts/build_qgis_plugin.py --out dist/rscolor_qgis.zip
