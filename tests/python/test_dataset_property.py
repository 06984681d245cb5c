"""Property test: `activity_schema.dataset` equals the Python reference.

On DuckDB and on Postgres, a throwaway copy of the project gets a fixture:

- a seed `fixture_rows` (the raw rows of two activities, typed by a seed
  properties file);
- two activity models built with `activity_schema.activity` (so their
  features are declared and typed), `opened_box` and `scanned_item`;
- a fixture stream built with `activity_schema.stream`;
- fixture datasets (see DATASETS) that together use every relationship, every
  aggregate function, typed features, filters on features, picks of columns
  other than `ts` (the join-back path), the primary activity appended to
  itself, defaults, and each primary selector (all, first, last, nth).

Every fixture model is a view, so dbt builds them once per engine
(`dbt build --select fixture_rows+`) and each Hypothesis example then only
replaces the seed table's rows and reads the datasets back: one example costs
milliseconds instead of a dbt build, so every example can hold up to
MAX_ENTITIES independent entity streams and the default run still draws many
examples. Timestamps come from a set of a few values, so equal timestamps
(between primary rows, between appended rows, and across the two) are the
common case. Each dataset row and column is compared with
`tests/python/reference_dataset.py`.

Default: EXAMPLES examples per engine (derandomized, reproducible).
JAFFLE_SLOW=1 runs SLOW_EXAMPLES examples per engine with a random seed.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Iterator, Sequence

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.python.dbt_harness import DbtProject
from tests.python.identity_reference import resolve
from tests.python.reference_dataset import (
    RELATIONSHIPS,
    SPINE_COLUMNS,
    compute_dataset,
    output_name,
    normalize_column,
)

SLOW = os.environ.get("JAFFLE_SLOW", "") not in ("", "0")
EXAMPLES = 50
SLOW_EXAMPLES = 600
MAX_ENTITIES = 30

BASE = datetime(2024, 3, 1, 9, 0, 0)  # a Friday
# Minutes apart, for ties; and the starts of periods, for the time spines:
# Saturday (a day), Monday the 4th (a day and a week) and April 1st (a day,
# a week, a month and a quarter), where a row sits on a period's end.
TIMES = [BASE + timedelta(minutes=m) for m in (0, 1, 2, 3, 5)] + [
    datetime(2024, 3, 2), datetime(2024, 3, 4), datetime(2024, 4, 1)]
PRIMARY = "opened_box"
APPENDED = "scanned_item"
RAW_COLUMNS = (
    "row_key", "kind", "ts", "customer_id", "visitor_id", "label", "qty",
    "price", "flag", "revenue",
)
FEATURES = {
    PRIMARY: {"label": "string", "qty": "integer"},
    APPENDED: {
        "label": "string", "qty": "integer", "price": "numeric",
        "flag": "boolean",
    },
}

# --------------------------------------------------------------------------- #
# The fixture datasets: the same dicts feed the macro and the reference.
# --------------------------------------------------------------------------- #
PICKS = [r for r, (kind, _) in RELATIONSHIPS.items() if kind != "aggregate"]
# Every pick relationship with its n: first_* and last_* take none, nth_* are
# drawn with n = 1 (which must equal first_*), 2 and 3. (relationship, extra
# keys of the appended activity, a tag naming the variant.)
PICK_VARIANTS = [
    (r, {}, r) for r in PICKS if RELATIONSHIPS[r][0] != "nth"
] + [
    (r, {"nth": n}, f"{r}_{n}")
    for r in PICKS if RELATIONSHIPS[r][0] == "nth" for n in (1, 2, 3)
]
AGGREGATE_RELATIONSHIPS = [
    r for r, (kind, _) in RELATIONSHIPS.items() if kind == "aggregate"]
KEY = "activity_id"
PRIMARY_COLUMNS = [
    "activity_id", "customer", "anonymous_customer_id", "ts", "label", "qty",
    "activity_occurrence", "activity_repeated_at",
]


def _short(relationship: str) -> str:
    return relationship.replace("aggregate_", "agg_")


def _every_relationship(appended: str, prefix: str) -> list[dict]:
    """Every relationship once: picks of ts and label, counts and a sum."""
    items: list[dict] = []
    for relationship in RELATIONSHIPS:
        extra = {"nth": 2} if RELATIONSHIPS[relationship][0] == "nth" else {}
        if relationship in PICKS:
            columns = [
                {"column": "ts", "alias": f"{prefix}_{relationship}_ts"},
                {"column": "label", "alias": f"{prefix}_{relationship}_label"},
            ]
        else:
            columns = [
                {"aggregate": "count", "alias": f"{prefix}_{relationship}_n"},
                {"column": "qty", "aggregate": "sum",
                 "alias": f"{prefix}_{relationship}_qty"},
            ]
        items.append({"activity": appended, "relationship": relationship,
                      **extra, "columns": columns})
    return items


def _period_totals(tag: str) -> list[dict]:
    """In-between aggregates other than picks, distinct values and lists."""
    return [
        {"aggregate": "count", "alias": f"{tag}_rows"},
        {"column": "qty", "aggregate": "count", "alias": f"{tag}_n_qty"},
        {"column": "qty", "aggregate": "sum", "alias": f"{tag}_qty"},
        {"column": "revenue_impact", "aggregate": "sum", "default": 0,
         "alias": f"{tag}_revenue"},
        {"column": "price", "aggregate": "avg", "alias": f"{tag}_price"},
        {"column": "label", "aggregate": "min", "alias": f"{tag}_min_label"},
        {"column": "label", "aggregate": "max", "default": "none",
         "alias": f"{tag}_max_label"},
        {"column": "ts", "aggregate": "min", "alias": f"{tag}_min_ts"},
        {"column": "ts", "aggregate": "max", "alias": f"{tag}_max_ts"},
        {"column": "flag", "aggregate": "max", "alias": f"{tag}_any_flag"},
        {"column": "flag", "aggregate": "count_if", "alias": f"{tag}_trues"},
        {"column": "flag", "aggregate": "sum_bool", "default": -1,
         "alias": f"{tag}_sum_flag"},
        {"column": "label", "aggregate": "is_null", "alias": f"{tag}_no_label"},
        {"column": "qty", "aggregate": "not_null", "alias": f"{tag}_some_qty"},
    ]


DATASETS: dict[str, dict[str, Any]] = {
    # Every pick relationship, on another activity and on the primary
    # activity itself; ts picks and join-back picks (activity_id, features),
    # one with a default.
    "fx_ds_picks": {
        "primary": {"activity": PRIMARY, "selector": "all",
                    "columns": PRIMARY_COLUMNS},
        "append": [
            *[{"activity": APPENDED, "relationship": relationship, **extra,
               "columns": ["ts", "activity_id", "label",
                           {"column": "price", "alias": f"{tag}_price",
                            "default": -100}]}
              for relationship, extra, tag in PICK_VARIANTS],
            *[{"activity": PRIMARY, "relationship": relationship, **extra,
               "columns": [{"column": "ts", "alias": f"self_{tag}_ts"},
                           {"column": "activity_id", "alias": f"self_{tag}_id"},
                           {"column": "qty", "alias": f"self_{tag}_qty"}]}
              for relationship, extra, tag in PICK_VARIANTS
              if extra.get("nth", 1) < 3],
        ],
    },
    # Every aggregate relationship with every aggregate function, on typed
    # features of each type and on stream columns; and on the primary itself.
    "fx_ds_aggregates": {
        "primary": {"activity": PRIMARY, "columns": ["activity_id", "ts"]},
        "append": [
            *[{"activity": APPENDED, "relationship": relationship,
               "columns": [
                   {"aggregate": "count", "alias": f"{_short(relationship)}_rows"},
                   {"column": "qty", "aggregate": "count",
                    "alias": f"{_short(relationship)}_count_qty"},
                   {"column": "label", "aggregate": "count_distinct",
                    "alias": f"{_short(relationship)}_labels"},
                   {"column": "flag", "aggregate": "count_distinct",
                    "alias": f"{_short(relationship)}_flags"},
                   {"column": "qty", "aggregate": "sum",
                    "alias": f"{_short(relationship)}_sum_qty"},
                   {"column": "revenue_impact", "aggregate": "sum",
                    "default": 0, "alias": f"{_short(relationship)}_revenue"},
                   {"column": "price", "aggregate": "avg",
                    "alias": f"{_short(relationship)}_avg_price"},
                   {"column": "qty", "aggregate": "avg",
                    "alias": f"{_short(relationship)}_avg_qty"},
                   {"column": "price", "aggregate": "sum", "default": 0,
                    "alias": f"{_short(relationship)}_sum_price"},
                   {"column": "label", "aggregate": "min",
                    "alias": f"{_short(relationship)}_min_label"},
                   {"column": "label", "aggregate": "max", "default": "none",
                    "alias": f"{_short(relationship)}_max_label"},
                   {"column": "qty", "aggregate": "max",
                    "alias": f"{_short(relationship)}_max_qty"},
                   {"column": "price", "aggregate": "min",
                    "alias": f"{_short(relationship)}_min_price"},
                   {"column": "ts", "aggregate": "min",
                    "alias": f"{_short(relationship)}_min_ts"},
                   {"column": "ts", "aggregate": "max",
                    "alias": f"{_short(relationship)}_max_ts"},
                   {"column": "flag", "aggregate": "min",
                    "alias": f"{_short(relationship)}_min_flag"},
                   {"column": "flag", "aggregate": "max",
                    "alias": f"{_short(relationship)}_max_flag"},
                   {"column": "activity_id", "aggregate": "count_distinct",
                    "alias": f"{_short(relationship)}_ids"},
                   {"column": "label", "aggregate": "first_value",
                    "alias": f"{_short(relationship)}_first_label"},
                   {"column": "qty", "aggregate": "last_value",
                    "alias": f"{_short(relationship)}_last_qty"},
                   {"column": "price", "aggregate": "first_value",
                    "default": -1, "alias": f"{_short(relationship)}_first_price"},
                   {"column": "flag", "aggregate": "last_value",
                    "default": False, "alias": f"{_short(relationship)}_last_flag"},
                   {"column": "label", "aggregate": "listagg",
                    "alias": f"{_short(relationship)}_labels_list"},
                   {"column": "qty", "aggregate": "listagg", "delimiter": "|",
                    "default": "none", "alias": f"{_short(relationship)}_qty_list"},
                   {"column": "flag", "aggregate": "listagg", "delimiter": "",
                    "alias": f"{_short(relationship)}_flag_list"},
                   {"column": "label", "aggregate": "listagg_distinct",
                    "alias": f"{_short(relationship)}_label_set"},
                   {"column": "qty", "aggregate": "listagg_distinct",
                    "delimiter": " ; ", "default": "-",
                    "alias": f"{_short(relationship)}_qty_set"},
                   {"column": "flag", "aggregate": "listagg_distinct",
                    "alias": f"{_short(relationship)}_flag_set"},
                   {"column": "flag", "aggregate": "count_if",
                    "alias": f"{_short(relationship)}_trues"},
                   {"column": "flag", "aggregate": "sum_bool",
                    "alias": f"{_short(relationship)}_sum_flag"},
                   {"column": "flag", "aggregate": "sum_bool", "default": -1,
                    "alias": f"{_short(relationship)}_sum_flag_or"},
                   {"column": "label", "aggregate": "is_null",
                    "alias": f"{_short(relationship)}_no_label"},
                   {"column": "qty", "aggregate": "not_null",
                    "alias": f"{_short(relationship)}_some_qty"},
               ]}
              for relationship in AGGREGATE_RELATIONSHIPS],
            *[{"activity": PRIMARY, "relationship": relationship,
               "columns": [
                   {"aggregate": "count", "alias": f"self_{_short(relationship)}_rows"},
                   {"column": "label", "aggregate": "count_distinct",
                    "alias": f"self_{_short(relationship)}_labels"},
                   {"column": "qty", "aggregate": "sum",
                    "alias": f"self_{_short(relationship)}_qty"},
                   {"column": "ts", "aggregate": "max",
                    "alias": f"self_{_short(relationship)}_max_ts"},
                   {"column": "label", "aggregate": "listagg",
                    "alias": f"self_{_short(relationship)}_labels_list"},
                   {"column": "qty", "aggregate": "listagg_distinct",
                    "alias": f"self_{_short(relationship)}_qty_set"},
                   {"column": "qty", "aggregate": "first_value",
                    "alias": f"self_{_short(relationship)}_first_qty"},
               ]}
              for relationship in AGGREGATE_RELATIONSHIPS],
        ],
    },
    # Filters on features (primary and appended), several filtered sets of
    # one activity, and default output names.
    "fx_ds_filtered": {
        "primary": {
            "activity": PRIMARY,
            "columns": ["activity_id", "label"],
            "filters": [{"column": "label", "operator": "in",
                         "value": ["a", "b"]}],
        },
        "append": [
            {"activity": APPENDED, "relationship": "first_in_between",
             "filters": [{"column": "flag", "operator": "=", "value": True}],
             "columns": ["ts", "label"]},
            {"activity": APPENDED, "relationship": "aggregate_in_between",
             "filters": [{"column": "flag", "operator": "=", "value": True}],
             "columns": [{"aggregate": "count"},
                         {"column": "price", "aggregate": "sum"}]},
            {"activity": APPENDED, "relationship": "last_before",
             "filters": [{"column": "price", "operator": ">=", "value": 1},
                         {"column": "label", "operator": "!=", "value": "c"}],
             "columns": ["ts", "price"]},
            {"activity": APPENDED, "relationship": "aggregate_after",
             "filters": [{"column": "qty", "operator": "is not null"}],
             "columns": [{"aggregate": "count"},
                         {"column": "qty", "aggregate": "min"}]},
            {"activity": APPENDED, "relationship": "aggregate_all",
             "filters": [{"column": "label", "operator": "not in",
                          "value": ["a"]}],
             "columns": [{"column": "label", "aggregate": "count_distinct"}]},
            {"activity": PRIMARY, "relationship": "first_after",
             "filters": [{"column": "qty", "operator": ">", "value": 0}],
             "columns": ["ts", "qty"]},
        ],
    },
    # Join conditions: appended rows whose label (and qty) equal the
    # primary row's, for every relationship, picks (nth too) and
    # aggregates; the primary activity joined to itself; with filters.
    "fx_ds_joined": {
        "primary": {"activity": PRIMARY,
                    "columns": ["activity_id", "label", "qty"]},
        "append": [
            *[{**item, "join": [{"column": "label", "primary_column": "label"}],
               "columns": [{**c, "alias": "j_" + c["alias"]}
                           for c in item["columns"]]}
              for item in _every_relationship(APPENDED, "label")],
            *[{"activity": APPENDED, "relationship": relationship,
               "join": [{"column": "label", "primary_column": "label"},
                        {"column": "qty", "primary_column": "qty"}],
               "filters": [{"column": "flag", "operator": "is not null"}],
               "columns": [
                   {"aggregate": "count", "alias": f"jj_{relationship}_n"},
                   {"column": "label", "aggregate": "count_distinct",
                    "alias": f"jj_{relationship}_labels"},
                   {"column": "price", "aggregate": "first_value",
                    "alias": f"jj_{relationship}_first_price"},
                   {"column": "flag", "aggregate": "listagg",
                    "alias": f"jj_{relationship}_flags"},
                   {"column": "qty", "aggregate": "listagg_distinct",
                    "alias": f"jj_{relationship}_qty_set"},
               ]}
              for relationship in AGGREGATE_RELATIONSHIPS],
            *[{"activity": APPENDED, "relationship": relationship, "nth": 2,
               "join": [{"column": "qty", "primary_column": "qty"}],
               "columns": [{"column": "ts", "alias": f"jq_{relationship}_ts"},
                           {"column": "label",
                            "alias": f"jq_{relationship}_label"}]}
              for relationship in PICKS if RELATIONSHIPS[relationship][0] == "nth"],
            *[{"activity": PRIMARY, "relationship": relationship,
               "join": [{"column": "label", "primary_column": "label"}],
               "columns": [{"column": "activity_id",
                            "alias": f"self_{relationship}_id"}]}
              for relationship in ("last_before", "first_after",
                                   "first_in_between", "last_ever")],
            {"activity": PRIMARY, "relationship": "aggregate_in_between",
             "join": [{"column": "label", "primary_column": "label"}],
             "columns": [{"aggregate": "count", "alias": "self_between_n"}]},
        ],
    },
    # Time bounds: before [t - d, t) and after (t, t + d], on the few
    # timestamps of the streams (0, 1, 2, 3, 5 minutes), so the bounds fall
    # on rows; with a join condition too.
    "fx_ds_within": {
        "primary": {"activity": PRIMARY, "columns": ["activity_id", "qty"]},
        "append": [
            *[{"activity": activity, "relationship": relationship, **extra,
               "within": within,
               "columns": [
                   {"column": "ts", "alias": f"{tag}_{side}_{label}_ts"},
                   {"column": "activity_id",
                    "alias": f"{tag}_{side}_{label}_id"}]}
              for activity, side in ((APPENDED, "a"), (PRIMARY, "p"))
              for relationship, extra, tag in PICK_VARIANTS
              if RELATIONSHIPS[relationship][1] in ("before", "after")
              and extra.get("nth", 1) < 3
              for label, within in (("2m", {"minutes": 2}),
                                    ("1h", {"hours": 1}))
              if side == "a" or label == "2m"],
            *[{"activity": APPENDED, "relationship": relationship,
               "within": {"minutes": 2},
               **({"join": [{"column": "qty", "primary_column": "qty"}]}
                  if joined else {}),
               "columns": [
                   {"aggregate": "count", "alias": f"{tag}_rows"},
                   {"column": "qty", "aggregate": "count",
                    "alias": f"{tag}_qtys"},
                   {"column": "qty", "aggregate": "sum", "alias": f"{tag}_sum"},
                   {"column": "price", "aggregate": "sum", "default": 0,
                    "alias": f"{tag}_price"},
                   {"column": "qty", "aggregate": "avg", "alias": f"{tag}_avg"},
                   {"column": "flag", "aggregate": "count_if",
                    "alias": f"{tag}_trues"},
                   {"column": "flag", "aggregate": "sum_bool", "default": -1,
                    "alias": f"{tag}_sum_flag"},
                   {"column": "label", "aggregate": "is_null",
                    "alias": f"{tag}_no_label"},
                   {"column": "label", "aggregate": "not_null",
                    "alias": f"{tag}_some_label"},
                   {"column": "label", "aggregate": "first_value",
                    "alias": f"{tag}_first_label"},
                   {"column": "qty", "aggregate": "last_value", "default": 99,
                    "alias": f"{tag}_last_qty"},
                   {"column": "label", "aggregate": "listagg",
                    "alias": f"{tag}_labels"},
                   {"column": "qty", "aggregate": "listagg", "delimiter": "",
                    "default": "-", "alias": f"{tag}_qty_list"},
               ]}
              for relationship in ("aggregate_before", "aggregate_after")
              for joined in (False, True)
              for tag in [f"{_short(relationship)}{'_j' if joined else ''}"]],
        ],
    },
    # The other activity as primary (its typed features as columns).
    "fx_ds_scanned": {
        "primary": {
            "activity": APPENDED,
            "columns": ["activity_id", "ts", "price", "flag", "revenue_impact"],
            "filters": [{"column": "flag", "operator": "is not null"}],
        },
        "append": _every_relationship(PRIMARY, "box"),
    },
    # Each selector, with every relationship (in between uses the next
    # primary row, whatever the selector).
    **{
        f"fx_ds_{selector}": {
            "primary": {"activity": PRIMARY, "selector": selector,
                        **({"nth": 2} if selector == "nth" else {}),
                        "columns": ["activity_id", "ts", "activity_occurrence"]},
            "append": [*_every_relationship(APPENDED, "item"),
                       *_every_relationship(PRIMARY, "box")],
        }
        for selector in ("first", "last", "nth")
    },
    # Each selector after primary filters (which apply first: the selector
    # ranks the rows that pass; in between ends at the next passing row).
    **{
        f"fx_ds_filtered_{selector}": {
            "primary": {"activity": PRIMARY, "selector": selector,
                        **({"nth": 2} if selector == "nth" else {}),
                        "columns": ["activity_id", "ts", "activity_occurrence",
                                    "label"],
                        "filters": [{"column": "label", "operator": "!=",
                                     "value": "c"}]},
            "append": [*_every_relationship(APPENDED, "item"),
                       *(_every_relationship(PRIMARY, "box")
                         if selector == "all" else [])],
        }
        for selector in ("all", "first", "last", "nth")
    },
}


# Time spines: every pick (nth too) and every aggregate, per day, per week
# (anchored on the rows that pass a filter, up to a declared end, columns
# aliased) and per month (anchored on the other activity). A spine row is
# keyed by (customer, period_start).
DATASETS.update({
    "fx_ds_spine_day": {
        "primary": {"activity": PRIMARY, "time_spine": "day"},
        "append": DATASETS["fx_ds_picks"]["append"]
        + DATASETS["fx_ds_aggregates"]["append"],
    },
    "fx_ds_spine_week": {
        "primary": {
            "activity": PRIMARY, "time_spine": "week", "end": "2024-04-08",
            "columns": ["customer", "period_start",
                        {"column": "period_end", "alias": "week_end"}],
            "filters": [{"column": "label", "operator": "!=", "value": "c"}],
        },
        "append": [*_every_relationship(APPENDED, "item"),
                   *_every_relationship(PRIMARY, "box")],
    },
    "fx_ds_spine_month": {
        "primary": {"activity": APPENDED, "time_spine": "month"},
        "append": [*_every_relationship(PRIMARY, "box"),
                   *_every_relationship(APPENDED, "item")],
    },
    # In-between aggregates alone (no picks, distinct values or lists): on
    # DuckDB they are frames of the period in the window pass itself
    # (`_dataset_period_frame`), whose ends rows sit on.
    "fx_ds_spine_day_totals": {
        "primary": {"activity": PRIMARY, "time_spine": "day"},
        "append": [
            {"activity": activity, "relationship": "aggregate_in_between",
             "columns": [column for column in _period_totals(tag)
                         if column.get("column") in (None, "ts",
                                                     "revenue_impact",
                                                     *FEATURES[activity])]}
            for activity, tag in ((APPENDED, "item"), (PRIMARY, "box"))
        ] + [
            {"activity": APPENDED, "relationship": "aggregate_before",
             "columns": [{"aggregate": "count", "alias": "items_to_date"}]},
        ],
    },
})


def row_key(spec: dict[str, Any], row: dict[str, Any]) -> Any:
    """A dataset row's key: its activity_id, or a spine row's (customer,
    period_start)."""
    if spec["primary"].get("time_spine"):
        return (row["customer"], row["period_start"])
    return row[KEY]


# --------------------------------------------------------------------------- #
# Fixture files
# --------------------------------------------------------------------------- #
def jinja_literal(value: Any) -> str:
    """A Python value as a Jinja literal."""
    if value is None:
        return "none"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, dict):
        return "{" + ", ".join(
            f"{jinja_literal(k)}: {jinja_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(jinja_literal(v) for v in value) + "]"
    raise TypeError(f"no Jinja literal for {value!r}")


def activity_model(activity: str) -> str:
    return f"""{{{{ config(materialized='view') }}}}
{{% call activity_schema.activity(
    activity='{activity}',
    activity_id='row_key',
    ts='ts',
    customer='customer_id',
    anonymous_customer_id='visitor_id',
    anonymous_source='web',
    features={jinja_literal(FEATURES[activity])},
    revenue_impact='revenue',
) %}}
select * from {{{{ ref('fixture_rows') }}}} where kind = '{activity}'
{{% endcall %}}
"""


def dataset_model(spec: dict[str, Any]) -> str:
    return f"""{{{{ config(materialized='view') }}}}
{{{{ activity_schema.dataset(
    stream=ref('fx_stream'),
    primary={jinja_literal(spec['primary'])},
    append={jinja_literal(spec['append'])},
) }}}}
"""


SEED_PROPERTIES = """version: 2
seeds:
  - name: fixture_rows
    config:
      column_types:
        row_key: varchar(20)
        kind: varchar(20)
        ts: timestamp
        customer_id: varchar(20)
        visitor_id: varchar(20)
        label: varchar(5)
        qty: integer
        price: numeric(10,2)
        flag: boolean
        revenue: numeric(10,2)
