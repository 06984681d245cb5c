"""The stream's physical design on every warehouse (`activity_schema.physical_design`).

* Snowflake, BigQuery, Redshift, Databricks: none can be reached from here,
  so each is checked without credentials. The adapters of
  requirements-warehouses.txt live in their own venv (.work/venv-warehouses,
  made by `make test-warehouses`), whose `dbt` runs as a subprocess against a
  copy of the project with the dummy targets of tests/warehouses/profiles.yml.
  For each warehouse:
  - `dbt compile --no-introspect --no-populate-cache` of an analysis that
    renders the warehouse's own `create table` (its clustering clause, on
    Databricks) with the stream's design: its parse gives manifest.json,
    where customer_stream's config must be the intended one, and the DDL
    must carry it. customer_stream itself cannot be compiled offline on
    any of the four: `is_incremental()` looks the table up, which connects;
  - `dbt parse` with the variables set: each layer of the override applies
    (every target < adapter type < target name), null removes a config,
    another warehouse's layer is ignored;
  - a design the warehouse would reject fails the parse, naming the cause.
  Without the venv these tests skip (saying how to get it), unless
  JAFFLE_REQUIRE_WAREHOUSES=1 (set by `make test-warehouses`): then they fail.
  Every subprocess gets a proxy on a closed loopback port and every dummy host
  is under `.invalid`, so an unexpected connection fails at once.
* Postgres: built for real; the indexes exist, survive an incremental run and
  come back after a full refresh, and EXPLAIN shows the incremental run's
  lookback filter, its delete, its touched-partition join and a dataset's
  activity filter using them.
* DuckDB: no configs, and the variable's validation.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.python.dbt_harness import REPO_ROOT, DbtProject

VENV = Path(os.environ.get("JAFFLE_WAREHOUSES_VENV", REPO_ROOT / ".work" / "venv-warehouses"))
WAREHOUSE_DBT = VENV / "bin" / "dbt"
PROFILES_DIR = REPO_ROOT / "tests" / "warehouses"
REQUIRED = os.environ.get("JAFFLE_REQUIRE_WAREHOUSES") == "1"
STREAM = "model.jaffle_activity.customer_stream"
WAREHOUSES = ("snowflake", "bigquery", "redshift", "databricks")
PHYSICAL_KEYS = (
    "indexes", "cluster_by", "partition_by", "dist", "sort", "sort_type",
    "liquid_clustered_by", "automatic_clustering", "sorted_by", "partitioned_by",
)
# Nothing a subprocess opens can leave the machine: an HTTP(S) client goes to
# a closed port on the loopback, and the dummy hosts never resolve.
OFFLINE_ENV = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "",
}

# The stream's design per warehouse: what customer_stream's config must hold.
EXPECTED = {
    "snowflake": {
        "cluster_by": [
            "activity", "activity_occurrence = 1", "activity_repeated_at is null",
            "to_date(ts)",
        ],
    },
    "bigquery": {
        "partition_by": {"field": "ts", "data_type": "timestamp", "granularity": "month"},
        "cluster_by": ["activity", "activity_occurrence", "customer"],
    },
    "redshift": {
        "dist": "even",
        "sort": ["activity", "ts", "activity_occurrence"],
        "sort_type": "compound",
    },
    "databricks": {
        "liquid_clustered_by": ["activity", "ts", "customer", "activity_occurrence"],
    },
}

# The design of an activity model built as a table (no occurrence columns).
EXPECTED_ACTIVITY = {
    "snowflake": {"cluster_by": ["to_date(ts)"]},
    "bigquery": {
        "partition_by": {"field": "ts", "data_type": "timestamp", "granularity": "month"},
        "cluster_by": ["customer"],
    },
    "redshift": {"dist": "even", "sort": ["ts"], "sort_type": "compound"},
    "databricks": {"liquid_clustered_by": ["ts"]},
    "postgres": {"indexes": [{"columns": ["ts"]}, {"columns": ["activity_id"]}]},
}

# What the warehouse's create statement must say (whitespace collapsed).
EXPECTED_DDL = {
    "snowflake": [
        "order by ( activity, activity_occurrence = 1, activity_repeated_at is null, to_date(ts) )",
        "alter table dummy_db.analytics.customer_stream cluster by (activity, "
        "activity_occurrence = 1, activity_repeated_at is null, to_date(ts));",
    ],
    "bigquery": [
        "partition by timestamp_trunc(ts, month)",
        "cluster by activity, activity_occurrence, customer",
    ],
    "redshift": ["diststyle even", "compound sortkey(activity,ts,activity_occurrence)"],
    "databricks": ["CLUSTER BY (activity, ts, customer, activity_occurrence)"],
}

# The analysis that renders the adapter's own DDL for the stream's design.
# Databricks' `create_table_as` also asks the warehouse about row filters
# (it connects), so there only the clauses of its create statement are
# rendered, by the same macros that `create_table_as` calls.
DDL_ANALYSIS = """\
{{ config(**activity_schema.physical_design('stream')) }}
{%- if execute %}
-- designs: {{ tojson({
    'stream': activity_schema.physical_design('stream'),
    'activity': activity_schema.physical_design('activity'),
}) }}
{%- set relation = this.incorporate(path={'identifier': 'customer_stream'}) %}
{%- if target.type == 'databricks' %}
create or replace table {{ relation }}
{{ partition_cols(label='partitioned by') }}
{{ liquid_clustered_cols() }}
as select * from customer_stream_rows
{%- else %}
{{ get_create_table_as_sql(False, relation, 'select * from customer_stream_rows') }}
{%- endif %}
{%- endif %}
"""


@dataclass
class Override:
    """One `dbt parse` with variables, and the config it must give."""

    target: str
    variables: dict[str, Any]
    expected: dict[str, Any]
    absent: tuple[str, ...] = ()


OVERRIDES = {
    # Precedence: every target < adapter type < target name (snowflake_prod
    # is a Snowflake target); another warehouse's layer is ignored.
    "snowflake": Override(
        target="snowflake_prod",
        variables={"activity_schema_physical_design": {
            "stream": {"cluster_by": ["activity"], "automatic_clustering": True},
            "snowflake": {"stream": {"cluster_by": ["activity", "to_date(ts)"]}},
            "snowflake_prod": {"stream": {"cluster_by": ["to_date(ts)", "activity"]}},
            "bigquery": {"stream": {"cluster_by": ["customer"]}},
        }},
        expected={"cluster_by": ["to_date(ts)", "activity"], "automatic_clustering": True},
    ),
    "bigquery": Override(
        target="bigquery",
        variables={
            "activity_schema_partition_granularity": "day",
            "activity_schema_physical_design": {
                "stream": {"cluster_by": ["activity", "customer"]},
                "activity": {"cluster_by": ["ts"]},
            },
        },
        expected={
            "partition_by": {"field": "ts", "data_type": "timestamp", "granularity": "day"},
            "cluster_by": ["activity", "customer"],
        },
    ),
    # null removes a config; the others keep their defaults.
    "redshift": Override(
        target="redshift",
        variables={"activity_schema_physical_design": {
            "redshift": {"stream": {"dist": "auto", "sort_type": None}},
        }},
        expected={"dist": "auto", "sort": ["activity", "ts", "activity_occurrence"]},
        absent=("sort_type",),
    ),
    "databricks": Override(
        target="databricks",
        variables={"activity_schema_physical_design": {
            "stream": {"liquid_clustered_by": None, "partition_by": ["activity"]},
        }},
        expected={"partition_by": ["activity"]},
        absent=("liquid_clustered_by",),
    ),
}

# Designs the warehouse would reject fail the parse, with this message.
REJECTED = {
    "bigquery": (
        {"activity_schema_partition_granularity": "week"},
        "variable 'activity_schema_partition_granularity' is 'week'; allowed "
        "values: hour, day, month, year.",
    ),
    "databricks": (
        {"activity_schema_physical_design": {"databricks": {"stream": {
            "liquid_clustered_by": ["activity", "ts", "customer", "activity_occurrence", "link"],
        }}}},
        "config 'liquid_clustered_by' of the stream on databricks takes at most 4 columns, got 5",
    ),
}


def design(config: dict[str, Any]) -> dict[str, Any]:
    """The physical-design part of a node's config."""
    return {key: config[key] for key in PHYSICAL_KEYS if config.get(key) not in (None, [], {})}


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def compiled_designs(compiled: str) -> dict[str, Any]:
    """The {kind: design} that the DDL analysis printed."""
    match = re.search(r"^-- designs: (.*)$", compiled, re.MULTILINE)
    assert match, compiled
    return json.loads(match.group(1))


