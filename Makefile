# Quick start: `make run` (demo region on http://localhost:5000) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint audit bench translations lock wheel clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Exactly the locked versions (requirements/dev.txt, hashes checked), then the project itself
# without resolving anything again. Production installs requirements/main.txt and the wheel.
$(STAMP): pyproject.toml requirements/dev.txt package.json package-lock.json | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# After changing dependencies in pyproject.toml: re-resolve both lock files (dev within main).
PIP_COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links
lock: | $(BIN)/python
	$(PIP_COMPILE) -o requirements/main.txt pyproject.toml
	$(PIP_COMPILE) --extra dev -c requirements/main.txt -o requirements/dev.txt pyproject.toml

# The deployable wheel in dist/ (config, migrations, catalogs, tenants and front-end files inside).
wheel: install
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation -w dist .

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

# Known vulnerabilities in the locked runtime dependencies. Needs the vulnerability service
# (PyPI's JSON API); --strict fails when a package cannot be checked, so an unreachable service
# is a failure here, never a silent "no known vulnerabilities". bandit runs in `make test`.
audit: install
	$(BIN)/pip-audit --strict --require-hashes --disable-pip -r requirements/main.txt

bench: install
	$(BIN)/python bench/tenants.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/submit.py
	$(BIN)/python bench/ranked_list.py --gc-freeze
	$(BIN)/python bench/figures.py
	$(BIN)/python bench/mixed.py --results bench/RESULTS.md

clean:
	rm -rf $(VENV) node_modules instance build dist
