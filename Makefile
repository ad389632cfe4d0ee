# Two commands do all the set-up on a fresh clone:
#   make demo   create .venv, install, run the nightly flow on data/sample, publish data/out/master.duckdb
#   make test   create .venv, install, run the tests
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: demo test check lint typecheck docs docs-check sample bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; Python 3.11 is required (set PYTHON=...)"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mdm run --sources data/sample/sources.yaml --master data/out/master.duckdb

test: $(STAMP)
	$(BIN)/python -m pytest -q

check: lint typecheck docs-check test

lint: $(STAMP)
	$(BIN)/ruff check mdm pipelines tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

docs: $(STAMP)
	$(BIN)/mdm docs --out docs

docs-check: $(STAMP)
	$(BIN)/mdm docs --out docs --check

sample: $(STAMP)
	$(BIN)/mdm sample --out data/sample

clean:
	rm -rf data/out .mdm-work .prefect
