# The commands a developer and CI run, and nothing else: CI calls `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DBT := $(BIN)/dbt
WORK := .work
INSTALLED := $(VENV)/.installed

export DBT_PROFILES_DIR := $(CURDIR)
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
# DuckDB is the profile's default target. The targets below name no target,
# so that `make build` and a bare `dbt build` share dbt's partial parse
# (a --target flag, or DBT_TARGET, changes its key and forces a full parse).
unexport DBT_TARGET

.PHONY: help install deps data parse build lint test test-duckdb test-postgres pytest docs db-up clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(INSTALLED): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

install: $(INSTALLED) ## Create .venv and install the requirements

deps: $(INSTALLED) ## Install the dbt packages (the local activity_schema package)
	$(DBT) deps

data: $(INSTALLED) ## Regenerate the seeds with the project's generator
	$(BIN)/python -m tools.generate_data --seed 42 --scale 1.0 --out seeds

parse: deps ## Parse the project (target/manifest.json), as a bare `dbt parse` would
	$(DBT) parse

build: deps ## Build the whole project on DuckDB (jaffle_activity.duckdb)
	$(DBT) seed --full-refresh
	$(DBT) build --exclude resource_type:seed

# Lint against an empty DuckDB file: the models render as on a first build
# (is_incremental() false), whatever warehouse the working tree holds.
lint: deps ## Lint the project's SQL with SQLFluff (dbt templater)
	mkdir -p $(WORK)
	rm -f $(WORK)/lint.duckdb $(WORK)/lint.duckdb.wal
	DBT_DUCKDB_PATH=$(WORK)/lint.duckdb $(BIN)/sqlfluff lint models analyses tests

# Source freshness is judged against the seeds' own clock, their latest
# _loaded_at (tools/freshness_vars.py): the generated data was loaded in 2024.
test-duckdb: deps ## Seed, check source freshness, build and test from scratch on a fresh DuckDB file
	mkdir -p $(WORK)
	rm -f $(WORK)/test.duckdb $(WORK)/test.duckdb.wal
	DBT_DUCKDB_PATH=$(WORK)/test.duckdb $(DBT) seed
	freshness_vars="$$($(BIN)/python -m tools.freshness_vars seeds)"; \
	echo "source freshness against the seeds' latest load: --vars '$$freshness_vars'"; \
	DBT_DUCKDB_PATH=$(WORK)/test.duckdb $(DBT) source freshness --vars "$$freshness_vars"
	DBT_DUCKDB_PATH=$(WORK)/test.duckdb $(DBT) build --exclude resource_type:seed
	DBT_DUCKDB_PATH=$(WORK)/test.duckdb $(DBT) docs generate

test-postgres: deps ## Seed, build and test on Postgres (a throwaway server if none answers)
	eval "$$($(BIN)/python -m tools.pg up)"; \
	$(DBT) seed --target postgres --full-refresh; \
	$(DBT) build --target postgres --exclude resource_type:seed --full-refresh

pytest: deps ## Run the Python test suite (end to end on DuckDB and Postgres)
	$(BIN)/python -m pytest

test: lint test-duckdb test-postgres pytest test-warehouses test-spark ## The whole suite: lint, dbt on DuckDB and Postgres, pytest, warehouse configs, Spark

docs: deps ## Generate the dbt docs (then: dbt docs serve --profiles-dir .)
	$(DBT) docs generate

db-up: ## Start Postgres with docker compose (for users with Docker)
	docker compose up --wait

clean: ## Remove build outputs and the local DuckDB file
	rm -rf target dbt_packages logs $(WORK) jaffle_activity.duckdb jaffle_activity.duckdb.wal

.PHONY: bench-incremental
bench-incremental: deps ## Benchmark incremental customer_stream vs full refresh (BENCH_ARGS=--quick: smoke run)
	$(BIN)/python -m bench.bench_incremental $(BENCH_ARGS)

.PHONY: bench-datasets
bench-datasets: deps ## Benchmark order_journeys vs a sorted copy and the self-join form (BENCH_ARGS=--quick: smoke run)
	$(BIN)/python -m bench.bench_datasets $(BENCH_ARGS)

# The warehouse adapters of requirements-warehouses.txt, in a venv of their own:
# their connectors pin dependency versions that need not agree with .venv's.
WAREHOUSES_VENV := $(WORK)/venv-warehouses
WAREHOUSES_INSTALLED := $(WAREHOUSES_VENV)/.installed

$(WAREHOUSES_INSTALLED): requirements-warehouses.txt
	test -x $(WAREHOUSES_VENV)/bin/python || $(PYTHON) -m venv $(WAREHOUSES_VENV)
	$(WAREHOUSES_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(WAREHOUSES_VENV)/bin/python -m pip install --quiet -r requirements-warehouses.txt
	touch $@

.PHONY: test-warehouses
test-warehouses: $(INSTALLED) $(WAREHOUSES_INSTALLED) ## Check the stream's physical design (Snowflake, BigQuery, Redshift, Databricks offline; Postgres built)
	JAFFLE_REQUIRE_WAREHOUSES=1 $(BIN)/python -m pytest -o addopts="-ra" tests/python/test_physical_design.py

# pyspark and dbt-spark go into .venv: the Spark tests compare with DuckDB
# through the same harness.
SPARK_INSTALLED := $(VENV)/.spark-installed

$(SPARK_INSTALLED): requirements-spark.txt $(INSTALLED)
	$(BIN)/python -m pip install --quiet -r requirements-spark.txt
	touch $@

.PHONY: test-spark bench
test-spark: deps $(SPARK_INSTALLED) ## Build the pipeline on Spark (local pyspark) and check incremental = full
	JAFFLE_REQUIRE_SPARK=1 $(BIN)/python -m pytest -o addopts="-ra" tests/python/test_spark.py

bench: bench-incremental bench-datasets ## Run the benchmarks (BENCH_ARGS=--quick for a smoke run)
