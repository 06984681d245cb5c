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

# The package-install test is part of test-integration, which `make test`
# also runs: it is left out here so that it runs once.
pytest: deps ## Run the Python test suite (end to end on DuckDB and Postgres)
	$(BIN)/python -m pytest --ignore=tests/python/test_package_install.py

test: lint bouncer score test-duckdb test-postgres pytest test-warehouses test-spark test-integration ## The whole suite: lint, dbt on DuckDB and Postgres, pytest, warehouse configs, Spark

docs: deps ## Generate the dbt docs (then: dbt docs serve --profiles-dir .)
	$(DBT) docs generate

.PHONY: docs-serve
docs-serve: deps ## Generate the dbt docs on DuckDB and serve them on http://localhost:8080
	$(DBT) docs generate
	$(DBT) docs serve --port 8080 --no-browser

# dbt-bouncer (dbt-bouncer.yml) reads the manifest and the catalog, and the
# catalog needs the tables: on a throwaway DuckDB file, the seeds and every
# model built empty (`dbt run --empty`), then `dbt docs generate` writes
# manifest.json and catalog.json. They go to $(WORK)/bouncer/target (the
# config's dbt_artifacts_dir), which leaves target/ and its partial parse to
# the other targets. COLUMNS: the width of its table of failures, which is
# 80 without a terminal and then cuts the messages.
BOUNCER_DUCKDB := $(WORK)/bouncer.duckdb
BOUNCER_DBT := DBT_DUCKDB_PATH=$(BOUNCER_DUCKDB) DBT_TARGET_PATH=$(WORK)/bouncer/target $(DBT)

.PHONY: bouncer
bouncer: deps ## Check the layer, naming and documentation rules with dbt-bouncer (dbt-bouncer.yml)
	mkdir -p $(WORK)
	rm -f $(BOUNCER_DUCKDB) $(BOUNCER_DUCKDB).wal
	$(BOUNCER_DBT) seed
	$(BOUNCER_DBT) run --empty
	$(BOUNCER_DBT) docs generate
	COLUMNS=160 $(BIN)/dbt-bouncer run --config-file dbt-bouncer.yml

.PHONY: score
score: deps ## Score the project's metadata with dbt-score (fails under 9.0)
	$(DBT) parse
	$(BIN)/dbt-score lint --manifest target/manifest.json --fail-project-under 9.0

db-up: ## Start Postgres with docker compose (for users with Docker)
	docker compose up --wait

clean: ## Remove build outputs and the local DuckDB file
	rm -rf target dbt_packages logs $(WORK) jaffle_activity.duckdb jaffle_activity.duckdb.wal

.PHONY: bench-incremental
bench-incremental: deps ## Benchmark incremental customer_stream vs full refresh (BENCH_ARGS=--quick: smoke run)
	$(BIN)/python -m bench.bench_incremental $(BENCH_ARGS)

.PHONY: bench-datasets
bench-datasets: deps ## Benchmark datasets (journeys, nth picks, a time spine) vs their floors and self-joins (BENCH_ARGS=--quick: smoke run)
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

# integration_tests/: a small project that installs the package with
# `local: ../activity_schema`, as another project would. A first build on a
# fresh DuckDB file, then an incremental one that reads a second load
# (`batch: 2`: a new, a late and a restated purchase); its singular tests
# pin the rows of the stream and the dataset after each. Then the checks of
# tests/python/test_package_install.py (a stream without the strategy
# wrapper fails on its first run).
IT_DBT := cd integration_tests && DBT_PROJECT_DIR=. DBT_PROFILES_DIR=. INTEGRATION_DUCKDB_PATH=integration_tests.duckdb $(CURDIR)/$(DBT)

.PHONY: test-integration
test-integration: $(INSTALLED) ## Build integration_tests/ (the package as installed) twice, the second run incremental, and check it
	mkdir -p $(WORK)
	rm -f integration_tests/integration_tests.duckdb integration_tests/integration_tests.duckdb.wal
	$(IT_DBT) deps
	$(IT_DBT) build
	$(IT_DBT) build --vars '{batch: 2}' | tee $(CURDIR)/$(WORK)/integration-batch-2.log
	grep -q 'customer_stream: incremental run' $(WORK)/integration-batch-2.log \
		|| { echo "the second run of customer_stream was not incremental"; exit 1; }
	! grep -q 'all of its rows' $(WORK)/integration-batch-2.log \
		|| { echo "the second run re-derived a whole activity instead of its window and load cursor"; exit 1; }
	$(BIN)/python -m pytest -o addopts="-ra" tests/python/test_package_install.py

# Slim CI (docs/ci.md): build and test what changed since production and
# everything downstream of it; every other ref() reads production's
# relations. STATE is the folder of production's manifest.json. The profile
# says where the changes are built: on DuckDB, in production's file under a
# schema of the pull request's (DBT_PROFILES_DIR from `python -m tools.slim_ci
# profiles`). SLIM_CI_ARGS adds dbt flags (--target postgres, --select ...).
.PHONY: slim-ci
slim-ci: deps ## Build the changes since production and their children, deferring the rest (STATE=<folder of production's manifest.json>)
	@test -n "$(STATE)" && test -f "$(STATE)/manifest.json" || { echo "slim-ci: STATE must be a folder holding production's manifest.json (got '$(STATE)')" >&2; exit 1; }
	$(DBT) build --select state:modified+ --defer --favor-state --state "$(STATE)" $(SLIM_CI_ARGS)
