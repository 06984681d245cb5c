"""The raw tables: columns, value formatting, CSV files, event and load times."""

from __future__ import annotations

import csv
import os
import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

Row = dict[str, Any]
Tables = dict[str, list[Row]]

LOADED_AT = "_loaded_at"
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "raw_customers": ("id", "first_name", "last_name", "created_at", LOADED_AT),
    "raw_orders": ("id", "user_id", "order_date", "status", LOADED_AT),
    "raw_payments": ("id", "order_id", "payment_method", "amount", "created_at", LOADED_AT),
    "raw_web_events": ("id", "visitor_id", "customer_id", "page", "occurred_at", LOADED_AT),
    "raw_customer_aliases": ("customer_id", "canonical_customer_id", "merged_at", LOADED_AT),
    "raw_customer_removals": ("customer_id", "requested_at", LOADED_AT),
}
# The shop's own tables (keyed by ``id``) and the identity tables (keyed by
# ``customer_id``: one alias or removal per customer).
SHOP_TABLES = ("raw_customers", "raw_orders", "raw_payments", "raw_web_events")
IDENTITY_TABLES = ("raw_customer_aliases", "raw_customer_removals")
KEY_COLUMNS: dict[str, str] = {
    **{name: "id" for name in SHOP_TABLES},
    **{name: "customer_id" for name in IDENTITY_TABLES},
}
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

INT_COLUMNS = frozenset({"id", "user_id", "order_id", "amount", "canonical_customer_id"})
NULLABLE_INT_COLUMNS = frozenset({"customer_id"})
DATE_COLUMNS = frozenset({"order_date"})
DATETIME_COLUMNS = frozenset({"created_at", "occurred_at", "merged_at", "requested_at"})
NULLABLE_DATETIME_COLUMNS = frozenset({LOADED_AT})
# The column that dates each row of a table (its "event time").
TIME_COLUMNS: dict[str, str] = {
    "raw_customers": "created_at",
    "raw_orders": "order_date",
    "raw_payments": "created_at",
    "raw_web_events": "occurred_at",
    "raw_customer_aliases": "merged_at",
    "raw_customer_removals": "requested_at",
}
# A row whose event time is more than this after its load time comes from a
# clock that runs ahead; the high-water mark does not count it.
CLOCK_SKEW_TOLERANCE = timedelta(days=1)


def format_value(value: Any) -> str:
    """CSV text for one value: None -> '', timestamps without time zone."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(TIMESTAMP_FORMAT)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_csv(tables: Tables, out_dir: str | Path) -> list[Path]:
    """Write each table to ``<out_dir>/<table>.csv`` with a header row.

    The columns are those of :data:`TABLE_COLUMNS`; a None value, or a row
    without a ``_loaded_at`` key, gives an empty cell. Returns the written
    paths. Unknown table names raise ``KeyError``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, rows in tables.items():
        columns = TABLE_COLUMNS[name]
        path = out / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows(
                [format_value(row.get(c) if c == LOADED_AT else row[c]) for c in columns] for row in rows
            )
        paths.append(path)
    return paths


