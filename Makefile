# Two commands on a fresh machine: `make demo` and `make test`. Each installs what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .tools
LINT_PATHS := $(wildcard python tests recipes benchmarks)
AZURITE := $(TOOLS)/node_modules/.bin/azurite-blob
AZURITE_VERSION := 3.35.0
CHECK_PYTHON := $(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "obstac needs Python >= 3.11"'

.PHONY: test lint typecheck pytest demo install clean

# The demo needs only the package and its local servers; the tests add linters, type stubs and
# rasterio. Two stamps, so `make demo` on a fresh clone does not wait for the test tooling.
$(VENV)/.runtime: pyproject.toml
	@$(CHECK_PYTHON)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[testing]'
	touch $@

$(VENV)/.installed: $(VENV)/.runtime
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# Azurite (Azure Blob emulator) comes from npm; Node.js from Debian when the machine lacks it.
$(AZURITE):
	@command -v npm >/dev/null || (apt-get update && apt-get install -y nodejs npm)
	npm install --no-audit --no-fund --silent --prefix $(TOOLS) azurite@$(AZURITE_VERSION)

install: $(VENV)/.installed $(AZURITE)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

pytest: install
	OBSTAC_AZURITE=$(abspath $(AZURITE)) $(PY) -m pytest -n 2 --dist loadgroup -q

test: lint typecheck pytest

demo: $(VENV)/.runtime $(AZURITE)
	OBSTAC_AZURITE=$(abspath $(AZURITE)) $(PY) -m obstac.demo

clean:
	rm -rf $(VENV) $(PEERS_VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache

# Benchmarks (quick mode, < 5 min): nginx from Debian, peers from PyPI (benchmarks/requirements.txt).
# `python -m benchmarks --full` runs the full sizes. Never part of `make test`.
# Peers whose pins clash with .venv's (s3fs: its aiobotocore pins an older botocore than boto3
# needs) get their own venv, with obstac for the worker's helpers; their workers run its Python.
PEERS_VENV := .venv-peers
PEERS_REQUIREMENTS := benchmarks/requirements-peers.txt

$(PEERS_VENV)/.installed: pyproject.toml $(PEERS_REQUIREMENTS)
	@$(CHECK_PYTHON)
	test -x $(PEERS_VENV)/bin/python || $(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PEERS_VENV)/bin/python -m pip install --quiet -e . -r $(PEERS_REQUIREMENTS)
	touch $@

.PHONY: bench
bench: install $(PEERS_VENV)/.installed
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || (apt-get update && apt-get install -y nginx)
	$(PY) -m pip install --quiet -r benchmarks/requirements.txt
	OBSTAC_AZURITE=$(abspath $(AZURITE)) $(PY) -m benchmarks