"""


def write_fixture(project: DbtProject) -> None:
    seeds = project.root / "seeds"
    (seeds / "fixture_rows.csv").write_text(
        ",".join(RAW_COLUMNS) + "\n"
        + "k0,opened_box,2024-03-01 09:00:00,c0,,a,1,1.50,true,2.00\n")
    (seeds / "_fixture__seeds.yml").write_text(SEED_PROPERTIES)
    models = project.root / "models" / "fixture_dataset"
    models.mkdir()
    for activity in (PRIMARY, APPENDED):
        (models / f"fx_act_{activity}.sql").write_text(activity_model(activity))
    (models / "fx_stream.sql").write_text(
        "{{ config(materialized='view') }}\n"
        "{{ activity_schema.stream([ref('fx_act_opened_box'),"
        " ref('fx_act_scanned_item')]) }}\n")
    for name, spec in DATASETS.items():
        (models / f"{name}.sql").write_text(dataset_model(spec))


# --------------------------------------------------------------------------- #
# The warehouse side
# --------------------------------------------------------------------------- #
class Warehouse:
    """One open connection to the copy's warehouse (dbt is not running)."""

    def __init__(self, project: DbtProject) -> None:
        self.project = project
        self.raw = "raw.fixture_rows"
        if project.target == "duckdb":
            import duckdb

            self.con = duckdb.connect(project.env["DBT_DUCKDB_PATH"])
            # Tiny data: one thread plans and runs the datasets faster.
            self.con.execute("set threads = 1")
            self.placeholder = "?"
        else:
            import psycopg2

            env = project.env
            self.con = psycopg2.connect(
                host=env["PGHOST"], port=env["PGPORT"], user=env["PGUSER"],
                password=env["PGPASSWORD"], dbname=env["PGDATABASE"])
            self.con.autocommit = True
            self.placeholder = "%s"

    def close(self) -> None:
        self.con.close()

    def replace_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        values = [tuple(row[c] for c in RAW_COLUMNS) for row in rows]
        marks = ", ".join([self.placeholder] * len(RAW_COLUMNS))
        if self.project.target == "duckdb":
            self.con.execute(f"delete from {self.raw}")
            if values:  # one statement: executemany is slow on DuckDB
                self.con.execute(
                    f"insert into {self.raw} values "
                    + ", ".join([f"({marks})"] * len(values)),
                    [value for row in values for value in row])
        else:
            from psycopg2.extras import execute_values

            with self.con.cursor() as cur:
                cur.execute(f"delete from {self.raw}")
                if values:
                    execute_values(
                        cur, f"insert into {self.raw} values %s", values)

    def select(self, relation: str) -> list[dict[str, Any]]:
        sql = f"select * from {self.project.schema}.{relation}"
        if self.project.target == "duckdb":
            cursor = self.con.execute(sql)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        with self.con.cursor() as cur:
            cur.execute(sql)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]


