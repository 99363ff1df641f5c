# perfkit: `make help` lists the targets. Everything runs in a local virtual environment (.venv)
# made with venv + pip: no conda channels are needed.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
KERNEL := perfkit
DEMO   := data/demo
PARAMS := parameters/practice.yaml
# the test suite runs in this many processes (pytest-xdist); see README "Tests"
TEST_PROCESSES ?= 2

.DEFAULT_GOAL := help
.PHONY: help setup demo test test-quick lint lab kernel clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (perfkit)" >/dev/null
	touch $@

setup: $(BIN)/.installed ## Create .venv and install perfkit with its dev tools

kernel: setup ## Register the Jupyter kernel "perfkit" for every Jupyter of this user
	$(BIN)/python -m ipykernel install --user --name $(KERNEL) --display-name "Python (perfkit)"

demo: setup ## Generate the demo practice, validate it, run the quarter before (tables) and the demo quarter, list who would receive what
	$(BIN)/perfkit demo --out $(DEMO)
	$(BIN)/perfkit validate $(DEMO) --params $(PARAMS) --strict
	$(BIN)/perfkit run --data $(DEMO) --params $(PARAMS) --tables-only \
		--period-start 2026-05-01 --period-end 2026-08-01
	$(BIN)/perfkit run --data $(DEMO) --params $(PARAMS)
	$(BIN)/perfkit deliver reports/2026-11-01 --to reports/delivered

test: lint ## Run the test suite (lint, unit and end-to-end tests)
	$(BIN)/pytest -n $(TEST_PROCESSES) --dist loadfile

test-quick: lint ## While working: the tests that run no whole pipeline with reports (a few minutes)
	$(BIN)/pytest -n $(TEST_PROCESSES) --dist loadfile -m "not end_to_end and not slow"

lint: setup ## Lint only
	$(BIN)/ruff check src tests benchmarks notebooks conftest.py

lab: kernel ## Open JupyterLab on the notebooks with the perfkit kernel
	$(BIN)/jupyter lab notebooks/

clean: ## Remove the virtual environment and caches (never data/ or reports/)
	rm -rf $(VENV) .pytest_cache .ruff_cache src/*.egg-info
