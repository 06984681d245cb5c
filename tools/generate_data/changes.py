"""Changes a batch makes besides its new rows: deletes, restatements, re-deliveries, future rows.

They apply to the shop's tables (:data:`~.tables.SHOP_TABLES`); the identity
tables only grow. Rows whose clock runs far ahead
(:func:`~.tables.is_clock_skewed`) are never restated, re-delivered or
delivered in a conflicting version; they can be deleted like any row. No
change alters who is logged in on a view (:mod:`.visitors`): ``/login`` and
``/logout`` views keep their page and are deleted only with their customer,
and a view moves only as far as the login rule allows.
"""

from __future__ import annotations

import random
import string
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .shop import FIRST_NAMES, PAGES, seconds
from .tables import (
    SHOP_TABLES,
    Row,
    Tables,
    is_clock_skewed,
    row_moment,
)
from .visitors import STATE_PAGES, Timeline, visitor_timelines

RECENT_DAYS = 7  # rows younger than this (before the high-water mark) ...
RECENT_WEIGHT = 50  # ... are this much more likely to be restated/duplicated
RESTATE_MAX_SHIFT = 6 * 3600  # seconds a restated payment / web event may move forward
CONFLICT_TIMESTAMP_SHARE = 0.3  # conflicting versions that also move their timestamp
STATUS_RESTATEMENTS = {
    "placed": ("shipped",),
    "shipped": ("completed",),
    "completed": ("return_pending", "returned"),
    "return_pending": ("returned", "completed"),
    "returned": ("completed",),
}


def weighted_order(rng: random.Random, items: list[tuple[str, Row]], hwm: datetime) -> list[tuple[str, Row]]:
    """``items`` in a random order where recent rows tend to come first."""
    recent = hwm - timedelta(days=RECENT_DAYS)
    keyed = []
    for table, row in items:
        weight = RECENT_WEIGHT if row_moment(table, row) >= recent else 1
        keyed.append((rng.random() ** (1 / weight), table, row))
    keyed.sort(key=lambda k: -k[0])
    return [(table, row) for _, table, row in keyed]


def unique_rows(state: Tables) -> list[tuple[str, Row]]:
    """(table, row) for rows whose id appears once in its table, in table order (clock-skewed rows left out)."""
    result = []
    for name in SHOP_TABLES:
        counts = Counter(r["id"] for r in state[name])
        result += [(name, r) for r in state[name] if counts[r["id"]] == 1 and not is_clock_skewed(name, r)]
    return result


def apply_deletes(rng: random.Random, state: Tables, count: int) -> dict[str, list[Row]]:
    """Delete ``count`` rows (cascading to dependants); returns the deleted rows per table.

    The row with the highest id of each table and an event of the highest
    visitor number are kept, so that later batches, which only see the
    current state, never hand out a deleted id again.
    """
    deleted: dict[str, set[int]] = {name: set() for name in SHOP_TABLES}
    if count <= 0:
        return {name: [] for name in SHOP_TABLES}
    protected = {name: {max(r["id"] for r in state[name])} for name in SHOP_TABLES if state[name]}
    numbered = [(int(e["visitor_id"][1:]), e["id"]) for e in state["raw_web_events"] if e["visitor_id"][1:].isdigit()]
    if numbered:
        protected["raw_web_events"].add(max(numbered)[1])
    # a login or logout goes only with its customer (who is logged in on the other views stays)
    state_changes = {e["id"] for e in state["raw_web_events"] if e["page"] in STATE_PAGES}
    sizes = {name: Counter(r["id"] for r in state[name]) for name in SHOP_TABLES}
    orders_of: dict[int, set[int]] = {}
    for o in state["raw_orders"]:
        orders_of.setdefault(o["user_id"], set()).add(o["id"])
    payments_of: dict[int, set[int]] = {}
    for p in state["raw_payments"]:
        payments_of.setdefault(p["order_id"], set()).add(p["id"])
    events_of: dict[int, set[int]] = {}
    for e in state["raw_web_events"]:
        if e["customer_id"] is not None:
            events_of.setdefault(e["customer_id"], set()).add(e["id"])
    candidates = [(name, i) for name in SHOP_TABLES for i in sorted(sizes[name])]
    rng.shuffle(candidates)
    remaining = count
    for name, row_id in candidates:
        if remaining == 0:
            break
        if name == "raw_web_events" and row_id in state_changes:
            continue
        cascade: dict[str, set[int]] = {n: set() for n in SHOP_TABLES}
        cascade[name].add(row_id)
        if name == "raw_customers":
            cascade["raw_orders"] |= orders_of.get(row_id, set())
            cascade["raw_web_events"] |= events_of.get(row_id, set())
        for order_id in cascade["raw_orders"]:
            cascade["raw_payments"] |= payments_of.get(order_id, set())
        if any(ids & protected.get(n, set()) for n, ids in cascade.items()):
            continue
        size = sum(sizes[n][i] for n, ids in cascade.items() for i in ids - deleted[n])
        if size == 0 or size > remaining:
            continue
        for n, ids in cascade.items():
            deleted[n] |= ids
        remaining -= size
    removed = {}
    for name in SHOP_TABLES:
        removed[name] = [r for r in state[name] if r["id"] in deleted[name]]
        state[name] = [r for r in state[name] if r["id"] not in deleted[name]]
    return removed




