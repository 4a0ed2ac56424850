# flatexport — the two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DAY ?= 2024-11-04

# Airflow runs from this checkout: its metadata and the DAGs. The engine is installed
# into the venv and imported by the DAGs; Airflow's plugin loader is not pointed at
# plugins/, because it imports every file there as a top-level module.
export AIRFLOW_HOME ?= $(CURDIR)/data/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export FLATEXPORT_DATA_DIR ?= $(CURDIR)/data

.PHONY: install demo test lint bench lock clean browser console spreadsheet

# The venv gets the dev lock: the runtime pins (requirements.txt, what the image installs)
# plus the test and lint tools.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements-dev.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@# The editable build leaves flatexport.egg-info in plugins/, which is on sys.path: a second
	@# copy of the package's metadata, so Airflow would load the console plugin twice.
	rm -rf plugins/*.egg-info
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/flatexport seed
	$(BIN)/python demo/make_subscriptions.py > data/demo-subscriptions.yaml
	$(BIN)/flatexport import-subscriptions data/demo-subscriptions.yaml
	AIRFLOW__LOGGING__LOGGING_LEVEL=WARNING $(BIN)/flatexport dag-test clickstream_daily --date $(DEMO_DAY)
	@echo
	@echo "Deliveries for $(DEMO_DAY) (file, rows, status):"
	$(BIN)/flatexport deliveries --from $(DEMO_DAY) --to $(DEMO_DAY)
	@echo
	@find data/deliveries -type f -name '*$(DEMO_DAY)*' ! -name '*.manifest.json' | sort
	@echo
	@echo "An on-demand request, e-mailed to the org's admin (a local SMTP server stands in for the relay):"
	@AIRFLOW__LOGGING__LOGGING_LEVEL=WARNING $(BIN)/python demo/ondemand_email.py
	@echo
	@echo "Console: run 'make console', then open http://localhost:$(CONSOLE_PORT)/flatexport/"
	@echo "(user admin; Airflow prints the password when it starts)."

# Airflow with the console on this checkout's data: api-server, scheduler, DAG processor
# and triggerer in one process (airflow standalone), until Ctrl-C.
CONSOLE_PORT ?= 8080
console: install
	PATH="$(CURDIR)/$(BIN):$$PATH" AIRFLOW__API__PORT=$(CONSOLE_PORT) $(BIN)/airflow standalone

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# A real spreadsheet for the xlsx tests: LibreOffice Calc, headless (Debian package, as root).
spreadsheet:
	@command -v soffice >/dev/null 2>&1 || { \
	  echo "installing LibreOffice Calc (libreoffice-calc-nogui) for the xlsx tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libreoffice-calc-nogui >/dev/null; }

# The console's browser tests drive Debian's Chromium through chromedriver; `make test`
# installs both when they are missing (apt as root, else through sudo).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  echo "installing chromium and chromium-driver (browser tests)"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium chromium-driver >/dev/null; \
	fi

# Test files are spread over TEST_WORKERS processes (pytest-xdist, one file per worker at a
# time): the Airflow, cluster and browser tests spend most of their time waiting on other
# processes, so more workers than cores finish the suite sooner. Files go out in the order
# tests/conftest.py sets: the ten-day backfill first, then most tests first, which spreads
# the few-test Airflow-cluster files over the run (all of them first, at once, took 42
# minutes on 2 cores).
TEST_WORKERS ?= 4
test: lint browser spreadsheet
	FLATEXPORT_TEST_BROWSER=required $(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=25

bench: install
	$(BIN)/python bench/run.py

# Re-pin after editing requirements.in or requirements-dev.in (needs the registry). The
# runtime lock first: the dev lock takes its pins as constraints.
lock: install
	$(BIN)/uv pip compile requirements.in --python-version 3.11 --quiet -o requirements.txt
	$(BIN)/uv pip compile requirements-dev.in --python-version 3.11 --quiet -o requirements-dev.txt

clean:
	rm -rf data .pytest_cache .ruff_cache
