"""An independent reference implementation of `activity_schema.dataset`.

Written from the semantics page (``docs/activity-schema.md``) and the
macro's documented interface (``dataset.sql``), never from the generated SQL:
plain Python over a list of stream rows, one entity at a time, with none of
the window-function tricks of the macro. The property tests compare the two.

Stream rows are dicts with at least::

    activity, activity_id, ts, features (a dict), revenue_impact

and either ``entity`` or ``customer`` / ``anonymous_customer_id`` (the entity
is ``coalesce(customer, anonymous_customer_id)``). Other stream columns
(``link``...) are read when a dataset asks for them. ``activity_occurrence``
and ``activity_repeated_at`` are computed here from the rows themselves.

A dataset is described exactly as the macro's arguments::

    primary = {'activity', 'selector': all|first|last|nth, 'nth',
               'columns': [...], 'filters': [...]}
    append = [{'activity', 'relationship', 'nth', 'columns': [...],
               'filters': [...], 'join': [...], 'within': {...}}, ...]

where a column is a name or ``{'column', 'alias', 'aggregate', 'default'}``
and a filter is ``{'column', 'operator', 'value'}``.

The rules implemented, as the page states them, for a primary row ``p``
(entity ``c``, time ``t``, ``n = p.activity_repeated_at``) and the entity's
rows ``a`` of an appended activity (after the appended filters):

- join conditions ``{'column', 'primary_column'}`` narrow the appended
  rows a relationship considers to those whose ``column`` equals the
  primary row's ``primary_column`` (null equals nothing), as the appended
  filters do; both apply before the window is taken, so ``nth`` counts
  among the joined rows;
- ``within`` ``{minutes|hours|days: d}`` bounds a before window to
  ``t - d <= a.ts < t`` and an after window to ``t < a.ts <= t + d``
  (``nth`` counts from the start of the bounded window);
- earliest / latest order by ``(ts, activity_id)``;
- ``ever``: every row; ``before``: ``a.ts < t``; ``after``: ``a.ts > t``;
  ``in_between``: ``t < a.ts`` and (``n`` is null or ``a.ts <= n``);
- the primary filters apply first: the entity's primary rows are those of
  the primary activity that pass them, ranked by ``(ts, activity_id)``;
- selectors rank those rows: ``first`` = rank 1, ``last`` = the last of
  them, ``nth`` = rank n;
- ``n`` is the ts of the entity's next primary row, i.e. the next row of
  the primary activity *that passes the primary filters* (whatever the
  selector), null on the last; without filters it is
  ``activity_repeated_at``;
- aggregates: ``count`` (rows, or non-null values of a column),
  ``count_distinct`` (distinct non-null values), ``sum``, ``avg``, ``min``,
  ``max`` (over non-null values, as SQL); ``first_value`` / ``last_value``
  (the earliest / latest non-null value by ``(ts, activity_id)``);
  ``listagg`` (the non-null values as text, by ``(ts, activity_id)``, joined
  by the ``delimiter``, default ``', '``); ``listagg_distinct`` (each
  non-null value once, sorted by value, then as text and joined);
  ``count_if`` (the rows whose boolean is true); ``sum_bool`` (the sum of a
  boolean as 1 / 0 over its non-null values); ``is_null`` (true when no
  value is non-null) and ``not_null`` (true when some value is non-null).
  A count (``count``, ``count_distinct``, ``count_if``) over no rows is 0;
  ``is_null`` is true and ``not_null`` false over no rows; the others over
  no rows are null, or the declared ``default``. The default is for *no
  rows*: rows whose values are all null still give null.
- picks: ``first_*`` / ``last_*`` take the earliest / latest row of the
  window; ``nth_*`` (``'nth': n`` on the appended activity) the n-th row of
  the window counted from its start, so ``first_*`` is ``nth_*`` with n = 1;
  ``nth_ever`` is the entity's n-th row of the activity;
- a pick over no rows (for ``nth``, a window of fewer than n rows) is null,
  or the declared ``default``;
- a time-spine primary (``'time_spine': period``, ``'end'``) has a row per
  entity and period instead, from the period of the entity's first anchor
  row to the period of the end; the periods are half-open ``[start, end)``
  and a period row reads ``in_between`` as ``start <= a.ts < end``,
  ``before`` as ``a.ts < end`` and ``after`` as ``a.ts >= end``
  (``compute_spine_dataset``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

RELATIONSHIPS: dict[str, tuple[str, str]] = {
    # relationship: (kind, window); kind 'first' / 'last' picks, 'aggregate'
    "first_ever": ("first", "ever"),
    "last_ever": ("last", "ever"),
    "first_before": ("first", "before"),
    "last_before": ("last", "before"),
    "first_after": ("first", "after"),
    "last_after": ("last", "after"),
    "first_in_between": ("first", "in_between"),
    "last_in_between": ("last", "in_between"),
    "nth_ever": ("nth", "ever"),
    "nth_before": ("nth", "before"),
    "nth_after": ("nth", "after"),
    "nth_in_between": ("nth", "in_between"),
    "aggregate_before": ("aggregate", "before"),
    "aggregate_after": ("aggregate", "after"),
    "aggregate_in_between": ("aggregate", "in_between"),
    "aggregate_all": ("aggregate", "ever"),
}
AGGREGATES = (
    "count", "count_distinct", "sum", "avg", "min", "max", "first_value",
    "last_value", "listagg", "listagg_distinct", "count_if", "sum_bool",
    "is_null", "not_null",
)
SELECTORS = ("all", "first", "last", "nth")
STREAM_COLUMNS = (
    "activity_id", "ts", "customer", "anonymous_customer_id", "activity",
    "revenue_impact", "link", "activity_occurrence", "activity_repeated_at",
)

Row = dict[str, Any]


# --------------------------------------------------------------------------- #
# The stream
# --------------------------------------------------------------------------- #
def entity_of(row: Mapping[str, Any]) -> Any:
    """coalesce(customer, anonymous_customer_id), or the row's `entity`."""
    if "entity" in row:
        return row["entity"]
    customer = row.get("customer")
    return customer if customer is not None else row.get("anonymous_customer_id")


