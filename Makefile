# The two commands of the README: `make demo` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint types model-test pytest clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/clienthub demo

test: $(BIN)/.installed
	scripts/install-peers.sh
	scripts/install-mail-corpora.sh
	$(MAKE) lint types model-test pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check .

types: $(BIN)/.installed
	$(BIN)/mypy

model-test: $(BIN)/.installed
	$(BIN)/fga model test --tests hub/access/model.fga.yaml

pytest: $(BIN)/.installed
	$(BIN)/pytest

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
