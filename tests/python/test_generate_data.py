"""Tests for tools/generate_data (the initial load): determinism, formats, load time, referential shape
and the identity features (logins and logouts, shared devices, long anonymous browsing, aliases, removals)."""

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
    "raw_customer_aliases": ["customer_id", "canonical_customer_id", "merged_at", "_loaded_at"],
    "raw_customer_removals": ["customer_id", "requested_at", "_loaded_at"],
}
SHOP_TABLES = ("raw_customers", "raw_orders", "raw_payments", "raw_web_events")
EVENT_TIME = {
    "raw_customers": "created_at",
    "raw_orders": "order_date",
    "raw_payments": "created_at",
    "raw_web_events": "occurred_at",
    "raw_customer_aliases": "merged_at",
    "raw_customer_removals": "requested_at",
}
SESSION_GAP = timedelta(minutes=30)


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
    for name in SHOP_TABLES:
        ids = [r["id"] for r in t[name]]
        assert ids == sorted(ids) and len(ids) == len(set(ids)), name
        assert all(isinstance(i, int) for i in ids), name
    assert_views_carry_the_logged_in_customer(t["raw_web_events"])


def views_by_visitor(events: list[dict]) -> dict[str, list[dict]]:
    """Each visitor's views in order: by occurred_at, then id."""
    by_visitor = defaultdict(list)
    for e in events:
        by_visitor[e["visitor_id"]].append(e)
    for rows in by_visitor.values():
        rows.sort(key=lambda e: (e["occurred_at"], e["id"]))
    return by_visitor


def assert_views_carry_the_logged_in_customer(events: list[dict]) -> None:
    """Per visitor: a /login view carries the customer who logs in, and so does every later view
    up to and including a /logout (who logs out); after a /logout the views are anonymous until
    the next /login. A /logout only ends a login."""
    for visitor, rows in views_by_visitor(events).items():
        logged_in = None
        for e in rows:
            if e["page"] == "/login":
                assert e["customer_id"] is not None, (visitor, e)
                logged_in = e["customer_id"]
            assert e["customer_id"] == logged_in, (visitor, e)
            if e["page"] == "/logout":
                assert logged_in is not None, (visitor, e)
                logged_in = None


def alias_end(aliases: dict[int, int], customer: int) -> int:
    """Follow customer_id -> canonical_customer_id to the chain's end; fails on a cycle."""
    seen = [customer]
    while customer in aliases:
        customer = aliases[customer]
        assert customer not in seen, f"alias cycle {seen + [customer]}"
        seen.append(customer)
    return customer


def assert_identity_shape(t: dict) -> None:
    """Aliases and removals name existing customers, one row each, at plausible times, without cycles."""
    created = {c["id"]: c["created_at"] for c in t["raw_customers"]}
    aliases = {}
    for a in t["raw_customer_aliases"]:
        assert a["customer_id"] not in aliases, f"two aliases for {a['customer_id']}"
        assert a["customer_id"] in created and a["canonical_customer_id"] in created, a
        assert a["customer_id"] != a["canonical_customer_id"], a
        assert a["merged_at"] > max(created[a["customer_id"]], created[a["canonical_customer_id"]]), a
        aliases[a["customer_id"]] = a["canonical_customer_id"]
    for customer in aliases:
        alias_end(aliases, customer)
    removed = [r["customer_id"] for r in t["raw_customer_removals"]]
    assert len(removed) == len(set(removed))
    for r in t["raw_customer_removals"]:
        assert r["customer_id"] in created and r["requested_at"] > created[r["customer_id"]], r


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
    assert_identity_shape(tables)


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
    assert_identity_shape(t)
    end = datetime(2023, 3, 1) + timedelta(days=days)
    assert all(datetime(2023, 3, 1) <= e["occurred_at"] < end for e in t["raw_web_events"])
    assert all(r["_loaded_at"] == end for rows in t.values() for r in rows)


def test_cli_writes_every_table(tmp_path):
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


# --------------------------------------------------------------------------
# identity: logins and logouts, shared devices, long anonymous browsing,
# duplicate accounts with aliases, erasure requests
# --------------------------------------------------------------------------


def login_sequence(rows: list[dict]) -> list[int]:
    """The customers of a visitor's /login views, in order."""
    return [e["customer_id"] for e in rows if e["page"] == "/login"]


def switches(logins: list[int]) -> int:
    """How often the customer logging in changes from one login to the next (A, B, A: 2)."""
    return sum(1 for a, b in zip(logins, logins[1:]) if a != b)


def sessions(rows: list[dict]) -> int:
    """Sessions among a visitor's rows: runs of views less than SESSION_GAP apart."""
    return 1 + sum(1 for a, b in zip(rows, rows[1:]) if b["occurred_at"] - a["occurred_at"] > SESSION_GAP)


def test_views_carry_the_customer_between_login_and_logout(tables):
    events = tables["raw_web_events"]
    assert_views_carry_the_logged_in_customer(events)
    logouts = [e for e in events if e["page"] == "/logout"]
    assert logouts and all(e["customer_id"] is not None for e in logouts), "a logout carries who logs out"
    anonymous_after_logout = 0
    for rows in views_by_visitor(events).values():
        for previous, e in zip(rows, rows[1:]):
            if previous["page"] == "/logout" and e["page"] != "/login":
                assert e["customer_id"] is None, e
                anonymous_after_logout += 1
    assert anonymous_after_logout > 0, "some devices show anonymous views after a logout"


