# fitsflow: `make run` to try it, `make test` to test it. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install run demo test lint test-postgres bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## run: install, create the embedded SQLite database with the demo school, print the logins
run: install
	$(BIN)/fitsflow init
	$(BIN)/fitsflow demo
	@echo
	@echo "fitsflow is ready in ./fitsflow.db. Try, for example:"
	@echo "  $(BIN)/fitsflow change list --as nat.osei@demo.school"
	@echo "  $(BIN)/fitsflow change show CHG-$$(date +%Y)-0010 --as ben.marsh@demo.school"
	@echo "  $(BIN)/fitsflow audit verify"

## test: lint, type-check and run the whole suite (PostgreSQL too when FITSFLOW_TEST_POSTGRES_URL is set)
test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

## test-postgres: only the PostgreSQL tests (needs FITSFLOW_TEST_POSTGRES_URL)
test-postgres: install
	$(BIN)/pytest -m postgres $(PYTEST_ARGS)

## bench: the gate-transaction benchmark (see bench/README.md)
bench: install
	$(BIN)/python bench/gate_bench.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
