"""Tests for tools/generate_data (the initial load): determinism, formats, load time and referential shape."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tools.generate_data import (
    ORDER_STATUSES,
    PAGES,
    PAYMENT_METHODS,
    generate,
    write_csv,
)

EXPECTED_HEADERS = {
    "raw_customers": ["id", "first_name", "last_name", "created_at", "_loaded_at"],
    "raw_orders": ["id", "user_id", "order_date", "status", "_loaded_at"],
    "raw_payments": ["id", "order_id", "payment_method", "amount", "created_at", "_loaded_at"],
    "raw_web_events": ["id", "visitor_id", "customer_id", "page", "occurred_at", "_loaded_at"],
}
EVENT_TIME = {
    "raw_customers": "created_at",
    "raw_orders": "order_date",
    "raw_payments": "created_at",
    "raw_web_events": "occurred_at",
}


@pytest.fixture(scope="module")
def tables():
    return generate(seed=42, scale=1.0)


def read_csv_dir(directory: Path) -> dict[str, list[list[str]]]:
    """All CSV files of a directory as lists of rows (header included)."""
    result = {}
    for path in sorted(directory.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            result[path.stem] = list(csv.reader(handle))
    return result


def assert_referential_shape(t: dict) -> None:
    """The cross-table invariants every generated data set must satisfy."""
    customers = {c["id"]: c for c in t["raw_customers"]}
    orders = {o["id"]: o for o in t["raw_orders"]}
    for o in t["raw_orders"]:
        assert o["user_id"] in customers, o
        assert o["order_date"] >= customers[o["user_id"]]["created_at"].date(), o
        assert o["status"] in ORDER_STATUSES
    for p in t["raw_payments"]:
        assert p["order_id"] in orders, p
        order_day = datetime.combine(orders[p["order_id"]]["order_date"], datetime.min.time())
        assert p["created_at"] >= order_day, p
        assert p["payment_method"] in PAYMENT_METHODS
        assert isinstance(p["amount"], int) and p["amount"] > 0
    for e in t["raw_web_events"]:
        assert e["customer_id"] is None or e["customer_id"] in customers, e
        assert e["page"] in PAGES
    for name, rows in t.items():
        ids = [r["id"] for r in rows]
        assert ids == sorted(ids) and len(ids) == len(set(ids)), name
        assert all(isinstance(i, int) for i in ids), name
    assert_login_is_sticky(t["raw_web_events"])


def assert_login_is_sticky(events: list[dict]) -> None:
    """Within a visitor, once customer_id is set every later event has the same id."""
    by_visitor = defaultdict(list)
    for e in events:
        by_visitor[e["visitor_id"]].append(e)
    for visitor, rows in by_visitor.items():
        rows.sort(key=lambda e: (e["occurred_at"], e["id"]))
        known = None
        for e in rows:
            if known is not None:
                assert e["customer_id"] == known, (visitor, e)
            known = e["customer_id"] if e["customer_id"] is not None else known


def test_same_seed_is_identical_and_other_seed_differs(tmp_path):
    write_csv(generate(seed=7), tmp_path / "a")
    write_csv(generate(seed=7), tmp_path / "b")
    write_csv(generate(seed=8), tmp_path / "c")
    for name in EXPECTED_HEADERS:
        a = (tmp_path / "a" / f"{name}.csv").read_bytes()
        assert a == (tmp_path / "b" / f"{name}.csv").read_bytes(), name
    assert read_csv_dir(tmp_path / "a") != read_csv_dir(tmp_path / "c")
    assert generate(seed=7) != generate(seed=8)


def test_exact_headers_and_formats(tables, tmp_path):
    write_csv(tables, tmp_path)
    files = read_csv_dir(tmp_path)
    assert sorted(files) == sorted(EXPECTED_HEADERS)
    for name, header in EXPECTED_HEADERS.items():
        assert files[name][0] == header, name
        assert len(files[name]) == len(tables[name]) + 1
        assert all(len(row) == len(header) for row in files[name])
    customer = files["raw_customers"][1]
    datetime.strptime(customer[3], "%Y-%m-%d %H:%M:%S")
    assert len(customer[2]) == 2 and customer[2][0].isupper() and customer[2][1] == "."
    date.fromisoformat(files["raw_orders"][1][2])
    assert files["raw_payments"][1][3].isdigit()
    web = files["raw_web_events"][1:]
    assert any(row[2] == "" for row in web), "anonymous events must have an empty customer_id"
    assert all(row[1].startswith("v") and row[1][1:].isdigit() for row in web)
    for row in web[:50]:
        datetime.strptime(row[4], "%Y-%m-%d %H:%M:%S")
    for name in EXPECTED_HEADERS:
        for row in files[name][1:]:
            datetime.strptime(row[-1], "%Y-%m-%d %H:%M:%S")


def test_referential_shape(tables):
    assert_referential_shape(tables)


def test_default_range(tables):
    moments = [e["occurred_at"] for e in tables["raw_web_events"]]
    assert min(moments) >= datetime(2024, 1, 1)
    assert max(moments) < datetime(2024, 7, 1)
    assert max(o["order_date"] for o in tables["raw_orders"]) <= date(2024, 6, 30)


def test_order_and_visitor_mix(tables):
    customers = tables["raw_customers"]
    per_customer = Counter(o["user_id"] for o in tables["raw_orders"])
    without = len(customers) - len(per_customer)
    assert 0.08 * len(customers) <= without <= 0.3 * len(customers)
    assert 1.8 <= len(tables["raw_orders"]) / len(customers) <= 3.2
    assert any(n >= 3 for n in per_customer.values())
    statuses = Counter(o["status"] for o in tables["raw_orders"])
    assert statuses.most_common(1)[0][0] == "completed"
    paid = {p["order_id"] for p in tables["raw_payments"]}
    unpaid = [o for o in tables["raw_orders"] if o["id"] not in paid]
    assert unpaid and all(o["status"] == "placed" for o in unpaid)
    events = tables["raw_web_events"]
    visitors = {e["visitor_id"] for e in events}
    known = {e["visitor_id"] for e in events if e["customer_id"] is not None}
    assert visitors - known, "some visitors never log in"
    assert 8 <= len(events) / len(visitors) <= 25
    devices = Counter(c for c in {(e["visitor_id"], e["customer_id"]) for e in events} if c[1] is not None)
    per_customer_devices = Counter(cid for _, cid in devices)
    assert any(n > 1 for n in per_customer_devices.values()), "some customers use two visitor ids"


def test_deliberate_ties_exist(tables):
    same_day = Counter((o["user_id"], o["order_date"]) for o in tables["raw_orders"])
    assert any(n >= 2 for n in same_day.values())
    same_second = Counter((p["order_id"], p["created_at"]) for p in tables["raw_payments"])
    assert any(n >= 2 for n in same_second.values())


def test_scale_changes_customer_count():
    assert len(generate(scale=1.0)["raw_customers"]) == 300
    assert len(generate(scale=2)["raw_customers"]) == 600
    assert [c["id"] for c in generate(scale=0.1)["raw_customers"]] == list(range(1, 31))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), scale=st.sampled_from([0.05, 0.1, 0.3]), days=st.integers(20, 120))
def test_referential_shape_for_any_seed(seed, scale, days):
    t = generate(seed=seed, scale=scale, start=date(2023, 3, 1), days=days)
    assert_referential_shape(t)
    end = datetime(2023, 3, 1) + timedelta(days=days)
    assert all(datetime(2023, 3, 1) <= e["occurred_at"] < end for e in t["raw_web_events"])
    assert all(r["_loaded_at"] == end for rows in t.values() for r in rows)


def test_cli_writes_four_files(tmp_path):
    out = tmp_path / "seeds"
    result = subprocess.run(
        [sys.executable, "-m", "tools.generate_data", "--seed", "42", "--scale", "0.2", "--out", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.csv" for n in EXPECTED_HEADERS)
    files = read_csv_dir(out)
    assert len(files["raw_customers"]) == 60 + 1
    expected = generate(seed=42, scale=0.2)
    write_csv(expected, tmp_path / "api")
    for name in EXPECTED_HEADERS:
        assert (out / f"{name}.csv").read_bytes() == (tmp_path / "api" / f"{name}.csv").read_bytes()


def event_moment(table: str, row: dict) -> datetime:
    value = row[EVENT_TIME[table]]
    return value if isinstance(value, datetime) else datetime.combine(value, datetime.min.time())


def test_initial_load_has_one_load_time_after_the_period(tables, tmp_path):
    # 2024-01-01 + 182 days: the backfill is loaded at midnight after 2024-06-30
    loaded_at = datetime(2024, 7, 1, 0, 0, 0)
    for name, rows in tables.items():
        assert rows, name
        assert all(r["_loaded_at"] == loaded_at for r in rows), name
        assert all(event_moment(name, r) < loaded_at for r in rows), name
        assert all(list(r)[-1] == "_loaded_at" for r in rows), name
    write_csv(tables, tmp_path)
    for name, rows in read_csv_dir(tmp_path).items():
        assert {row[-1] for row in rows[1:]} == {"2024-07-01 00:00:00"}, name


@pytest.mark.parametrize("start, days, loaded_at", [
    (date(2023, 3, 1), 20, datetime(2023, 3, 21)),
    (date(2023, 12, 27), 5, datetime(2024, 1, 1)),
    (date(2024, 2, 1), 29, datetime(2024, 3, 1)),
    (date(2024, 5, 31), 1, datetime(2024, 6, 1)),
])
def test_initial_load_time_follows_start_and_days(start, days, loaded_at):
    t = generate(seed=4, scale=0.1, start=start, days=days)
    for name, rows in t.items():
        assert {r["_loaded_at"] for r in rows} <= {loaded_at}, name
    if days >= 5:  # in shorter periods a payment may follow the period by some hours
        assert all(event_moment(n, r) < loaded_at for n, rows in t.items() for r in rows)
