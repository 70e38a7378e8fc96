# ChemMall — the two commands: `make run` and `make test`.
# make run   installs into .venv, migrates, loads demo data, starts web + Celery worker + beat.
#            No DATABASE_URL/REDIS_URL: embedded SQLite + file-system broker under var/.
# make test  the whole suite, on PostgreSQL and Redis (defaults: the local servers).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
WEB_WORKERS ?= 2

export DJANGO_SETTINGS_MODULE ?= chemmall.settings

.PHONY: run test install lint check-deploy messages clean-embedded help fuzz load-quick

help:
	@echo "make run    start ChemMall (web + worker + beat) at http://$(HOST):$(PORT)/"
	@echo "make test   run the whole test suite on PostgreSQL + Redis"
	@echo "make lint   ruff + migration check + deploy check"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: export DEBUG ?= 1
run: export CHEMMALL_HOST := $(HOST)
run: export CHEMMALL_PORT := $(PORT)
run: export WEB_WORKERS := $(WEB_WORKERS)
run: export SITE_URL ?= http://$(HOST):$(PORT)
run: install
	@mkdir -p var
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py seed_demo
	@echo
	@echo "  ChemMall is starting at  http://$(HOST):$(PORT)/"
	@echo "  Staff workbench (admin): http://$(HOST):$(PORT)/admin/"
	@echo "  API docs:                http://$(HOST):$(PORT)/api/docs/"
	@echo "  Database: $${DATABASE_URL:-embedded SQLite under var/}  Broker: $${REDIS_URL:-embedded file-system broker under var/}"
	@echo "  Press Ctrl-C to stop web, worker and beat."
	@echo
	exec $(BIN)/honcho start -f Procfile

# The exported DJANGO_SETTINGS_MODULE above would beat pytest.ini's: pin the test settings.
test: export DJANGO_SETTINGS_MODULE := chemmall.settings_test
test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=chemmall.settings_production SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
		$(PY) manage.py check --deploy --fail-level WARNING

messages: install
	$(PY) manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=var --ignore=scripts
	$(PY) manage.py compilemessages -l zh_Hans --ignore=.venv

clean-embedded:
	rm -rf var/chemmall.sqlite3* var/celery var/celerybeat-schedule*

# API fuzzing (schemathesis, WSGI mode, every role): FUZZ_MAX_EXAMPLES per operation and role.
fuzz: export DJANGO_SETTINGS_MODULE := chemmall.settings_test
fuzz: install
	CHEMMALL_FUZZ=1 FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-3} $(PY) -m pytest -q -p no:logging --show-capture=no tests/fuzz

# Load benchmark, bounded (8 users, 10 s); the full run is `$(PY) benchmarks/load.py`.
load-quick: install
	$(PY) benchmarks/load.py --quick
