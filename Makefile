# reval's developer entry points. Every target that needs the virtualenv builds it first,
# so `make test` on a fresh clone is enough.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test lint format demo demo-llm demo-images demo-graded bench hostile clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,cog]'
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

# The quickstart: two real Cog models run locally (no token, no network).
demo: $(STAMP)
	$(BIN)/reval run configs/quickstart.yaml

# The seed config against the fake Replicate API from tests/ (no token, no network).
# Its table has a failing cell on purpose: exit code 100 is expected, 2 is not.
demo-llm: $(STAMP)
	$(BIN)/python -m tests.fake_replicate.demo configs/replicate-llm.yaml || test $$? -eq 100

# The image models' config, against the same fake: saves real PNGs and an HTML report to look at.
# SDXL's 768px images miss the poster test's 1024px minimum on purpose: exit code 100 is expected.
demo-images: $(STAMP)
	$(BIN)/python -m tests.fake_replicate.demo configs/replicate-image.yaml || test $$? -eq 100

# Model-graded assertions against the same fake, which also plays the grader, the embedding model
# and Llama Guard: every check passes.
demo-graded: $(STAMP)
	$(BIN)/python -m tests.fake_replicate.demo configs/replicate-graded.yaml

# Speed and memory of reval against the fake Replicate API, next to a bare baseline client.
# A measurement, not a test: it prints numbers (about four minutes on 2 cores).
bench: $(STAMP)
	$(BIN)/python -m tests.bench

# The hostile-input corpus (tests/hostile/): a few hundred broken configs and fault scenarios,
# each run as a real `reval` process with a time limit. A measurement: it prints how many cases
# were clean, tracebacks, hangs, leaked tokens... and the non-clean ones (several minutes).
hostile: $(STAMP)
	$(BIN)/python -m tests.hostile.corpus --json build/hostile.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
