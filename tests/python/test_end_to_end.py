"""End-to-end builds of the whole project, on DuckDB and on Postgres.

Every expected value here is computed in Python from the raw tables (the
generator's rows or the reference CSV files), never by the project's SQL:

* a build from scratch with generated data: every model exists, the stream
  has one row per raw row, and `activity_occurrence` / `activity_repeated_at`
  equal an independent computation of the window
  `partition by activity, coalesce(customer, anonymous_customer_id)
  order by ts, activity_id` (activity_id is the only value read back);
* `customers` equals jaffle shop's `customers` table on the public jaffle shop
  data, column by column.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

from tests.python.dbt_harness import DbtProject, DbtResult
from tests.python.identity_reference import REMOVED, resolve
from tools.generate_data import generate

# The models the project must build (a new .sql file under models/ is
# required to exist too, see `_model_files`).
CORE_MODELS = {
    "stg_jaffle_shop__customers",
    "stg_jaffle_shop__orders",
    "stg_jaffle_shop__payments",
    "stg_web__events",
    "act_created_account",
    "act_placed_order",
    "act_made_payment",
    "act_viewed_page",
    "customer_stream",
    "stream_rejections",
    "customers",
}
RAW_TABLES = ("raw_customers", "raw_orders", "raw_payments", "raw_web_events")
WEB_EVENTS_HEADER = "id,visitor_id,customer_id,page,occurred_at\n"


# -- shared helpers -------------------------------------------------------------


def describe(result: DbtResult, tail: int = 60) -> str:
    """A failure message: the nodes that did not pass and the log's end."""
    bad = {
        name: status
        for name, status in result.statuses().items()
        if status not in ("success", "pass")
    }
    log_tail = "\n".join(result.log.splitlines()[-tail:])
    return f"not passing: {bad}\nexception: {result.exception!r}\nlog tail:\n{log_tail}"


def assert_build_ok(result: DbtResult) -> None:
    assert result.success, describe(result)
    bad = {
        name: status
        for name, status in result.statuses().items()
        if status not in ("success", "pass")
    }
    assert not bad, describe(result)


def features(value: Any) -> dict[str, Any]:
    """feature_json as a dict (DuckDB returns JSON text, psycopg2 a dict)."""
    if isinstance(value, str):
        return json.loads(value)
    assert isinstance(value, dict), f"unexpected feature_json {value!r}"
    return value


def existing_relations(project: DbtProject, schema: str) -> set[str]:
    rows = project.query(
        "select table_name from information_schema.tables "
        f"where table_schema = '{schema}'"
    )
    return {name for (name,) in rows}


def _model_files(project: DbtProject) -> set[str]:
    return {path.stem for path in (project.root / "models").rglob("*.sql")}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# -- independent computation of the stream's occurrence columns ----------------


def expected_stream_rows(tables: dict[str, list[dict[str, Any]]]) -> dict[tuple, dict]:
    """{natural key: {activity, customer, anonymous_customer_id, ts}} per raw
    row that stays in the stream, its customer resolved by the plain-Python
    identity resolution (tests/python/identity_reference.py); the rows of
    removed customers are left out.

    The natural key identifies the raw record in the stream without the
    project's hash: created_account by customer id, placed_order and
    made_payment by the order/payment id feature, viewed_page by
    (visitor_id feature, ts) (the generator never gives one visitor two views
    at the same second; asserted below).
    """
    order_customer = {o["id"]: o["user_id"] for o in tables["raw_orders"]}
    rows: dict[tuple, dict] = {}

    def add(key: tuple, **values: Any) -> None:
        assert key not in rows, f"natural key {key} is not unique in the raw data"
        rows[key] = values

    for c in tables["raw_customers"]:
        add(("created_account", str(c["id"])), activity="created_account",
            customer=str(c["id"]), anonymous_customer_id=None, ts=c["created_at"])
    for o in tables["raw_orders"]:
        add(("placed_order", o["id"]), activity="placed_order",
            customer=str(o["user_id"]), anonymous_customer_id=None,
            ts=datetime.combine(o["order_date"], time()))
    for p in tables["raw_payments"]:
        add(("made_payment", p["id"]), activity="made_payment",
            customer=str(order_customer[p["order_id"]]), anonymous_customer_id=None,
            ts=p["created_at"])
    for e in tables["raw_web_events"]:
        add(("viewed_page", e["visitor_id"], e["occurred_at"]), activity="viewed_page",
            customer=None if e["customer_id"] is None else str(e["customer_id"]),
            anonymous_customer_id=f"web_{e['visitor_id']}", ts=e["occurred_at"])
    resolved = resolve(
        [{**row, "activity_id": str(key)} for key, row in rows.items()],
        aliases=[(str(a["customer_id"]), str(a["canonical_customer_id"]))
                 for a in tables.get("raw_customer_aliases", [])],
        removals=[str(r["customer_id"]) for r in tables.get("raw_customer_removals", [])],
    )
    kept = {}
    for key, row in rows.items():
        customer = resolved[(row["activity"], str(key))]
        if customer is not REMOVED:
            kept[key] = {**row, "customer": customer}
    return kept


