"""Tests for the "next batch" simulation of tools/generate_data.

``next_batch`` turns the current state of the raw tables into the state after
one more ingestion: new rows (on time, late, very late, ties), rows delivered
twice (same values, or conflicting values), rows restated in place, deleted
rows and rows from a clock far ahead (year 2099), and identity changes
(logins of anonymous visitors, logins on another customer's device, account
merges, erasure requests, accounts whose row arrives after their alias).
Every row a batch writes carries the batch's ``_loaded_at``. ``read_csv``
reads the CSV files back so that batches can be chained on disk.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.python.test_generate_data import (
    alias_end,
    assert_identity_shape,
    assert_referential_shape,
    views_by_visitor,
)
from tools.generate_data import (
    TABLE_COLUMNS,
    TIME_COLUMNS,
    generate,
    high_water_mark,
    next_batch,
    read_csv,
    write_csv,
)

# The shop's tables, keyed by id (what the summary's per-table entries cover), and every raw table.
TABLES = ("raw_customers", "raw_orders", "raw_payments", "raw_web_events")
ALL_TABLES = tuple(TABLE_COLUMNS)
IDENTITY = ("raw_customer_aliases", "raw_customer_removals")
LOADED_AT = "_loaded_at"
FORMAT = "%Y-%m-%d %H:%M:%S"
ALL_ON = {
    "late": 0.2, "very_late": 0.1, "ties": 0.1, "duplicates": 0.05, "restated": 0.03, "deletes": 0.02,
    "conflicting": 0.04, "future": 6,
}
ALL_OFF = {
    "late": 0.0, "very_late": 0.0, "ties": 0.0, "duplicates": 0.0, "restated": 0.0, "deletes": 0.0,
    "conflicting": 0.0, "future": 0,
}
IDENTITY_KINDS = ("logins", "shared_logins", "aliases", "removals")
# The columns a conflicting version may change (neither id, foreign key, event time nor load time).
VALUE_COLUMNS = {
    "raw_customers": ("first_name", "last_name"),
    "raw_orders": ("status",),
    "raw_payments": ("payment_method", "amount"),
    "raw_web_events": ("page",),
}


@pytest.fixture(scope="module")
def base():
    return generate(seed=42, scale=1.0)


@pytest.fixture(scope="module")
def busy(base):
    """One batch with every kind of change switched on, on the default data set."""
    tables, summary = next_batch(base, 7, new_fraction=0.05, **ALL_ON)
    return base, tables, summary


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def moment(table: str, row: dict) -> datetime:
    value = row[TIME_COLUMNS[table]]
    return value if isinstance(value, datetime) else datetime.combine(value, time())


def by_id(rows: list[dict]) -> dict[int, dict]:
    return {r["id"]: r for r in rows}


def without_load(row: dict) -> dict:
    return {c: v for c, v in row.items() if c != LOADED_AT}


def dedupe(tables: dict, keep: str = "first") -> dict:
    """One row per id, at the position of its first occurrence: the first or the last version
    (the identity tables, which only grow, as they are)."""
    result = {name: tables[name] for name in IDENTITY if name in tables}
    for name in TABLES:
        rows = tables[name]
        chosen: dict[int, dict] = {}
        order: list[int] = []
        for row in rows:
            if row["id"] not in chosen:
                order.append(row["id"])
                chosen[row["id"]] = row
            elif keep == "last":
                chosen[row["id"]] = row
        result[name] = [chosen[i] for i in order]
    return result


def assert_batch_shape(tables: dict) -> None:
    """The referential rules of the generator for either version of a twice-delivered id (at most 2 rows)."""
    for name in TABLES:
        counts = Counter(r["id"] for r in tables[name])
        assert max(counts.values(), default=1) <= 2, name
    assert_referential_shape(dedupe(tables, "first"))
    assert_referential_shape(dedupe(tables, "last"))


def is_future(table: str, row: dict) -> bool:
    return moment(table, row).year >= 2099


def expected_hwm(tables: dict) -> datetime:
    """The documented high-water mark: the latest event time, leaving out rows more than a day after their load."""
    return max(
        moment(name, r)
        for name in ALL_TABLES
        for r in tables[name]
        if r[LOADED_AT] is None or moment(name, r) <= r[LOADED_AT] + timedelta(days=1)
    )


def expected_load_time(before: dict, after: dict) -> datetime:
    """The documented rule: max(previous max load + 1 s, midnight after the day of the new high-water mark).

    The new high-water mark is taken over the rows after the batch except its future (2099) rows.
    """
    earlier = [r[LOADED_AT] for name in ALL_TABLES for r in before[name] if r[LOADED_AT] is not None]
    current = {name: [r for r in after[name] if not is_future(name, r)] for name in ALL_TABLES}
    end = datetime.combine(expected_hwm(current).date() + timedelta(days=1), time())
    return max(max(earlier) + timedelta(seconds=1), end) if earlier else end


def written_rows(before: dict, after: dict, summary: dict) -> dict[str, list[dict]]:
    """Per table the rows of ``after`` that the batch wrote: all but first occurrences of unrestated old ids."""
    result = {}
    for name in TABLES:
        old_ids = {r["id"] for r in before[name]}
        restated = set(summary["restated"]["tables"][name]["ids"])
        seen: set[int] = set()
        rows = []
        for row in after[name]:
            first = row["id"] not in seen
            seen.add(row["id"])
            if not (first and row["id"] in old_ids and row["id"] not in restated):
                rows.append(row)
        result[name] = rows
    return result


def in_window(table: str, row: dict, low: datetime, high: datetime) -> bool:
    """Whether the row's timestamp lies in [low, high]; an order date by its day."""
    if table == "raw_orders":
        return low.date() <= row["order_date"] <= high.date()
    return low <= moment(table, row) <= high


def new_rows(summary: dict, tables: dict, kind: str) -> list[tuple[str, dict]]:
    """(table, row) for the ids the summary lists under ``kind``."""
    result = []
    for name in TABLES:
        rows = by_id(tables[name])
        result += [(name, rows[i]) for i in summary[kind]["tables"][name]["ids"]]
    return result


def customer_of(tables: dict, table: str, row: dict):
    """The customer (or, for anonymous views, the visitor) a row belongs to."""
    if table == "raw_orders":
        return row["user_id"]
    if table == "raw_payments":
        return by_id(tables["raw_orders"])[row["order_id"]]["user_id"]
    if table == "raw_web_events":
        return row["customer_id"] if row["customer_id"] is not None else row["visitor_id"]
    return row["id"]


def total_rows(tables: dict) -> int:
    return sum(len(rows) for rows in tables.values())


# --------------------------------------------------------------------------
# read_csv / write_csv
# --------------------------------------------------------------------------


def test_read_csv_round_trip_is_byte_identical(tmp_path):
    tables = generate(seed=3, scale=0.3)
    write_csv(tables, tmp_path / "a")
    back = read_csv(tmp_path / "a")
    assert back == tables, "read_csv gives the same values and types as generate"
    write_csv(back, tmp_path / "b")
    for name in ALL_TABLES:
        assert (tmp_path / "a" / f"{name}.csv").read_bytes() == (tmp_path / "b" / f"{name}.csv").read_bytes()


