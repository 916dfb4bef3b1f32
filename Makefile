# Everything a developer needs, from a fresh clone: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: install run test lint typecheck pytest bench mutation synth openapi clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
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

pytest: $(STAMP)
	$(BIN)/pytest

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
	rm -rf $(VENV) cdk.out build .pytest_cache .mypy_cache .ruff_cache
