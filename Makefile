# Threshold — every target CI and the README use. One virtualenv: .venv
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install run web worker beat migrate seed test test-fast lint types format bench check-deploy vendor clean faults

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

## run: set up, migrate, seed demo data on first run, then web + worker + beat (Ctrl-C stops all)
run: seed
	$(VENV)/bin/honcho -f Procfile.dev start

## test: lint, types, migration check and the whole suite, in parallel on every core
## (SQLite, or PostgreSQL with DATABASE_URL)
test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest -n auto

test-fast: install
	$(VENV)/bin/pytest -n auto -m "not e2e" -x -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

types: install
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## bench: speed targets on PostgreSQL (BENCH_DATABASE_URL, default a local threshold_bench db)
bench: install
	$(PY) -m bench

## faults: a private PostgreSQL + Redis stack, scripted faults, invariants after each; a table
## (several minutes; FAULTS_SHORT=1 for CI's short version, tests/faults/test_faults_short.py)
faults: install
	$(PY) -m faults

check-deploy: install
	DEBUG=0 SECRET_KEY=$$($(PY) -c 'import secrets;print(secrets.token_urlsafe(50))') \
	ALLOWED_HOSTS=threshold.example.com $(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf var/threshold.sqlite3* var/broker var/cache var/celerybeat-schedule*