def test_read_csv_round_trip_of_committed_seeds(tmp_path):
    write_csv(read_csv(REPO_ROOT / "seeds"), tmp_path)
    for name in ALL_TABLES:
        assert (tmp_path / f"{name}.csv").read_bytes() == (REPO_ROOT / "seeds" / f"{name}.csv").read_bytes()


def test_read_csv_round_trip_after_batches(tmp_path, busy):
    _, tables, _ = busy
    write_csv(tables, tmp_path / "a")
    back = read_csv(tmp_path / "a")
    assert back == tables
    write_csv(back, tmp_path / "b")
    for name in ALL_TABLES:
        assert (tmp_path / "a" / f"{name}.csv").read_bytes() == (tmp_path / "b" / f"{name}.csv").read_bytes()


def test_read_csv_types(tmp_path):
    write_csv(generate(seed=1, scale=0.1), tmp_path)
    tables = read_csv(tmp_path)
    order = tables["raw_orders"][0]
    assert isinstance(order["id"], int) and isinstance(order["user_id"], int)
    assert type(order["order_date"]) is date
    assert type(tables["raw_payments"][0]["created_at"]) is datetime
    assert isinstance(tables["raw_payments"][0]["amount"], int)
    customer_ids = {e["customer_id"] for e in tables["raw_web_events"]}
    assert None in customer_ids and any(isinstance(c, int) for c in customer_ids)


def test_read_csv_rejects_bad_files(tmp_path):
    write_csv(generate(seed=1, scale=0.05), tmp_path)
    path = tmp_path / "raw_orders.csv"
    original = path.read_text()
    path.write_text(original.replace("id,user_id", "id,customer", 1))
    with pytest.raises(ValueError):
        read_csv(tmp_path)
    lines = original.splitlines()
    for column, bad in ((2, "2024/01/03"), (4, "2024-07-01"), (4, "2024-07-01 00:00:00.5")):
        cells = lines[1].split(",")
        cells[column] = bad
        path.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
        with pytest.raises(ValueError):
            read_csv(tmp_path)
    path.write_text(original.replace("id,user_id,order_date,status", "id,user_id,status", 1))
    with pytest.raises(ValueError):
        read_csv(tmp_path)
    path.unlink()
    with pytest.raises(FileNotFoundError):
        read_csv(tmp_path)


# --------------------------------------------------------------------------
# determinism and basics
# --------------------------------------------------------------------------


def test_deterministic_and_input_untouched(base):
    snapshot = copy.deepcopy(base)
    first = next_batch(base, 11, **ALL_ON)
    second = next_batch(base, 11, **ALL_ON)
    assert first == second
    assert base == snapshot, "the input tables are not modified"
    other = next_batch(base, 12, **ALL_ON)
    assert other[0] != first[0]
    assert next_batch(base, 11, **{**ALL_ON, "late": 0.5})[0] != first[0]


def test_deterministic_across_processes(tmp_path, base):
    """No dependence on hash randomisation: two interpreters produce the same files."""
    write_csv(base, tmp_path / "in")
    outputs = []
    for run, hash_seed in enumerate(("1", "2")):
        out = tmp_path / f"out{run}"
        subprocess.run(
            [sys.executable, "-m", "tools.generate_data", "next-batch", "--seeds", str(tmp_path / "in"),
             "--out", str(out), "--seed", "5", "--ties", "0.1", "--duplicates", "0.05",
             "--restated", "0.02", "--deletes", "0.01", "--very-late", "0.1", "--conflicting", "0.05",
             "--future", "3"],
            cwd=REPO_ROOT, capture_output=True, text=True, check=True,
            env={"PYTHONHASHSEED": hash_seed, "PATH": "/usr/bin:/bin"},
        )
        outputs.append({name: (out / f"{name}.csv").read_bytes() for name in ALL_TABLES})
    assert outputs[0] == outputs[1]


def test_new_ids_continue_after_the_maximum(busy):
    before, after, summary = busy
    for name in TABLES:
        old_max = max(r["id"] for r in before[name])
        ids = summary["new"]["tables"][name]["ids"]
        assert ids == list(range(old_max + 1, old_max + 1 + len(ids))), name
        assert not set(ids) & {r["id"] for r in before[name]}
        assert {r["id"] for r in after[name]} >= set(ids)
    assert summary["new"]["tables"]["raw_customers"]["count"] > 0
    assert summary["new"]["tables"]["raw_orders"]["count"] > 0
    assert summary["new"]["tables"]["raw_payments"]["count"] > 0
    old_visitors = {e["visitor_id"] for e in before["raw_web_events"]}
    max_visitor = max(int(v[1:]) for v in old_visitors)
    new_events = [e for _, e in new_rows(summary, after, "new") if "visitor_id" in e]
    fresh = {e["visitor_id"] for e in new_events} - old_visitors
    assert fresh, "some new visitors"
    assert all(int(v[1:]) > max_visitor for v in fresh)


def test_summary_counts_add_up(busy):
    before, after, summary = busy
    n_new = summary["new"]["count"]
    assert n_new == sum(summary[k]["count"] for k in ("on_time", "late", "very_late", "ties"))
    for name in TABLES:
        assert summary["rows"]["before"][name] == len(before[name])
        assert summary["rows"]["after"][name] == len(after[name])
        added = sum(summary[k]["tables"][name]["count"] for k in ("new", "duplicates", "conflicting", "future"))
        expected = len(before[name]) - summary["deleted"]["tables"][name]["count"] + added
        assert len(after[name]) == expected, name
    assert summary["high_water_mark"]["before"] == high_water_mark(before).strftime("%Y-%m-%d %H:%M:%S")
    assert summary["high_water_mark"]["after"] == high_water_mark(after).strftime("%Y-%m-%d %H:%M:%S")
    assert summary["touched"]["min"] <= summary["touched"]["max"]
    json.dumps(summary)  # JSON-ready


def test_invalid_options_raise(base):
    with pytest.raises(ValueError):
        next_batch(base, 1, late=1.5)
    with pytest.raises(ValueError):
        next_batch(base, 1, late=0.6, ties=0.6)
    with pytest.raises(ValueError):
        next_batch(base, 1, late_hours=(48, 1))
    with pytest.raises(ValueError):
        next_batch(base, 1, days=0)
    with pytest.raises(ValueError):
        next_batch(base, 1, conflicting=1.5)
    with pytest.raises(ValueError):
        next_batch(base, 1, future=-1)
    with pytest.raises(ValueError):
        next_batch(base, 1, future=2.5)
    with pytest.raises(ValueError):
        next_batch({name: [] for name in TABLES}, 1)


# --------------------------------------------------------------------------
# proportions
# --------------------------------------------------------------------------


def test_proportions_are_roughly_honoured(busy):
    before, _, summary = busy
    existing = total_rows(before)
    n_new = summary["new"]["count"]
    assert 0.045 <= n_new / existing <= 0.06
    for kind, fraction in (("late", 0.2), ("very_late", 0.1), ("ties", 0.1), ("duplicates", 0.05)):
        assert abs(summary[kind]["count"] / n_new - fraction) <= 0.02, kind
    assert summary["conflicting"]["count"] == round(0.04 * n_new)
    assert summary["future"]["count"] == 6
    assert abs(summary["restated"]["count"] / existing - 0.03) <= 0.003
    assert abs(summary["deleted"]["count"] / existing - 0.02) <= 0.003
    # the new rows touch every table, roughly in the proportions of the data model
    new_per_table = {name: summary["new"]["tables"][name]["count"] for name in TABLES}
    assert new_per_table["raw_web_events"] > new_per_table["raw_orders"] > 0
    assert new_per_table["raw_customers"] > 0