# -- Snowflake, BigQuery, Redshift, Databricks (dummy profiles) ------------------


@dataclass
class Run:
    """One dbt subprocess of the warehouse venv."""

    args: list[str]
    returncode: int
    output: str
    target_path: Path

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.target_path / "manifest.json").read_text())

    def describe(self) -> str:
        return f"dbt {' '.join(self.args)} exited {self.returncode}:\n{self.output[-4000:]}"


def run_warehouse_dbt(root: Path, name: str, target: str, *args: str,
                      variables: dict[str, Any] | None = None) -> Run:
    target_path = root / f"target_{name}"
    command = [
        *args,
        "--project-dir", str(root),
        "--profiles-dir", str(PROFILES_DIR),
        "--target", target,
        "--target-path", str(target_path),
        "--log-path", str(root / f"logs_{name}"),
    ]
    if variables is not None:
        command += ["--vars", json.dumps(variables)]
    completed = subprocess.run(
        [str(WAREHOUSE_DBT), *command],
        cwd=root,
        env={**os.environ, **OFFLINE_ENV},
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )
    return Run(command, completed.returncode, completed.stdout + completed.stderr, target_path)


def warehouse_runs(root: Path, warehouse: str) -> dict[str, Run]:
    """Every dbt run of one warehouse, one after the other."""
    runs = {
        "ddl": run_warehouse_dbt(
            root, f"{warehouse}_ddl", warehouse,
            "compile", "--no-introspect", "--no-populate-cache",
            "--select", "physical_design_ddl",
        ),
    }
    override = OVERRIDES[warehouse]
    runs["override"] = run_warehouse_dbt(
        root, f"{warehouse}_override", override.target, "parse", variables=override.variables,
    )
    if warehouse in REJECTED:
        variables, _ = REJECTED[warehouse]
        runs["rejected"] = run_warehouse_dbt(
            root, f"{warehouse}_rejected", warehouse, "parse", variables=variables,
        )
    return runs


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Run]]:
    """All warehouses' runs, made concurrently against one copy of the project."""
    if not WAREHOUSE_DBT.exists():
        message = (
            f"{WAREHOUSE_DBT} is missing: `make test-warehouses` installs the adapters "
            "of requirements-warehouses.txt there and runs these tests"
        )
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    copy = DbtProject.create(tmp_path_factory.mktemp("warehouses"), "duckdb")
    copy.copy_seeds(REPO_ROOT / "seeds")
    deps = copy.dbt("deps")
    assert deps.success, deps.log[-2000:]
    (copy.root / "analyses" / "physical_design_ddl.sql").write_text(DDL_ANALYSIS)
    with ThreadPoolExecutor(max_workers=len(WAREHOUSES)) as pool:
        futures = {w: pool.submit(warehouse_runs, copy.root, w) for w in WAREHOUSES}
        return {w: future.result() for w, future in futures.items()}


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_stream_design_offline(warehouses: dict[str, dict[str, Run]], warehouse: str) -> None:
    run = warehouses[warehouse]["ddl"]
    assert run.returncode == 0, run.describe()
    manifest = run.manifest()
    config = manifest["nodes"][STREAM]["config"]
    assert design(config) == EXPECTED[warehouse]
    assert config["incremental_strategy"] == "activity_stream"

    # The analysis got the same design, and the adapter's DDL carries it.
    analysis = manifest["nodes"]["analysis.jaffle_activity.physical_design_ddl"]
    assert design(analysis["config"]) == EXPECTED[warehouse]
    compiled = (
        run.target_path / "compiled" / "jaffle_activity" / "analyses" / "physical_design_ddl.sql"
    ).read_text()
    for clause in EXPECTED_DDL[warehouse]:
        assert squash(clause) in squash(compiled), f"{clause!r} not in:\n{compiled}"
    designs = compiled_designs(compiled)
    assert designs["stream"] == EXPECTED[warehouse]
    assert designs["activity"] == EXPECTED_ACTIVITY[warehouse]


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_stream_design_override(warehouses: dict[str, dict[str, Run]], warehouse: str) -> None:
    run = warehouses[warehouse]["override"]
    override = OVERRIDES[warehouse]
    assert run.returncode == 0, run.describe()
    config = run.manifest()["nodes"][STREAM]["config"]
    expected = {**EXPECTED[warehouse], **override.expected}
    for key in override.absent:
        expected.pop(key, None)
    assert design(config) == expected
    for key in override.absent:
        assert config.get(key) is None, key


