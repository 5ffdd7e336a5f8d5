# fitsflow: `make run` to try it, `make test` to test it. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)

.PHONY: install run demo test lint test-postgres fuzz audit lock bench clean

# Every dependency, pinned with its hashes in requirements.lock (make lock renews it).
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
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

## audit: scan the locked dependencies for known vulnerabilities (needs the vulnerability database)
audit: install
	.ci/audit

## lock: re-resolve requirements.lock from pyproject.toml, with hashes
lock: install
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --no-emit-find-links --no-emit-index-url \
		--extra dev --no-strip-extras --output-file requirements.lock pyproject.toml

## test-postgres: only the PostgreSQL tests (needs FITSFLOW_TEST_POSTGRES_URL)
test-postgres: install
	$(BIN)/pytest -m postgres $(PYTEST_ARGS)

## bench: the gate-transaction benchmark (see bench/README.md)
bench: install
	$(BIN)/python bench/gate_bench.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