@pytest.mark.parametrize("new_fraction", [0.01, 0.02])
def test_new_fraction_scales_the_batch(base, new_fraction):
    _, summary = next_batch(base, 3, new_fraction=new_fraction, **ALL_OFF)
    assert 0.9 * new_fraction <= summary["new"]["count"] / total_rows(base) <= 1.25 * new_fraction


def test_small_tables_still_get_a_handful(base):
    tiny = generate(seed=9, scale=0.05, start=date(2023, 3, 1), days=20)
    _, summary = next_batch(tiny, 1, new_fraction=0.001)
    assert summary["new"]["count"] >= 10


def test_everything_off_means_exactly_zero(base):
    tables, summary = next_batch(base, 5, new_fraction=0.02, **ALL_OFF)
    for kind in ("late", "very_late", "ties", "duplicates", "conflicting", "restated", "deleted", "future"):
        assert summary[kind]["count"] == 0, kind
        assert all(t["count"] == 0 and t["ids"] == [] for t in summary[kind]["tables"].values())
    # the identity changes are off by default
    for kind in (*IDENTITY_KINDS, "identity_first", "held_back_delivered"):
        assert summary[kind]["count"] == 0, kind
    for name in IDENTITY:
        assert tables[name] == base[name], name
    hwm = high_water_mark(base)
    for name in TABLES:
        rows = tables[name]
        assert rows[: len(base[name])] == base[name], "existing rows untouched"
        assert len({r["id"] for r in rows}) == len(rows), "no duplicates"
        for row in rows[len(base[name]):]:
            if name == "raw_orders":
                assert row["order_date"] >= hwm.date()
            else:
                assert hwm < moment(name, row) <= hwm + timedelta(days=1), (name, row)
    # no equal timestamps among the new rows of one visitor or one order
    new_events = tables["raw_web_events"][len(base["raw_web_events"]):]
    assert len({(e["visitor_id"], e["occurred_at"]) for e in new_events}) == len(new_events)
    new_payments = tables["raw_payments"][len(base["raw_payments"]):]
    assert len({(p["order_id"], p["created_at"]) for p in new_payments}) == len(new_payments)
    assert_batch_shape(tables)


def test_no_new_rows_when_new_fraction_is_zero(base):
    tables, summary = next_batch(base, 5, new_fraction=0.0, late=0.5, ties=0.3, duplicates=0.5)
    assert summary["new"]["count"] == 0 and summary["duplicates"]["count"] == 0
    assert tables == base


# --------------------------------------------------------------------------
# timing classes
# --------------------------------------------------------------------------


def test_on_time_late_and_very_late_windows(busy):
    before, after, summary = busy
    hwm = high_water_mark(before)
    windows = {
        "on_time": (hwm + timedelta(seconds=1), hwm + timedelta(days=1)),
        "late": (hwm - timedelta(hours=48), hwm - timedelta(hours=1)),
        "very_late": (hwm - timedelta(hours=2000), hwm - timedelta(hours=100)),
    }
    for kind, (low, high) in windows.items():
        rows = new_rows(summary, after, kind)
        assert rows, kind
        for name, row in rows:
            assert in_window(name, row, low, high), (kind, name, row)
    # the late rows are really earlier than the previous high-water mark
    assert all(moment(n, r) < hwm for n, r in new_rows(summary, after, "late") if n != "raw_orders")
    assert summary["very_late"]["max"] < (hwm - timedelta(hours=72)).strftime("%Y-%m-%d %H:%M:%S")


def test_custom_late_window_and_days(base):
    tables, summary = next_batch(base, 8, days=3, new_fraction=0.03, late=0.5, late_hours=(2, 5))
    hwm = high_water_mark(base)
    late_rows = new_rows(summary, tables, "late")
    assert abs(len(late_rows) / summary["new"]["count"] - 0.5) <= 0.02
    for name, row in late_rows:
        assert in_window(name, row, hwm - timedelta(hours=5), hwm - timedelta(hours=2)), (name, row)
    on_time = new_rows(summary, tables, "on_time")
    for name, row in on_time:
        assert in_window(name, row, hwm + timedelta(seconds=1), hwm + timedelta(days=3)), (name, row)
    spread = {moment(n, r).date() for n, r in on_time if n != "raw_orders"}
    assert len(spread) >= 3, "new rows are spread over the days of the batch"


def test_ties_copy_a_timestamp_of_the_same_customer(busy):
    _, after, summary = busy
    ties = new_rows(summary, after, "ties")
    assert ties
    assert {name for name, _ in ties} <= {"raw_orders", "raw_payments", "raw_web_events"}
    for name, row in ties:
        column = TIME_COLUMNS[name]
        owner = customer_of(after, name, row)
        twins = [
            other for other in after[name]
            if other["id"] != row["id"] and other[column] == row[column]
            and customer_of(after, name, other) == owner
        ]
        assert twins, (name, row)


# --------------------------------------------------------------------------
# duplicates, restatements, deletes
# --------------------------------------------------------------------------


def test_duplicates_repeat_the_values_of_an_existing_id(busy, tmp_path):
    before, after, summary = busy
    assert summary["duplicates"]["count"] > 0
    load = datetime.strptime(summary["loaded_at"]["batch"], FORMAT)
    new_ids = {name: set(summary["new"]["tables"][name]["ids"]) for name in TABLES}
    kinds = Counter()
    for name in TABLES:
        counts = Counter(r["id"] for r in after[name])
        twice = sorted(i for i, n in counts.items() if n > 1)
        duplicated = summary["duplicates"]["tables"][name]["ids"]
        conflicting = summary["conflicting"]["tables"][name]["ids"]
        assert not set(duplicated) & set(conflicting), name
        assert twice == sorted(duplicated + conflicting), name
        old = by_id(before[name])
        restated = set(summary["restated"]["tables"][name]["ids"])
        for row_id in duplicated:
            assert counts[row_id] == 2
            assert row_id in old or row_id in new_ids[name]
            kinds["new" if row_id in new_ids[name] else "existing"] += 1
            positions = [i for i, r in enumerate(after[name]) if r["id"] == row_id]
            assert positions[1] == positions[0] + 1
            original, copy_ = after[name][positions[0]], after[name][positions[1]]
            assert without_load(original) == without_load(copy_)
            assert copy_[LOADED_AT] == load
            if row_id in old and row_id not in restated:
                assert original == old[row_id], "the original keeps its own load time"
    assert kinds["new"] > 0 and kinds["existing"] > 0, "both new and existing rows are re-delivered"
    write_csv(after, tmp_path)
    for name in TABLES:
        lines = [line.rsplit(",", 1)[0] for line in (tmp_path / f"{name}.csv").read_text().splitlines()[1:]]
        repeated = [line for line, n in Counter(lines).items() if n == 2]
        assert len(repeated) == summary["duplicates"]["tables"][name]["count"], name


