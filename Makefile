# spenv: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.spenv-installed

.PHONY: install demo test bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)  ## the reference-agent tournament, offline, results on screen and in demo-out/
	$(BIN)/spenv demo --out demo-out

test: $(STAMP)  ## the whole test suite
	$(BIN)/python -m pytest -q tests

bench: $(STAMP)  ## performance measurements against peers (pytest-benchmark)
	$(BIN)/python -m pytest benchmarks/perf --benchmark-only -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) demo-out .pytest_cache .benchmarks
