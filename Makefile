# porch-py developer entry points. Every target bootstraps .venv when it is
# missing or older than pyproject.toml, so each one works on a fresh clone.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_UNIT_ARGS ?=
PYTEST_E2E_ARGS ?=
SCALE ?= full
DATA_DIR ?= .porch
PORT ?= 9443

.PHONY: all venv tools run test unit e2e verify lint type imports verify-codegen generate bench clean

all: test

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

venv: $(STAMP)

# git, kubectl and kpt are used by the tests; install or fail clearly.
tools:
	@hack/ensure-tools.sh

run: venv
	$(BIN)/porch-server --standalone --data-dir $(DATA_DIR) \
		--bind-address 127.0.0.1 --secure-port $(PORT) \
		--write-kubeconfig $(DATA_DIR)/kubeconfig

generate: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" hack/update-codegen.sh

verify-codegen: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" hack/verify-codegen.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

type: venv
	$(BIN)/mypy
	$(BIN)/mypy cmd/porch-server/main.py
	$(BIN)/mypy cmd/porchctl/main.py

imports: venv
	$(BIN)/lint-imports

verify: verify-codegen lint type imports

unit: venv
	hack/pytest.sh $(BIN)/python -m pytest -q api pkg hack $(PYTEST_UNIT_ARGS)

e2e: venv tools
	hack/pytest.sh $(BIN)/python -m pytest -q test/e2e test/bench $(PYTEST_E2E_ARGS)

# What CI runs (.ci/run): install, static checks, then every test tier.
test: venv tools
	$(MAKE) --no-print-directory verify
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory e2e

bench: venv
	$(BIN)/python -m test.bench --scale $(SCALE)

clean:
	rm -rf $(VENV) .tox _output .mypy_cache .ruff_cache .pytest_cache