def test_restated_rows_replace_the_old_version_in_place(busy):
    before, after, summary = busy
    hwm = high_water_mark(before)
    restated = 0
    recent = old = 0
    for name in TABLES:
        ids = summary["restated"]["tables"][name]["ids"]
        restated += len(ids)
        old_rows = by_id(before[name])
        after_positions = defaultdict(list)
        for i, r in enumerate(after[name]):
            after_positions[r["id"]].append(i)
        deleted = set(summary["deleted"]["tables"][name]["ids"])
        duplicated = set(summary["duplicates"]["tables"][name]["ids"]) | set(
            summary["conflicting"]["tables"][name]["ids"]
        )
        survivors = [r["id"] for r in before[name] if r["id"] not in deleted]
        for row_id in ids:
            assert row_id in old_rows and row_id not in deleted
            copies = 2 if row_id in duplicated else 1
            assert len(after_positions[row_id]) == copies, "the table keeps one version"
            new = after[name][after_positions[row_id][0]]
            assert new != old_rows[row_id] and new["id"] == row_id
            assert set(new) == set(old_rows[row_id])
            # in place: same rank among the surviving existing rows
            assert after_positions[row_id][0] - sum(
                1 for i in duplicated if after_positions[i] and after_positions[i][0] < after_positions[row_id][0]
            ) == survivors.index(row_id)
            if moment(name, old_rows[row_id]) >= hwm - timedelta(days=7):
                recent += 1
            else:
                old += 1
        table = summary["restated"]["tables"][name]
        assert table["timestamp_changed"] + table["values_changed"] >= len(ids)
    assert restated == summary["restated"]["count"] > 0
    population = sum(1 for n in TABLES for r in before[n] if moment(n, r) >= hwm - timedelta(days=7))
    assert recent / restated > 3 * population / total_rows(before), "recent rows are favoured"
    assert old > 0, "old rows are restated too"
    kinds = {
        k: sum(summary["restated"]["tables"][n][k] for n in TABLES) for k in ("timestamp_changed", "values_changed")
    }
    assert kinds["timestamp_changed"] > 0 and kinds["values_changed"] > 0


def test_restated_rows_differ_in_timestamp_or_values_per_table(base):
    tables, summary = next_batch(base, 21, new_fraction=0.0, **{**ALL_OFF, "restated": 0.1})
    old_rows = {name: by_id(base[name]) for name in TABLES}
    changed_columns = {name: Counter() for name in TABLES}
    for name in TABLES:
        assert summary["restated"]["tables"][name]["count"] > 0, name
        for row in tables[name]:
            before_row = old_rows[name][row["id"]]
            changed_columns[name].update(c for c in row if row[c] != before_row[c])
        assert len(tables[name]) == len(base[name])
        changed_rows = sum(1 for r in tables[name] if r != old_rows[name][r["id"]])
        assert changed_rows == summary["restated"]["tables"][name]["count"], name
    assert changed_columns["raw_orders"]["status"] > 0 and changed_columns["raw_orders"]["order_date"] > 0
    assert changed_columns["raw_payments"]["amount"] > 0 and changed_columns["raw_payments"]["created_at"] > 0
    assert changed_columns["raw_web_events"]["page"] > 0 and changed_columns["raw_web_events"]["occurred_at"] > 0
    assert "id" not in changed_columns["raw_web_events"]
    load = datetime.strptime(summary["loaded_at"]["batch"], FORMAT)
    for name in TABLES:
        assert changed_columns[name][LOADED_AT] == summary["restated"]["tables"][name]["count"], name
        restated = set(summary["restated"]["tables"][name]["ids"])
        assert all((r[LOADED_AT] == load) == (r["id"] in restated) for r in tables[name]), name
    assert_batch_shape(tables)


def test_deleted_ids_are_gone(busy):
    before, after, summary = busy
    assert summary["deleted"]["count"] > 0
    for name in TABLES:
        deleted = set(summary["deleted"]["tables"][name]["ids"])
        assert deleted <= {r["id"] for r in before[name]}
        assert not deleted & {r["id"] for r in after[name]}, name
    assert_batch_shape(after)


def test_deleting_a_customer_takes_its_dependants(base):
    tables, summary = next_batch(base, 2, new_fraction=0.0, **{**ALL_OFF, "deletes": 0.1})
    gone = set(summary["deleted"]["tables"]["raw_customers"]["ids"])
    assert gone, "with 10 % deletes some customers go"
    assert not any(o["user_id"] in gone for o in tables["raw_orders"])
    assert not any(e["customer_id"] in gone for e in tables["raw_web_events"])
    assert summary["deleted"]["count"] == round(0.1 * total_rows(base))
    assert_batch_shape(tables)


# --------------------------------------------------------------------------
# several batches in a row
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seed, scale, days",
    [(42, 1.0, 182), (5, 0.05, 20), (6, 0.1, 40), (7, 0.3, 90)],
)
def test_referential_integrity_over_consecutive_batches(seed, scale, days, tmp_path):
    tables = generate(seed=seed, scale=scale, start=date(2023, 3, 1), days=days)
    max_ids = {name: max(r["id"] for r in tables[name]) for name in TABLES}
    for batch in range(6):
        previous_hwm = high_water_mark(tables)
        previous = tables
        tables, summary = next_batch(
            tables, batch, days=1 + batch % 2, new_fraction=0.03, late=0.3, very_late=0.1,
            ties=0.1, duplicates=0.1, restated=0.05, deletes=0.03, conflicting=0.05, future=batch % 3,
        )
        assert_batch_shape(tables)
        for name in TABLES:
            ids = summary["new"]["tables"][name]["ids"] + summary["future"]["tables"][name]["ids"]
            assert all(i > max_ids[name] for i in ids), (batch, name)
            max_ids[name] = max([max_ids[name], *ids])
        assert high_water_mark(tables) >= previous_hwm
        assert high_water_mark(tables) == expected_hwm(tables) < datetime(2099, 1, 1)
        load = datetime.strptime(summary["loaded_at"]["batch"], FORMAT)
        assert load == expected_load_time(previous, tables)
        assert all(load > r[LOADED_AT] for name in TABLES for r in previous[name])
        # chain through the CSV files, as the CLI does
        write_csv(tables, tmp_path / str(batch))
        tables = read_csv(tmp_path / str(batch))


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tools.generate_data", *args],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False,
    )


def test_cli_next_batch_round_trip(tmp_path):
    folder = tmp_path / "seeds"
    result = run_cli("--seed", "42", "--scale", "0.3", "--out", str(folder))
    assert result.returncode == 0, result.stderr
    start = read_csv(folder)
    options = ["--seed", "7", "--days", "1", "--late", "0.2", "--duplicates", "0.02", "--ties", "0.05",
               "--restated", "0.01", "--deletes", "0.005", "--conflicting", "0.05", "--future", "3"]
    result = run_cli("next-batch", "--seeds", str(folder), *options)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    expected, expected_summary = next_batch(
        start, 7, days=1, late=0.2, duplicates=0.02, ties=0.05, restated=0.01, deletes=0.005,
        conflicting=0.05, future=3,
    )
    assert summary["options"]["conflicting"] == 0.05 and summary["options"]["future"] == 3
    assert summary["conflicting"]["count"] == round(0.05 * summary["new"]["count"]) > 0
    assert summary["future"]["count"] == 3
    assert summary == json.loads(json.dumps(expected_summary))
    write_csv(expected, tmp_path / "api")
    for name in ALL_TABLES:
        assert (folder / f"{name}.csv").read_bytes() == (tmp_path / "api" / f"{name}.csv").read_bytes()
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.csv" for n in ALL_TABLES), "no leftovers"
    # a second batch continues from the written state
    result = run_cli("next-batch", "--seeds", str(folder), "--seed", "8", "--very-late", "0.1",
                     "--new-fraction", "0.02")
    assert result.returncode == 0, result.stderr
    second = json.loads(result.stdout)
    assert second["high_water_mark"]["before"] == summary["high_water_mark"]["after"]
    assert second["very_late"]["count"] > 0
    assert_batch_shape(read_csv(folder))


