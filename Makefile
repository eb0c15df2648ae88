# Two commands on a fresh machine (see README):  make run   |   make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# no byte-compiling of every installed package at install time (Python compiles what it
# imports, when it imports it)
PIP := $(BIN)/pip install --quiet --no-compile

# `make run` needs the package; `make test` adds the test tools (pytest, ruff, playwright)
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(PIP) -e .
	touch $@

$(BIN)/.installed-test: $(BIN)/.installed
	$(PIP) -e '.[test]'
	touch $@

.PHONY: setup setup-test run test bench dashboard
setup: $(BIN)/.installed
setup-test: $(BIN)/.installed-test

## the article's question: the four post-Mosul policies over 4 seeds -> results/question/
## (report.html, per-seed.csv, answer.csv, a folder of series per policy); Epstein's Run 2 is
## `.venv/bin/resurgence run epstein-run-2`
run: setup
	$(BIN)/resurgence question

## lint, then the whole test suite (statistical ensembles included)
test: setup-test
	$(BIN)/ruff check
	$(BIN)/python -m pytest -n 2 --dist loadgroup

## speed and memory, side by side with Mesa (see docs/benchmarks.md)
bench: setup-test
	$(BIN)/python benchmarks/throughput.py
	$(BIN)/python benchmarks/mesa_compare.py

## the interactive dashboard on http://127.0.0.1:8765
dashboard: setup
	$(BIN)/resurgence dashboard