def stream_key(activity: str, customer: str | None, ts: datetime, feature_json: Any) -> tuple:
    f = features(feature_json)
    if activity == "created_account":
        return (activity, customer)
    if activity == "placed_order":
        return (activity, int(f["order_id"]))
    if activity == "made_payment":
        return (activity, int(f["payment_id"]))
    if activity == "viewed_page":
        return (activity, f["visitor_id"], ts)
    raise AssertionError(f"unexpected activity {activity!r} in the stream")


def occurrence_columns(rows: Iterable[dict]) -> dict[tuple[str, str], tuple[int, datetime | None]]:
    """{(activity, activity_id): (occurrence, repeated_at)}, in plain Python.

    rows: dicts with activity, customer, anonymous_customer_id, ts and
    activity_id. Partition by (activity, customer or anonymous id), order by
    (ts, activity_id): occurrence is the 1-based position, repeated_at the
    next row's ts (None on the last).
    """
    partitions: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        entity = row["customer"] if row["customer"] is not None else row["anonymous_customer_id"]
        partitions[(row["activity"], entity)].append(row)
    result: dict[tuple[str, str], tuple[int, datetime | None]] = {}
    for partition in partitions.values():
        partition.sort(key=lambda r: (r["ts"], r["activity_id"]))
        for position, row in enumerate(partition):
            following = partition[position + 1]["ts"] if position + 1 < len(partition) else None
            result[(row["activity"], row["activity_id"])] = (position + 1, following)
    return result


def test_build_from_scratch_with_generated_data(project: DbtProject) -> None:
    tables = generate(seed=42, scale=0.5)
    project.write_seeds(tables)

    result = project.build()
    assert_build_ok(result)

    # Every model (the known ones and any .sql file under models/) exists in
    # the models' schema, and the raw tables in `raw`.
    models = _model_files(project)
    assert CORE_MODELS <= models
    assert models <= existing_relations(project, project.schema)
    assert set(RAW_TABLES) <= existing_relations(project, "raw")
    statuses = result.statuses()
    assert {name: statuses.get(name) for name in models} == {name: "success" for name in models}

    # All generated rows are valid: one stream row per raw row, no rejection,
    # except the rows of removed customers, which the stream's table of
    # removed rows holds and stream_removals counts.
    raw_rows = sum(len(tables[name]) for name in RAW_TABLES)
    expected = expected_stream_rows(tables)
    removed_rows = raw_rows - len(expected)
    assert tables["raw_customer_removals"] and removed_rows > 0
    assert project.query(
        f"select count(*) from {project.schema}.customer_stream") == [(len(expected),)]
    assert project.query(f"select count(*) from {project.schema}.stream_rejections") == [(0,)]
    assert project.query(
        f"select sum(removed_rows) from {project.schema}.stream_removals"
    ) == [(removed_rows,)]
    assert project.query(
        f"select count(*) from {project.schema}.customer_stream__removed"
    ) == [(removed_rows,)]

    stream = project.query(
        "select activity, activity_id, ts, customer, anonymous_customer_id, "
        "feature_json, activity_occurrence, activity_repeated_at "
        f"from {project.schema}.customer_stream"
    )
    assert len(stream) == len(expected)

    # Match every stream row to its raw record and check its entity and ts.
    by_key: dict[tuple, dict] = {}
    # An account's key is its own id (its customer may be another one's,
    # after a merge): found back from its activity_id, the MD5 of the id.
    account_ids = {hashlib.md5(str(c["id"]).encode()).hexdigest(): str(c["id"])
                   for c in tables["raw_customers"]}
    for activity, activity_id, ts, customer, anonymous, feature_json, occurrence, repeated_at in stream:
        key = stream_key(activity, account_ids.get(activity_id, customer), ts, feature_json)
        assert key not in by_key, f"two stream rows for the raw record {key}"
        by_key[key] = {
            "activity": activity, "activity_id": activity_id, "ts": ts,
            "customer": customer, "anonymous_customer_id": anonymous,
            "activity_occurrence": occurrence, "activity_repeated_at": repeated_at,
        }
    assert set(by_key) == set(expected)
    wrong_entity_or_ts = [
        (key, {c: by_key[key][c] for c in want}, want)
        for key, want in expected.items()
        if {c: by_key[key][c] for c in want} != want
    ]
    assert not wrong_entity_or_ts, wrong_entity_or_ts[:10]
    # activity_id is unique per activity (ids of different activities may
    # collide: they hash the source records' own keys).
    ids = [(row["activity"], row["activity_id"]) for row in by_key.values()]
    assert all(activity_id is not None for _, activity_id in ids)
    assert len(set(ids)) == len(ids)

    # Recompute rank and next ts from the raw values, with the stream's
    # activity_id as the only borrowed value (the tie-breaker).
    inputs = [{**want, "activity_id": by_key[key]["activity_id"]} for key, want in expected.items()]
    want_occurrence = occurrence_columns(inputs)
    mismatches = [
        (key, row["activity_id"],
         (row["activity_occurrence"], row["activity_repeated_at"]),
         want_occurrence[(row["activity"], row["activity_id"])])
        for key, row in sorted(by_key.items(), key=lambda item: str(item[0]))
        if (row["activity_occurrence"], row["activity_repeated_at"])
        != want_occurrence[(row["activity"], row["activity_id"])]
    ]
    assert not mismatches, f"{len(mismatches)} rows differ, first: {mismatches[:10]}"

    # The data must exercise the hard cases, or the comparison proves little:
    # equal timestamps within one partition (same-day orders, same-second
    # split payments), anonymous-only views, and views with both ids.
    tied = {
        row["activity"]
        for row in inputs
        if want_occurrence[(row["activity"], row["activity_id"])][1] == row["ts"]
    }
    assert {"placed_order", "made_payment"} <= tied
    views = [row for row in inputs if row["activity"] == "viewed_page"]
    assert any(row["customer"] is None for row in views)
    assert any(row["customer"] is not None for row in views)
    # ... and identity resolution: anonymous views given a customer by a
    # later or earlier login, and rows whose customer an alias replaced.
    raw_views = {(e["visitor_id"], e["occurred_at"]): e for e in tables["raw_web_events"]}
    assert any(raw_views[key[1:]]["customer_id"] is None and row["customer"] is not None
               for key, row in expected.items() if row["activity"] == "viewed_page")
    aliased = {str(a["customer_id"]) for a in tables["raw_customer_aliases"]}
    assert any(row["customer"] not in aliased for key, row in expected.items()
               if key[0] == "created_account" and key[1] in aliased)


