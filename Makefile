# Everything a developer needs, from a fresh clone: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: install run test lint typecheck pytest clients bench mutation synth openapi clean

$(STAMP): pyproject.toml sdk/python/pyproject.toml cli/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]" -e ./sdk/python -e ./cli
	touch $(STAMP)

install: $(STAMP)

## Start the local stack on http://localhost:8766 (moto as AWS, local GPU marketplace, Swagger UI at /docs).
## Options go in ARGS, e.g. `make run ARGS="--interruptions-per-hour 6"` (see `python -m local_stack -h`).
## DUMONT_REAL_VAST=1 VAST_API_KEY=... VAST_MAX_PRICE_PER_HOUR=0.40 rents from the real Vast.ai instead: real money.
run: $(STAMP)
	$(BIN)/python -m local_stack $(ARGS)

## Lint, type-check and run the whole test suite.
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m api.openapi --check

typecheck: $(STAMP)
	$(BIN)/mypy

## The suite in two processes (PYTEST_WORKERS): the end-to-end tests run the local stack in their own
## process, where its threads share one interpreter lock, so one process keeps one core busy at most.
## Each process starts the end-to-end tests' local stack once. The tests are grouped so that each half of
## the end-to-end tests stays in one process (tests/conftest.py, E2E_HALVES), which pytest-xdist applies
## again once it reads groups under pytest 9. The slowest tests are listed at the end of the run.
PYTEST_WORKERS ?= 2
pytest: $(STAMP) clients
	$(BIN)/pytest --numprocesses $(PYTEST_WORKERS) --dist loadgroup --durations=25

## What the clients' suites need (the e2e tests run them): Node's packages of sdk/js (installed from its
## lock file), its build, Go (Debian's golang-go), jq (the API documents pipe the CLI into it) and curl
## (their curl commands run as written), the last three installed when missing.
clients: sdk/js/node_modules/.package-lock.json
	@command -v go >/dev/null || { \
		echo "Installing Debian's golang-go, which the Go SDK's suite runs on"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go; }
	@command -v jq >/dev/null && command -v curl >/dev/null || { \
		echo "Installing Debian's jq and curl, which the documented commands run through"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq curl; }
	cd sdk/js && npm run --silent build

sdk/js/node_modules/.package-lock.json: sdk/js/package-lock.json
	@command -v npm >/dev/null || { \
		echo "Installing Debian's nodejs and npm, which build and test the JavaScript SDK"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
	cd sdk/js && npm ci --no-audit --no-fund

## Cold start, DynamoDB requests per API request, snapshots (against restic and tar | lz4) and a heartbeat soak, against baselines in the same run.
bench: $(STAMP)
	@command -v restic >/dev/null || { \
		echo "Installing Debian's restic, which the snapshot benchmark measures ours against"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq restic; }
	$(BIN)/python -m benchmarks

## Mutation testing (mutmut) of the rule and service modules with their fast-tier tests, one module at a time;
## prints each module's score and fails under 90%. Not part of `make test`: it takes a while. MODULES="access.tokens" runs some.
mutation: $(STAMP)
	$(BIN)/python -m tests.mutation $(MODULES)

## Write functions/api/openapi.json from the routes (commit it; `make test` fails when it is out of date).
openapi: $(STAMP)
	$(BIN)/python -m api.openapi

## Synthesize the CloudFormation template into cdk.out/ (offline, no AWS account, no Docker).
synth: $(STAMP)
	$(BIN)/python infra/app.py

clean:
	rm -rf $(VENV) cdk.out build .pytest_cache .mypy_cache .ruff_cache sdk/js/node_modules sdk/js/dist
