# reval's developer entry points. Every target that needs the virtualenv builds it first,
# so `make test` on a fresh clone is enough.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test lint format clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check replicate_eval tests
	$(BIN)/ruff format --check replicate_eval tests
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix replicate_eval tests
	$(BIN)/ruff format replicate_eval tests

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
