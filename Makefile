# spenv: the two commands a newcomer needs are `make demo` and `make test`. Each one installs
# everything it needs: the virtual environment with the project and its dev extra, and the
# system packages of the backends (scripts/system-packages.sh: Coq, bubblewrap, and for the
# tests Chromium with its driver), through apt-get as root or with password-less sudo.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.spenv-installed

.PHONY: install system-demo system-test demo test bench lint docs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

system-demo:
	@bash scripts/system-packages.sh demo

system-test:
	@bash scripts/system-packages.sh test

demo: system-demo $(STAMP)  ## the reference-agent tournament, offline, results on screen and in demo-out/
	$(BIN)/spenv demo --out demo-out

test: system-test $(STAMP)  ## the whole test suite (docs build and packaging check included)
	SPENV_REQUIRE_BACKENDS=1 $(BIN)/python -m pytest -q tests

bench: system-demo $(STAMP)  ## performance measurements against peers (pytest-benchmark)
	$(BIN)/python -m pytest benchmarks/perf --benchmark-only -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

docs: $(STAMP)  ## the documentation site, built with warnings as errors, into site/
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) demo-out site .pytest_cache .benchmarks
