# Quick start: `make demo` (whole migration on the embedded default) and `make test` (all tests).
# Both bootstrap the virtualenv with pinned dependencies; tests start and stop their own PostgreSQL.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM_STAMP := convex/node_modules/.installed

.PHONY: demo test test-slow venv npm docs lint bench clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==26.3
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

$(NPM_STAMP): convex/package.json convex/package-lock.json
	cd convex && npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

npm: $(NPM_STAMP)

## Run the whole migration on generated dirty data into the local emulator (DuckDB warehouse).
demo: venv
	$(BIN)/perm-migrate run --demo

## Run the full test suite (starts a throwaway PostgreSQL, runs dbt on DuckDB and Postgres).
test: venv npm
	$(BIN)/python -m pytest

## Long resilience/scale variants (not part of CI).
test-slow: venv npm
	$(BIN)/python -m pytest -m slow

## Build and serve the dbt lineage docs on http://localhost:8080.
docs: venv
	$(BIN)/dbt docs generate --profiles-dir . --project-dir .
	$(BIN)/dbt docs serve --profiles-dir . --project-dir . --port 8080

lint: venv
	$(BIN)/sqlfluff lint models macros

bench: venv
	$(BIN)/python bench/run_bench.py

clean:
	rm -rf $(VENV) target logs runs convex/node_modules
