# Kefu 客服部管理系统 — see README.md.
#   make run    install, migrate, load the demo data once, serve on http://127.0.0.1:8000
#   make test   install, lint, then the whole test suite on SQLite and on PostgreSQL + Redis

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
BIND ?= 127.0.0.1:8000
KEFU_DATA_DIR ?= $(CURDIR)/var
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/kefu
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# Extra pytest options, e.g. make test-sqlite PYTEST_ARGS="-x -k customers"
PYTEST_ARGS ?=
# Only the apt steps need root; everything else runs as the calling user.
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: help run serve demo test lint test-sqlite test-pg chromium messages clean distclean

help:
	@echo "make run          install, migrate, load the demo data (once), serve on http://$(BIND)"
	@echo "make test         lint + the test suite on SQLite, then on PostgreSQL + Redis"
	@echo "make lint         ruff check"
	@echo "make test-sqlite  the test suite on SQLite only"
	@echo "make test-pg      the test suite on PostgreSQL + Redis only ($(TEST_DATABASE_URL))"
ifneq ($(wildcard bench/run.py),)
	@echo "make bench        run the benchmarks (bench/run.py)"
endif
	@echo "make clean        remove caches and build files (keeps .venv and the data in var/)"
	@echo "make distclean    also remove .venv and var/ — this deletes the local data"

# --- install ---------------------------------------------------------------------------------

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

# --- run -------------------------------------------------------------------------------------

run: $(VENV)/.installed
	KEFU_DATA_DIR=$(KEFU_DATA_DIR) $(BIN)/kefu migrate --noinput
	KEFU_DATA_DIR=$(KEFU_DATA_DIR) $(BIN)/kefu demo
	KEFU_DATA_DIR=$(KEFU_DATA_DIR) exec $(BIN)/kefu serve --bind $(BIND) --no-migrate

serve: $(VENV)/.installed
	KEFU_DATA_DIR=$(KEFU_DATA_DIR) exec $(BIN)/kefu serve --bind $(BIND)

demo: $(VENV)/.installed
	KEFU_DATA_DIR=$(KEFU_DATA_DIR) $(BIN)/kefu migrate --noinput
	KEFU_DATA_DIR=$(KEFU_DATA_DIR) $(BIN)/kefu demo

# --- test ------------------------------------------------------------------------------------

test: $(VENV)/.installed-test chromium messages
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-pg

lint: $(VENV)/.installed-test
	$(BIN)/ruff check kefu tests $(wildcard bench)

# Each run gets a throw-away data dir (secret key, Huey file, uploads), removed afterwards.
test-sqlite: $(VENV)/.installed-test
	data=$$(mktemp -d) && trap 'rm -rf "$$data"' EXIT && \
	env -u KEFU_DATABASE_URL -u KEFU_REDIS_URL KEFU_DATA_DIR="$$data" $(BIN)/pytest $(PYTEST_ARGS)

# pytest-django creates (and drops) the test database itself, next to the one named in the URL.
test-pg: $(VENV)/.installed-test
	$(BIN)/python -c "import redis; redis.Redis.from_url('$(TEST_REDIS_URL)').flushdb()"
	data=$$(mktemp -d) && trap 'rm -rf "$$data"' EXIT && \
	KEFU_DATABASE_URL=$(TEST_DATABASE_URL) KEFU_REDIS_URL=$(TEST_REDIS_URL) KEFU_DATA_DIR="$$data" \
	$(BIN)/pytest $(PYTEST_ARGS)

# The browser tests drive Debian's Chromium through Playwright.
# Chromium drives the browser tests; gettext's msgfmt checks the translation catalogue.
chromium:
	@if [ ! -x /usr/bin/chromium ] || ! command -v msgfmt >/dev/null; then \
		echo "Installing Chromium and gettext for the tests"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium gettext \
		|| { $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium gettext; }; \
	fi

# Compiled catalogues may also be committed; compile when gettext is there.
messages: $(VENV)/.installed
	@if command -v msgfmt >/dev/null && [ -d kefu/locale ]; then \
		data=$$(mktemp -d) && trap 'rm -rf "$$data"' EXIT && \
		cd kefu && KEFU_DATA_DIR="$$data" $(abspath $(BIN))/kefu compilemessages --verbosity 0; \
	fi

ifneq ($(wildcard bench/run.py),)
.PHONY: bench
bench: $(VENV)/.installed-test
	$(BIN)/python bench/run.py
endif

# --- clean -----------------------------------------------------------------------------------

clean:
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf
	rm -rf .pytest_cache .ruff_cache .mypy_cache .hypothesis test-results build dist *.egg-info var/static

distclean: clean
	rm -rf $(VENV) var
