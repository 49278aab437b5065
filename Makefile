# llmmon — the two commands a new machine needs: `make demo` and `make test`. Both create .venv themselves.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
AIRFLOW_ENV := PATH=$(CURDIR)/$(BIN):$$PATH AIRFLOW_HOME=$(CURDIR)/.airflow \
	AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/dags \
	AIRFLOW__CORE__PLUGINS_FOLDER=$(CURDIR)/plugins \
	AIRFLOW__CORE__LOAD_EXAMPLES=False \
	AIRFLOW__CORE__PARALLELISM=8 \
	LLMMON_HOME=$(CURDIR)

.PHONY: venv demo test lint bench airflow demo-server clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q -e .
	touch $(STAMP)

venv: $(STAMP)

demo: venv  ## golden_eval through Airflow for v1 then v2 against the demo model server; prints the summary
	LLMMON_HOME=$(CURDIR) $(BIN)/llmmon demo

test: venv  ## the test suite (needs PostgreSQL on 127.0.0.1:5432; .ci/run starts it)
	$(BIN)/pytest -q

lint: venv
	$(BIN)/ruff check .

bench: venv  ## the benchmarks: endpoint client, drift job, retrieval metrics, SLO windows (print figures; not in `make test`)
	$(BIN)/python bench/golden_eval.py
	$(BIN)/python bench/drift.py
	$(BIN)/python bench/retrieval.py
	$(BIN)/python bench/slo.py

demo-server: venv
	$(BIN)/llmmon demo-server

airflow: venv  ## airflow standalone with this project's dags and plugins (UI on http://localhost:8080)
	$(AIRFLOW_ENV) $(BIN)/airflow standalone

clean:
	rm -rf .llmmon .airflow .pytest_cache