def test_views_of_one_visitor_are_strictly_increasing(tables):
    for visitor, rows in views_by_visitor(tables["raw_web_events"]).items():
        moments = [e["occurred_at"] for e in rows]
        assert len(moments) == len(set(moments)), visitor


def test_shared_devices_alternate_between_two_customers(tables):
    by_visitor = views_by_visitor(tables["raw_web_events"])
    devices = [v for v, rows in by_visitor.items() if login_sequence(rows)]
    shared = {v: login_sequence(by_visitor[v]) for v in devices if len(set(login_sequence(by_visitor[v]))) > 1}
    assert 0.02 <= len(shared) / len(devices) <= 0.08, (len(shared), len(devices))
    assert all(len(set(logins)) == 2 for logins in shared.values()), "used in turn by two customers"
    twice = [v for v, logins in shared.items() if switches(logins) >= 2]
    assert len(twice) >= 3, "the customer changes at least twice on some devices (A, B, A)"
    created = {c["id"]: c["created_at"] for c in tables["raw_customers"]}
    for visitor in shared:
        rows = by_visitor[visitor]
        for e in rows:
            if e["page"] == "/login":
                assert e["occurred_at"] >= created[e["customer_id"]], e
        # whenever another customer logs in, the previous one logged out before
        logins = [i for i, e in enumerate(rows) if e["page"] == "/login"]
        for a, b in zip(logins, logins[1:]):
            if rows[a]["customer_id"] != rows[b]["customer_id"]:
                between = rows[a + 1:b]
                assert any(e["page"] == "/logout" and e["customer_id"] == rows[a]["customer_id"]
                           for e in between), (visitor, rows[b])


def test_visitors_browse_anonymously_for_days_before_signing_up(tables):
    created = {c["id"]: c["created_at"] for c in tables["raw_customers"]}
    found = 0
    for rows in views_by_visitor(tables["raw_web_events"]).values():
        login = next((i for i, e in enumerate(rows) if e["page"] == "/login"), None)
        if login is None or login == 0:
            continue
        at, customer = rows[login]["occurred_at"], rows[login]["customer_id"]
        if not timedelta(0) <= at - created[customer] <= timedelta(minutes=10):
            continue  # not the device the customer signed up on
        before = rows[:login]
        assert all(e["customer_id"] is None for e in before)
        span = at - before[0]["occurred_at"]
        if timedelta(days=1) <= span <= timedelta(days=5, hours=1) and sessions(before) >= 2:
            found += 1
    assert found >= 0.05 * len(created), found


def test_duplicate_accounts_are_merged_by_aliases(tables):
    customers = {c["id"]: c for c in tables["raw_customers"]}
    rows = tables["raw_customer_aliases"]
    assert 0.01 * len(customers) <= len(rows) <= 0.03 * len(customers), len(rows)
    aliases = {a["customer_id"]: a["canonical_customer_id"] for a in rows}
    for duplicate, canonical in aliases.items():
        assert customers[duplicate]["created_at"] > customers[canonical]["created_at"], "created later"
        end = customers[alias_end(aliases, duplicate)]
        same = (customers[duplicate]["first_name"], customers[duplicate]["last_name"])
        assert same == (end["first_name"], end["last_name"]), "a second account of the same person"
    lengths = []
    for customer in aliases:
        hops = 0
        while customer in aliases:
            customer, hops = aliases[customer], hops + 1
        lengths.append(hops)
    assert max(lengths) >= 2, "a chain X -> Y -> Z"
    load = rows[0]["_loaded_at"]
    assert all(a["merged_at"] < load for a in rows)


def test_removals_meet_shared_devices_and_alias_chains(tables):
    customers = {c["id"]: c for c in tables["raw_customers"]}
    removed = [r["customer_id"] for r in tables["raw_customer_removals"]]
    assert len(removed) >= 2 and 0.005 * len(customers) <= len(removed) <= 0.02 * len(customers)
    per_visitor = defaultdict(set)
    for e in tables["raw_web_events"]:
        if e["customer_id"] is not None:
            per_visitor[e["visitor_id"]].add(e["customer_id"])
    on_shared = {c for ids in per_visitor.values() if len(ids) > 1 for c in ids}
    assert set(removed) & on_shared, "erasure of a customer who used a shared device"
    aliases = {a["customer_id"]: a["canonical_customer_id"] for a in tables["raw_customer_aliases"]}
    chain_ends = {alias_end(aliases, c) for c in aliases}
    assert set(removed) & chain_ends, "erasure of the end of an alias chain"
    load = tables["raw_customer_removals"][0]["_loaded_at"]
    assert all(customers[r["customer_id"]]["created_at"] < r["requested_at"] < load
               for r in tables["raw_customer_removals"])


def test_identity_features_scale_with_the_customers():
    small, large = generate(seed=42, scale=0.5), generate(seed=42, scale=2.0)
    for name, share in (("raw_customer_aliases", 0.02), ("raw_customer_removals", 0.01)):
        assert len(small[name]) == round(share * 150), name
        assert len(large[name]) == round(share * 600), name

    def shared(t: dict) -> int:
        return sum(1 for rows in views_by_visitor(t["raw_web_events"]).values()
                   if len(set(login_sequence(rows))) > 1)

    assert 2 * shared(small) <= shared(large) <= 6 * shared(small)
    for t in (small, large):
        assert_identity_shape(t)
        assert_views_carry_the_logged_in_customer(t["raw_web_events"])
