# Bimo — two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
VENV := .venv
BIN := $(VENV)/bin
UV := .tools/bin/uv
export DAGSTER_HOME := $(CURDIR)/dagster_home
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export RUNTIME__DLTHUB_TELEMETRY := false
export BIMO_WAREHOUSE ?= $(CURDIR)/data/warehouse.duckdb

.PHONY: help install demo test test-heavy test-all test-fast lint format ui bench clean

help:
	@echo "make demo   - install, generate a demo company, run the pipeline through Dagster, print a summary"
	@echo "make test   - install and run the test suite (without the heavy end-to-end suites)"
	@echo "make test-heavy - the end-to-end reliability suites and benchmark harness (~7–9 min); make test-all - both"
	@echo "make browser-deps - Debian chromium + chromium-driver for tests/browser (apt-get, once)"
	@echo "make screenshots  - docs/screenshots/*.png: every dashboard page on a fresh demo warehouse"
	@echo "make ui     - Dagster UI on http://127.0.0.1:3000 and the dashboard on http://127.0.0.1:8501"
	@echo "make lint   - ruff lint and format check"
	@echo "make bench  - benchmarks (benchmarks/results.md; bench-quick: a small CI run)"

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# uv.lock pins every package: two installs a month apart resolve the same.
# Bytecode is compiled at install (the packages and Bimo's own code): where
# PYTHONDONTWRITEBYTECODE is set (Docker images, the machine these benchmarks ran on) Python never
# caches it, and every process — each dlt load, dbt run and Dagster step — would compile its
# imports from source again (statsforecast 9.1 s → 3.1 s, dbt 4.9 s → 2.8 s per process;
# docs/benchmarks.md).
$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	$(BIN)/python -m compileall -q bimo ingestion orchestration app > /dev/null
	$(BIN)/dbt parse --quiet --project-dir $(CURDIR)/dbt_project --profiles-dir $(CURDIR)/dbt_project --target-path $(CURDIR)/dbt_project/target/dagster
	touch $@

install: $(VENV)/.installed

demo: install
	time $(BIN)/bimo demo

test: install
	$(BIN)/python -m pytest -n 2 -q -m "not heavy"

# The end-to-end reliability suites (tests/reliability: reloads, backfills, restatements, SIGKILL
# crashes, concurrent runs); CI runs them after `make test`.
test-heavy: install
	$(BIN)/python -m pytest -n 2 -q -m heavy

test-all: test test-heavy

test-fast: install
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

.PHONY: browser-deps screenshots

# Headless Chromium for tests/browser (they skip without it); CI runs this before `make test`.
browser-deps:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi; \
	sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	$$sudo apt-get update && \
	$$sudo env DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y --no-install-recommends chromium chromium-driver

# The README's screenshots (1400x1000): every page of the dashboard on a fresh demo warehouse.
screenshots: install browser-deps
	BIMO_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q tests/browser -k demo_warehouse

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

ui: install
	@echo "Dagster UI:  http://127.0.0.1:3000"
	@echo "Dashboard:   http://127.0.0.1:8501"
	@set -m; trap 'kill 0' INT TERM EXIT; \
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000 & \
	$(BIN)/streamlit run app/streamlit_app.py --server.headless true --server.address 127.0.0.1 \
	  --server.port 8501 --browser.gatherUsageStats false & \
	wait

bench: install
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/ingest_throughput.py
	$(BIN)/python benchmarks/anomaly_accuracy.py

bench-quick: install
	$(BIN)/python benchmarks/bench.py --quick

clean:
	rm -rf $(VENV) .tools data dagster_home/storage dagster_home/logs dagster_home/history dbt_project/target
