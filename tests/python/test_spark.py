"""The whole pipeline on Spark (dbt-spark `session`, pyspark local, parquet).

One Spark project for the module (one Spark session per process), built once
from generated seeds, and one DuckDB project with the same data as the
reference. The tests run in file order and share their state:

1. `dbt seed` and `dbt build` on Spark: every model and test passes;
2. the Spark stream equals DuckDB's stream (every column; feature_json as
   parsed JSON), and the datasets (models/datasets) equal DuckDB's;
3. fixed sequences of loads (late rows inside the window, rows delivered
   twice, equal timestamps, restated and deleted rows, changes older than the
   lookback window), then a few drawn at random from fixed seeds, are
   written into the raw tables in place by test_incremental_property's
   `Load` (every row a load writes carries its `_loaded_at`; each load is
   LOAD_HOURS after the previous one and is the run's `stream_clock`);
   after each incremental run the stream equals a full rebuild in every
   column, `_loaded_at` and `_definition` included (EXCEPT ALL both ways
   against `customer_stream_full`, a view of the same macro built in the
   same invocation with the same clock, computed in one pass as the rows
   whose counts differ). When a change is one that no cursor can see (its
   (activity, entity) partitions are in `Load.blind`), the plain run must be
   exact outside those partitions, and a reconciliation run
   (`stream_reconcile: true`) must bring it back to equal everywhere;
4. a run with another bucket count fails, and changes nothing;
5. a touched bucket left empty (its only entity's rows deleted) is dropped;
6. after the batches, the datasets rebuilt on Spark equal DuckDB's on the
   same sources.

The stream runs with 64 entity buckets here (`stream_entity_buckets`), so
that the test data leaves buckets empty for step 5. As in the property test,
the activities of the tables outside its `LOADED` (page views) declare no
`loaded_at` in both copies, so both kinds of scope run on Spark.

Spark needs `pip install -r requirements-spark.txt` and Java 17 (`make
test-spark` installs it and runs this module; pyproject.toml keeps it out of
the plain `pytest` run). Without them the module is skipped, or fails when
JAFFLE_REQUIRE_SPARK=1.
"""

from __future__ import annotations

import copy
import json
import os
import random
import time
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Iterator

import pytest

from tests.python.dbt_harness import DbtProject, DbtResult
from tests.python.spark_harness import SparkDbtProject, spark_missing
from tests.python.test_end_to_end import RAW_TABLES, describe
from tests.python.test_incremental_property import (
    ACTIVITY,
    FULL_VIEW,
    KINDS,
    LOADED,
    TABLES,
    TIMINGS,
    Load,
)
from tools.generate_data import LOADED_AT, generate

_MISSING = spark_missing()
if _MISSING is not None:
    if os.environ.get("JAFFLE_REQUIRE_SPARK", "") not in ("", "0"):
        pytest.fail(f"Spark cannot run here: {_MISSING}", pytrace=False)
    pytest.skip(f"Spark cannot run here: {_MISSING}", allow_module_level=True)

BUCKETS = 64
DATASETS = (
    "customers", "customer_checkout_funnel", "order_journeys",
    "customer_monthly_orders",
)
STREAM_COLUMNS = (
    "activity_id", "ts", "customer", "anonymous_customer_id", "activity",
    "feature_json", "revenue_impact", "link", "activity_occurrence",
    "activity_repeated_at", "_loaded_at", "_definition",
)
CUSTOMER_AT, ANONYMOUS_AT, ACTIVITY_AT = (
    STREAM_COLUMNS.index(c) for c in ("customer", "anonymous_customer_id", "activity")
)
# Hours from one load (and run clock) to the next.
LOAD_HOURS = 24
LOADED_AT_DECLARATION = "    loaded_at='_loaded_at',\n"

