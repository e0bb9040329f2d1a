# Sequoia: the one entry point for every task. `make help` lists them.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SERVICES := -e services/core -e services/api -e services/client -e services/worker-thumbnails -e services/worker-media
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help system-packages install lock deps up down status demo samples test test-unit test-db test-integration migrate clean

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PY) -m venv $(VENV)

# Everything from the hash-checked lock (scripts/lock.sh), then our own packages, editable and without
# dependencies (a local directory has no hash).
$(VENV)/.installed: $(BIN)/python requirements/all.txt services/*/pyproject.toml
	$(BIN)/pip install -q --require-hashes -r requirements/all.txt
	$(BIN)/pip install -q --no-deps $(SERVICES)
	touch $@

install: $(VENV)/.installed ## create .venv from the lock: every service (editable) and the test tools

lock: ## re-resolve uv.lock from the pyproject.toml files and export requirements/ (needs PyPI)
	scripts/lock.sh

system-packages: ## install the Debian packages of .ci/apt-packages (as root), or print the one command to run
	@.ci/system-packages

deps: system-packages install helm ## everything `make demo` and `make test` need: Debian packages, the venv, helm

up: install ## start the local stack in the background (S3, API, workers, Flower)
	$(BIN)/python -m scripts.devstack.stack up

down: ## stop exactly what `make up` started
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m scripts.devstack.stack down; fi

status: install ## which services of the local stack run
	$(BIN)/python -m scripts.devstack.stack status

samples: install ## make the sample media under samples/
	$(BIN)/python scripts/make_samples.py samples

demo: deps up samples ## run the stack and ingest the samples through the REST API
	$(BIN)/sequoia ingest samples --voyage demo-$$(date +%Y%m%d-%H%M%S) --wait

migrate: install ## apply the SQL migrations to DATABASE_URL
	$(BIN)/sequoia-migrate --create-database

# CI's tiers in order, each TARGET:BUDGET (seconds of wall time; at the budget pytest gets SIGINT and
# still prints its summary). With .ci/run's demo (600 s) the budgets add up to under 60 minutes.
# chart-runtime joins when its target exists. docs/testing.md: the measured times.
TEST_TIERS := test-unit:240 test-db:60 test-integration:480 test-monitoring:150 test-chart:90 kind-test:60 \
  test-containers:720 $(if $(shell grep -ls '^test-chart-runtime:' mk/*.mk),test-chart-runtime:660) \
  test-faults-ci:480

test: deps ## every tier CI runs (unit, db, integration, monitoring, chart, kind, containers, chart-runtime, faults), each timed
	@.ci/tier --reset
	@for tier in $(TEST_TIERS); do target=$${tier%%:*}; name=$${target#test-}; \
	  .ci/tier $${name%-test} $${tier##*:} $(MAKE) --no-print-directory $$target; done; \
	.ci/tier --summary

test-unit: install ## unit tests (no services)
	$(BIN)/pytest tests/unit

test-db: install ## the state machine, sweeper, batches and outbox against Postgres alone
	$(BIN)/pytest tests/db

test-integration: install ## API, CLI, gallery and engines against real Redis, Postgres, S3 and Celery workers
	$(BIN)/pytest tests/integration

clean: down ## remove the venv, logs, local S3 data and samples
	rm -rf $(VENV) var samples .pytest_cache

# Each area (engines, monitoring, chart, faults, ...) adds its targets in mk/<area>.mk.
-include mk/*.mk
