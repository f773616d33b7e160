# The commands a newcomer needs: `make dev` runs the service locally, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PATH := $(CURDIR)/$(TOOLS)/bin:$(PATH)

.PHONY: install dev demo-events test test-fast lint format bench bench-capture bench-load clean openapi

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode
	touch $@

install: $(VENV)/.installed  ## the virtualenv with every dependency, from the lock file

dev: install  ## the whole service on this machine: PostgreSQL, Redis, moto, the API on :8080, the worker (DEMO_EVENTS=1: demo events too)
	$(PY) -m local

demo-events: install  ## NEF demo events to the running stack's Redis until Ctrl-C (ARGS="--seconds 60 --rate 20")
	$(PY) -m local.demo_events $(ARGS)

lint: install  ## ruff (lint + format check) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: lint  ## lint, then unit, integration, infra and end-to-end tests
	$(VENV)/bin/pytest

test-fast: install  ## unit and integration tests only
	$(VENV)/bin/pytest tests/unit tests/integration

bench: install  ## every bench twice, then one table of the goals: the starting figure, run 1, run 2, ratios, met or by how much not (BENCH_QUICK=1: 100k rows, 3 s capture windows)
	$(PY) -m bench.summary

bench-capture: install  ## capture vs raw pattern-subscribe: highest lossless publish rate (BENCH_CAPTURE_SECONDS, default 30)
	$(PY) -m bench.capture_bench

bench-load: install  ## CLIENTS (200) concurrent POST /exports through a fresh local stack's gateway, no retries, then the drain
	$(PY) -m bench.load_exports --clients $(or $(CLIENTS),200)

clean:
	rm -rf $(VENV) $(TOOLS) .local cdk.out .pytest_cache .mypy_cache .ruff_cache

-include infra/Makefile.inc

openapi: install  ## regenerate docs/openapi.json from the API's routes
	$(PY) -c "import json; from api.app import build_app; \
	print(json.dumps(json.loads(build_app().get_openapi_json_schema()), indent=2, sort_keys=True))" > docs/openapi.json