def test_cli_generate_subcommand_and_default_are_the_same(tmp_path):
    assert run_cli("--seed", "3", "--scale", "0.1", "--out", str(tmp_path / "a")).returncode == 0
    assert run_cli("generate", "--seed", "3", "--scale", "0.1", "--out", str(tmp_path / "b")).returncode == 0
    for name in ALL_TABLES:
        assert (tmp_path / "a" / f"{name}.csv").read_bytes() == (tmp_path / "b" / f"{name}.csv").read_bytes()


def test_cli_next_batch_errors(tmp_path):
    result = run_cli("next-batch", "--seeds", str(tmp_path / "missing"))
    assert result.returncode == 2 and "next-batch" in result.stderr
    write_csv(generate(seed=1, scale=0.05), tmp_path)
    result = run_cli("next-batch", "--seeds", str(tmp_path), "--late", "2")
    assert result.returncode == 2 and "late" in result.stderr


# --------------------------------------------------------------------------
# load times
# --------------------------------------------------------------------------


def test_batch_load_time_follows_the_rule(busy):
    before, after, summary = busy
    load = expected_load_time(before, after)
    assert summary["loaded_at"] == {"before": "2024-07-01 00:00:00", "batch": load.strftime(FORMAT)}
    # on-time rows reach into 2024-07-01, so the batch is loaded at the following midnight
    assert summary["on_time"]["max"] >= "2024-07-01"
    assert load == datetime(2024, 7, 2)


def test_untouched_rows_keep_their_load_time_and_written_rows_carry_the_batch_one(busy):
    before, after, summary = busy
    load = expected_load_time(before, after)
    written = written_rows(before, after, summary)
    for name in TABLES:
        old = by_id(before[name])
        restated = set(summary["restated"]["tables"][name]["ids"])
        seen: set[int] = set()
        for row in after[name]:
            if row["id"] in old and row["id"] not in restated and row["id"] not in seen:
                assert row == old[row["id"]], (name, row)
            seen.add(row["id"])
        assert all(r[LOADED_AT] == load for r in written[name]), name
        # the written rows are exactly what the summary reports
        reported = Counter()
        for kind in ("new", "duplicates", "conflicting", "restated", "future"):
            reported.update(summary[kind]["tables"][name]["ids"])
        assert Counter(r["id"] for r in written[name]) == reported, name
    kinds = {k: summary[k]["count"] for k in ("new", "duplicates", "conflicting", "restated", "future")}
    assert all(kinds.values()), kinds


def test_batch_load_time_is_later_than_before_and_not_before_what_it_writes(busy):
    before, after, summary = busy
    load = datetime.strptime(summary["loaded_at"]["batch"], FORMAT)
    assert all(load > r[LOADED_AT] for name in TABLES for r in before[name])
    for name, rows in written_rows(before, after, summary).items():
        for row in rows:
            if is_future(name, row):
                assert moment(name, row) > load + timedelta(days=1), (name, row)
            else:
                assert moment(name, row) <= load, (name, row)
    assert all(moment(n, r) <= load for n in ALL_TABLES for r in after[n] if not is_future(n, r))


def test_a_batch_within_the_last_loaded_day_is_loaded_one_second_later(base):
    # no new rows: the high-water mark stays on 2024-06-30, whose following midnight
    # is the initial load time, so the batch takes that time + 1 s
    tables, summary = next_batch(base, 4, new_fraction=0.0, **{**ALL_OFF, "deletes": 0.01})
    assert summary["loaded_at"] == {"before": "2024-07-01 00:00:00", "batch": "2024-07-01 00:00:01"}
    assert {r[LOADED_AT] for n in ALL_TABLES for r in tables[n]} == {datetime(2024, 7, 1)}
    tables, summary = next_batch(base, 4, new_fraction=0.0, **{**ALL_OFF, "restated": 0.01})
    load = expected_load_time(base, tables)
    assert summary["loaded_at"]["batch"] == load.strftime(FORMAT)
    restated = {n: set(summary["restated"]["tables"][n]["ids"]) for n in TABLES}
    assert sum(map(len, restated.values())) == round(0.01 * total_rows(base))
    for name in TABLES:
        for row in tables[name]:
            assert row[LOADED_AT] == (load if row["id"] in restated[name] else datetime(2024, 7, 1))


def test_load_times_increase_over_chained_batches(tmp_path):
    tables = generate(seed=8, scale=0.2, start=date(2023, 5, 1), days=30)
    loads = [datetime(2023, 5, 31)]
    for batch, new_fraction in enumerate((0.02, 0.0, 0.02, 0.02)):
        previous = tables
        tables, summary = next_batch(
            tables, batch, days=2, new_fraction=new_fraction, **{**ALL_ON, "deletes": 0.0},
        )
        load = datetime.strptime(summary["loaded_at"]["batch"], FORMAT)
        assert summary["loaded_at"]["before"] == loads[-1].strftime(FORMAT)
        assert load == expected_load_time(previous, tables)
        assert load > loads[-1]
        if new_fraction == 0.0 and not summary["restated"]["count"]:
            assert load == loads[-1] + timedelta(seconds=1)
        loads.append(load)
        write_csv(tables, tmp_path / str(batch))
        tables = read_csv(tmp_path / str(batch))
    assert {r[LOADED_AT] for n in ALL_TABLES for r in tables[n]} <= set(loads)


# --------------------------------------------------------------------------
# conflicting versions
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def conflicted(base):
    tables, summary = next_batch(base, 13, new_fraction=0.03, **{**ALL_OFF, "conflicting": 0.2})
    return base, tables, summary


def test_conflicting_rows_leave_two_different_versions_of_an_id(conflicted):
    before, after, summary = conflicted
    load = expected_load_time(before, after)
    n_new = summary["new"]["count"]
    assert summary["conflicting"]["count"] == round(0.2 * n_new) > 0
    new_ids = {name: set(summary["new"]["tables"][name]["ids"]) for name in TABLES}
    origins = Counter()
    moved = 0
    for name in TABLES:
        ids = summary["conflicting"]["tables"][name]["ids"]
        assert ids, f"{name}: conflicting versions in every table"
        counts = Counter(r["id"] for r in after[name])
        assert sorted(i for i, n in counts.items() if n > 1) == sorted(ids), name
        old = by_id(before[name])
        for row_id in ids:
            positions = [i for i, r in enumerate(after[name]) if r["id"] == row_id]
            assert len(positions) == 2 and positions[1] == positions[0] + 1
            first, second = after[name][positions[0]], after[name][positions[1]]
            assert any(first[c] != second[c] for c in VALUE_COLUMNS[name]), (name, first, second)
            changed = {c for c in first if first[c] != second[c]} - {LOADED_AT}
            assert changed <= set(VALUE_COLUMNS[name]) | {TIME_COLUMNS[name]}, (name, changed)
            moved += TIME_COLUMNS[name] in changed
            assert second[LOADED_AT] == load
            if row_id in new_ids[name]:
                origins["new"] += 1
                assert first[LOADED_AT] == load
            else:
                origins["existing"] += 1
                assert first == old[row_id], "the first version is the row as it was"
        assert summary["conflicting"]["tables"][name]["timestamp_changed"] == sum(
            1 for i in ids
            if len({r[TIME_COLUMNS[name]] for r in after[name] if r["id"] == i}) == 2
        )
    assert origins["new"] > 0 and origins["existing"] > 0
    assert 0 < moved < summary["conflicting"]["count"], "some versions also move their timestamp"
    assert_batch_shape(after)


