"""The benchmark's SQL generator: load times and late-row ranges of its batches."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest

from bench import datagen

ROWS = 20_000
BATCH_ROWS = 400


@pytest.fixture(scope="module")
def generator():
    con = duckdb.connect()
    datagen.generate_base(con, ROWS)
    high_water_mark = con.execute("select max(occurred_at) from raw_web_events").fetchone()[0]
    yield con, high_water_mark
    con.close()


def _columns(con, table: str) -> tuple[str, ...]:
    return tuple(row[0] for row in con.execute(f"describe {table}").fetchall())


def test_base_has_one_load_time_in_the_seeds_column_order(generator):
    con, _ = generator
    period_end = con.execute("select period_end from g_meta").fetchone()[0]
    for table in datagen.RAW_TABLES:
        assert _columns(con, table) == datagen.RAW_COLUMNS[table]
        assert _columns(con, table)[-1] == datagen.LOADED_AT
        stamps = con.execute(f"select distinct _loaded_at from {table}").fetchall()
        assert stamps == [(period_end,)]


@pytest.mark.parametrize("late_hours", [(1, 48), (24, 30 * 24)])
def test_batch_rows_carry_a_later_load_time_and_lie_in_the_late_range(generator, late_hours):
    con, high_water_mark = generator
    summary = datagen.generate_batch(
        con, BATCH_ROWS, high_water_mark, late_hours=late_hours, window_hours=72
    )
    assert summary["rows"] == BATCH_ROWS
    assert summary["late_rows"] > 0
    base_load = con.execute("select loaded_at from g_meta").fetchone()[0]
    assert summary["loaded_at"] > base_load
    assert summary["loaded_at"] > summary["max_ts"]
    earliest = high_water_mark - timedelta(hours=late_hours[1])
    for table in datagen.RAW_TABLES:
        assert _columns(con, f"b_{table}") == datagen.RAW_COLUMNS[table]
        stamps = con.execute(f"select distinct _loaded_at from b_{table}").fetchall()
        assert stamps == [(summary["loaded_at"],)]
        ts = datagen.TS_EXPRESSIONS[table]
        oldest, latest_late = con.execute(
            f"select min({ts}), max({ts}) filter (where {ts} < ?) from b_{table}",
            [high_water_mark],
        ).fetchone()
        if table == "raw_orders":
            # An order's ts is the midnight of its date.
            assert oldest >= earliest - timedelta(days=1)
            continue
        assert oldest >= earliest
        if latest_late is not None:
            assert latest_late <= high_water_mark - timedelta(hours=late_hours[0])
    if late_hours[0] >= 24:
        # Most late rows lie beyond their activity's 72 h window.
        assert summary["late_rows"] >= summary["outside_window"] > summary["late_rows"] / 2
    else:
        assert summary["outside_window"] == 0


def test_batch_rejects_a_late_range_without_room(generator):
    con, high_water_mark = generator
    with pytest.raises(ValueError, match="late_hours"):
        datagen.generate_batch(con, BATCH_ROWS, high_water_mark, late_hours=(1, 1.2))