@dataclass
class _Bounds:
    """What keeps a new version of a row consistent with the other tables."""

    signed_up: dict[int, date]  # customer id -> sign-up day
    first_payment: dict[int, date]  # order id -> day of its first payment
    timelines: dict[str, Timeline]  # who is logged in on each visitor when


def _bounds(state: Tables) -> _Bounds:
    signed_up = {c["id"]: c["created_at"].date() for c in state["raw_customers"]}
    first_payment: dict[int, date] = {}
    for p in state["raw_payments"]:
        day = p["created_at"].date()
        first_payment[p["order_id"]] = min(day, first_payment.get(p["order_id"], day))
    return _Bounds(signed_up, first_payment, visitor_timelines(state["raw_web_events"]))


def _shift_timestamp(
    rng: random.Random, table: str, row: Row, new: Row, hwm: datetime, bounds: _Bounds
) -> bool:
    """Move the event time of ``new`` (a copy of ``row``); False if it cannot move.

    Customers sign up earlier, payments and web events happen later (a web
    event stays on the same side of every ``/login`` and ``/logout`` of its
    visitor, see :meth:`~.visitors.Timeline.move_limit`), an order date moves
    by up to three days between sign-up and first payment.
    """
    if table == "raw_customers":
        new["created_at"] = row["created_at"] - seconds(rng, 60, 12 * 3600)
        return True
    if table == "raw_orders":
        d = row["order_date"]
        low = max(bounds.signed_up[row["user_id"]], d - timedelta(days=3))
        high = min(bounds.first_payment.get(row["id"], max(d, hwm.date())), d + timedelta(days=3))
        choices = [low + timedelta(days=k) for k in range((high - low).days + 1)]
        choices = [c for c in choices if c != d]
        if not choices:
            return False
        new["order_date"] = rng.choice(choices)
        return True
    if table == "raw_payments":
        new["created_at"] = row["created_at"] + seconds(rng, 60, RESTATE_MAX_SHIFT)
        return True
    at = row["occurred_at"]
    limit = at + timedelta(seconds=RESTATE_MAX_SHIFT)
    timeline = bounds.timelines.get(row["visitor_id"])
    rule = timeline.move_limit(row) if timeline is not None else None
    if rule is not None:
        limit = min(limit, rule)
    if limit <= at:
        return False
    new["occurred_at"] = at + timedelta(seconds=rng.randint(1, int((limit - at).total_seconds())))
    return True


def _change_values(rng: random.Random, table: str, row: Row, new: Row) -> bool:
    """Change a non-key, non-time column of ``new`` (a copy of ``row``); False if impossible.

    Customer first or last name, order status (to a later status), payment
    amount, web event page (a ``/login`` or ``/logout`` view keeps its page,
    and no view becomes one).
    """
    if table == "raw_customers":
        if rng.random() < 0.5:
            new["first_name"] = rng.choice([n for n in FIRST_NAMES if n != row["first_name"]])
        else:
            new["last_name"] = rng.choice([c for c in string.ascii_uppercase if c + "." != row["last_name"]]) + "."
        return True
    if table == "raw_orders":
        if row["status"] not in STATUS_RESTATEMENTS:
            return False
        new["status"] = rng.choice(STATUS_RESTATEMENTS[row["status"]])
        return True
    if table == "raw_payments":
        delta = rng.choice([-1, 1]) * rng.randrange(50, 501, 50)
        new["amount"] = row["amount"] + delta if row["amount"] + delta > 0 else row["amount"] + abs(delta)
        return True
    if row["page"] in STATE_PAGES:
        return False
    new["page"] = rng.choice([p for p in PAGES if p not in STATE_PAGES and p != row["page"]])
    return True


def _restate_row(
    rng: random.Random, table: str, row: Row, hwm: datetime, bounds: _Bounds
) -> tuple[Row, bool, bool] | None:
    """A new version of ``row``: (row, timestamp changed, values changed), or None if impossible."""
    new = dict(row)
    draw = rng.random()
    want_time, want_values = draw >= 0.4, draw < 0.4 or draw >= 0.7
    changed_time = want_time and _shift_timestamp(rng, table, row, new, hwm, bounds)
    changed_values = (want_values or not changed_time) and _change_values(rng, table, row, new)
    if not (changed_time or changed_values):
        return None
    return new, changed_time, changed_values