# Loads of operations of test_incremental_property.Load: (kind, table,
# which row (-1: the newest), timing, draw). Applied in this order, each
# sequence on top of the previous one's result. Every load but the last
# makes only changes that a plain incremental run must apply; the last one
# changes old page views, which no cursor sees (a reconciliation run
# repairs it).
SEQUENCES: dict[str, list[list[tuple]]] = {
    "late_duplicate_tie": [[
        ("insert", "raw_orders", 3, "recent", 11),
        ("insert", "raw_web_events", 5, "late", 23),
        ("insert", "raw_payments", 7, "late", 4),
        ("duplicate", "raw_payments", -1, "recent", 0),
        ("duplicate", "raw_web_events", -1, "recent", 0),
        ("tie", "raw_orders", -1, "recent", 5),
        ("tie", "raw_web_events", -1, "late", 14),
    ]],
    "restated": [[
        ("restate_out", "raw_web_events", -1, "late", 40),
        ("restate_value", "raw_web_events", -2, "recent", 3),
        ("restate_out", "raw_orders", -1, "late", 7),
        ("restate_value", "raw_orders", -2, "recent", 2),
        ("restate_value", "raw_payments", -1, "recent", 5),
    ]],
    "deleted_then_old": [
        [
            ("delete", "raw_web_events", -1, "recent", 1),
            ("delete", "raw_payments", -1, "recent", 0),
            ("delete", "raw_orders", -1, "recent", 0),
            ("insert", "raw_customers", 0, "late", 9),
        ],
        [
            ("restate_value", "raw_customers", 2, "old", 5),
            ("restate_in", "raw_web_events", 10, "old", 99),
            ("insert", "raw_payments", 4, "old", 77),
            ("delete", "raw_web_events", 20, "old", 0),
        ],
    ],
}

# The loads whose changes no cursor sees.
OLD_CHANGES = {("deleted_then_old", 2)}

# Sequences drawn at random, in the shape of test_incremental_property's
# hypothesis strategy (1 to 4 operations a load, 2 loads), from fixed seeds:
# two, since every Spark run takes seconds. Which run a load gets follows
# from `Load.blind`.
GENERATED_SEEDS = (2, 26)


def generated_sequence(seed: int) -> list[list[tuple]]:
    draw = random.Random(seed)
    return [
        [
            (
                draw.choice(KINDS), draw.choice(TABLES), draw.randrange(10**6),
                draw.choice(TIMINGS), draw.randrange(10**6),
            )
            for _ in range(draw.randint(1, 4))
        ]
        for _ in range(2)
    ]


for _seed in GENERATED_SEEDS:
    SEQUENCES[f"generated_{_seed}"] = generated_sequence(_seed)

# -- comparing rows across engines --------------------------------------------


def normalise(value: Any) -> Any:
    """One value in a form both engines give alike."""
    if value is None or isinstance(value, (bool, str, datetime, date)):
        return value
    if isinstance(value, (int, float, Decimal)):
        return round(float(value), 6)
    return str(value)


def parsed_json(text: str | None) -> Any:
    if text is None:
        return None
    value = json.loads(text)
    return tuple(sorted((k, normalise(v)) for k, v in value.items()))


def rows_of(project: DbtProject, relation: str, columns: tuple[str, ...] | None = None,
            json_columns: tuple[str, ...] = ()) -> tuple[list[str], Counter]:
    """The column names and the multiset of normalised rows of a relation."""
    select = ", ".join(columns) if columns else "*"
    sql = f"select {select} from {project.schema}.{relation}"
    if isinstance(project, SparkDbtProject):
        names, rows = project.query_with_columns(sql)
    else:
        import duckdb

        with duckdb.connect(project.env["DBT_DUCKDB_PATH"]) as con:
            cursor = con.execute(sql)
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
    normalised = Counter(
        tuple(
            parsed_json(value) if name in json_columns else normalise(value)
            for name, value in zip(names, row)
        )
        for row in rows
    )
    return names, normalised


def assert_same_rows(spark: SparkDbtProject, duck: DbtProject, relation: str,
                     columns: tuple[str, ...] | None = None,
                     json_columns: tuple[str, ...] = ()) -> None:
    spark_names, spark_rows = rows_of(spark, relation, columns, json_columns)
    duck_names, duck_rows = rows_of(duck, relation, columns, json_columns)
    assert spark_names == duck_names, f"{relation}: columns differ"
    only_spark = list((spark_rows - duck_rows).elements())[:10]
    only_duck = list((duck_rows - spark_rows).elements())[:10]
    assert not only_spark and not only_duck, (
        f"{relation} differs between Spark and DuckDB "
        f"({sum(spark_rows.values())} vs {sum(duck_rows.values())} rows);\n"
        f"only on Spark: {only_spark}\nonly on DuckDB: {only_duck}"
    )
    assert sum(spark_rows.values()) > 0, f"{relation} is empty"


