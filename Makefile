# Quick start: `make run` (demo region on http://localhost:5000) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint bench translations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml package.json package-lock.json | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

translations: $(STAMP)
	$(BIN)/python -m babel.messages.frontend compile --statistics -d translations 2>&1 | grep -v '^compiling' || true
	@test -f translations/nl/LC_MESSAGES/messages.mo

install: $(STAMP) node_modules/.package-lock.json translations

run: install
	$(BIN)/python -m regional_loket.dev.run

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/tenants.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/submit.py
	$(BIN)/python bench/ranked_list.py --gc-freeze

clean:
	rm -rf $(VENV) node_modules instance