def test_cli_conflicting_writes_both_versions(tmp_path):
    folder = tmp_path / "seeds"
    assert run_cli("--seed", "5", "--scale", "0.2", "--out", str(folder)).returncode == 0
    result = run_cli("next-batch", "--seeds", str(folder), "--seed", "3", "--new-fraction", "0.05",
                     "--conflicting", "0.3")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["conflicting"]["count"] == round(0.3 * summary["new"]["count"]) > 0
    for name in TABLES:
        lines = (folder / f"{name}.csv").read_text().splitlines()[1:]
        by_key = defaultdict(list)
        for line in lines:
            by_key[line.split(",", 1)[0]].append(line)
        twice = sorted(int(k) for k, versions in by_key.items() if len(versions) == 2)
        assert twice == sorted(summary["conflicting"]["tables"][name]["ids"]), name
        for key in twice:
            first, second = by_key[str(key)]
            assert first.rsplit(",", 1)[0] != second.rsplit(",", 1)[0], (name, first, second)
            assert second.rsplit(",", 1)[1] == summary["loaded_at"]["batch"]


# --------------------------------------------------------------------------
# rows from a clock far ahead
# --------------------------------------------------------------------------


def test_future_rows_are_in_2099_spread_over_the_tables(base):
    tables, summary = next_batch(base, 17, new_fraction=0.01, **{**ALL_OFF, "future": 7})
    load = expected_load_time(base, tables)
    # round-robin, web events first: events, orders, payments, customers, events, orders, payments
    expected = {"raw_web_events": 2, "raw_orders": 2, "raw_payments": 2, "raw_customers": 1}
    assert summary["future"]["count"] == 7
    for name in TABLES:
        future = [r for r in tables[name] if is_future(name, r)]
        assert len(future) == expected[name], name
        assert sorted(r["id"] for r in future) == sorted(summary["future"]["tables"][name]["ids"])
        assert all(moment(name, r).year == 2099 for r in future)
        assert all(r[LOADED_AT] == load for r in future)
        new_max = max(summary["new"]["tables"][name]["ids"], default=max(r["id"] for r in base[name]))
        assert all(r["id"] > new_max for r in future), "future rows come after the other new rows"
    assert summary["future"]["min"] >= "2099-01-01" and summary["future"]["max"] < "2100-01-01"
    # the high-water mark ignores them
    regular = max(moment(n, r) for n in ALL_TABLES for r in tables[n] if not is_future(n, r))
    assert summary["high_water_mark"]["after"] == regular.strftime(FORMAT)
    assert high_water_mark(tables) == regular
    assert_batch_shape(tables)

    one, one_summary = next_batch(base, 17, new_fraction=0.0, **{**ALL_OFF, "future": 1})
    assert one_summary["future"]["tables"]["raw_web_events"]["count"] == 1
    assert sum(1 for n in ALL_TABLES for r in one[n] if is_future(n, r)) == 1


def test_future_rows_do_not_move_the_next_batch(base, tmp_path):
    first, first_summary = next_batch(base, 17, new_fraction=0.01, **{**ALL_OFF, "future": 8})
    write_csv(first, tmp_path)
    chained = read_csv(tmp_path)
    regular = max(moment(n, r) for n in ALL_TABLES for r in chained[n] if not is_future(n, r))
    second, summary = next_batch(chained, 18, new_fraction=0.02, **ALL_OFF)
    assert summary["high_water_mark"]["before"] == first_summary["high_water_mark"]["after"]
    assert summary["high_water_mark"]["before"] == regular.strftime(FORMAT)
    for name, row in new_rows(summary, second, "new"):
        assert in_window(name, row, regular, regular + timedelta(days=1)), (name, row)
    load = datetime.strptime(summary["loaded_at"]["batch"], FORMAT)
    assert load == expected_load_time(chained, second) < datetime(2099, 1, 1)
    assert load > datetime.strptime(first_summary["loaded_at"]["batch"], FORMAT)
    # the future rows of the first batch stay as they were
    for name in ALL_TABLES:
        assert [r for r in second[name] if is_future(name, r)] == [r for r in chained[name] if is_future(name, r)]
    assert_batch_shape(second)


# --------------------------------------------------------------------------
# files without _loaded_at
# --------------------------------------------------------------------------


def strip_last_column(folder: Path) -> None:
    for name in ALL_TABLES:
        path = folder / f"{name}.csv"
        lines = path.read_text().splitlines()
        assert lines[0].endswith(",_loaded_at")
        path.write_text("".join(line.rsplit(",", 1)[0] + "\n" for line in lines))


def test_read_csv_accepts_files_without_loaded_at(tmp_path):
    tables = generate(seed=2, scale=0.2)
    write_csv(tables, tmp_path / "a")
    strip_last_column(tmp_path / "a")
    back = read_csv(tmp_path / "a")
    for name in ALL_TABLES:
        assert all(r[LOADED_AT] is None for r in back[name]), name
        assert [without_load(r) for r in back[name]] == [without_load(r) for r in tables[name]]
    write_csv(back, tmp_path / "b")
    for name in ALL_TABLES:
        lines = (tmp_path / "b" / f"{name}.csv").read_text().splitlines()
        assert lines[0].endswith(",_loaded_at")
        assert all(line.endswith(",") for line in lines[1:]), "a missing load time is an empty cell"
    assert read_csv(tmp_path / "b") == back


def test_next_batch_on_files_without_loaded_at(tmp_path):
    write_csv(generate(seed=2, scale=0.2), tmp_path)
    strip_last_column(tmp_path)
    before = read_csv(tmp_path)
    after, summary = next_batch(before, 6, new_fraction=0.03, **ALL_ON)
    assert summary["loaded_at"]["before"] is None
    # no previous load time: the batch is loaded at midnight after the new high-water mark's day
    regular = max(moment(n, r) for n in ALL_TABLES for r in after[n] if not is_future(n, r))
    load = datetime.combine(regular.date() + timedelta(days=1), time())
    assert summary["loaded_at"]["batch"] == load.strftime(FORMAT)
    written = written_rows(before, after, summary)
    for name in TABLES:
        assert all(r[LOADED_AT] == load for r in written[name]), name
        kept = len(after[name]) - len(written[name])
        assert sum(1 for r in after[name] if r[LOADED_AT] is None) == kept, name
    assert_batch_shape(after)


# --------------------------------------------------------------------------
# identity changes: logins, shared logins, aliases, removals
# --------------------------------------------------------------------------


def batch_load(summary: dict) -> datetime:
    return datetime.strptime(summary["loaded_at"]["batch"], FORMAT)


