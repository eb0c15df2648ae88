# Two commands on a fresh machine (see README):  make run   |   make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

.PHONY: setup run test bench dashboard
setup: $(BIN)/.installed

## Epstein Run 2 (the default scenario), 4 seeds -> results/epstein-run-2/
run: setup
	$(BIN)/resurgence run

## lint, then the whole test suite (statistical ensembles included)
test: setup
	$(BIN)/ruff check
	$(BIN)/python -m pytest -n 2

## speed and memory, side by side with Mesa (see docs/benchmarks.md)
bench: setup
	$(BIN)/python benchmarks/throughput.py
	$(BIN)/python benchmarks/mesa_compare.py

## the interactive dashboard on http://127.0.0.1:8765
dashboard: setup
	$(BIN)/resurgence dashboard
