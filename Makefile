# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := wsgi:app

.PHONY: install run seed test lint migrate-check bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

## make run: install, migrate the embedded SQLite database, seed the demo, serve on :5000
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask demo seed --if-empty
	@$(BIN)/flask demo info --base-url http://$(HOST):$(PORT)
	$(BIN)/flask run --host $(HOST) --port $(PORT)

## make test: install and run the whole suite (PostgreSQL/Redis when TEST_DATABASE_URL/REDIS_URL are set)
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/import_roster.py

clean:
	rm -rf $(VENV) instance .pytest_cache