def added_rows(before: dict, after: dict, name: str) -> list[dict]:
    """The rows of an identity table the batch appended (those tables only grow)."""
    assert after[name][: len(before[name])] == before[name], name
    return after[name][len(before[name]):]


def never_logged_in(tables: dict) -> set[str]:
    visitors = {e["visitor_id"] for e in tables["raw_web_events"]}
    return visitors - {e["visitor_id"] for e in tables["raw_web_events"] if e["customer_id"] is not None}


def customers_per_visitor(tables: dict) -> dict[str, set[int]]:
    result = defaultdict(set)
    for e in tables["raw_web_events"]:
        if e["customer_id"] is not None:
            result[e["visitor_id"]].add(e["customer_id"])
    return result


def chain_ends(tables: dict) -> set[int]:
    aliases = {a["customer_id"]: a["canonical_customer_id"] for a in tables["raw_customer_aliases"]}
    return {alias_end(aliases, c) for c in aliases} - set(aliases)


@pytest.fixture(scope="module")
def logged_in(base):
    tables, summary = next_batch(base, 3, new_fraction=0.0, **ALL_OFF, logins=0.3)
    return base, tables, summary


def test_logins_give_anonymous_visitors_a_customer(logged_in):
    before, after, summary = logged_in
    anonymous = never_logged_in(before)
    assert summary["options"]["logins"] == 0.3
    assert summary["logins"]["count"] == round(0.3 * len(anonymous)) > 0
    visitors = summary["logins"]["visitors"]
    assert len(set(visitors)) == len(visitors) and set(visitors) <= anonymous
    assert never_logged_in(after) == anonymous - set(visitors), "exactly those visitors log in"
    customers = {c["id"]: c for c in after["raw_customers"]}
    by_visitor = views_by_visitor(after["raw_web_events"])
    old_views = {e["id"] for e in before["raw_web_events"]}
    for visitor, customer in zip(visitors, summary["logins"]["customer_ids"]):
        rows = by_visitor[visitor]
        logins = [e for e in rows if e["page"] == "/login"]
        assert len(logins) == 1 and logins[0]["customer_id"] == customer
        login = logins[0]
        assert login["id"] not in old_views
        # the login is the visitor's first observation: every old view is earlier and anonymous,
        # so it belongs to this customer retroactively
        old = [e for e in rows if e["id"] in old_views]
        assert old and all(e["customer_id"] is None and e["occurred_at"] < login["occurred_at"] for e in old)
        assert all(e["customer_id"] == customer for e in rows if e["occurred_at"] >= login["occurred_at"])
        assert customers[customer]["created_at"] <= login["occurred_at"]
    new_customers = summary["logins"]["new_customer_ids"]
    old_customers = {c["id"] for c in before["raw_customers"]}
    assert new_customers and set(new_customers) <= set(summary["logins"]["customer_ids"])
    assert not set(new_customers) & old_customers, "new sign-ups go into raw_customers"
    assert set(summary["logins"]["customer_ids"]) & old_customers, "existing customers log in too"
    assert {o["user_id"] for o in after["raw_orders"]} & set(new_customers), "some new sign-ups order"
    load = batch_load(summary)
    for name in TABLES:
        old_ids = {r["id"] for r in before[name]}
        new = [r for r in after[name] if r["id"] not in old_ids]
        assert sorted(r["id"] for r in new) == sorted(summary["logins"]["tables"][name]["ids"]), name
        assert all(r[LOADED_AT] == load for r in new), name
    assert_batch_shape(after)


def test_shared_logins_bring_a_second_customer_to_a_device(base):
    tables, summary = next_batch(base, 4, new_fraction=0.0, **ALL_OFF, shared_logins=5)
    assert summary["shared_logins"]["count"] == 5
    before_customers, after_customers = customers_per_visitor(base), customers_per_visitor(tables)
    created = {c["id"]: c["created_at"] for c in tables["raw_customers"]}
    by_visitor = views_by_visitor(tables["raw_web_events"])
    old_views = {e["id"] for e in base["raw_web_events"]}
    shared = summary["shared_logins"]
    for visitor, owner, guest in zip(shared["visitors"], shared["owner_ids"], shared["customer_ids"]):
        assert before_customers[visitor] == {owner}, "a device of one customer"
        assert after_customers[visitor] == {owner, guest} and guest != owner
        new = [e for e in by_visitor[visitor] if e["id"] not in old_views]
        last_old = max(e["occurred_at"] for e in by_visitor[visitor] if e["id"] in old_views)
        assert all(e["occurred_at"] > last_old for e in new)
        assert new[0]["page"] == "/logout" and new[0]["customer_id"] == owner, "the owner logs out first"
        login = next(e for e in new if e["page"] == "/login")
        assert login["customer_id"] == guest and created[guest] <= login["occurred_at"]
    changed = {v for v in after_customers if after_customers[v] != before_customers.get(v, set())}
    assert changed == set(shared["visitors"])
    written = {e["id"] for e in tables["raw_web_events"]} - old_views
    assert sorted(written) == sorted(shared["tables"]["raw_web_events"]["ids"])
    assert all(e[LOADED_AT] == batch_load(summary) for e in tables["raw_web_events"] if e["id"] in written)
    assert_batch_shape(tables)


def test_aliases_merge_accounts_and_extend_chains_without_cycles(base):
    tables, summary = next_batch(base, 5, new_fraction=0.0, **ALL_OFF, aliases=8)
    new = added_rows(base, tables, "raw_customer_aliases")
    assert len(new) == summary["aliases"]["count"] == 8
    assert [a["customer_id"] for a in new] == summary["aliases"]["customer_ids"]
    assert [a["canonical_customer_id"] for a in new] == summary["aliases"]["canonical_customer_ids"]
    assert all(a[LOADED_AT] == batch_load(summary) for a in new)
    already = {a["customer_id"] for a in base["raw_customer_aliases"]}
    assert not {a["customer_id"] for a in new} & already, "one alias per customer"
    # an alias whose customer is the end of an existing chain extends that chain
    extending = [a for a in new if a["customer_id"] in chain_ends(base)]
    assert extending and summary["aliases"]["extends_chain"] == len(extending)
    hwm = high_water_mark(base)
    assert all(hwm < a["merged_at"] <= hwm + timedelta(days=1) for a in new), "on time"
    assert_identity_shape(tables)  # existing customers, merged after both exist, no cycle
    assert tables["raw_customers"] == base["raw_customers"]


def test_removals_prefer_web_activity_and_meet_chains_and_shared_devices(base):
    tables, summary = next_batch(base, 6, new_fraction=0.0, **ALL_OFF, removals=6)
    new = added_rows(base, tables, "raw_customer_removals")
    removed = [r["customer_id"] for r in new]
    assert len(new) == summary["removals"]["count"] == 6 and removed == summary["removals"]["customer_ids"]
    assert not set(removed) & {r["customer_id"] for r in base["raw_customer_removals"]}, "not removed yet"
    per_visitor = customers_per_visitor(base)
    with_web = {c for ids in per_visitor.values() for c in ids}
    on_shared = {c for ids in per_visitor.values() if len(ids) > 1 for c in ids}
    assert set(removed) <= with_web
    assert summary["removals"]["at_chain_end"] == len(set(removed) & chain_ends(base)) > 0
    assert summary["removals"]["on_shared_device"] == len(set(removed) & on_shared) > 0
    assert all(r[LOADED_AT] == batch_load(summary) for r in new)
    assert_identity_shape(tables)


