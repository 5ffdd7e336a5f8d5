# fitsflow: `make run` to try it, `make test` to test it. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install run demo test lint test-postgres fuzz bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## run: install, create ./fitsflow.db with the demo school, print the logins, serve on http://127.0.0.1:8000
run: install
	$(BIN)/fitsflow init
	$(BIN)/fitsflow demo
	@echo
	FITSFLOW_WEB_SECURE_COOKIES=false $(BIN)/fitsflow serve

## test: lint, type-check and run the whole suite (PostgreSQL too when FITSFLOW_TEST_POSTGRES_URL is set)
test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

## fuzz: schemathesis against a served demo school (no 5xx, every response as documented)
fuzz: install
	.ci/fuzz-api $(FUZZ_EXAMPLES)

## test-postgres: only the PostgreSQL tests (needs FITSFLOW_TEST_POSTGRES_URL)
test-postgres: install
	$(BIN)/pytest -m postgres $(PYTEST_ARGS)

## bench: the gate-transaction benchmark (see bench/README.md)
bench: install
	$(BIN)/python bench/gate_bench.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
