# Quick start: `make demo` (whole migration on the embedded default) and `make test` (all tests).
# Both bootstrap the virtualenv with pinned dependencies; tests start and stop their own PostgreSQL.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM_STAMP := convex/node_modules/.installed

.PHONY: demo test test-slow venv npm sysdeps docs lint bench clean

$(STAMP): pyproject.toml rehearsal/pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==26.3
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e . -e ./rehearsal
	touch $(STAMP)

venv: $(STAMP)

$(NPM_STAMP): convex/package.json convex/package-lock.json
	cd convex && npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

npm: $(NPM_STAMP)

# Debian packages the tests use: Chromium (report rendering test). PostgreSQL server binaries
# are installed on demand by rehearsal/perm_rehearsal/throwaway_pg.py when initdb/pg_ctl are missing.
sysdeps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium (report rendering test)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

## Run the whole migration on generated dirty data into the local emulator (DuckDB warehouse).
demo: venv
	$(BIN)/perm-migrate run --demo

## Run the full test suite (starts a throwaway PostgreSQL, runs dbt on DuckDB and Postgres).
test: venv npm sysdeps
	$(BIN)/python -m pytest

## Long resilience/scale variants (not part of CI).
test-slow: venv npm sysdeps
	$(BIN)/python -m pytest -m slow

## Build and serve the dbt lineage docs on http://localhost:8080.
docs: venv
	$(BIN)/dbt docs generate --profiles-dir . --project-dir .
	$(BIN)/dbt docs serve --profiles-dir . --project-dir . --port 8080

## Lint models/ and macros/ with .sqlfluff (jinja templater + lint/dbt_context stand-ins; no warehouse needed)
## and the dbt project's YAML with .yamllint (one YAML style).
lint: venv
	$(BIN)/sqlfluff lint models macros
	$(BIN)/yamllint dbt_project.yml profiles.yml models seeds macros

bench: venv
	$(BIN)/python bench/run_bench.py

clean:
	rm -rf $(VENV) target logs runs convex/node_modules