# -- the shared state -----------------------------------------------------------


class SparkPipeline:
    """The Spark project, its DuckDB twin and the current raw tables."""

    def __init__(self, spark: SparkDbtProject, duck: DbtProject):
        self.spark = spark
        self.duck = duck
        self.tables = generate(seed=11, scale=0.05)
        # The run's clock: the latest load time.
        self.clock: datetime = max(
            row[LOADED_AT] for rows in self.tables.values() for row in rows
        )
        self.timings: dict[str, float] = {}
        self.branches: Counter = Counter()
        self.built = False

    def timed(self, label: str, function, *args):
        start = time.monotonic()
        try:
            return function(*args)
        finally:
            self.timings[label] = self.timings.get(label, 0.0) + time.monotonic() - start

    def dbt(self, *args: str, manifest: bool = True) -> DbtResult:
        result = self.timed(
            "dbt " + args[0], lambda: self.spark.dbt(*args, manifest=manifest)
        )
        assert result.success, describe(result)
        return result

    def clock_vars(self, **extra: Any) -> str:
        pairs = [f"stream_clock: '{self.clock:%Y-%m-%d %H:%M:%S}'"]
        pairs += [f"{key}: {value}" for key, value in extra.items()]
        return "{" + ", ".join(pairs) + "}"

    def high_water_mark(self) -> datetime:
        return self.spark.query("select max(ts) from analytics.customer_stream")[0][0]

    def state(self) -> dict[str, tuple[datetime, datetime | None]]:
        """{activity: (latest ts, latest _loaded_at)} of the stream."""
        rows = self.spark.query(
            "select activity, max(ts), max(_loaded_at) "
            "from analytics.customer_stream group by activity"
        )
        return {activity: (ts, loaded) for activity, ts, loaded in rows}

    def differences(self, blind: set[tuple[str, str]] = frozenset()) -> list[tuple]:
        """EXCEPT ALL both ways, in one pass: the rows whose count differs
        between the stream and the full rebuild, with the difference; rows
        of the `blind` (activity, entity) partitions are left out."""
        return [
            row for row in self._differences()
            if (row[ACTIVITY_AT], row[CUSTOMER_AT] if row[CUSTOMER_AT] is not None
                else row[ANONYMOUS_AT]) not in blind
        ]

    def _differences(self) -> list[tuple]:
        columns = ", ".join((*STREAM_COLUMNS, "_entity_bucket"))
        return self.timed("compare", self.spark.query, f"""
            select {columns}, sum(side) as only_incremental_minus_only_full
            from (
                select {columns}, 1 as side from analytics.customer_stream
                union all
                select {columns}, -1 as side from analytics.customer_stream_full
            ) as both_sides
            group by {columns}
            having sum(side) != 0
            """)

    def load(self, tables: dict[str, list[dict]]) -> None:
        """Write the tables that changed into Spark's raw schema."""
        changed = {
            name: rows for name, rows in tables.items() if rows != self.tables[name]
        }
        if changed:
            self.timed("load raw", self.spark.load_raw, changed)
        self.tables = tables

    def run_stream(self, **extra: Any) -> None:
        """The stream and its full rebuild, with the pipeline's clock."""
        self.dbt(
            "run", "--select", "customer_stream", "customer_stream_full",
            "--vars", self.clock_vars(**extra),
        )

    def duplicated_keys(self) -> list[tuple]:
        return self.spark.query(
            "select activity, activity_id, count(*) from "
            "analytics.customer_stream group by activity, activity_id "
            "having count(*) > 1"
        )


