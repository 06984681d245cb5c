"""One simulated ingestion ("next batch") on top of the current raw tables."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from typing import Any

from .changes import (
    apply_conflicts,
    apply_deletes,
    apply_duplicates,
    apply_restatements,
)
from .context import build_context
from .future import FUTURE_YEAR, add_future_rows
from .held_back import assign_held_back, deliver_held_back
from .identity_batch import EVENT_KINDS, IdentityOptions, apply_identity
from .new_rows import (
    LATE,
    MIN_NEW_ROWS,
    ON_TIME,
    TIE,
    VERY_LATE,
    hours,
    materialize,
    plan_new_rows,
)
from .tables import (
    CLOCK_SKEW_TOLERANCE,
    LOADED_AT,
    SHOP_TABLES,
    TABLE_COLUMNS,
    TIME_COLUMNS,
    TIMESTAMP_FORMAT,
    Row,
    Tables,
    format_value,
    high_water_mark,
    latest_load_time,
    row_moment,
)


def _stamp(value: datetime | None) -> str | None:
    return None if value is None else format_value(value)


def _kind_summary(rows: dict[str, list[Row]], **extra: dict[str, Any]) -> dict[str, Any]:
    """count / min / max overall and per shop table (with ids) for one kind of change."""
    tables: dict[str, Any] = {}
    moments: list[datetime] = []
    for name in SHOP_TABLES:
        table_rows = rows.get(name, [])
        values = [r[TIME_COLUMNS[name]] for r in table_rows]
        moments += [row_moment(name, r) for r in table_rows]
        tables[name] = {
            "count": len(table_rows),
            "ids": [r["id"] for r in table_rows],
            "min": format_value(min(values)) if values else None,
            "max": format_value(max(values)) if values else None,
            **{key: value.get(name, 0) for key, value in extra.items()},
        }
    return {
        "count": len(moments),
        "min": _stamp(min(moments, default=None)),
        "max": _stamp(max(moments, default=None)),
        "tables": tables,
    }


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value}")


def _check_hours(name: str, window: tuple[float, float]) -> tuple[float, float]:
    low, high = window
    if not 0 <= low <= high:
        raise ValueError(f"{name} must be (low, high) with 0 <= low <= high, got {window}")
    return low, high


def batch_load_time(previous: datetime | None, high_water_mark_after: datetime) -> datetime:
    """The load time of a batch: ``max(previous + 1 s, midnight after the new high-water mark's day)``.

    ``previous`` is the latest ``_loaded_at`` before the batch (None if no row
    has one, then only the second term counts); ``high_water_mark_after`` is
    the high-water mark of the tables after the batch, without its future rows.
    """
    end_of_period = datetime.combine(high_water_mark_after.date() + timedelta(days=1), time())
    if previous is None:
        return end_of_period
    return max(previous + timedelta(seconds=1), end_of_period)


def next_batch(
    tables: Tables,
    seed: int,
    *,
    days: int = 1,
    new_fraction: float = 0.01,
    late: float = 0.2,
    late_hours: tuple[float, float] = (1, 48),
    very_late: float = 0.0,
    very_late_hours: tuple[float, float] = (100, 2000),
    duplicates: float = 0.0,
    ties: float = 0.0,
    restated: float = 0.0,
    deletes: float = 0.0,
    conflicting: float = 0.0,
    future: int = 0,
    logins: float = 0.0,
    shared_logins: int = 0,
    aliases: int = 0,
    removals: int = 0,
    late_identity: float = 0.0,
    identity_first: int = 0,
) -> tuple[Tables, dict[str, Any]]:
    """Simulate one ingestion: the state of the raw tables ``days`` days later.

    The tables are the current state of the sources as a loader leaves them;
    the input is not modified (a missing identity table counts as empty).
    With ``hwm`` the high-water mark (the latest event time over all tables,
    see :func:`~.tables.high_water_mark`: rows whose event time is more than
    one day after their own ``_loaded_at`` do not count) and ``existing``
    the number of input rows, in this order:

    * held-back accounts: customers an identity row names with an id above
      every ``raw_customers.id`` (left by an earlier batch's
      ``identity_first``) get their ``raw_customers`` row now, signed up
      before the first identity row naming them.
    * ``deletes``: ``round(deletes * existing)`` rows disappear. Deleting a
      customer deletes its orders, their payments and its logged-in web
      events; deleting an order deletes its payments (counted too). The
      highest id of each table (and the highest visitor number) survives,
      so that no later batch hands out a deleted id again.
    * ``restated``: ``round(restated * existing)`` rows (recent ones
      favoured, old ones too) are replaced in place by a new version with the
      same id and a new timestamp and/or new values: customer name or an
      earlier created_at, order status or order_date (kept between sign-up
      and first payment), payment amount or a later created_at, web event
      page or a later occurred_at (who is logged in on every view kept:
      ``/login`` and ``/logout`` views keep their page and only go with
      their customer).
    * new rows, about ``new_fraction * existing`` (at least
      :data:`~.new_rows.MIN_NEW_ROWS` unless ``new_fraction`` is 0): new
      customers with their devices, views and maybe an order; new orders
      (with payments and shopping views) of existing customers; payments of
      unpaid orders; browsing of existing and new visitors. Ids continue
      after each table's maximum (visitor ids too). Each new row is one of:

      - ``on_time``: ``hwm + 1 s`` .. ``hwm + days``;
      - ``late`` (``round(late * n_new)`` rows): ``hwm - late_hours[1]`` ..
        ``hwm - late_hours[0]`` hours;
      - ``very_late`` (``round(very_late * n_new)``): ``hwm -
        very_late_hours[1]`` .. ``hwm - very_late_hours[0]`` hours;
      - ``ties`` (``round(ties * n_new)``): the exact timestamp of another
        new row of the same table and customer (same visitor for views):
        an order on the same date, a payment of the same order at the same
        second, a page view at the same second.

      An order date counts as its midnight and gets the date of its moment.
      Within one activity the classes are handed out earliest first, so a
      sign-up precedes its orders and an order its payments. A view on an
      existing device carries the customer logged in there at its moment.
    * identity events (see :mod:`.identity_batch`), each on time or, for
      ``round(late_identity * events)`` of them where possible, in the late
      window (``late_hours``), after every view of the device concerned.
      Their shop rows take the ids after the new rows:

      - ``logins``: that share of the visitors who never logged in get a
        ``/login`` (and 0-3 more views) by an existing customer or by one who
        signs up just before (a new ``raw_customers`` row, half of them with
        an order, its shopping views and mostly a payment);
      - ``shared_logins``: that many devices of one customer get a login by
        another customer (another person: another alias chain end): the
        owner logs out (``/logout``), maybe anonymous views, the other
        customer logs in, browses and maybe logs out;
      - ``aliases``: that many merges of two accounts not merged yet (the
        first one, and a third of the others, merges the end of an
        existing chain, extending it); never a cycle;
      - ``identity_first``: that many more aliases, each of a new account
        into an existing one, whose ``raw_customers`` row is held back
        until the next batch (its id follows every other customer id,
        future rows included);
      - ``removals``: that many erasure requests of customers not removed
        yet: every fourth from the first at the end of an alias chain,
        every fourth from the second on a shared device, the others with
        web activity where possible.
    * ``duplicates``: ``round(duplicates * n_new)`` rows, new or existing
      (recent favoured), appear a second time right after the original,
      with the same values; only ``_loaded_at`` is the batch's.
    * ``conflicting``: ``round(conflicting * n_new)`` rows, new or existing
      (recent favoured), appear a second time right after the original in
      another version: same id, another value in a non-key column (customer
      first or last name, order status, payment amount, web event page) and
      sometimes a moved timestamp. Both versions stay.
    * ``future``: ``future`` new rows (a count, not a fraction) stamped in
      the year 2099, as a client clock far ahead sends them, spread
      round-robin over web events, orders, payments and customers, with ids
      after every other new row.

    Load time: the batch has one load time ``L = max(previous + 1 s,
    midnight after the day of hwm_after)``, with ``previous`` the latest
    ``_loaded_at`` of the input (left out if no input row has one) and
    ``hwm_after`` the high-water mark of the result without its future rows.
    So ``L`` is later than every earlier load time and not earlier than any
    timestamp the batch writes, except the future rows, which lie more than
    a day after ``L`` and therefore count for no later high-water mark.
    Every row the batch writes (new, late, very late, ties, duplicate and
    conflicting copies, restated versions, future rows, identity rows and
    held-back accounts) gets ``_loaded_at = L``; the other rows keep
    theirs. ``ValueError`` if the future rows would not lie more than a day
    after ``L``.

    Rows with a clock far ahead (earlier future rows) are never restated,
    duplicated or given a conflicting version. Rows keep their position
    (restated rows in place); new rows are appended by id. Returns
    ``(tables, summary)``: the summary (JSON-ready) has the high-water mark
    before/after, the previous and the batch load time (``loaded_at``), row
    counts, and per kind (``new``, ``on_time``, ``late``, ``very_late``,
    ``ties``, ``duplicates``, ``conflicting``, ``restated``, ``deleted``,
    ``future``) the count, the min/max timestamps and per shop table the
    count, ids and min/max; per identity kind (``logins``, ``shared_logins``,
    ``aliases``, ``removals``) ``count``, ``late`` (how many lie before
    ``hwm``), ``min``/``max`` of its rows' timestamps, and: ``visitors``,
    ``customer_ids`` (who logs in), ``new_customer_ids`` and per shop table
    the ids written (logins, shared logins, which also list ``owner_ids``);
    ``customer_ids``, ``canonical_customer_ids`` and ``extends_chain``
    (aliases); ``customer_ids``, ``at_chain_end`` and ``on_shared_device``
    (removals, counting this batch's aliases and shared logins);
    ``identity_first`` (``count``, ``customer_ids`` of the accounts held
    back) and ``held_back_delivered`` (``count``, ``ids``, ``min``/``max``:
    the accounts of earlier batches delivered now). Equal input, seed and
    options give equal output.
    """
    for name, value in (("new_fraction", new_fraction), ("late", late), ("very_late", very_late),
                        ("duplicates", duplicates), ("ties", ties), ("restated", restated),
                        ("deletes", deletes), ("conflicting", conflicting)):
        _check_fraction(name, value)
    if late + very_late + ties > 1.0 + 1e-9:
        raise ValueError("late + very_late + ties must not exceed 1")
    late_low, late_high = _check_hours("late_hours", late_hours)
    very_low, very_high = _check_hours("very_late_hours", very_late_hours)
    if days < 1:
        raise ValueError("days must be at least 1")
    if isinstance(future, bool) or not isinstance(future, int) or future < 0:
        raise ValueError(f"future must be a whole number >= 0, got {future!r}")
    identity = IdentityOptions(logins, shared_logins, aliases, removals, late_identity, identity_first)
    identity.check()
    missing = [name for name in SHOP_TABLES if name not in tables]
    if missing:
        raise ValueError(f"missing tables: {missing}")

    state: Tables = {name: [dict(r) for r in tables.get(name, ())] for name in TABLE_COLUMNS}
    hwm = high_water_mark(state)
    previous_load = latest_load_time(state)
    existing = sum(len(rows) for rows in state.values())
    before = {name: len(rows) for name, rows in state.items()}

    def stream(part: str) -> random.Random:
        return random.Random(f"{seed}:next_batch:{format_value(hwm)}:{existing}:{part}")

    delivered = deliver_held_back(stream("held_back"), state)
    removed = apply_deletes(stream("deletes"), state, round(deletes * existing))
    restatements, restate_kinds = apply_restatements(stream("restated"), state, round(restated * existing), hwm)

    windows = {
        ON_TIME: (hwm + timedelta(seconds=1), hwm + timedelta(days=days)),
        LATE: (hwm - hours(late_high), hwm - hours(late_low)),
        VERY_LATE: (hwm - hours(very_high), hwm - hours(very_low)),
    }
    target = 0 if new_fraction == 0 else max(MIN_NEW_ROWS, round(new_fraction * existing))
    ctx = build_context(state)
    activities = plan_new_rows(stream("new"), ctx, target, ties, late, very_late, windows)
    new_rows = materialize(activities, state, ctx)
    old_visitors = {e["visitor_id"] for e in state["raw_web_events"]}
    for name in SHOP_TABLES:
        state[name] += [row for row, _ in new_rows[name]]
    identity_rows, held, identity_summary = apply_identity(
        stream("identity"), state, old_visitors, identity, hwm, windows
    )
    n_new = sum(len(rows) for rows in new_rows.values())
    new_ids = {name: {row["id"] for row, _ in rows} for name, rows in new_rows.items()}
    duplicated, copies = apply_duplicates(stream("duplicates"), state, round(duplicates * n_new), new_ids, hwm)
    conflicts, moved = apply_conflicts(stream("conflicting"), state, round(conflicting * n_new), new_ids, hwm)
    future_rows = add_future_rows(stream("future"), state, future)
    held_ids = assign_held_back(state, held, identity_summary)

    written: list[Row] = [new for pairs in restatements.values() for _, new in pairs]
    written += delivered + identity_rows
    written += [row for rows in new_rows.values() for row, _ in rows]
    written += copies
    written += [row for rows in conflicts.values() for row in rows]
    for row in written:
        row[LOADED_AT] = None
    future_ids = {id(row) for rows in future_rows.values() for row in rows}
    hwm_after = high_water_mark(
        {name: [r for r in rows if id(r) not in future_ids] for name, rows in state.items()}
    )
    load_time = batch_load_time(previous_load, hwm_after)
    earliest_future = min(
        (row_moment(name, r) for name, rows in future_rows.items() for r in rows), default=None
    )
    if earliest_future is not None and earliest_future <= load_time + CLOCK_SKEW_TOLERANCE:
        raise ValueError(
            f"future rows ({FUTURE_YEAR}) must lie more than a day after the batch load time "
            f"{format_value(load_time)}"
        )
    for row in written:
        row[LOADED_AT] = load_time
    for rows in future_rows.values():
        for row in rows:
            row[LOADED_AT] = load_time

    def of_class(klass: str | None) -> dict[str, list[Row]]:
        return {name: [row for row, k in rows if klass is None or k == klass] for name, rows in new_rows.items()}

    restated_summary = _kind_summary(
        {name: [new for _, new in pairs] for name, pairs in restatements.items()},
        timestamp_changed={name: kinds["timestamp_changed"] for name, kinds in restate_kinds.items()},
        values_changed={name: kinds["values_changed"] for name, kinds in restate_kinds.items()},
    )
    summary: dict[str, Any] = {
        "seed": seed,
        "options": {
            "days": days, "new_fraction": new_fraction, "late": late, "late_hours": [late_low, late_high],
            "very_late": very_late, "very_late_hours": [very_low, very_high], "duplicates": duplicates,
            "ties": ties, "restated": restated, "deletes": deletes, "conflicting": conflicting,
            "future": future, "logins": logins, "shared_logins": shared_logins, "aliases": aliases,
            "removals": removals, "late_identity": late_identity, "identity_first": identity_first,
        },
        "high_water_mark": {"before": format_value(hwm), "after": format_value(high_water_mark(state))},
        "loaded_at": {"before": _stamp(previous_load), "batch": format_value(load_time)},
        "windows": {k: [format_value(low), format_value(high)] for k, (low, high) in windows.items()},
        "rows": {"before": before, "after": {name: len(rows) for name, rows in state.items()}},
        "new": _kind_summary(of_class(None)),
        ON_TIME: _kind_summary(of_class(ON_TIME)),
        LATE: _kind_summary(of_class(LATE)),
        VERY_LATE: _kind_summary(of_class(VERY_LATE)),
        TIE: _kind_summary(of_class(TIE)),
        "duplicates": _kind_summary(duplicated),
        "conflicting": _kind_summary(conflicts, timestamp_changed=moved),
        "restated": restated_summary,
        "deleted": _kind_summary(removed),
        "future": _kind_summary(future_rows),
        **identity_summary,
        "identity_first": {"count": len(held_ids), "customer_ids": held_ids},
        "held_back_delivered": {
            "count": len(delivered),
            "ids": [r["id"] for r in delivered],
            "min": _stamp(min((r["created_at"] for r in delivered), default=None)),
            "max": _stamp(max((r["created_at"] for r in delivered), default=None)),
        },
    }
    kinds = ("new", "duplicates", "conflicting", "restated", "deleted", "future", *EVENT_KINDS,
             "held_back_delivered")
    touched = [summary[k][m] for k in kinds for m in ("min", "max")]
    touched_moments = [datetime.strptime(t, TIMESTAMP_FORMAT) for t in touched if t is not None]
    summary["touched"] = {
        "min": _stamp(min(touched_moments, default=None)),
        "max": _stamp(max(touched_moments, default=None)),
    }
    return state, summary