# -- customers reproduces jaffle shop ------------------------------------------


def jaffle_shop_customers(folder: Path) -> dict[int, tuple]:
    """jaffle shop's customers model, computed from its raw CSV files.

    {customer_id: (first_name, last_name, first_order, most_recent_order,
    number_of_orders, customer_lifetime_value)}, with 0 instead of null for
    number_of_orders and customer_lifetime_value (this project's documented
    difference), money as an exact Decimal in dollars.
    """
    customers = read_csv(folder / "raw_customers.csv")
    orders = read_csv(folder / "raw_orders.csv")
    payments = read_csv(folder / "raw_payments.csv")

    order_dates: dict[int, list[date]] = defaultdict(list)
    order_customer: dict[int, int] = {}
    for order in orders:
        order_customer[int(order["id"])] = int(order["user_id"])
        order_dates[int(order["user_id"])].append(date.fromisoformat(order["order_date"]))
    cents: dict[int, int] = defaultdict(int)
    for payment in payments:
        cents[order_customer[int(payment["order_id"])]] += int(payment["amount"])

    result = {}
    for customer in customers:
        cid = int(customer["id"])
        dates = order_dates.get(cid, [])
        result[cid] = (
            customer["first_name"],
            customer["last_name"],
            min(dates) if dates else None,
            max(dates) if dates else None,
            len(dates),
            Decimal(cents.get(cid, 0)) / Decimal(100),
        )
    return result


def test_customers_reproduces_jaffle_shop(project: DbtProject, jaffle_reference: Path) -> None:
    project.copy_seeds(jaffle_reference)
    (project.root / "seeds" / "raw_web_events.csv").write_text(WEB_EVENTS_HEADER)

    result = project.build()
    assert_build_ok(result)

    expected = jaffle_shop_customers(jaffle_reference)
    assert len(expected) == 100
    # The reference data must cover customers without orders (the 0 rule).
    assert any(row[4] == 0 for row in expected.values())

    rows = project.query(
        "select customer_id, first_name, last_name, first_order, most_recent_order, "
        "number_of_orders, customer_lifetime_value "
        f"from {project.schema}.customers"
    )
    assert len(rows) == 100
    actual = {row[0]: tuple(row[1:]) for row in rows}
    assert len(actual) == 100, "customer_id is not unique"
    assert set(actual) == set(expected)

    for cid in sorted(expected):
        first_name, last_name, first_order, most_recent_order, orders, value = actual[cid]
        want = expected[cid]
        assert (first_name, last_name) == want[:2], cid
        # Dates as dates (not timestamps), counts as integers, money exact.
        for got in (first_order, most_recent_order):
            assert got is None or (isinstance(got, date) and not isinstance(got, datetime)), (cid, got)
        assert (first_order, most_recent_order) == want[2:4], cid
        assert isinstance(orders, int) and orders == want[4], (cid, orders, want[4])
        assert isinstance(value, Decimal), (cid, value)
        assert value == want[5], (cid, value, want[5])

    # With no web events, the stream holds every account, order and payment.
    raw_rows = sum(len(read_csv(jaffle_reference / f"{name}.csv")) for name in RAW_TABLES[:3])
    assert project.query(f"select count(*) from {project.schema}.customer_stream") == [(raw_rows,)]
