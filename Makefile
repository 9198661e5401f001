# GrantFlow: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATABASE_URL ?= sqlite:///$(CURDIR)/var/grantflow.sqlite
HOST ?= 127.0.0.1
PORT ?= 8000
# The demo is served over plain HTTP; elsewhere cookies are Secure by default (put HTTPS in front).
SESSION_COOKIE_SECURE ?= 0
WORKERS ?= 2
PYTEST_ARGS ?= -n auto
# The demo's e-mail: a local debugging SMTP server (aiosmtpd, a dev extra) that prints every message it gets.
SMTP_HOST ?= 127.0.0.1
SMTP_PORT ?= 8025
DEMO_SMTP ?= 1

.PHONY: install run test lint check bench clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	mkdir -p var
	DATABASE_URL=$(DATABASE_URL) $(BIN)/flask --app app init-db
	DATABASE_URL=$(DATABASE_URL) $(BIN)/flask --app app demo --if-empty
	# the notification worker (and the demo's SMTP server) run beside gunicorn and stop with it
	trap 'kill $$(jobs -p) 2>/dev/null' EXIT INT TERM; \
	if [ "$(DEMO_SMTP)" = 1 ]; then $(BIN)/python -m aiosmtpd -n -l $(SMTP_HOST):$(SMTP_PORT) & fi; \
	DATABASE_URL=$(DATABASE_URL) SMTP_HOST=$(SMTP_HOST) SMTP_PORT=$(SMTP_PORT) BASE_URL=http://$(HOST):$(PORT) \
		$(BIN)/flask --app app worker & \
	DATABASE_URL=$(DATABASE_URL) SESSION_COOKIE_SECURE=$(SESSION_COOKIE_SECURE) \
		$(BIN)/gunicorn -c config/gunicorn.conf.py --workers $(WORKERS) --bind $(HOST):$(PORT) 'app:create_app()'

test: $(STAMP)
	$(BIN)/python -m workflow check definitions/
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

check: $(STAMP)
	$(BIN)/python -m workflow check definitions/

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