@pytest.mark.parametrize("warehouse", sorted(REJECTED))
def test_rejected_design_fails_the_parse(
    warehouses: dict[str, dict[str, Run]], warehouse: str
) -> None:
    run = warehouses[warehouse]["rejected"]
    _, message = REJECTED[warehouse]
    assert run.returncode != 0, run.describe()
    # customer_stream, or the DDL analysis when dbt parses that first.
    assert re.search(
        r"activity_schema\.physical_design in model '(customer_stream|physical_design_ddl)'",
        squash(run.output),
    ), run.describe()
    assert message in squash(run.output), run.describe()


# -- DuckDB ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def duckdb_copy(tmp_path_factory: pytest.TempPathFactory) -> DbtProject:
    copy = DbtProject.create(tmp_path_factory.mktemp("duckdb"), "duckdb")
    copy.copy_seeds(REPO_ROOT / "seeds")
    assert copy.dbt("deps").success
    return copy


def parsed_config(copy: DbtProject, *args: str) -> dict[str, Any]:
    result = copy.dbt("parse", *args)
    assert result.success, f"{result.exception!r}\n{result.log[-3000:]}"
    return result.result.nodes[STREAM].config.to_dict()


def test_duckdb_stream_has_no_physical_configs(duckdb_copy: DbtProject) -> None:
    """A DuckDB file has no clustering: dbt-duckdb's sorted_by is DuckLake's only."""
    assert design(parsed_config(duckdb_copy)) == {}


