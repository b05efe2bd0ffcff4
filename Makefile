# wattline — every target does its own set-up and is safe to run again.
#   make demo    the whole pipeline on this machine, embedded backends, no cloud account
#   make test    lint, type-check, and the full test suite (starts the local servers it needs)
#   make bench   benchmarks that print throughput figures and ratios against baselines
#   make screenshot  regenerate docs/dashboard.png (docs/looker.md)

SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/uv/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install servers test lint typecheck unit demo bench aws-check screenshot clean

$(TOOLS)/uv/bin/uv:
	$(PYTHON) -m venv $(TOOLS)/uv
	$(TOOLS)/uv/bin/pip install --quiet --disable-pip-version-check uv

# --compile-bytecode: the libraries' .pyc files are written here, once. Without them every process compiles pydantic,
# typer, rich and numpy from source again whenever .pyc files cannot be written at run time (PYTHONDONTWRITEBYTECODE,
# a read-only install): that was half of `wattline analyze`'s start-up (docs/benchmarks.md).
$(BIN)/.installed: pyproject.toml uv.lock shared/pyproject.toml $(wildcard services/*/pyproject.toml) | $(UV)
	$(UV) sync --all-packages --group dev --compile-bytecode --python $(PYTHON)
	touch $@

uv.lock: | $(UV)
	$(UV) lock --python $(PYTHON)

# wattline itself is installed editable, and uv compiles no editable sources: without this every command compiled
# wattline's own modules again (~0.05 CPU-s of `wattline analyze`'s start-up). compileall rewrites only what changed
# since the last run; a stale .pyc is never used (Python checks it against its source's mtime and size).
install: $(BIN)/.installed
	$(BIN)/python -m compileall -q shared/wattline

# Local servers for the integration tests: mosquitto and chromium from Debian (when root), bqemulator and checkov
# each in its own venv, the Pub/Sub emulator from google-cloud-cli when present. Missing ones make their tests skip with
# a reason; in CI (CI=true) the script fails instead, so a missing server cannot pass silently.
servers: install
	bash infra/local/install-servers.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy --strict shared/wattline

unit: install
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

test: install servers lint typecheck
	$(BIN)/pytest $(PYTEST_ARGS)

demo: install
	$(BIN)/wattline demo

bench: install
	PYTHONPATH=tests $(BIN)/python bench/run.py

# docs/dashboard.png from a 14-day demo home in headless Chromium (the tests do not run it).
screenshot: install
	bash infra/local/dashboard-screenshot.sh

# serverless package (offline, dummy credentials), cfn-lint, checkov and the ASL check; `make test` runs them too.
aws-check: install
	bash infra/aws/package.sh

clean:
	rm -rf $(VENV) $(TOOLS) .wattline .pytest_cache .mypy_cache .ruff_cache
