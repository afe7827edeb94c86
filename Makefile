# Two commands on a fresh machine: `make demo` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint clean

setup: $(STAMP)

# torch's default index serves the CPU wheel here; CUDA users install their torch first.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/rscolor colorize samples/ -o demo-output --force
	$(BIN)/python -m rscolor.demo samples/ demo-output demo-output/side_by_side.png
	@echo "figure: demo-output/side_by_side.png"

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts

clean:
	rm -rf demo-output .pytest_cache .ruff_cache

# The QGIS Processing plugin as an installable zip (QGIS: Plugins > Install from ZIP);
# stdlib only, so no venv is needed. See docs/qgis.md.
.PHONY: qgis-plugin
qgis-plugin:
	$(PYTHON) scripts/build_qgis_plugin.py --out dist/rscolor_qgis.zip