def test_duckdb_takes_the_override(duckdb_copy: DbtProject) -> None:
    variables = {"activity_schema_physical_design": {
        "duckdb": {"stream": {"sorted_by": ["activity", "ts"]}},
        "postgres": {"stream": {"indexes": [{"columns": ["ts"]}]}},
    }}
    config = parsed_config(duckdb_copy, "--vars", json.dumps(variables))
    assert design(config) == {"sorted_by": ["activity", "ts"]}


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {"activity_schema_physical_design": ["activity"]},
            "variable 'activity_schema_physical_design' must be a mapping",
        ),
        (
            {"activity_schema_physical_design": {"stream": ["activity"]}},
            "variable 'activity_schema_physical_design.stream' must be a mapping of model "
            "configs to values",
        ),
        (
            {"activity_schema_physical_design": {"duckdb": "sorted"}},
            "variable 'activity_schema_physical_design.duckdb' must be a mapping of kinds",
        ),
    ],
    ids=["not-a-mapping", "kind-not-a-mapping", "adapter-not-a-mapping"],
)
def test_malformed_variable_fails_the_parse(
    duckdb_copy: DbtProject, variables: dict[str, Any], message: str
) -> None:
    result = duckdb_copy.dbt("parse", "--vars", json.dumps(variables))
    assert not result.success
    text = squash(f"{result.exception}\n{result.log}")
    assert "activity_schema.physical_design in model 'customer_stream'" in text
    assert message in text, text[-3000:]


# -- Postgres (built for real) ---------------------------------------------------