def test_late_identity_places_that_share_in_the_past(base):
    options = {"logins": 0.1, "shared_logins": 3, "aliases": 4, "removals": 4}
    tables, summary = next_batch(base, 7, new_fraction=0.01, **ALL_OFF, **options, late_identity=0.5)
    hwm = high_water_mark(base)
    counts = {kind: summary[kind]["count"] for kind in IDENTITY_KINDS}
    assert counts["logins"] > 0 and counts["shared_logins"] == 3 and counts["aliases"] == counts["removals"] == 4
    late = {kind: summary[kind]["late"] for kind in IDENTITY_KINDS}
    assert sum(late.values()) == round(0.5 * sum(counts.values()))
    assert all(late.values()), late
    moments = {
        "aliases": [a["merged_at"] for a in added_rows(base, tables, "raw_customer_aliases")],
        "removals": [r["requested_at"] for r in added_rows(base, tables, "raw_customer_removals")],
    }
    by_visitor = views_by_visitor(tables["raw_web_events"])
    old_views = {e["id"] for e in base["raw_web_events"]}
    for kind in ("logins", "shared_logins"):
        moments[kind] = []
        for visitor, customer in zip(summary[kind]["visitors"], summary[kind]["customer_ids"]):
            moments[kind] += [e["occurred_at"] for e in by_visitor[visitor]
                              if e["id"] not in old_views and e["page"] == "/login" and e["customer_id"] == customer]
    for kind in IDENTITY_KINDS:
        assert len(moments[kind]) == counts[kind], kind
        past = [m for m in moments[kind] if m < hwm]
        assert len(past) == late[kind], kind
        assert all(hwm - timedelta(hours=48) <= m for m in past), "in the --late-hours window"
    # the load time is always the batch's own
    load = batch_load(summary)
    assert load == expected_load_time(base, tables)
    for name in IDENTITY:
        assert all(r[LOADED_AT] == load for r in added_rows(base, tables, name))
    assert_batch_shape(tables)
    assert_identity_shape(tables)


def test_identity_first_delivers_the_account_row_with_the_next_batch(base):
    first, summary = next_batch(base, 9, new_fraction=0.01, **{**ALL_OFF, "future": 4}, aliases=1,
                                identity_first=2)
    held = summary["identity_first"]["customer_ids"]
    assert summary["identity_first"]["count"] == len(held) == 2
    customers = {c["id"] for c in first["raw_customers"]}
    assert max(customers) < min(held), "the held-back ids follow every customer id"
    new = added_rows(base, first, "raw_customer_aliases")
    assert len(new) == summary["aliases"]["count"] == 3
    early = [a for a in new if a["customer_id"] in held]
    assert len(early) == 2 and all(a["canonical_customer_id"] in customers for a in early)
    assert not customers & set(held), "the alias arrives before the account row"
    second, next_summary = next_batch(first, 10, new_fraction=0.01, **ALL_OFF)
    assert next_summary["held_back_delivered"]["ids"] == held
    rows = {c["id"]: c for c in second["raw_customers"]}
    load = batch_load(next_summary)
    for alias in early:
        account = rows[alias["customer_id"]]
        assert account["created_at"] < alias["merged_at"] and account[LOADED_AT] == load
    assert min(next_summary["new"]["tables"]["raw_customers"]["ids"]) > max(held)
    assert_identity_shape(second)
    third, last_summary = next_batch(second, 11, new_fraction=0.01, **ALL_OFF)
    assert last_summary["held_back_delivered"]["count"] == 0, "delivered once"


def test_identity_changes_are_deterministic(base):
    options = {"logins": 0.1, "shared_logins": 2, "aliases": 3, "removals": 3, "late_identity": 0.3,
               "identity_first": 1}
    first = next_batch(base, 12, **options)
    assert first == next_batch(base, 12, **options)
    assert first[0] != next_batch(base, 13, **options)[0]


def test_invalid_identity_options_raise(base):
    for bad in ({"logins": 1.5}, {"late_identity": -0.1}, {"aliases": -1}, {"removals": 1.5},
                {"shared_logins": True}, {"identity_first": -2}):
        with pytest.raises(ValueError):
            next_batch(base, 1, **bad)


@pytest.mark.parametrize("seed, scale, days", [(3, 0.2, 60), (4, 0.5, 90)])
def test_identity_over_consecutive_batches(seed, scale, days, tmp_path):
    tables = generate(seed=seed, scale=scale, start=date(2023, 3, 1), days=days)
    for batch in range(4):
        tables, summary = next_batch(
            tables, batch, new_fraction=0.02, late=0.2, ties=0.05, duplicates=0.05, restated=0.03,
            conflicting=0.03, future=batch % 2, logins=0.05, shared_logins=2, aliases=2, removals=1,
            late_identity=0.3,
        )
        assert_batch_shape(tables)  # views carry the customer logged in, through every kind of change
        assert_identity_shape(dedupe(tables))
        assert summary["aliases"]["count"] == 2 and summary["shared_logins"]["count"] == 2
        write_csv(tables, tmp_path / str(batch))
        tables = read_csv(tmp_path / str(batch))


def test_cli_identity_options(tmp_path):
    folder = tmp_path / "seeds"
    assert run_cli("--seed", "5", "--scale", "0.3", "--out", str(folder)).returncode == 0
    start = read_csv(folder)
    result = run_cli("next-batch", "--seeds", str(folder), "--seed", "3", "--logins", "0.1",
                     "--shared-logins", "2", "--aliases", "2", "--removals", "2", "--late-identity", "0.5",
                     "--identity-first", "1")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    expected, expected_summary = next_batch(start, 3, logins=0.1, shared_logins=2, aliases=2, removals=2,
                                            late_identity=0.5, identity_first=1)
    assert summary == json.loads(json.dumps(expected_summary))
    assert {k: summary["options"][k] for k in ("logins", "shared_logins", "aliases", "removals",
                                                "late_identity", "identity_first")} == {
        "logins": 0.1, "shared_logins": 2, "aliases": 2, "removals": 2, "late_identity": 0.5, "identity_first": 1}
    assert summary["aliases"]["count"] == 3 and summary["removals"]["count"] == 2
    assert summary["shared_logins"]["count"] == 2 and summary["identity_first"]["count"] == 1
    assert summary["logins"]["count"] == round(0.1 * len(never_logged_in(start)))
    write_csv(expected, tmp_path / "api")
    for name in ALL_TABLES:
        assert (folder / f"{name}.csv").read_bytes() == (tmp_path / "api" / f"{name}.csv").read_bytes()
    result = run_cli("next-batch", "--seeds", str(folder), "--aliases", "1.5")
    assert result.returncode == 2


def test_folder_without_identity_files_reads_them_as_empty(tmp_path):
    write_csv(generate(seed=1, scale=0.1), tmp_path)
    for name in IDENTITY:
        (tmp_path / f"{name}.csv").unlink()
    tables = read_csv(tmp_path)
    assert all(tables[name] == [] for name in IDENTITY)
    after, summary = next_batch(tables, 1, aliases=1, removals=1)
    assert len(after["raw_customer_aliases"]) == len(after["raw_customer_removals"]) == 1