@contextlib.contextmanager
def built_fixture(project: DbtProject) -> Iterator[Warehouse]:
    write_fixture(project)
    for step in (("deps",), ("build", "--select", "fixture_rows+")):
        result = project.dbt(*step)
        assert result.success, f"dbt {' '.join(step)} failed:\n{result.log}"
    statuses = result.statuses()
    assert set(statuses) >= {"fixture_rows", "fx_stream", *DATASETS}, statuses
    warehouse = Warehouse(project)
    try:
        yield warehouse
    finally:
        warehouse.close()


# --------------------------------------------------------------------------- #
# Generated streams
# --------------------------------------------------------------------------- #
LABELS = st.sampled_from(["a", "b", "c", None])
QTYS = st.one_of(st.none(), st.integers(-2, 3))
PRICES = st.one_of(st.none(), st.sampled_from(
    [Decimal("0.50"), Decimal("1.25"), Decimal("2.00"), Decimal("-1.75")]))
FLAGS = st.one_of(st.none(), st.booleans())
REVENUES = st.one_of(st.none(), st.sampled_from(
    [Decimal("0.00"), Decimal("1.50"), Decimal("3.00")]))


def events(kinds: Sequence[str], min_size: int, max_size: int):
    event = st.fixed_dictionaries({
        "kind": st.sampled_from(list(kinds)),
        "ts": st.sampled_from(TIMES),
        "label": LABELS,
        "qty": QTYS,
        "price": PRICES,
        "flag": FLAGS,
        "revenue": REVENUES,
    })
    return st.lists(event, min_size=min_size, max_size=max_size)


