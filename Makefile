# remit: `make demo` and `make test` work on a fresh clone (they build .venv first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: install demo test lint test-sqlite test-postgres bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/remit demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

test-sqlite: $(STAMP)
	$(BIN)/pytest

# PostgreSQL runs whenever it is reachable; under CI it must be.
test-postgres: $(STAMP)
	@if $(BIN)/python -c "import psycopg; psycopg.connect('$(PG_TEST_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		REMIT_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest; \
	elif [ -n "$$CI" ]; then \
		echo "PostgreSQL is not reachable at $(PG_TEST_URL), and CI requires it"; exit 1; \
	else \
		echo "PostgreSQL not reachable at $(PG_TEST_URL): skipped the PostgreSQL run"; \
	fi

test: lint test-sqlite test-postgres

bench: $(STAMP)
	bash benchmarks/setup_localstripe.sh
	$(BIN)/python benchmarks/customers_vs_localstripe.py

clean:
	rm -rf $(VENV) .remit .mypy_cache .ruff_cache