def order_key(row: Mapping[str, Any]) -> tuple:
    """Earliest first: (ts, activity_id)."""
    return (row["ts"], row["activity_id"])


def with_occurrences(rows: Iterable[Mapping[str, Any]]) -> list[Row]:
    """Copies of the rows with `entity`, `activity_occurrence` and
    `activity_repeated_at`, computed per (activity, entity) by (ts, activity_id)."""
    partitions: dict[tuple, list[Row]] = defaultdict(list)
    out: list[Row] = []
    for row in rows:
        copy = dict(row)
        copy["entity"] = entity_of(row)
        copy.setdefault("features", {})
        partitions[(copy["activity"], copy["entity"])].append(copy)
        out.append(copy)
    for partition in partitions.values():
        partition.sort(key=order_key)
        for index, row in enumerate(partition):
            row["activity_occurrence"] = index + 1
            following = partition[index + 1] if index + 1 < len(partition) else None
            row["activity_repeated_at"] = following["ts"] if following else None
    return out


def value_of(row: Mapping[str, Any], column: str) -> Any:
    """A stream column, else a feature (a missing feature is null)."""
    if column in STREAM_COLUMNS:
        return row.get(column)
    if column == "entity":
        return row["entity"]
    return row["features"].get(column)


# --------------------------------------------------------------------------- #
# Filters (SQL three-valued logic: a comparison with null does not hold)
# --------------------------------------------------------------------------- #
def _holds(value: Any, operator: str, expected: Any) -> bool:
    operator = operator.lower()
    if operator == "is null":
        return value is None
    if operator == "is not null":
        return value is not None
    if value is None:
        return False
    if operator in ("in", "not in"):
        listed = [item for item in expected if item is not None]
        if operator == "in":
            return value in listed
        # `x not in (..., null)` is never true in SQL.
        return value not in listed and len(listed) == len(list(expected))
    if expected is None:
        return False
    return {
        "=": value == expected,
        "!=": value != expected,
        "<>": value != expected,
        "<": value < expected,
        "<=": value <= expected,
        ">": value > expected,
        ">=": value >= expected,
    }[operator]