# An entity's stream: mixed activities, a single row, primary rows only (no
# appended rows), or appended rows only (no dataset row).
ENTITY_EVENTS = st.one_of(
    events([PRIMARY, APPENDED], 0, 9),
    events([PRIMARY, APPENDED], 1, 1),
    events([PRIMARY], 1, 4),
    events([APPENDED], 1, 3),
)
# (anonymous?, has a visitor id besides the customer?, events, device): an
# anonymous entity with a device number browses on that entity's device, so
# when the device belongs to a customer with a visitor id, identity
# resolution gives its rows to the customer(s) who log in on it.
ENTITIES = st.lists(
    st.tuples(st.booleans(), st.booleans(), ENTITY_EVENTS,
              st.one_of(st.none(), st.integers(0, MAX_ENTITIES - 1))),
    min_size=1, max_size=MAX_ENTITIES,
)


def raw_rows(entities: Sequence[tuple]) -> list[dict[str, Any]]:
    """Seed rows: entity i is customer `c<i>` or anonymous visitor `v<i>`
    (or, anonymous with a device, visitor `v<device>`)."""
    rows = []
    for index, (anonymous, with_visitor, entity_events, *device) in enumerate(entities):
        visitor = f"v{index}" if anonymous or with_visitor else None
        if anonymous and device and device[0] is not None:
            visitor = f"v{device[0]}"
        for event in entity_events:
            rows.append({
                **event,
                "row_key": f"k{len(rows)}",
                "customer_id": None if anonymous else f"c{index}",
                "visitor_id": visitor,
            })
    return rows


