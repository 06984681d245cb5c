"""The incremental customer_stream always equals a full rebuild.

A property-based test: hypothesis draws sequences of loads. Each load has a
load time (the raw tables' `_loaded_at` of every row it writes), which is
also the run's clock (`stream_clock`). A load applies operations to the raw
tables in place, as a loader would, then a plain incremental `dbt run` of
the stream follows. The operations are drawn to break the stream's
assumptions:

- sources whose latest `ts` differ by hours to weeks (page views start five
  days behind the other sources, a `burst` pushes one source days ahead;
  late rows are late against their own source's clock, never against a
  global one);
- rows that arrive months late, with the load's load stamp;
- restatements across the window edge, in both directions;
- keys delivered twice, identical or with different values (and another
  `ts`), both versions staying in the raw table;
- rows dated beyond the clock (held back, then admitted once the clock
  passes them, or never: year 2099);
- equal timestamps, hard deletes;
- definitions changed between runs: a feature declared on orders, the
  payments taken out of the stream's list and put back, the page views
  renamed. The runs after such a change must re-derive (or remove) that
  activity by themselves, with no variable.

Three activities declare `loaded_at` (customers, orders, payments); page
views do not (the test project drops the declaration), so both kinds of
scope are drawn. After every plain run the stream must equal the stream
computed from scratch over the same sources, in every column, unless a
change is one that no cursor can see (an out-of-window change of the page
views, a hard delete out of its activity's window): then the plain run
must be exact outside the partitions such changes touch, and a
reconciliation run (`stream_reconcile: true`) must restore equality
everywhere. Each run also checks that the stream holds one row per key.

The full rebuild is the same `activity_schema.stream` macro compiled as a
plain view (`customer_stream_full`), built in the same invocation with the
same clock. Which changes a plain run must apply is decided here, from the
rules of the README, never from the SQL. JAFFLE_SLOW=1 runs more examples.
"""

from __future__ import annotations

import copy
import os
from datetime import date, datetime, timedelta
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.python.dbt_harness import DbtProject, FULL_STREAM_VIEW
from tools.generate_data import generate

LOOKBACK_HOURS = 72
TOLERANCE_HOURS = 24
WEB_LAG_DAYS = 5
EXAMPLES = 100 if os.environ.get("JAFFLE_SLOW") else 25
FULL_VIEW = FULL_STREAM_VIEW

TABLES = ("raw_customers", "raw_orders", "raw_payments", "raw_web_events")
ACTIVITY = {
    "raw_customers": "created_account",
    "raw_orders": "placed_order",
    "raw_payments": "made_payment",
    "raw_web_events": "viewed_page",
}
# Page views declare no load column in the test project.
LOADED = {"raw_customers", "raw_orders", "raw_payments"}
TS_COLUMN = {
    "raw_customers": "created_at",
    "raw_orders": "order_date",
    "raw_payments": "created_at",
    "raw_web_events": "occurred_at",
}


def row_ts(table: str, row: dict[str, Any]) -> datetime:
    """The stream's ts of a raw row (an order at its date's midnight)."""
    value = row[TS_COLUMN[table]]
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    return value


def with_ts(table: str, row: dict[str, Any], ts: datetime) -> dict[str, Any]:
    moved = dict(row)
    moved[TS_COLUMN[table]] = ts.date() if table == "raw_orders" else ts
    return moved


# -- operations ---------------------------------------------------------------

# Restatements across the window edge are drawn more often than the rest:
# on the page views (no load column) only the window sees them.
KINDS = (
    "insert", "insert", "burst", "duplicate", "conflict_same_ts",
    "conflict_moved", "tie", "restate_out", "restate_out", "restate_out",
    "restate_in", "restate_in", "restate_value", "delete", "future_soon",
    "future_far",
)
TIMINGS = ("recent", "late", "late", "edge", "old", "old")

operation = st.tuples(
    st.sampled_from(KINDS),
    st.sampled_from(TABLES),
    st.integers(min_value=0, max_value=10**6),  # which row
    st.sampled_from(TIMINGS),
    st.integers(min_value=0, max_value=10**6),  # hours / value variant
)
# Definition changes, each toggled on or off by a load, and the raw table
# whose activity it redefines (adds or removes).
DEFINITIONS = {
    "feature": "raw_orders",  # placed_order declares order_date too
    "drop_payments": "raw_payments",  # made_payment leaves the list
    "rename_views": "raw_web_events",  # viewed_page becomes visited_page
}
toggles = st.one_of(
    st.just(()),
    st.just(()),
    st.lists(st.sampled_from(sorted(DEFINITIONS)), min_size=1, max_size=2),
)
loads = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=240),  # hours the clock moves on
        st.lists(operation, min_size=1, max_size=10),
        toggles,
    ),
    min_size=1,
    max_size=3,
)