def apply_restatements(
    rng: random.Random, state: Tables, count: int, hwm: datetime
) -> tuple[dict[str, list[tuple[Row, Row]]], dict[str, Counter]]:
    """Replace ``count`` rows in place by new versions; returns (old, new) pairs per table."""
    restated: dict[str, list[tuple[Row, Row]]] = {name: [] for name in SHOP_TABLES}
    kinds: dict[str, Counter] = {name: Counter() for name in SHOP_TABLES}
    if count <= 0:
        return restated, kinds
    bounds = _bounds(state)
    replacements: dict[tuple[str, int], Row] = {}
    for table, row in weighted_order(rng, unique_rows(state), hwm):
        if len(replacements) == count:
            break
        result = _restate_row(rng, table, row, hwm, bounds)
        if result is None:
            continue
        new, changed_time, changed_values = result
        replacements[(table, row["id"])] = new
        restated[table].append((row, new))
        kinds[table]["timestamp_changed"] += changed_time
        kinds[table]["values_changed"] += changed_values
    for name in SHOP_TABLES:
        state[name] = [replacements.get((name, r["id"]), r) for r in state[name]]
    return restated, kinds


def _candidates(
    rng: random.Random, state: Tables, new_ids: dict[str, set[int]], hwm: datetime
) -> tuple[list[tuple[str, Row]], list[tuple[str, Row]]]:
    """Rows that may be delivered again: (this batch's new rows shuffled, older rows recent first)."""
    unique = unique_rows(state)
    fresh = [(t, r) for t, r in unique if r["id"] in new_ids[t]]
    rng.shuffle(fresh)
    old = weighted_order(rng, [(t, r) for t, r in unique if r["id"] not in new_ids[t]], hwm)
    return fresh, old


def _pick(rng: random.Random, fresh: list[tuple[str, Row]], old: list[tuple[str, Row]]) -> tuple[str, Row] | None:
    """Take the next candidate, from either list with even odds (None when both are empty)."""
    pool = fresh if (rng.random() < 0.5 and fresh) or not old else old
    return pool.pop(0) if pool else None


def apply_duplicates(
    rng: random.Random, state: Tables, count: int, new_ids: dict[str, set[int]], hwm: datetime
) -> tuple[dict[str, list[Row]], list[Row]]:
    """Append ``count`` copies of rows (new or existing) right after their original.

    A copy has the same values as its original; only its ``_loaded_at`` is
    the batch's (set later). Returns the originals per table and the copies.
    """
    chosen: dict[str, set[int]] = {name: set() for name in SHOP_TABLES}
    if count > 0:
        fresh, old = _candidates(rng, state, new_ids, hwm)
        for _ in range(count):
            picked = _pick(rng, fresh, old)
            if picked is None:
                break
            table, row = picked
            chosen[table].add(row["id"])
    originals: dict[str, list[Row]] = {name: [] for name in SHOP_TABLES}
    copies: list[Row] = []
    for name in SHOP_TABLES:
        rows: list[Row] = []
        for row in state[name]:
            rows.append(row)
            if row["id"] in chosen[name]:
                rows.append(dict(row))
                copies.append(rows[-1])
                originals[name].append(row)
        state[name] = rows
    return originals, copies


def apply_conflicts(
    rng: random.Random, state: Tables, count: int, new_ids: dict[str, set[int]], hwm: datetime
) -> tuple[dict[str, list[Row]], dict[str, int]]:
    """Deliver ``count`` rows (new or existing) again in another version, right after the original.

    The second version has the same id and another value in a non-key
    column (see :func:`_change_values`); in about
    :data:`CONFLICT_TIMESTAMP_SHARE` of them its timestamp moves too (as a
    restatement would move it). Both versions stay in the table. Returns the
    second versions per table and, per table, how many moved their timestamp.
    """
    versions: dict[str, dict[int, Row]] = {name: {} for name in SHOP_TABLES}
    moved: dict[str, int] = {name: 0 for name in SHOP_TABLES}
    if count > 0:
        bounds = _bounds(state)
        fresh, old = _candidates(rng, state, new_ids, hwm)
        made = 0
        while made < count:
            picked = _pick(rng, fresh, old)
            if picked is None:
                break
            table, row = picked
            new = dict(row)
            if not _change_values(rng, table, row, new):
                continue
            if rng.random() < CONFLICT_TIMESTAMP_SHARE and _shift_timestamp(rng, table, row, new, hwm, bounds):
                moved[table] += 1
            versions[table][row["id"]] = new
            made += 1
    added: dict[str, list[Row]] = {name: [] for name in SHOP_TABLES}
    for name in SHOP_TABLES:
        if not versions[name]:
            continue
        rows: list[Row] = []
        for row in state[name]:
            rows.append(row)
            version = versions[name].get(row["id"])
            if version is not None:
                rows.append(version)
                added[name].append(version)
        state[name] = rows
    return added, moved
