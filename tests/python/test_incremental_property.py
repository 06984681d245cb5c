"""The incremental customer_stream always equals a full rebuild.

A property-based test: hypothesis draws sequences of batches of source
changes (new rows, late rows inside and outside the lookback window, rows
delivered twice, rows with equal timestamps, restated and deleted rows). Each
batch is written into the raw tables in place, as a loader would, then a plain
incremental `dbt run` of the stream follows. After it, the stream must equal
the stream computed from scratch over the same sources, in every column, when
every change lies inside the lookback window; when a change is older, a
reconciliation run (`stream_reconcile: true`) must bring it back to equal.

The full rebuild is the same `activity_schema.stream` macro compiled as a
plain view (`customer_stream_full`), so it is recomputed from the current
sources at every comparison. Each engine keeps one project for all examples;
every example starts from the same initial sources and stream.

JAFFLE_SLOW=1 runs more examples.
"""

from __future__ import annotations

import copy
import os
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.python.dbt_harness import DbtProject
from tools.generate_data import generate

LOOKBACK_HOURS = 72
EXAMPLES = 100 if os.environ.get("JAFFLE_SLOW") else 25
FULL_VIEW = """
{{ config(materialized='view') }}

{{ activity_schema.stream(customer_activities()) }}
"""

# -- the sources, as the stream sees them ------------------------------------


def row_ts(table: str, row: dict[str, Any]) -> datetime:
    """The stream's ts of a raw row."""
    if table == "raw_orders":
        value = row["order_date"]
        return datetime(value.year, value.month, value.day)
    return row[TS_COLUMN[table]]


TS_COLUMN = {
    "raw_customers": "created_at",
    "raw_payments": "created_at",
    "raw_web_events": "occurred_at",
}


def with_ts(table: str, row: dict[str, Any], ts: datetime) -> dict[str, Any]:
    """A copy of a raw row moved to a new stream ts."""
    moved = dict(row)
    if table == "raw_orders":
        moved["order_date"] = ts.date()
    else:
        moved[TS_COLUMN[table]] = ts
    return moved


def stream_ts_of(table: str, ts: datetime) -> datetime:
    """The ts the stream will hold for a row placed at `ts`."""
    if table == "raw_orders":
        return datetime(ts.year, ts.month, ts.day)
    return ts


# -- batches ----------------------------------------------------------------

TABLES = ("raw_customers", "raw_orders", "raw_payments", "raw_web_events")
TIMINGS = ("recent", "late", "old")
KINDS = ("insert", "duplicate", "tie", "restate_ts", "restate_value", "delete")

operation = st.tuples(
    st.sampled_from(KINDS),
    st.sampled_from(TABLES),
    st.integers(min_value=0, max_value=10**6),  # which row
    st.sampled_from(TIMINGS),
    st.integers(min_value=0, max_value=10**6),  # hours / value variant
)
batches = st.lists(
    st.lists(operation, min_size=1, max_size=6), min_size=1, max_size=3
)


def timing_ts(timing: str, high_water_mark: datetime, draw: int) -> datetime:
    """A timestamp relative to the stream's high-water mark."""
    if timing == "recent":
        hours = draw % 48
    elif timing == "late":  # inside the lookback window
        hours = -(1 + draw % (LOOKBACK_HOURS - 12))
    else:  # older than the lookback window
        hours = -(LOOKBACK_HOURS + 24 + draw % 2000)
    return high_water_mark + timedelta(hours=hours, seconds=draw % 3600)


