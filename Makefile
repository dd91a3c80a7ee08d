# Charter: the two quick-start commands are `make demo` and `make test`.
# Each creates .venv on first use and installs what it needs. Packages are installed with
# their bytecode compiled: environments that set PYTHONDONTWRITEBYTECODE (CI here does) would
# otherwise recompile pandas & co. in every `charter` process.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
PYTEST_WORKERS ?= 2
DEMO_OUT ?= demo-output

.PHONY: demo serve test lint bench clean install dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(UV) pip install --python $(BIN)/python --quiet --compile-bytecode -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(UV) pip install --python $(BIN)/python --quiet --compile-bytecode -e '.[dev]'
	touch $@ $(STAMP_RUN)

install: $(STAMP_RUN)
dev: $(STAMP_DEV)

demo: $(STAMP_RUN)
	$(BIN)/python examples/credit_risk/demo.py --out $(DEMO_OUT)

# the dashboard and the API on the demo's registry (run `make demo` first)
serve: $(STAMP_RUN)
	CHARTER_HOME=$(DEMO_OUT)/registry $(BIN)/charter serve

test: $(STAMP_DEV)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --timeout 600 $(PYTEST_ARGS)

# ruff, the formatter's check, mypy --strict and the import contracts of pyproject.toml
# ([tool.importlinter]: the layers and no cycles); .ci/run calls it before the tests.
lint: $(STAMP_DEV)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP_DEV)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(DEMO_OUT)