class Load:
    """Applies operations to the raw tables; records what a run must see.

    `state` is the stream before the run: {activity: (latest ts, latest
    _loaded_at)}. A change is visible when a plain run must apply it: every
    change of a table with a load column (its rows carry the load's stamp),
    except a hard delete out of its activity's window; a change of the page
    views when a version it touches lies in their window, a restatement
    that moves a row across the window edge included. The (activity,
    entity) partitions of the other changes are `blind`: a plain run must
    be exact everywhere else, and a reconciliation everywhere.
    """

    def __init__(self, tables, state, loaded_at: datetime, previous: datetime,
                 names: dict[str, str] = ACTIVITY):
        self.names = names  # each raw table's activity in the stream
        self.previous_horizon = previous + timedelta(hours=TOLERANCE_HOURS)
        self.tables = tables
        self.state = state
        self.loaded_at = loaded_at
        self.clock = loaded_at
        self.blind: set[tuple[str, str]] = set()
        self.latest_added: datetime | None = None
        # Rows with an id from here on were added by this load: the stream
        # holds no version of them yet.
        self.first_new_id = {
            table: max((row.get("id", 0) for row in rows), default=0) + 1
            for table, rows in tables.items()
        }

    # -- time ------------------------------------------------------------
    def table_hwm(self, table: str) -> datetime:
        latest = self.state.get(self.names[table])
        if latest is not None:
            return latest[0]
        return max(row_ts(table, r) for r in self.tables[table])

    def window_start(self, table: str) -> datetime:
        return self.table_hwm(table) - timedelta(hours=LOOKBACK_HOURS)

    def timing_ts(self, table: str, timing: str, draw: int) -> datetime:
        hwm = self.table_hwm(table)
        if timing == "recent":
            hours = draw % 36
        elif timing == "late":  # inside the table's own window
            hours = -(1 + draw % (LOOKBACK_HOURS - 12))
        elif timing == "edge":  # just outside the window
            hours = -(LOOKBACK_HOURS + 1 + draw % 24)
        else:  # months late
            hours = -(LOOKBACK_HOURS + 24 * (10 + draw % 120))
        return hwm + timedelta(hours=hours, seconds=draw % 3600)

    def in_window(self, table: str, ts: datetime) -> bool:
        return ts >= self.window_start(table)

    def note(self, table: str, old=(), new=(), deleted: bool = False) -> None:
        """Records the partitions of a change that a plain run cannot see.

        `old`: versions the stream may hold (a row beyond the previous run's
        horizon was held back, so the stream does not hold it, and a row
        this same load added is not in it either); `new`: versions this
        load writes.
        """
        if table in LOADED and not deleted:
            return
        old = [row for row in old
               if row.get("id", 0) < self.first_new_id.get(table, 0)]
        start = self.window_start(table)
        if any(start <= row_ts(table, row) <= self.previous_horizon
               for row in old) or any(row_ts(table, row) >= start for row in new):
            return
        for row in (*old, *new):
            self.blind.add((self.names[table], self.entity(table, row)))
            if table == "raw_web_events":
                # Identity resolution: a page view no cursor sees may be a
                # login, which decides the customer of every other view of
                # its visitor, so every partition those views can fall in
                # is out of sight too: the visitor's own and those of every
                # customer who logs in on it.
                visitor = row["visitor_id"]
                self.blind.add((self.names[table], f"web_{visitor}"))
                for view in self.tables[table]:
                    if view["visitor_id"] == visitor and view["customer_id"] is not None:
                        self.blind.add((self.names[table],
                                        self.canonical(view["customer_id"])))

    def rederived(self, tables) -> None:
        """The activities of `tables` are redefined: a run reads them whole."""
        names = {self.names[table] for table in tables}
        self.blind = {(a, e) for a, e in self.blind if a not in names}

    def canonical(self, customer: Any) -> str:
        """The end of a customer's alias chain (the stream's customer)."""
        targets = {str(a["customer_id"]): str(a["canonical_customer_id"])
                   for a in self.tables.get("raw_customer_aliases", [])}
        customer = str(customer)
        for _ in range(len(targets) + 1):
            if customer not in targets:
                break
            customer = targets[customer]
        return customer

    def entity(self, table: str, row: dict) -> str:
        """coalesce(customer, anonymous_customer_id) of a raw row, the
        customer at the end of its alias chain."""
        if table == "raw_customers":
            return self.canonical(row["id"])
        if table == "raw_orders":
            return self.canonical(row["user_id"])
        if table == "raw_payments":
            order = next(o for o in self.tables["raw_orders"]
                         if o["id"] == row["order_id"])
            return self.canonical(order["user_id"])
        if row["customer_id"] is not None:
            return self.canonical(row["customer_id"])
        return f"web_{row['visitor_id']}"

    def added(self, table: str, ts: datetime) -> None:
        on_time = ts <= self.clock + timedelta(hours=TOLERANCE_HOURS)
        if on_time and (self.latest_added is None or ts > self.latest_added):
            self.latest_added = ts

    # -- helpers ---------------------------------------------------------
    def next_id(self, table: str) -> int:
        return max((row["id"] for row in self.tables[table]), default=0) + 1

    def pick(self, table: str, index: int, where=lambda row: True):
        rows = [row for row in self.tables[table] if where(row)]
        return rows[index % len(rows)] if rows else None

    def has_payments(self, order_id: int) -> bool:
        return any(p["order_id"] == order_id for p in self.tables["raw_payments"])

    def movable(self, table: str):
        """Rows that may change ts or disappear (orders without payments)."""
        if table == "raw_orders":
            return lambda row: not self.has_payments(row["id"])
        return lambda row: True

    def stamp(self, row: dict) -> dict:
        row = dict(row)
        row["_loaded_at"] = self.loaded_at
        return row

    def replace(self, table: str, old: dict, new: dict) -> None:
        self.tables[table] = [
            self.stamp(new) if r is old else r for r in self.tables[table]
        ]

    def apply(self, kind, table, index, timing, draw):
        getattr(self, kind)(table, index, timing, draw)

    # -- operations ------------------------------------------------------
    def insert(self, table, index, timing, draw):
        ts = self.timing_ts(table, timing, draw)
        row = self.new_row(table, index, ts, draw)
        if row is not None:
            self.tables[table].append(self.stamp(row))
            self.note(table, new=[row])
            self.added(table, ts)

    def burst(self, table, index, timing, draw):
        """Several rows days ahead of the table's latest ts."""
        start = self.table_hwm(table) + timedelta(days=1 + draw % 14)
        for step in range(1 + draw % 4):
            ts = start + timedelta(hours=step * 5, seconds=draw % 977)
            row = self.new_row(table, index + step, ts, draw + step)
            if row is not None:
                self.tables[table].append(self.stamp(row))
                self.note(table, new=[row])
                self.added(table, ts)

    def tie(self, table, index, timing, draw):
        other = self.pick(table, index)
        if other is None:
            return
        ts = row_ts(table, other)
        row = self.new_row(table, index, ts, draw, like=other)
        if row is not None:
            self.tables[table].append(self.stamp(row))
            self.note(table, new=[row])

    def duplicate(self, table, index, timing, draw):
        """The same row again, with this load's stamp."""
        row = self.pick(table, index)
        if row is not None:
            self.tables[table].append(self.stamp(row))

    def conflict_same_ts(self, table, index, timing, draw):
        """A second version of an existing key: other values, same ts."""
        self.conflict(table, index, None, draw)

    def conflict_moved(self, table, index, timing, draw):
        """A second version of an existing key: other values, another ts."""
        self.conflict(table, index, timing, draw)

    def conflict(self, table, index, timing, draw):
        row = self.pick(table, index, self.movable(table))
        if row is None:
            return
        other = self.changed_values(table, row, draw)
        if timing is not None:
            other = with_ts(table, other, self.timing_ts(table, timing, draw))
        self.tables[table].append(self.stamp(other))
        self.note(table, old=[row], new=[other])

    def restate_out(self, table, index, timing, draw):
        """A row inside the window moves to `timing` (maybe out of it)."""
        self.restate_ts(table, index, timing, draw, inside=True)

    def restate_in(self, table, index, timing, draw):
        """A row older than the window moves to `timing` (maybe into it)."""
        self.restate_ts(table, index, timing, draw, inside=False)

    def restate_ts(self, table, index, timing, draw, inside):
        def where(r):
            return self.movable(table)(r) and (
                self.in_window(table, row_ts(table, r)) == inside)

        row = self.pick(table, index, where)
        if row is None:
            return
        moved = with_ts(table, row, self.timing_ts(table, timing, draw))
        self.replace(table, row, moved)
        self.note(table, old=[row], new=[moved])

    def restate_value(self, table, index, timing, draw):
        row = self.pick(table, index)
        if row is None:
            return
        changed = self.changed_values(table, row, draw)
        self.replace(table, row, changed)
        self.note(table, old=[row], new=[changed])

    def delete(self, table, index, timing, draw):
        if table == "raw_customers":
            return  # customers have dependants
        row = self.pick(table, index, self.movable(table))
        if row is None:
            return
        self.note(table, old=[row], deleted=True)
        self.tables[table] = [r for r in self.tables[table] if r["id"] != row["id"]]

    def future_soon(self, table, index, timing, draw):
        """A row a little beyond the clock: a later load admits it."""
        ts = self.clock + timedelta(hours=TOLERANCE_HOURS + 1 + draw % 200)
        self.future(table, index, ts, draw)

    def future_far(self, table, index, timing, draw):
        """A row dated 2099: held back for good."""
        self.future(table, index, datetime(2099, 1, 1) + timedelta(hours=draw % 5000), draw)

    def future(self, table, index, ts, draw):
        row = self.new_row(table, index, ts, draw)
        if row is not None:
            self.tables[table].append(self.stamp(row))

    # -- rows ------------------------------------------------------------
    def changed_values(self, table: str, row: dict, draw: int) -> dict:
        new = dict(row)
        if table == "raw_customers":
            new["first_name"] = f"{row['first_name']}{draw % 7}"
        elif table == "raw_orders":
            statuses = [s for s in ("completed", "returned", "shipped")
                        if s != row["status"]]
            new["status"] = statuses[draw % len(statuses)]
        elif table == "raw_payments":
            if draw % 2:
                new["amount"] = row["amount"] + 100 + draw % 900
            else:  # another order, maybe of another customer
                new["order_id"] = self.pick("raw_orders", draw)["id"]
        else:
            pages = [p for p in ("/", "/menu", "/cart", "/checkout")
                     if p != row["page"]]
            new["page"] = pages[draw % len(pages)]
        return new

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

