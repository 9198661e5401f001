# GrantFlow: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Runtime files (secret key, uploads, SQLite, security log): the instance folder, outside the package.
GRANTFLOW_INSTANCE_PATH ?= $(CURDIR)/var
export GRANTFLOW_INSTANCE_PATH
DATABASE_URL ?= sqlite:///$(GRANTFLOW_INSTANCE_PATH)/grantflow.sqlite
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

.PHONY: install run test lint check bench clean lock wheel-smoke

# The locked versions (requirements/dev.txt: runtime + dev tools), then the project itself without resolving.
$(STAMP): pyproject.toml requirements/dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

# Re-pin after changing dependencies in pyproject.toml (pip-tools, from the dev extra).
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links -o requirements/main.txt pyproject.toml
	$(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links --extra dev -o requirements/dev.txt pyproject.toml

# The built wheel alone, installed into a clean venv under /tmp (see .ci/wheel-smoke).
wheel-smoke: $(STAMP)
	PYTHON=$(PYTHON) BUILD_PYTHON=$(BIN)/python .ci/wheel-smoke

install: $(STAMP)

run: $(STAMP)
	mkdir -p $(GRANTFLOW_INSTANCE_PATH)
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