def without_load_column(project: DbtProject) -> None:
    """Drop the `loaded_at` declaration of the activities whose tables are
    not in the property test's LOADED."""
    for table in TABLES:
        if table in LOADED:
            continue
        path = project.root / "models" / "activities" / f"act_{ACTIVITY[table]}.sql"
        text = path.read_text()
        assert LOADED_AT_DECLARATION in text, path
        path.write_text(text.replace(LOADED_AT_DECLARATION, ""))


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> Iterator[SparkPipeline]:
    spark = SparkDbtProject.create_spark(
        tmp_path_factory.mktemp("spark"), vars={"stream_entity_buckets": BUCKETS}
    )
    duck = DbtProject.create(tmp_path_factory.mktemp("duckdb"), "duckdb")
    state = SparkPipeline(spark, duck)
    for project in (spark, duck):
        project.write_seeds(state.tables)
        without_load_column(project)
    (spark.root / "models" / "stream" / "customer_stream_full.sql").write_text(FULL_VIEW)
    try:
        yield state
    finally:
        print("\nSpark test timings (s): " + ", ".join(
            f"{label} {seconds:.0f}" for label, seconds in state.timings.items()))
        print(f"batches checked: {dict(state.branches)}")
        SparkDbtProject.stop()


@pytest.fixture
def built(pipeline: SparkPipeline) -> SparkPipeline:
    if not pipeline.built:
        pytest.fail("the Spark build failed (see test_spark_builds_the_pipeline)")
    return pipeline


# -- the tests ------------------------------------------------------------------


def test_spark_builds_the_pipeline(pipeline: SparkPipeline):
    spark = pipeline.spark
    pipeline.dbt("deps", manifest=False)
    pipeline.dbt("seed", "--full-refresh", manifest=False)
    result = pipeline.dbt(
        "build", "--exclude", "resource_type:seed",
        "--vars", pipeline.clock_vars(), manifest=False,
    )
    statuses = result.statuses()
    for model in ("customer_stream", "customer_stream_full", *DATASETS):
        assert statuses.get(model) == "success", statuses
    assert sum(1 for s in statuses.values() if s == "pass") >= 20, statuses
    spark.parse()  # later runs reuse it (`--vars` would reparse)

    # Every table (seeds, stream, datasets) is parquet, not a Hive text
    # table; the stream is partitioned by the entity bucket.
    tables = [
        *(f"raw.{name}" for name in RAW_TABLES),
        *(f"analytics.{name}" for name in ("customer_stream", *DATASETS)),
    ]
    for table in tables:
        described = {
            row[0]: row[1] for row in spark.query(f"describe table extended {table}")
        }
        assert described.get("Provider") == "parquet", (table, described)
    partitions = spark.query("show partitions analytics.customer_stream")
    assert partitions and all(p[0].startswith("_entity_bucket=") for p in partitions)
    assert len(partitions) <= BUCKETS

    duck = pipeline.timed(
        "duckdb build", pipeline.duck.build, "--vars", pipeline.clock_vars()
    )
    assert duck.success, describe(duck)
    pipeline.built = True


def test_spark_stream_equals_duckdb_stream(built: SparkPipeline):
    assert_same_rows(
        built.spark, built.duck, "customer_stream", STREAM_COLUMNS,
        json_columns=("feature_json",),
    )


@pytest.mark.parametrize("dataset", DATASETS)
def test_spark_datasets_equal_duckdb_datasets(built: SparkPipeline, dataset: str):
    assert_same_rows(built.spark, built.duck, dataset)


@pytest.mark.parametrize("name", list(SEQUENCES))
def test_incremental_stream_equals_full_rebuild(built: SparkPipeline, name: str):
    for number, operations in enumerate(SEQUENCES[name], start=1):
        previous = built.clock
        loaded_at = previous + timedelta(hours=LOAD_HOURS)
        load = Load(copy.deepcopy(built.tables), built.state(), loaded_at, previous)
        for operation in operations:
            load.apply(*operation)
        # The clock never lags the rows a load brings in on time.
        if load.latest_added is not None and load.latest_added > loaded_at:
            loaded_at = load.latest_added
        built.clock = loaded_at
        built.load(load.tables)

        built.run_stream()
        assert built.duplicated_keys() == []
        visible = not load.blind
        if not name.startswith("generated_"):
            assert visible == ((name, number) not in OLD_CHANGES), (
                f"{name} load {number} was meant to make changes that "
                f"{'no' if visible else 'a'} cursor sees"
            )
        assert built.differences(load.blind) == [], (
            f"{name} load {number}: plain incremental run differs after "
            f"{operations}" + (f" (outside {sorted(load.blind)})" if load.blind else "")
        )
        if visible:
            built.branches["plain incremental run"] += 1
        else:
            built.branches["reconciliation run"] += 1
            built.run_stream(stream_reconcile="true")
            assert built.duplicated_keys() == []
            assert built.differences() == [], (
                f"{name} load {number}: reconciliation run differs after "
                f"{operations}"
            )