def stream_rows(raw: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stream rows the reference reads, derived from the raw rows here
    (activity_id = md5 of the key, as `activity_schema.activity` documents),
    their customer resolved by the plain-Python identity resolution written
    from the semantics page (tests/python/identity_reference.py)."""
    rows = [{
        "activity": row["kind"],
        "activity_id": hashlib.md5(row["row_key"].encode()).hexdigest(),
        "ts": row["ts"],
        "customer": row["customer_id"],
        "anonymous_customer_id": (
            f"web_{row['visitor_id']}" if row["visitor_id"] is not None else None),
        "revenue_impact": row["revenue"],
        "features": {name: row[name] for name in FEATURES[row["kind"]]},
    } for row in raw]
    resolved = resolve(rows)
    return [{**row, "customer": resolved[(row["activity"], row["activity_id"])]}
            for row in rows]


# --------------------------------------------------------------------------- #
# Comparison
# --------------------------------------------------------------------------- #
def same(actual: Any, expected: Any) -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) \
            and actual == expected
    if isinstance(expected, (int, float, Decimal)):
        if not isinstance(actual, (int, float, Decimal)):
            return False
        return math.isclose(float(actual), float(expected),
                            rel_tol=1e-9, abs_tol=1e-9)
    return type(actual) is type(expected) and actual == expected


def expected_columns(spec: dict[str, Any]) -> list[str]:
    names = [output_name(normalize_column(c), None, None)
             for c in spec["primary"].get("columns") or SPINE_COLUMNS]
    for appended in spec["append"]:
        names += [output_name(normalize_column(c), appended["relationship"],
                              appended["activity"], appended.get("nth"))
                  for c in appended["columns"]]
    return names


def describe(stream: Sequence[dict[str, Any]], entity: Any) -> str:
    lines = []
    for row in sorted(stream, key=lambda r: (r["ts"], r["activity_id"])):
        if (row["customer"] or row["anonymous_customer_id"]) == entity:
            lines.append(
                f"  {row['activity']:<13} {row['ts']:%m-%d %H:%M} "
                f"{row['activity_id'][:8]} rev={row['revenue_impact']} "
                f"{row['features']}")
    return "\n".join(lines)


def check_example(warehouse: Warehouse, entities: Sequence[tuple]) -> None:
    raw = raw_rows(entities)
    stream = stream_rows(raw)
    warehouse.replace_rows(raw)

    # The input the datasets read is the input the reference reads.
    actual_stream = sorted(
        (r["activity"], r["activity_id"], r["ts"],
         r["customer"] or r["anonymous_customer_id"])
        for r in warehouse.select("fx_stream"))
    assert actual_stream == sorted(
        (r["activity"], r["activity_id"], r["ts"],
         r["customer"] or r["anonymous_customer_id"]) for r in stream)

    entity_of_id = {
        r["activity_id"]: r["customer"] or r["anonymous_customer_id"]
        for r in stream}
    problems: dict[str, list[str]] = {}
    for name, spec in DATASETS.items():
        expected = {row_key(spec, row): row for row in compute_dataset(
            stream, spec["primary"], spec["append"])}
        actual_rows = warehouse.select(name)
        actual = {row_key(spec, row): row for row in actual_rows}
        assert len(actual) == len(actual_rows), f"{name}: duplicate key"
        if actual_rows:
            assert list(actual_rows[0]) == expected_columns(spec), name
        if set(actual) != set(expected):
            problems[name] = [
                f"rows {sorted(actual, key=str)} != expected "
                f"{sorted(expected, key=str)}"]
            continue
        for key, expected_row in expected.items():
            for column, value in expected_row.items():
                if not same(actual[key][column], value):
                    entity = key[0] if isinstance(key, tuple) \
                        else entity_of_id[key]
                    problems.setdefault(f"{name}.{column}", []).append(
                        f"at primary row {key[:8]} of entity {entity}: dataset "
                        f"{actual[key][column]!r}, reference {value!r}\n"
                        f"{describe(stream, entity)}")
    # The warehouse itself: first_* equals nth_* with n = 1, column for column.
    for row in warehouse.select("fx_ds_picks"):
        for window in ("ever", "before", "after", "in_between"):
            first = f"first_{window}_{APPENDED}"
            nth = f"nth_{window}_1_{APPENDED}"
            for column in ("ts", "activity_id", "label"):
                assert same(row[f"{nth}_{column}"], row[f"{first}_{column}"]), \
                    (row[KEY], window, column)
            for prefix in ("", "self_"):
                assert same(row[f"{prefix}nth_{window}_1_price" if not prefix
                                else f"self_nth_{window}_1_id"],
                            row[f"{prefix}first_{window}_price" if not prefix
                                else f"self_first_{window}_id"]), (row[KEY], window)
    # One mismatch per dataset column, with the entity's stream.
    assert not problems, f"{sum(map(len, problems.values()))} mismatches:\n" + \
        "\n".join(f"{where} ({len(found)}x), first {found[0]}"
                  for where, found in problems.items())


# Hand-made entities that pin the equal-timestamp cases on every run.
T0, T1, T2, T3 = TIMES[0], TIMES[1], TIMES[2], TIMES[3]


def _event(kind: str, ts: datetime, label: str | None = "a", qty: int | None = 1,
           price: Decimal | None = Decimal("1.25"), flag: bool | None = True,
           revenue: Decimal | None = Decimal("1.50")) -> dict[str, Any]:
    return {"kind": kind, "ts": ts, "label": label, "qty": qty, "price": price,
            "flag": flag, "revenue": revenue}


PINNED = [
    # Appended rows at the primary row's ts: neither before nor after nor in
    # between; one at the next primary row's ts: in between (closed end).
    (False, False, [_event(PRIMARY, T1), _event(APPENDED, T1, "b"),
                    _event(APPENDED, T0, "c"), _event(PRIMARY, T2, qty=2),
                    _event(APPENDED, T2, "a")]),
    # Two primary rows at one ts: the first one's in-between window is empty;
    # the same activity appended never sees the primary row itself.
    (True, False, [_event(PRIMARY, T1, "a"), _event(PRIMARY, T1, "b"),
                   _event(APPENDED, T2, None, None, None, None, None),
                   _event(PRIMARY, T0, "c")]),
    # One row; primary rows without appended rows.
    (False, True, [_event(PRIMARY, T0)]),
    (False, False, [_event(PRIMARY, T2), _event(PRIMARY, T2, "b")]),
    # Appended rows only, and ties among appended rows.
    (True, True, [_event(APPENDED, T1), _event(APPENDED, T1, "b")]),
    (False, False, [_event(APPENDED, T1, "a"), _event(APPENDED, T1, "b"),
                    _event(APPENDED, T1, "c"), _event(PRIMARY, T0),
                    _event(PRIMARY, T2)]),
    # Anonymous rows on the device of entity 2 (customer c2, visitor v2):
    # identity resolution makes them c2's, before and after its login.
    (True, False, [_event(APPENDED, T0, "d"), _event(PRIMARY, T3, "e")], 2),
]


def test_dataset_matches_reference(project: DbtProject) -> None:
    """Every relationship, aggregate, selector and filter of the fixture
    datasets equals the reference on generated streams with frequent ties."""
    with built_fixture(project) as warehouse:

        @settings(
            max_examples=SLOW_EXAMPLES if SLOW else EXAMPLES,
            deadline=None,
            derandomize=not SLOW,
            suppress_health_check=[HealthCheck.too_slow,
                                   HealthCheck.data_too_large],
        )
        @example(entities=PINNED)
        @given(entities=ENTITIES)
        def check(entities: list[tuple]) -> None:
            check_example(warehouse, entities)

        check()


# --------------------------------------------------------------------------- #
# The reference itself, on hand-computed cases from the semantics page.
# --------------------------------------------------------------------------- #
def _row(activity: str, key: str, ts: datetime, entity: str = "c1",
         **features: Any) -> dict[str, Any]:
    return {"activity": activity, "activity_id": key, "ts": ts, "entity": entity,
            "revenue_impact": features.pop("revenue", None), "features": features}


def test_reference_follows_the_equal_timestamp_rules() -> None:
    stream = [
        _row("p", "p2", T1), _row("p", "p1", T1), _row("p", "p3", T2),
        _row("a", "a1", T0, qty=5), _row("a", "a3", T1, qty=1),
        _row("a", "a2", T1, qty=2), _row("a", "a4", T2, qty=3),
        _row("a", "a5", T2, qty=None),
    ]
    append = [
        {"activity": "a", "relationship": r, **extra, "columns": [
            {"column": "activity_id", "alias": tag}]}
        for r, extra, tag in PICK_VARIANTS
    ] + [
        {"activity": "a", "relationship": r, "columns": [
            {"aggregate": "count", "alias": f"{r}_n"},
            {"column": "qty", "aggregate": "sum", "alias": f"{r}_qty",
             "default": -1}]} for r in AGGREGATE_RELATIONSHIPS
    ] + [
        {"activity": "p", "relationship": "last_before",
         "columns": [{"column": "activity_id", "alias": "self_before"}]},
        {"activity": "p", "relationship": "first_after",
         "columns": [{"column": "activity_id", "alias": "self_after"}]},
    ]
    rows = compute_dataset(
        stream, {"activity": "p", "columns": ["activity_id", "activity_occurrence",
                                              "activity_repeated_at"]}, append)
    by_id = {row["activity_id"]: row for row in rows}
    # p1 < p2 at T1 (activity_id breaks the tie); p1's next is p2 at T1.
    assert [r["activity_id"] for r in rows] == ["p1", "p2", "p3"]
    p1, p2, p3 = by_id["p1"], by_id["p2"], by_id["p3"]
    assert (p1["activity_occurrence"], p1["activity_repeated_at"]) == (1, T1)
    assert (p3["activity_occurrence"], p3["activity_repeated_at"]) == (3, None)
    # Ever: earliest / latest by (ts, activity_id).
    assert p1["first_ever"] == "a1" and p1["last_ever"] == "a5"
    # Before is strict: a2, a3 at T1 are not before p1 at T1.
    assert p1["first_before"] == "a1" and p1["last_before"] == "a1"
    assert p1["aggregate_before_n"] == 1 and p1["aggregate_before_qty"] == 5
    # After is strict: a2, a3 at T1 are not after p1 at T1.
    assert p1["first_after"] == "a4" and p1["last_after"] == "a5"
    assert p1["aggregate_after_n"] == 2 and p1["aggregate_after_qty"] == 3
    # p1's window (T1, T1] is empty: count 0, sum the default.
    assert p1["first_in_between"] is None and p1["last_in_between"] is None
    assert p1["aggregate_in_between_n"] == 0
    assert p1["aggregate_in_between_qty"] == -1
    # p2's window (T1, T2] holds a4 and a5 (closed end); its all-null-free sum.
    assert p2["first_in_between"] == "a4" and p2["last_in_between"] == "a5"
    assert p2["aggregate_in_between_n"] == 2 and p2["aggregate_in_between_qty"] == 3
    # p3's window (T2, open) is empty; a4, a5 at T2 are not after p3.
    assert p3["aggregate_in_between_n"] == 0 and p3["first_after"] is None
    assert p3["aggregate_all_n"] == 5 and p3["aggregate_all_qty"] == 11
    # nth counts from the start of its window: the n-th of all rows, of the
    # rows before, of the rows after, of the rows in between; null beyond.
    assert (p1["nth_ever_1"], p1["nth_ever_2"], p1["nth_ever_3"]) == ("a1", "a2", "a3")
    assert (p3["nth_before_1"], p3["nth_before_2"], p3["nth_before_3"]) \
        == ("a1", "a2", "a3")
    assert (p1["nth_before_1"], p1["nth_before_2"]) == ("a1", None)
    assert (p1["nth_after_1"], p1["nth_after_2"], p1["nth_after_3"]) \
        == ("a4", "a5", None)
    assert (p2["nth_in_between_1"], p2["nth_in_between_2"]) == ("a4", "a5")
    assert p1["nth_in_between_1"] is None and p3["nth_after_1"] is None
    for row in rows:
        for window in ("ever", "before", "after", "in_between"):
            assert row[f"nth_{window}_1"] == row[f"first_{window}"]
    # The primary activity appended to itself: strict, never the row itself.
    assert p1["self_before"] is None and p1["self_after"] == "p3"
    assert p2["self_before"] is None and p3["self_before"] == "p2"


def test_reference_selectors_filters_and_defaults() -> None:
    stream = [
        _row("p", "p1", T0, label="x"), _row("p", "p2", T1, label="y"),
        _row("p", "p3", T2, label="x"), _row("a", "a1", T2, qty=None),
        _row("p", "q1", T0, entity="c2", label="y"),
    ]
    columns = ["entity", "activity_id"]
    select = lambda **p: [r["activity_id"] for r in compute_dataset(  # noqa: E731
        stream, {"activity": "p", "columns": columns, **p})]
    assert select(selector="first") == ["p1", "q1"]
    assert select(selector="last") == ["p3", "q1"]
    assert select(selector="nth", nth=2) == ["p2"]
    # Filters apply before the selector: the first 'y' row of c1 is p2 (its
    # second row), the last 'x' row is p3, the second 'x' row is p3.
    label_is = lambda v: [{"column": "label", "operator": "=", "value": v}]  # noqa: E731
    assert select(selector="first", filters=label_is("y")) == ["p2", "q1"]
    assert select(selector="last", filters=label_is("x")) == ["p3"]
    assert select(selector="nth", nth=2, filters=label_is("x")) == ["p3"]
    assert select(selector="nth", nth=2, filters=label_is("y")) == []
    assert select(filters=[{"column": "label", "operator": "!=", "value": "x"}]) \
        == ["p2", "q1"]
    # With filters, the in-between window ends at the next row that passes
    # them: p1's window runs to p3 (p2 is not 'x'), and holds a1 at T2.
    rows = compute_dataset(
        stream, {"activity": "p", "selector": "first", "columns": columns,
                 "filters": label_is("x")},
        [{"activity": "a", "relationship": "aggregate_in_between",
          "columns": [{"aggregate": "count", "alias": "n"}]},
         {"activity": "p", "relationship": "aggregate_in_between",
          "columns": [{"aggregate": "count", "alias": "own"}]}])
    assert rows == [{"entity": "c1", "activity_id": "p1", "n": 1, "own": 2}]
    # Without filters the in-between window ends at the next row of the
    # primary activity, even when the selector leaves that row out.
    rows = compute_dataset(
        stream, {"activity": "p", "selector": "nth", "nth": 2, "columns": columns},
        [{"activity": "a", "relationship": "aggregate_in_between", "columns": [
            {"aggregate": "count", "alias": "n"},
            {"column": "qty", "aggregate": "count", "alias": "qtys"},
            {"column": "qty", "aggregate": "max", "alias": "top", "default": 0},
        ]}])
    # One row in (T1, T2] whose qty is null: count 1, count of qty 0, and max
    # null (the default is for no rows, not for null values).
    assert rows == [{"entity": "c1", "activity_id": "p2", "n": 1, "qtys": 0,
                     "top": None}]


def test_reference_value_list_and_boolean_aggregates() -> None:
    """The aggregates of the wider set, by hand: nulls skipped by
    first_value / last_value / listagg, listagg_distinct sorted by value,
    booleans counted, and what each gives over no rows."""
    stream = [
        _row("p", "p1", T1), _row("p", "p2", T2),
        _row("a", "a1", T0, label=None, qty=3, flag=None),
        _row("a", "a2", T0, label="b", qty=None, flag=True),
        _row("a", "a3", T1, label="a", qty=3, flag=False),
        _row("a", "a4", T1, label="b", qty=-2, flag=True),
    ]
    aggregates = [
        {"column": "label", "aggregate": "first_value", "alias": "first"},
        {"column": "label", "aggregate": "last_value", "alias": "last",
         "default": "-"},
        {"column": "label", "aggregate": "listagg", "alias": "labels"},
        {"column": "qty", "aggregate": "listagg", "delimiter": "|",
         "alias": "qtys"},
        {"column": "qty", "aggregate": "listagg_distinct", "alias": "qty_set"},
        {"column": "label", "aggregate": "listagg_distinct", "delimiter": "/",
         "alias": "label_set", "default": "none"},
        {"column": "flag", "aggregate": "count_if", "alias": "trues"},
        {"column": "flag", "aggregate": "sum_bool", "alias": "flag_sum"},
        {"column": "label", "aggregate": "is_null", "alias": "no_label"},
        {"column": "label", "aggregate": "not_null", "alias": "some_label"},
    ]
    rows = compute_dataset(
        stream, {"activity": "p", "columns": ["activity_id"]},
        [{"activity": "a", "relationship": "aggregate_after",
          "columns": aggregates}])
    p1, p2 = rows
    # p1 at T1: no row after it (a3, a4 are tied with it).
    assert p1 == {"activity_id": "p1", "first": None, "last": "-",
                  "labels": None, "qtys": None, "qty_set": None,
                  "label_set": "none", "trues": 0, "flag_sum": None,
                  "no_label": True, "some_label": False}
    rows = compute_dataset(
        stream, {"activity": "p", "columns": ["activity_id"]},
        [{"activity": "a", "relationship": "aggregate_before",
          "columns": aggregates}])
    p1, p2 = rows
    # Before p1: a1, a2 (by activity_id at T0). a1's label is null.
    assert p1 == {"activity_id": "p1", "first": "b", "last": "b",
                  "labels": "b", "qtys": "3", "qty_set": "3",
                  "label_set": "b", "trues": 1, "flag_sum": 1,
                  "no_label": False, "some_label": True}
    # Before p2: a1..a4; -2 sorts before 3 as a number.
    assert p2 == {"activity_id": "p2", "first": "b", "last": "b",
                  "labels": "b, a, b", "qtys": "3|3|-2", "qty_set": "-2, 3",
                  "label_set": "a/b", "trues": 2, "flag_sum": 2,
                  "no_label": False, "some_label": True}
    # Rows whose values are all null: null, not the default; is_null true.
    only_nulls = [_row("p", "p1", T1), _row("a", "a1", T0, label=None)]
    [row] = compute_dataset(
        only_nulls, {"activity": "p", "columns": ["activity_id"]},
        [{"activity": "a", "relationship": "aggregate_before",
          "columns": aggregates}])
    assert row["last"] is None and row["label_set"] is None
    assert row["no_label"] is True and row["some_label"] is False
    assert row["trues"] == 0 and row["flag_sum"] is None
