# Sequoia: the one entry point for every task. `make help` lists them.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SERVICES := -e services/core -e services/api -e services/worker-thumbnails -e services/worker-media
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install up down status demo samples test test-unit test-integration migrate clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python requirements-dev.txt services/*/pyproject.toml
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(SERVICES) -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed ## create .venv with every service (editable) and the test tools

up: install ## start the local stack in the background (S3, API, workers, Flower)
	$(BIN)/python -m scripts.devstack.stack up

down: ## stop exactly what `make up` started
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m scripts.devstack.stack down; fi

status: install ## which services of the local stack run
	$(BIN)/python -m scripts.devstack.stack status

samples: install ## make the sample media under samples/
	$(BIN)/python scripts/make_samples.py samples

demo: up samples ## run the stack and ingest the samples through the REST API
	$(BIN)/sequoia ingest samples --voyage demo-$$(date +%Y%m%d-%H%M%S) --wait

migrate: install ## apply the SQL migrations to DATABASE_URL
	$(BIN)/sequoia-migrate --create-database

test: install ## unit and integration tests against real Redis, Postgres, S3 and Celery workers, CI's fault scenarios
	$(BIN)/pytest -m "not faults_full"

test-unit: install ## unit tests only (no services)
	$(BIN)/pytest tests/unit

clean: down ## remove the venv, logs, local S3 data and samples
	rm -rf $(VENV) var samples .pytest_cache

# Each area (engines, monitoring, chart, faults, ...) adds its targets in mk/<area>.mk.
-include mk/*.mk