def test_both_kinds_of_run_were_checked(built: SparkPipeline):
    """The loads exercised plain incremental runs and reconciliation runs."""
    assert built.branches["plain incremental run"] >= 3, built.branches
    assert built.branches["reconciliation run"] >= 1, built.branches


def test_another_bucket_count_fails_the_run(built: SparkPipeline):
    """The stream was built with BUCKETS buckets: a run with another count
    stops before writing and asks for a full refresh."""
    before = built.differences()
    result = built.timed("dbt run", lambda: built.spark.dbt(
        "run", "--select", "customer_stream",
        "--vars", built.clock_vars(stream_entity_buckets=BUCKETS // 2),
        manifest=True,
    ))
    assert not result.success, describe(result)
    messages = [r.message or "" for r in getattr(result.result, "results", [])]
    text = " ".join(" ".join([result.log, str(result.exception), *messages]).split())
    assert (
        f"is partitioned into {BUCKETS} entity buckets, but variable "
        f"'stream_entity_buckets' is {BUCKETS // 2}; rebuild it with --full-refresh"
    ) in text, describe(result)
    assert built.differences() == before


def test_a_bucket_left_empty_is_dropped(built: SparkPipeline):
    """A new anonymous visitor alone in its bucket arrives, then is deleted:
    the bucket's partition appears, then goes. Its rows are written without
    a `_loaded_at` (a null load time)."""
    spark = built.spark
    occupied = {row[0] for row in spark.query(
        "select distinct _entity_bucket from analytics.customer_stream")}
    candidates = [f"v8{number:04d}" for number in range(400)]
    buckets = spark.query(
        "select visitor, pmod(hash(concat('web_', visitor)), {n}) from values {v} "
        "as candidates(visitor)".format(
            n=BUCKETS, v=", ".join(f"('{c}')" for c in candidates))
    )
    visitor, bucket = next(
        (visitor, bucket) for visitor, bucket in buckets if bucket not in occupied
    )

    high_water_mark = built.high_water_mark()
    tables = copy.deepcopy(built.tables)
    next_id = max(row["id"] for row in tables["raw_web_events"]) + 1
    for offset, page in ((-2, "/"), (1, "/menu")):
        tables["raw_web_events"].append({
            "id": next_id, "visitor_id": visitor, "customer_id": None,
            "page": page, "occurred_at": high_water_mark + timedelta(hours=offset),
        })
        next_id += 1
    built.clock = max(built.clock, high_water_mark) + timedelta(hours=LOAD_HOURS)
    built.load(tables)
    built.run_stream()
    assert built.differences() == []
    partition = f"_entity_bucket={bucket}"
    assert (partition,) in spark.query("show partitions analytics.customer_stream")

    tables = copy.deepcopy(built.tables)
    tables["raw_web_events"] = [
        row for row in tables["raw_web_events"] if row["visitor_id"] != visitor
    ]
    built.load(tables)
    built.run_stream()
    assert built.differences() == []
    assert (partition,) not in spark.query("show partitions analytics.customer_stream")


def test_datasets_after_the_batches_equal_duckdb(built: SparkPipeline):
    built.dbt("run", "--select", *DATASETS, "--vars", built.clock_vars())
    built.duck.load_raw(built.tables)
    result = built.timed(
        "duckdb run", built.duck.dbt, "run", "--full-refresh",
        "--exclude", "resource_type:seed", "--vars", built.clock_vars(),
    )
    assert result.success, describe(result)
    assert_same_rows(
        built.spark, built.duck, "customer_stream", STREAM_COLUMNS,
        json_columns=("feature_json",),
    )
    for dataset in DATASETS:
        assert_same_rows(built.spark, built.duck, dataset)