# The text edits of each definition change, per project file.
EDITS = {
    "models/activities/act_placed_order.sql": {
        "feature": (
            "features={'order_id': 'integer', 'order_status': 'string'}",
            "features={'order_id': 'integer', 'order_status': 'string',"
            " 'order_date': 'date'}",
        ),
    },
    "macros/customer_activities.sql": {
        "drop_payments": ("        ref('act_made_payment'),\n", ""),
    },
    "models/activities/act_viewed_page.sql": {
        "rename_views": ("activity='viewed_page'", "activity='visited_page'"),
    },
}


class StreamCheck:
    """One project per engine, reset to the initial state for each example."""

    def __init__(self, project: DbtProject):
        self.project = project
        self.initial = generate(seed=11, scale=0.05)
        # Page views (no load column) lag the other sources by five days.
        latest = max(row_ts(t, r) for t in TABLES for r in self.initial[t])
        self.initial["raw_web_events"] = [
            r for r in self.initial["raw_web_events"]
            if r["occurred_at"] <= latest - timedelta(days=WEB_LAG_DAYS)
        ]
        project.write_seeds(self.initial)
        page_views = project.root / "models" / "activities" / "act_viewed_page.sql"
        text = page_views.read_text()
        assert "    loaded_at='_loaded_at',\n" in text
        page_views.write_text(text.replace("    loaded_at='_loaded_at',\n", ""))
        self.base = {path: (project.root / path).read_text() for path in EDITS}
        self.flags: frozenset[str] = frozenset()
        (project.root / "models" / "stream" / "customer_stream_full.sql").write_text(
            FULL_VIEW
        )
        self.initial_clock = max(
            row["_loaded_at"] for rows in self.initial.values() for row in rows
        )
        result = project.build("--vars", self.clock_vars(self.initial_clock))
        assert result.success, result.log[-4000:]
        project.parse()  # later runs reuse it: `--vars` would reparse
        project.execute(
            "create table stream_initial as select * from "
            f"{project.schema}.customer_stream",
            "create table identity_initial as select * from "
            f"{project.schema}.customer_stream__identity",
        )

    @staticmethod
    def clock_vars(clock: datetime, **extra: Any) -> str:
        pairs = [f"stream_clock: '{clock:%Y-%m-%d %H:%M:%S}'"]
        pairs += [f"{key}: {value}" for key, value in extra.items()]
        return "{" + ", ".join(pairs) + "}"

    def define(self, flags: frozenset[str]) -> list[str]:
        """Writes the project files of the definition `flags`; returns the
        raw tables whose activity this redefines."""
        changed = sorted(self.flags ^ flags)
        if not changed:
            return []
        for path, text in self.base.items():
            for flag in flags:
                old, new = EDITS[path].get(flag, ("", ""))
                assert not old or old in text, (path, flag)
                text = text.replace(old, new) if old else text
            (self.project.root / path).write_text(text)
        self.flags = flags
        self.project.parse()
        return [DEFINITIONS[flag] for flag in changed]

    def names(self) -> dict[str, str]:
        """Each raw table's activity under the current definition."""
        if "rename_views" in self.flags:
            return {**ACTIVITY, "raw_web_events": "visited_page"}
        return ACTIVITY

    def reset(self) -> dict[str, list[dict]]:
        if self.define(frozenset()):
            # The views of the previous example's definition go too.
            result = self.project.dbt(
                "run", "--select", "act_placed_order", "act_viewed_page",
                "customer_stream_full", "--vars", self.clock_vars(self.initial_clock),
                manifest=True,
            )
            assert result.success, result.log[-4000:]
        tables = copy.deepcopy(self.initial)
        self.project.load_raw(tables)
        stream = f"{self.project.schema}.customer_stream"
        applied = f"{stream}__identity"
        self.project.execute(
            f"delete from {stream}",
            f"insert into {stream} select * from stream_initial",
            # The identity inputs the initial build applied, with it.
            f"delete from {applied}",
            f"insert into {applied} select * from identity_initial",
        )
        return tables

    def state(self) -> dict[str, tuple[datetime, datetime | None]]:
        rows = self.project.query(
            "select activity, max(ts), max(_loaded_at) from "
            f"{self.project.schema}.customer_stream group by activity"
        )
        return {activity: (ts, loaded) for activity, ts, loaded in rows}

    def run(self, clock: datetime, **extra: Any) -> None:
        # The activity views too: a definition change rewrites them.
        result = self.project.dbt(
            "run", "--select", "act_placed_order", "act_viewed_page",
            "customer_stream", "customer_stream_full",
            "--vars", self.clock_vars(clock, **extra), manifest=True,
        )
        assert result.success, result.log[-4000:]

    def duplicated_keys(self) -> list[tuple]:
        return self.project.query(
            f"select activity, activity_id, count(*) from "
            f"{self.project.schema}.customer_stream "
            "group by activity, activity_id having count(*) > 1"
        )

    def differences(self, blind: set[tuple[str, str]] = frozenset()) -> list[tuple]:
        """Rows of one side only, outside the `blind` (activity, entity)s."""
        return [
            row for row in self._differences()
            # (side, activity_id, ts, customer, anonymous_customer_id, activity, …)
            if (row[5], row[3] if row[3] is not None else row[4]) not in blind
        ]

    def _differences(self) -> list[tuple]:
        return self.project.stream_differences()


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
@given(sequence=loads)
def test_incremental_stream_equals_full_rebuild(stream_check: StreamCheck, sequence):
    tables = stream_check.reset()
    assert stream_check.differences() == []
    loaded_at = stream_check.initial_clock
    for hours, operations, toggled in sequence:
        previous = loaded_at
        loaded_at += timedelta(hours=hours)
        load = Load(tables, stream_check.state(), loaded_at, previous,
                    names=stream_check.names())
        for op in operations:
            load.apply(*op)
        redefined = stream_check.define(stream_check.flags ^ frozenset(toggled))
        load.rederived(redefined)
        if redefined:
            event("definition changed")
        # The clock never lags the rows a load brings in on time.
        if load.latest_added is not None and load.latest_added > loaded_at:
            loaded_at = load.latest_added
        tables = load.tables
        stream_check.project.load_raw(tables)

        stream_check.run(loaded_at)
        assert stream_check.duplicated_keys() == []
        event("blind partitions" if load.blind else "every change visible")
        assert stream_check.differences(load.blind) == [], (
            f"plain incremental run differs after {operations}"
            f" (definition {sorted(stream_check.flags)}, redefined {redefined})"
        )
        if load.blind:
            stream_check.run(loaded_at, stream_reconcile="true")
            assert stream_check.duplicated_keys() == []
            assert stream_check.differences() == [], (
                f"reconciliation run differs after {operations}"
            )