# The indexes of the stream, as pg_indexes spells them.
PG_INDEXES = {
    "CREATE UNIQUE INDEX {name} ON analytics.customer_stream USING btree (activity, activity_id)",
    "CREATE INDEX {name} ON analytics.customer_stream USING btree "
    "(activity, COALESCE(customer, anonymous_customer_id), ts)",
    "CREATE INDEX {name} ON analytics.customer_stream USING btree (ts)",
}

# Renders the `activity_stream` strategy's statements for a changes table.
UPSERT_OPERATION = """\
{% macro render_stream_upsert(changes) %}
    {%- set stream_relation = adapter.get_relation(
        target.database, target.schema, 'customer_stream') -%}
    {%- set changes_relation = adapter.get_relation(
        target.database, target.schema, changes) -%}
    {%- do log('UPSERT-SQL-BEGIN\\n' ~ activity_schema.stream_upsert_sql({
        'target_relation': stream_relation, 'temp_relation': changes_relation})
        ~ '\\nUPSERT-SQL-END', info=true) -%}
{% endmacro %}
"""


@pytest.fixture(scope="module")
def postgres_stream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbtProject]:
    """The stream (and what it reads) built on Postgres from the project's seeds."""
    copy = DbtProject.create(tmp_path_factory.mktemp("postgres"), "postgres")
    try:
        copy.copy_seeds(REPO_ROOT / "seeds")
        (copy.root / "macros" / "render_stream_upsert.sql").write_text(UPSERT_OPERATION)
        (copy.root / "analyses" / "physical_design_ddl.sql").write_text(DDL_ANALYSIS)
        result = copy.build("--select", "+customer_stream")
        assert result.success, result.log[-4000:]
        copy.execute("analyze analytics.customer_stream")
        yield copy
    finally:
        copy.drop()


def stream_indexes(project: DbtProject) -> dict[str, str]:
    """{definition with the name replaced by {name}: name} of the stream's indexes."""
    rows = project.query(
        "select indexname, indexdef from pg_indexes "
        "where schemaname = 'analytics' and tablename = 'customer_stream'"
    )
    return {
        re.sub(r'INDEX "?' + re.escape(name) + '"? ON', "INDEX {name} ON", definition): name
        for name, definition in rows
    }


def explain(project: DbtProject, sql: str) -> str:
    return "\n".join(row[0] for row in project.query(f"explain {sql}"))


def index_of(indexes: dict[str, str], columns: str) -> str:
    [name] = [name for definition, name in indexes.items() if definition.endswith(f"({columns})")]
    return name


def uses_index(plan: str, index: str, condition: str) -> bool:
    """The plan scans `index` with an index condition containing `condition`."""
    lines = plan.splitlines()
    for number, line in enumerate(lines):
        if re.search(r"Index (Only )?Scan (Backward )?(using|on) \"?" + re.escape(index), line):
            following = "\n".join(lines[number + 1:number + 3])
            if condition in following:
                return True
    return False


def test_postgres_stream_indexes_exist(postgres_stream: DbtProject) -> None:
    assert set(stream_indexes(postgres_stream)) == PG_INDEXES


def test_postgres_designs(postgres_stream: DbtProject) -> None:
    result = postgres_stream.dbt("compile", "--select", "physical_design_ddl")
    assert result.success, result.log[-3000:]
    compiled = (
        postgres_stream.root / "target" / "compiled" / "jaffle_activity" / "analyses"
        / "physical_design_ddl.sql"
    ).read_text()
    designs = compiled_designs(compiled)
    assert designs["activity"] == EXPECTED_ACTIVITY["postgres"]
    assert designs["stream"] == {"indexes": [
        {"columns": ["activity", "activity_id"], "unique": True},
        {"columns": ["activity", "coalesce(customer, anonymous_customer_id)", "ts"]},
        {"columns": ["ts"]},
    ], "pre_hook": ["set local jit = off"]}


