# The two commands a newcomer needs: `make run` and `make test`.
# Both create ./.venv when it is missing. `make run` installs FilingFlow and what it needs at run
# time only; `make test` adds the `dev` extra (pytest, ruff, mypy, Playwright, schemathesis, ...).
# One stamp each, remade when pyproject.toml changes; the dev install also counts as the runtime
# install (it is a superset), so `make run` after `make test` installs nothing.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed

.PHONY: run demo test lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME)

$(DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV) $(RUNTIME)

run: $(RUNTIME)
	$(BIN)/filingflow serve

demo: $(RUNTIME)
	$(BIN)/filingflow demo

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python .ci/function_size.py
	$(BIN)/vulture

typecheck: $(DEV)
	$(BIN)/mypy

unit: $(DEV)
	$(BIN)/pytest

test: lint typecheck unit

bench: $(DEV)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