def joins(appended: Mapping[str, Any], primary: Mapping[str, Any],
          conditions: Sequence[Mapping[str, Any]]) -> bool:
    """Every join condition holds: the appended row's `column` equals the
    primary row's `primary_column`, and neither is null."""
    for condition in conditions or ():
        mine = value_of(appended, condition["column"])
        theirs = value_of(primary, condition["primary_column"])
        if mine is None or theirs is None or mine != theirs:
            return False
    return True


def passes(row: Mapping[str, Any], filters: Sequence[Mapping[str, Any]]) -> bool:
    return all(
        _holds(value_of(row, f["column"]), f.get("operator", "="), f.get("value"))
        for f in filters or ()
    )


# --------------------------------------------------------------------------- #
# Columns
# --------------------------------------------------------------------------- #
def normalize_column(item: Any) -> dict[str, Any]:
    return {"column": item} if isinstance(item, str) else dict(item)


def output_name(item: Mapping[str, Any], relationship: str | None,
                activity: str | None, nth: int | None = None) -> str:
    """The documented output name: the alias, else the column for a primary
    column, '<relationship>_<activity>_<column>' for a pick and
    '<relationship>_<activity>_<aggregate>[_<column>]' for an aggregate,
    where an nth relationship is followed by its n ('nth_before_2')."""
    if item.get("alias"):
        return item["alias"]
    if relationship is None:
        return item["column"]
    if RELATIONSHIPS[relationship][0] == "nth":
        relationship = f"{relationship}_{nth}"
    prefix = f"{relationship}_{activity}"
    if item.get("aggregate") is None:
        return f"{prefix}_{item['column']}"
    suffix = f"_{item['column']}" if item.get("column") is not None else ""
    return f"{prefix}_{item['aggregate']}{suffix}"


