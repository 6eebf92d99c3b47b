# The two commands of README.md: `make run` and `make test`. Both set themselves up on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint bench install install-dev clean
# `make bench`: the quick sizes, on a PostgreSQL database of its own (created and filled once, then reused).
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/bench_10k

UV := $(VENV)/bin/uv

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)

$(UV): requirements-bootstrap.txt | $(VENV)/bin/activate
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-bootstrap.txt
	touch $@

$(VENV)/.installed: requirements.txt $(UV)
	$(UV) pip install --quiet --python $(PY) -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(UV)
	$(UV) pip install --quiet --python $(PY) -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: $(VENV)/.installed
	./scripts/run.sh

# Tests keep their files (filesystem broker queue, SQLite) apart from a running `make run`, and run on
# two processes (pytest-xdist; tests/xdist_services.py gives each its own Redis database); `worksteal` lets
# the process that finishes its share first take tests from the other, so neither idles at the end.
test: $(VENV)/.installed-dev
	HELPDESK_VAR_DIR=$(CURDIR)/var/test $(PY) -m pytest -n 2 --dist worksteal -p tests.xdist_services

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run

bench: $(VENV)/.installed-dev
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/generate.py --tickets 10000 --reuse
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/requests_bench.py
	$(PY) bench/business_time_bench.py

clean:
	rm -rf var staticfiles .pytest_cache