def write_tables_into(tables: Tables, folder: str | Path) -> list[Path]:
    """Like :func:`write_csv`, but each file is replaced atomically."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target, prefix=".next_batch_") as scratch:
        written = write_csv(tables, scratch)
        paths = []
        for path in written:
            final = target / path.name
            os.replace(path, final)
            paths.append(final)
    return paths


def parse_value(column: str, text: str) -> Any:
    """The Python value of one CSV cell, the inverse of :func:`format_value`.

    Raises ``ValueError`` if the text would not be written back identically.
    """
    if column in INT_COLUMNS:
        value: Any = int(text)
    elif column in NULLABLE_INT_COLUMNS:
        value = int(text) if text != "" else None
    elif column in DATE_COLUMNS:
        value = date.fromisoformat(text)
    elif column in DATETIME_COLUMNS:
        value = datetime.strptime(text, TIMESTAMP_FORMAT)
    elif column in NULLABLE_DATETIME_COLUMNS:
        value = datetime.strptime(text, TIMESTAMP_FORMAT) if text != "" else None
    else:
        value = text
    if format_value(value) != text:
        raise ValueError(f"{column}: {text!r} is not in the generator's format")
    return value


def read_csv(folder: str | Path) -> Tables:
    """Read the ``<folder>/<table>.csv`` files of :data:`TABLE_COLUMNS` back into tables.

    Values get the same types as :func:`~tools.generate_data.generate`
    produces (int, str, None, date, datetime) and rows keep the file order,
    so ``write_csv(read_csv(x), y)`` rewrites the files byte for byte.

    A file may lack the trailing ``_loaded_at`` column (as the public jaffle
    shop tables do): its rows get ``_loaded_at = None``, which
    :func:`write_csv` writes as an empty cell. A missing identity file
    (:data:`IDENTITY_TABLES`, as in a folder written before those tables
    existed) reads as an empty table; a missing shop table raises
    ``FileNotFoundError``. Another header or a cell that would not be
    written back identically raises ``ValueError``.
    """
    tables: Tables = {}
    for name, columns in TABLE_COLUMNS.items():
        path = Path(folder) / f"{name}.csv"
        if name in IDENTITY_TABLES and not path.exists():
            tables[name] = []
            continue
        without_load = tuple(c for c in columns if c != LOADED_AT)
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or tuple(header) not in (columns, without_load):
                raise ValueError(f"{path}: header {header} is neither {list(columns)} nor {list(without_load)}")
            present = tuple(header)
            rows = []
            for number, cells in enumerate(reader, start=2):
                if len(cells) != len(present):
                    raise ValueError(f"{path}:{number}: expected {len(present)} cells, got {len(cells)}")
                row = {c: parse_value(c, cell) for c, cell in zip(present, cells)}
                row.setdefault(LOADED_AT, None)
                rows.append(row)
        tables[name] = rows
    return tables


def row_moment(table: str, row: Row) -> datetime:
    """The event time of a row as a datetime (an order date counts as its midnight)."""
    value = row[TIME_COLUMNS[table]]
    return value if isinstance(value, datetime) else datetime.combine(value, time())


def is_clock_skewed(table: str, row: Row) -> bool:
    """True if the row's event time is more than one day after its ``_loaded_at``.

    Such a row was stamped by a clock that runs ahead (e.g. year 2099). A row
    without a load time (None or no key) is never counted as skewed.
    """
    loaded_at = row.get(LOADED_AT)
    return loaded_at is not None and row_moment(table, row) > loaded_at + CLOCK_SKEW_TOLERANCE


def high_water_mark(tables: Tables) -> datetime:
    """The latest event time over all tables (:data:`TIME_COLUMNS`: created_at,
    order_date, occurred_at, merged_at, requested_at).

    Rows whose event time lies more than :data:`CLOCK_SKEW_TOLERANCE` (one
    day) after their own ``_loaded_at`` are left out (see
    :func:`is_clock_skewed`), so that a row from a clock far ahead does not
    move the mark. Raises ``ValueError`` if no row counts.
    """
    moments = [
        row_moment(name, row)
        for name in TABLE_COLUMNS
        for row in tables.get(name, ())
        if not is_clock_skewed(name, row)
    ]
    if not moments:
        raise ValueError("the tables are empty: there is no high-water mark")
    return max(moments)


def latest_load_time(tables: Tables) -> datetime | None:
    """The largest ``_loaded_at`` over all tables, or None if no row has one."""
    return max(
        (row[LOADED_AT] for name in TABLE_COLUMNS for row in tables.get(name, ()) if row.get(LOADED_AT) is not None),
        default=None,
    )


def next_customer_id(tables: Tables) -> int:
    """The first customer id no row uses: after every ``raw_customers.id`` and
    every customer an alias or removal names (whose account row may come later)."""
    ids = [r["id"] for r in tables.get("raw_customers", ())]
    for name in IDENTITY_TABLES:
        for row in tables.get(name, ()):
            ids += [v for c in ("customer_id", "canonical_customer_id") if isinstance(v := row.get(c), int)]
    return max(ids, default=0) + 1