def as_text(value: Any) -> str:
    """A value as the warehouse casts it to text: booleans are 'true' and
    'false', timestamps 'YYYY-MM-DD HH:MM:SS', numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


def aggregate(function: str, values: list[Any], rows_considered: int,
              default: Any = None, delimiter: str = ", ") -> Any:
    """One aggregate over the values of the considered rows, in (ts,
    activity_id) order (None = null)."""
    present = [v for v in values if v is not None]
    if function == "count":
        return len(present)
    if function == "count_distinct":
        return len(set(present))
    if function == "count_if":
        return sum(1 for v in present if v is True)
    if function == "is_null":  # no value present (so true over no rows)
        return not present
    if function == "not_null":  # some value present (false over no rows)
        return bool(present)
    if rows_considered == 0:
        return default
    if not present:
        return None
    if function == "first_value":  # the earliest non-null value
        return present[0]
    if function == "last_value":  # the latest non-null value
        return present[-1]
    if function == "listagg":  # every non-null value, by (ts, activity_id)
        return delimiter.join(as_text(v) for v in present)
    if function == "listagg_distinct":  # each value once, by value
        return delimiter.join(as_text(v) for v in sorted(set(present)))
    if function == "sum_bool":  # true counts 1, false 0
        return sum(1 if v else 0 for v in present)
    if function == "sum":
        return sum(present)
    if function == "avg":
        total = sum(present)
        if isinstance(total, Decimal):
            return total / Decimal(len(present))
        return total / len(present)
    if function == "min":
        return min(present)
    if function == "max":
        return max(present)
    raise ValueError(f"unknown aggregate {function!r}; allowed: {AGGREGATES}")


UNITS = {"minutes": 60, "hours": 3600, "days": 86400}


def _window(rows: list[Row], window: str, t: Any, n: Any,
            within: Mapping[str, int] | None = None) -> list[Row]:
    """The rows of a window; `within` {unit: amount} bounds before to
    [t - d, t) and after to (t, t + d]."""
    bound = None
    if within:
        [(unit, amount)] = within.items()
        bound = timedelta(seconds=amount * UNITS[unit])
    if window == "ever":
        return rows
    if window == "before":
        return [a for a in rows
                if a["ts"] < t and (bound is None or a["ts"] >= t - bound)]
    if window == "after":
        return [a for a in rows
                if a["ts"] > t and (bound is None or a["ts"] <= t + bound)]
    if window == "in_between":
        return [a for a in rows if t < a["ts"] and (n is None or a["ts"] <= n)]
    raise ValueError(f"unknown window {window!r}")


# --------------------------------------------------------------------------- #
# The dataset
# --------------------------------------------------------------------------- #
def compute_dataset(
    rows: Iterable[Mapping[str, Any]],
    primary: Mapping[str, Any],
    append: Sequence[Mapping[str, Any]] = (),
) -> list[Row]:
    """The rows of the dataset, one dict {output name: value} per selected
    primary row, in (entity, ts, activity_id) order; a primary with a
    `time_spine` is a time spine (`compute_spine_dataset`)."""
    if primary.get("time_spine"):
        return compute_spine_dataset(rows, primary, append)
    stream = with_occurrences(rows)
    selector = primary.get("selector", "all")
    if selector not in SELECTORS:
        raise ValueError(f"unknown selector {selector!r}; allowed: {SELECTORS}")
    by_entity_activity: dict[tuple, list[Row]] = defaultdict(list)
    for row in stream:
        by_entity_activity[(row["entity"], row["activity"])].append(row)
    for partition in by_entity_activity.values():
        partition.sort(key=order_key)

    # The filters first: the entity's primary rows are the rows of the
    # primary activity that pass them, ranked by (ts, activity_id).
    passing: dict[Any, list[Row]] = defaultdict(list)
    for row in stream:
        if row["activity"] == primary["activity"] and passes(
                row, primary.get("filters", [])):
            passing[row["entity"]].append(row)
    ranked: list[tuple[Row, int, int, Any]] = []  # (row, rank, of, next ts)
    for entity_rows in passing.values():
        entity_rows.sort(key=order_key)
        for index, row in enumerate(entity_rows):
            following = entity_rows[index + 1] if index + 1 < len(entity_rows) \
                else None
            ranked.append((row, index + 1, len(entity_rows),
                           following["ts"] if following else None))
    ranked.sort(key=lambda item: (str(item[0]["entity"]), *order_key(item[0])))

    def selected(rank: int, count: int) -> bool:
        if selector == "first":
            return rank == 1
        if selector == "last":
            return rank == count
        if selector == "nth":
            return rank == primary["nth"]
        return True

    out: list[Row] = []
    for p, rank, count, n in ranked:
        if not selected(rank, count):
            continue
        t = p["ts"]
        result: Row = {}
        for item in map(normalize_column, primary["columns"]):
            result[output_name(item, None, None)] = value_of(p, item["column"])
        _append_columns(
            result, append, p,
            lambda window, rows, within, t=t, n=n: _window(rows, window, t, n, within),
            by_entity_activity)
        out.append(result)
    return out


def _append_columns(result: Row, append: Sequence[Mapping[str, Any]],
                    p: Mapping[str, Any], window_of, by_entity_activity) -> None:
    """The appended columns of one primary row `p` into `result`;
    `window_of(window, rows, within)` takes a window of rows in (ts, id)
    order."""
    for appended in append:
        kind, window = RELATIONSHIPS[appended["relationship"]]
        candidates = [
            a for a in by_entity_activity[(p["entity"], appended["activity"])]
            if passes(a, appended.get("filters", []))
            and joins(a, p, appended.get("join", []))
        ]
        considered = window_of(window, candidates, appended.get("within"))
        for item in map(normalize_column, appended["columns"]):
            name = output_name(item, appended["relationship"],
                               appended["activity"], appended.get("nth"))
            default = item.get("default")
            if kind == "aggregate":
                column = item.get("column")
                values = [
                    1 if column is None else value_of(a, column) for a in considered
                ]
                result[name] = aggregate(
                    item["aggregate"], values, len(considered), default,
                    item.get("delimiter", ", "))
            else:
                # first = the 1st row of the window, nth = the n-th,
                # counted from its start; last = its last row.
                position = {"first": 1, "nth": appended.get("nth")}.get(
                    kind, len(considered))
                if not 1 <= position <= len(considered):
                    result[name] = default
                else:
                    result[name] = value_of(considered[position - 1],
                                            item["column"])


# --------------------------------------------------------------------------- #
# Time spines
# --------------------------------------------------------------------------- #
PERIODS = ("day", "week", "month", "quarter", "year")
SPINE_COLUMNS = ("customer", "period_start", "period_end")


def period_start(ts: datetime, period: str) -> datetime:
    """The start of the period holding `ts` (weeks start on Monday)."""
    day = datetime(ts.year, ts.month, ts.day)
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return datetime(ts.year, ts.month, 1)
    if period == "quarter":
        return datetime(ts.year, 3 * ((ts.month - 1) // 3) + 1, 1)
    if period == "year":
        return datetime(ts.year, 1, 1)
    raise ValueError(f"unknown period {period!r}; allowed: {PERIODS}")


def next_period(start: datetime, period: str) -> datetime:
    """The start of the period after the one starting at `start`."""
    if period in ("day", "week"):
        return start + timedelta(days=1 if period == "day" else 7)
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    month = start.month - 1 + months
    return datetime(start.year + month // 12, month % 12 + 1, 1)


def compute_spine_dataset(
    rows: Iterable[Mapping[str, Any]],
    primary: Mapping[str, Any],
    append: Sequence[Mapping[str, Any]] = (),
) -> list[Row]:
    """A time-spine dataset: one row per entity and period, from the period
    holding the entity's first row of the anchor activity
    (`primary['activity']`, through the primary filters) to the period
    holding `primary['end']` (default: the stream's latest ts). Periods are
    [start, end); at a period row, in_between is start <= a.ts < end,
    before a.ts < end and after a.ts >= end. Primary columns: customer (the
    entity), period_start, period_end."""
    stream = with_occurrences(rows)
    period = primary["time_spine"]
    by_entity_activity: dict[tuple, list[Row]] = defaultdict(list)
    for row in stream:
        by_entity_activity[(row["entity"], row["activity"])].append(row)
    for partition in by_entity_activity.values():
        partition.sort(key=order_key)
    end = primary.get("end")
    if end is None:
        if not stream:
            return []
        end = max(row["ts"] for row in stream)
    elif isinstance(end, str):
        end = datetime.fromisoformat(end)
    last = period_start(end, period)
    first_anchor: dict[Any, datetime] = {}
    for row in stream:
        if row["activity"] == primary["activity"] and passes(
                row, primary.get("filters", [])):
            seen = first_anchor.get(row["entity"])
            first_anchor[row["entity"]] = row["ts"] if seen is None \
                else min(seen, row["ts"])

    def window_of(start: datetime, stop: datetime):
        def take(window: str, rows: list[Row], within: Any) -> list[Row]:
            assert within is None, "a time spine takes no within"
            if window == "ever":
                return rows
            if window == "before":
                return [a for a in rows if a["ts"] < stop]
            if window == "after":
                return [a for a in rows if a["ts"] >= stop]
            return [a for a in rows if start <= a["ts"] < stop]
        return take

    out: list[Row] = []
    for entity in sorted(first_anchor, key=str):
        start = period_start(first_anchor[entity], period)
        while start <= last:
            stop = next_period(start, period)
            p = {"entity": entity, "customer": entity, "period_start": start,
                 "period_end": stop}
            result: Row = {}
            columns = primary.get("columns") or list(SPINE_COLUMNS)
            for item in map(normalize_column, columns):
                result[output_name(item, None, None)] = p[item["column"]]
            _append_columns(result, append, p, window_of(start, stop),
                            by_entity_activity)
            out.append(result)
            start = stop
    return out
