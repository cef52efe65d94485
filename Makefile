# leadroute: `make demo` to try it, `make test` to check it, `make dev` for the Dagster UI.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_WORKERS ?= auto
export DAGSTER_HOME := $(CURDIR)/.dagster
# Quieter, and no network calls from libraries that phone home.
export GX_ANALYTICS_ENABLED := False
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install demo tick dev prod-up prod-down prod-status test bench validate lock clean

$(BIN)/leadroute: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

install: $(BIN)/leadroute

$(DAGSTER_HOME)/dagster.yaml: deploy/dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	cp deploy/dagster.yaml $@

# The demo is the same every time: a fixed seed and a fixed clock, so the lead ids it prints (and the
# README quotes) are the ones `leadroute explain` finds.
DEMO_AT := 2026-11-20T14:00
TICK_AT := 2026-11-20T15:00

demo: install $(DAGSTER_HOME)/dagster.yaml  ## build the demo CRM and run one tick
	$(BIN)/leadroute demo init --seed 42 --now $(DEMO_AT)
	$(BIN)/leadroute tick --now $(TICK_AT)
	$(BIN)/leadroute report --ticks 3
	@echo
	$(BIN)/leadroute explain
	@echo
	@echo "UI:  make dev, then open http://127.0.0.1:3000 (the five-minute schedule is on)"

tick: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/leadroute tick

dev: install $(DAGSTER_HOME)/dagster.yaml  ## the Dagster UI on 127.0.0.1:3000 with the schedule on
	$(BIN)/dg dev -h 127.0.0.1 -p 3000

prod-up: install  ## the production topology here: PostgreSQL, code servers, daemon, webserver on 127.0.0.1:3000
	$(BIN)/leadroute prod up

prod-down: install  ## stop it (runs in progress finish first, up to a minute)
	$(BIN)/leadroute prod down

prod-status: install
	$(BIN)/leadroute prod status

validate: install
	$(BIN)/leadroute validate

test: install  ## the whole suite, one worker per core (PYTEST_WORKERS=0 runs it in one process)
	$(BIN)/pytest -q -n $(PYTEST_WORKERS)

bench: install  ## speed and memory targets (minutes; not part of the tests)
	$(BIN)/python benchmarks/run_all.py

lock:  ## refresh constraints.txt from a fresh resolve of pyproject.toml
	rm -rf /tmp/leadroute-lock && $(PYTHON) -m venv /tmp/leadroute-lock
	/tmp/leadroute-lock/bin/pip install --quiet -e '.[dev]'
	/tmp/leadroute-lock/bin/pip freeze --exclude-editable | grep -v '^leadroute' > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache
