"""Tests for the "next batch" simulation of tools/generate_data.py.

``next_batch`` turns the current state of the raw tables into the state after
one more ingestion: new rows (on time, late, very late, ties), rows delivered
twice, rows restated in place and deleted rows. ``read_csv`` reads the CSV
files back so that batches can be chained on disk.
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

from tests.python.test_generate_data import assert_referential_shape  # noqa: E402
from tools.generate_data import (  # noqa: E402
    TABLE_COLUMNS,
    TIME_COLUMNS,
    generate,
    high_water_mark,
    next_batch,
    read_csv,
    write_csv,
)

TABLES = tuple(TABLE_COLUMNS)
ALL_ON = dict(late=0.2, very_late=0.1, ties=0.1, duplicates=0.05, restated=0.03, deletes=0.02)
ALL_OFF = dict(late=0.0, very_late=0.0, ties=0.0, duplicates=0.0, restated=0.0, deletes=0.0)


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


def dedupe(tables: dict) -> dict:
    """Drop the second copy of duplicated rows, asserting that copies are byte-identical."""
    result = {}
    for name, rows in tables.items():
        seen: dict[int, dict] = {}
        kept = []
        for row in rows:
            if row["id"] in seen:
                assert row == seen[row["id"]], (name, row, seen[row["id"]])
                continue
            seen[row["id"]] = row
            kept.append(row)
        result[name] = kept
    return result


def assert_batch_shape(tables: dict) -> None:
    """The referential rules of the generator, modulo byte-identical duplicates (at most 2 copies)."""
    for name, rows in tables.items():
        counts = Counter(r["id"] for r in rows)
        assert max(counts.values(), default=1) <= 2, name
    assert_referential_shape(dedupe(tables))


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
    for name in TABLES:
        assert (tmp_path / "a" / f"{name}.csv").read_bytes() == (tmp_path / "b" / f"{name}.csv").read_bytes()


def test_read_csv_round_trip_of_committed_seeds(tmp_path):
    write_csv(read_csv(REPO_ROOT / "seeds"), tmp_path)
    for name in TABLES:
        assert (tmp_path / f"{name}.csv").read_bytes() == (REPO_ROOT / "seeds" / f"{name}.csv").read_bytes()


def test_read_csv_round_trip_after_batches(tmp_path, busy):
    _, tables, _ = busy
    write_csv(tables, tmp_path / "a")
    back = read_csv(tmp_path / "a")
    assert back == tables
    write_csv(back, tmp_path / "b")
    for name in TABLES:
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
    lines[1] = lines[1].rsplit(",", 2)[0] + ",2024/01/03," + lines[1].rsplit(",", 1)[1]
    path.write_text("\n".join(lines) + "\n")
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
             "--restated", "0.02", "--deletes", "0.01", "--very-late", "0.1"],
            cwd=REPO_ROOT, capture_output=True, text=True, check=True,
            env={"PYTHONHASHSEED": hash_seed, "PATH": "/usr/bin:/bin"},
        )
        outputs.append({name: (out / f"{name}.csv").read_bytes() for name in TABLES})
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
        expected = (len(before[name]) - summary["deleted"]["tables"][name]["count"]
                    + summary["new"]["tables"][name]["count"] + summary["duplicates"]["tables"][name]["count"])
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
        next_batch({name: [] for name in TABLES}, 1)


# --------------------------------------------------------------------------
# proportions
# --------------------------------------------------------------------------


def test_proportions_are_roughly_honoured(busy):
    before, after, summary = busy
    existing = total_rows(before)
    n_new = summary["new"]["count"]
    assert 0.045 <= n_new / existing <= 0.06
    for kind, fraction in (("late", 0.2), ("very_late", 0.1), ("ties", 0.1), ("duplicates", 0.05)):
        assert abs(summary[kind]["count"] / n_new - fraction) <= 0.02, kind
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
    for kind in ("late", "very_late", "ties", "duplicates", "restated", "deleted"):
        assert summary[kind]["count"] == 0, kind
        assert all(t["count"] == 0 and t["ids"] == [] for t in summary[kind]["tables"].values())
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


def test_duplicates_are_byte_identical_rows_of_an_existing_id(busy, tmp_path):
    before, after, summary = busy
    assert summary["duplicates"]["count"] > 0
    new_ids = {name: set(summary["new"]["tables"][name]["ids"]) for name in TABLES}
    kinds = Counter()
    for name in TABLES:
        counts = Counter(r["id"] for r in after[name])
        duplicated = sorted(i for i, n in counts.items() if n > 1)
        assert duplicated == sorted(summary["duplicates"]["tables"][name]["ids"]), name
        old_ids = {r["id"] for r in before[name]}
        for row_id in duplicated:
            assert counts[row_id] == 2
            assert row_id in old_ids or row_id in new_ids[name]
            kinds["new" if row_id in new_ids[name] else "existing"] += 1
            positions = [i for i, r in enumerate(after[name]) if r["id"] == row_id]
            assert positions[1] == positions[0] + 1
            assert after[name][positions[0]] == after[name][positions[1]]
    assert kinds["new"] > 0 and kinds["existing"] > 0, "both new and existing rows are re-delivered"
    write_csv(after, tmp_path)
    for name in TABLES:
        lines = (tmp_path / f"{name}.csv").read_text().splitlines()[1:]
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
        duplicated = set(summary["duplicates"]["tables"][name]["ids"])
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
        tables, summary = next_batch(
            tables, batch, days=1 + batch % 2, new_fraction=0.03, late=0.3, very_late=0.1,
            ties=0.1, duplicates=0.1, restated=0.05, deletes=0.03,
        )
        assert_batch_shape(tables)
        for name in TABLES:
            ids = summary["new"]["tables"][name]["ids"]
            assert all(i > max_ids[name] for i in ids), (batch, name)
            max_ids[name] = max([max_ids[name], *ids])
        assert high_water_mark(tables) >= previous_hwm
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
               "--restated", "0.01", "--deletes", "0.005"]
    result = run_cli("next-batch", "--seeds", str(folder), *options)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    expected, expected_summary = next_batch(
        start, 7, days=1, late=0.2, duplicates=0.02, ties=0.05, restated=0.01, deletes=0.005,
    )
    assert summary == json.loads(json.dumps(expected_summary))
    write_csv(expected, tmp_path / "api")
    for name in TABLES:
        assert (folder / f"{name}.csv").read_bytes() == (tmp_path / "api" / f"{name}.csv").read_bytes()
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.csv" for n in TABLES), "no leftovers"
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
    for name in TABLES:
        assert (tmp_path / "a" / f"{name}.csv").read_bytes() == (tmp_path / "b" / f"{name}.csv").read_bytes()


def test_cli_next_batch_errors(tmp_path):
    result = run_cli("next-batch", "--seeds", str(tmp_path / "missing"))
    assert result.returncode == 2 and "next-batch" in result.stderr
    write_csv(generate(seed=1, scale=0.05), tmp_path)
    result = run_cli("next-batch", "--seeds", str(tmp_path), "--late", "2")
    assert result.returncode == 2 and "late" in result.stderr