class Batch:
    """Applies operations to the raw tables and records the ts they touch."""

    def __init__(self, tables: dict[str, list[dict]], high_water_mark: datetime):
        self.tables = tables
        self.high_water_mark = high_water_mark
        self.touched: list[datetime] = []

    def next_id(self, table: str) -> int:
        return max((row["id"] for row in self.tables[table]), default=0) + 1

    def pick(self, table: str, index: int, where=lambda row: True):
        rows = [row for row in self.tables[table] if where(row)]
        return rows[index % len(rows)] if rows else None

    def has_payments(self, order_id: int) -> bool:
        return any(p["order_id"] == order_id for p in self.tables["raw_payments"])

    def apply(self, kind: str, table: str, index: int, timing: str, draw: int):
        ts = timing_ts(timing, self.high_water_mark, draw)
        getattr(self, kind)(table, index, ts, draw)

    # Each operation keeps the sources consistent: a payment belongs to an
    # existing order, an order to an existing customer, and an order that
    # has payments is neither deleted nor moved (its payments' customer
    # would change with it).

    def insert(self, table: str, index: int, ts: datetime, draw: int):
        row = self.new_row(table, index, ts, draw)
        if row is not None:
            self.tables[table].append(row)
            self.touched.append(stream_ts_of(table, ts))

    def tie(self, table: str, index: int, ts: datetime, draw: int):
        other = self.pick(table, index)
        if other is None:
            return
        ts = row_ts(table, other)
        row = self.new_row(table, index, ts, draw, like=other)
        if row is not None:
            self.tables[table].append(row)
            self.touched.append(stream_ts_of(table, ts))

    def duplicate(self, table: str, index: int, ts: datetime, draw: int):
        row = self.pick(table, index)
        if row is not None:  # a byte-identical second delivery: no change
            self.tables[table].append(dict(row))

    def restate_ts(self, table: str, index: int, ts: datetime, draw: int):
        where = (
            (lambda row: not self.has_payments(row["id"]))
            if table == "raw_orders"
            else (lambda row: True)
        )
        row = self.pick(table, index, where)
        if row is None:
            return
        self.replace(table, row, with_ts(table, row, ts))

    def restate_value(self, table: str, index: int, ts: datetime, draw: int):
        row = self.pick(table, index)
        if row is None:
            return
        new = dict(row)
        if table == "raw_customers":
            new["first_name"] = f"{row['first_name']}{draw % 7}"
        elif table == "raw_orders":
            new["status"] = ("completed", "returned", "shipped")[draw % 3]
        elif table == "raw_payments":
            if draw % 2:
                new["amount"] = row["amount"] + 100 + draw % 900
            else:  # another order, maybe of another customer
                new["order_id"] = self.pick("raw_orders", draw)["id"]
        else:
            new["page"] = ("/", "/menu", "/cart", "/checkout")[draw % 4]
        self.replace(table, row, new)

    def delete(self, table: str, index: int, ts: datetime, draw: int):
        if table == "raw_customers":
            return  # customers have dependants; not deleted here
        where = (
            (lambda row: not self.has_payments(row["id"]))
            if table == "raw_orders"
            else (lambda row: True)
        )
        row = self.pick(table, index, where)
        if row is None:
            return
        self.tables[table] = [r for r in self.tables[table] if r["id"] != row["id"]]
        self.touched.append(row_ts(table, row))

    def replace(self, table: str, old: dict, new: dict):
        self.tables[table] = [
            dict(new) if r["id"] == old["id"] else r for r in self.tables[table]
        ]
        self.touched.extend([row_ts(table, old), row_ts(table, new)])

    def new_row(self, table, index, ts, draw, like=None):
        """A new source row at `ts` (for a tie: of the same customer as `like`)."""
        if table == "raw_customers":
            return {
                "id": self.next_id(table),
                "first_name": "New",
                "last_name": f"{chr(65 + draw % 26)}.",
                "created_at": ts,
            }
        if table == "raw_orders":
            customer = (
                like["user_id"] if like else self.pick("raw_customers", index)["id"]
            )
            return {
                "id": self.next_id(table),
                "user_id": customer,
                "order_date": ts.date(),
                "status": ("placed", "completed")[draw % 2],
            }
        if table == "raw_payments":
            order = like["order_id"] if like else self.pick("raw_orders", index)["id"]
            return {
                "id": self.next_id(table),
                "order_id": order,
                "payment_method": ("credit_card", "coupon")[draw % 2],
                "amount": 100 * (1 + draw % 30),
                "created_at": ts,
            }
        visitor = like["visitor_id"] if like else f"v9{draw % 50:04d}"
        customer = like["customer_id"] if like else (
            None if draw % 3 == 0 else self.pick("raw_customers", draw)["id"]
        )
        return {
            "id": self.next_id(table),
            "visitor_id": visitor,
            "customer_id": customer,
            "page": "/menu",
            "occurred_at": ts,
        }


# -- the projects -------------------------------------------------------------


class StreamCheck:
    """One project per engine, reset to the initial state for each example."""

    def __init__(self, project: DbtProject):
        self.project = project
        self.initial = generate(seed=11, scale=0.05)
        project.write_seeds(self.initial)
        (project.root / "models" / "stream" / "customer_stream_full.sql").write_text(
            FULL_VIEW
        )
        result = project.build()
        assert result.success, result.log[-4000:]
        project.parse()  # later runs reuse it: `--vars` would reparse
        project.execute(
            "create table stream_initial as select * from "
            f"{project.schema}.customer_stream"
        )

    def reset(self) -> dict[str, list[dict]]:
        tables = copy.deepcopy(self.initial)
        self.project.load_raw(tables)
        stream = f"{self.project.schema}.customer_stream"
        self.project.execute(
            f"delete from {stream}",
            f"insert into {stream} select * from stream_initial",
        )
        return tables

    def high_water_mark(self) -> datetime:
        (value,) = self.project.query(
            f"select max(ts) from {self.project.schema}.customer_stream"
        )[0]
        return value

    def run(self, *args: str) -> None:
        result = self.project.dbt(
            "run", "--select", "customer_stream", *args, manifest=True
        )
        assert result.success, result.log[-4000:]

    def differences(self) -> list[tuple]:
        schema = self.project.schema
        return self.project.query(
            f"""
            (select 'only incremental' as side, * from (
                select * from {schema}.customer_stream
                except all
                select * from {schema}.customer_stream_full) as a)
            union all
            (select 'only full' as side, * from (
                select * from {schema}.customer_stream_full
                except all
                select * from {schema}.customer_stream) as b)
            """
        )


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def stream_check(request, tmp_path_factory) -> Iterator[StreamCheck]:
    project = DbtProject.create(tmp_path_factory.mktemp(request.param), request.param)
    try:
        yield StreamCheck(project)
    finally:
        project.drop()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(sequence=batches)
def test_incremental_stream_equals_full_rebuild(stream_check: StreamCheck, sequence):
    tables = stream_check.reset()
    assert stream_check.differences() == []
    for operations in sequence:
        high_water_mark = stream_check.high_water_mark()
        batch = Batch(tables, high_water_mark)
        for op in operations:
            batch.apply(*op)
        tables = batch.tables
        stream_check.project.load_raw(tables)

        stream_check.run()
        window_start = high_water_mark - timedelta(hours=LOOKBACK_HOURS)
        if all(ts >= window_start for ts in batch.touched):
            assert stream_check.differences() == [], (
                f"plain incremental run differs after {operations}"
            )
        else:
            stream_check.run("--vars", "{stream_reconcile: true}")
            assert stream_check.differences() == [], (
                f"reconciliation run differs after {operations}"
            )