def test_postgres_lookback_window_uses_the_ts_index(postgres_stream: DbtProject) -> None:
    """EXPLAIN of the incremental select that dbt compiles: per activity,
    `activity = <name> and (ts >= <literal>)`, which the ts index serves."""
    result = postgres_stream.dbt("compile", "--select", "customer_stream")
    assert result.success, result.log[-3000:]
    compiled = (
        postgres_stream.root / "target" / "compiled" / "jaffle_activity" / "models"
        / "stream" / "customer_stream.sql"
    ).read_text()
    windows = re.findall(
        r"\(activity = '([a-z_]+)' and \(ts >= cast\('[^']+' as timestamp\)\)\)", compiled)
    assert sorted(set(windows)) == [
        "created_account", "made_payment", "placed_order", "viewed_page"], compiled
    plan = explain(postgres_stream, compiled)
    ts_index = index_of(stream_indexes(postgres_stream), "ts")
    assert uses_index(plan, ts_index, "Index Cond: (ts >= "), plan


def test_postgres_incremental_delete_uses_the_unique_index(postgres_stream: DbtProject) -> None:
    """EXPLAIN of the strategy's delete for a small batch of changes."""
    stream = "analytics.customer_stream"
    postgres_stream.execute(
        "drop table if exists analytics.probe_changes",
        f"create table analytics.probe_changes as select *, 'upsert' as _change "
        f"from {stream} order by ts desc, activity_id limit 5",
        "analyze analytics.probe_changes",
    )
    try:
        result = postgres_stream.dbt(
            "run-operation", "render_stream_upsert", "--args", "{changes: probe_changes}"
        )
        assert result.success, result.log[-3000:]
        statements = result.log.split("UPSERT-SQL-BEGIN", 1)[1].split("UPSERT-SQL-END", 1)[0]
        [delete] = [s for s in statements.split(";") if s.strip().startswith("delete")]
        plan = explain(postgres_stream, delete)
    finally:
        postgres_stream.execute("drop table if exists analytics.probe_changes")
    unique = index_of(stream_indexes(postgres_stream), "activity, activity_id")
    assert uses_index(plan, unique, "(activity = changes.activity)"), plan


def test_postgres_touched_partitions_use_the_entity_index(postgres_stream: DbtProject) -> None:
    """EXPLAIN of the incremental run's join of the touched partitions (`kept`)."""
    touched = postgres_stream.query(
        "select activity, coalesce(customer, anonymous_customer_id) from "
        "analytics.customer_stream order by ts desc, activity_id limit 2"
    )
    values = ", ".join(f"('{activity}', '{entity}')" for activity, entity in touched)
    plan = explain(
        postgres_stream,
        "select current_rows.* from analytics.customer_stream as current_rows "
        f"inner join (values {values}) as touched (activity, entity) "
        "on current_rows.activity = touched.activity "
        "and coalesce(current_rows.customer, current_rows.anonymous_customer_id) "
        "= touched.entity",
    )
    entity_index = index_of(
        stream_indexes(postgres_stream),
        "activity, COALESCE(customer, anonymous_customer_id), ts",
    )
    assert uses_index(plan, entity_index, "COALESCE(customer, anonymous_customer_id) ="), plan


def test_postgres_dataset_activity_filter_uses_an_index(postgres_stream: DbtProject) -> None:
    """A dataset reads the rows of its activities: `activity in (...)`."""
    plan = explain(
        postgres_stream,
        "select * from analytics.customer_stream where activity in ('created_account')",
    )
    assert re.search(r"Index Cond: \(activity = ", plan), plan


def test_postgres_indexes_survive_incremental_runs_and_full_refresh(
    postgres_stream: DbtProject,
) -> None:
    before = stream_indexes(postgres_stream)
    incremental = postgres_stream.dbt("run", "--select", "customer_stream")
    assert incremental.success, incremental.log[-3000:]
    assert stream_indexes(postgres_stream) == before
    refreshed = postgres_stream.dbt("run", "--select", "customer_stream", "--full-refresh")
    assert refreshed.success, refreshed.log[-3000:]
    assert set(stream_indexes(postgres_stream)) == PG_INDEXES
    postgres_stream.execute("analyze analytics.customer_stream")
