"""Deterministic generator for the raw jaffle_activity seed data.

Data model
----------
The generator simulates a small online jaffle shop over a date range
(default 2024-01-01, 182 days) and writes four raw tables:

``raw_customers``  ``id, first_name, last_name, created_at``
    People who signed up. ``created_at`` is the sign-up moment; ids follow
    sign-up order. ``last_name`` is an initial plus a dot (``P.``), as in
    the classic jaffle shop.
``raw_orders``     ``id, user_id, order_date, status``
    About 1 in 6 customers never order; the others place 1-5 orders on or
    after their sign-up date. Some customers deliberately place two orders
    on the same date so that downstream models meet equal timestamps.
    Recent orders are still ``placed``/``shipped``; older ones are mostly
    ``completed`` with a few returns.
``raw_payments``   ``id, order_id, payment_method, amount, created_at``
    ``amount`` is in integer cents. Most orders get one payment; some are
    split into a coupon plus a card payment (part of those with exactly the
    same ``created_at``, on purpose); some ``placed`` orders are unpaid.
``raw_web_events`` ``id, visitor_id, customer_id, page, occurred_at``
    Page views by visitors (``v00042``). A visitor is anonymous
    (``customer_id`` empty) until a ``/login`` view; that view and every
    later view of the visitor carry the customer's id. Customers log in at
    sign-up on their first device; some use a second device (another
    visitor id) that logs in later. Shopping sessions (``/`` ... ``/cart``,
    ``/checkout``) end just before the order's payment, with more views
    before and after orders. Other visitors never log in.

All timestamps are naive UTC. Equal seed, scale and dates give
byte-identical CSV files.

Design notes (for incremental "next batch" generation later)
------------------------------------------------------------
* Every table has its own builder (``build_customers``, ``build_orders``,
  ``build_payments``, ``build_web_events``) that only reads the tables it
  depends on, so a batch builder can call them for new days only.
* Ids are drawn from an explicit :class:`IdCounters` object; a later batch
  can start from the maxima of the previous batch.
* Each table uses its own random stream (see :func:`table_rng`), so adding
  a table or changing one builder does not reshuffle the others.

Next batch (incremental ingestion)
-----------------------------------
:func:`next_batch` takes the current tables (from :func:`generate` or
:func:`read_csv`) and returns their state after one more daily load, as a
loader would leave it: new rows after the high-water mark, late and very
late rows before it, rows sharing a timestamp with another row of the same
customer (ties), rows delivered twice (byte-identical), rows restated in
place (same id, new timestamp and/or values) and deleted rows; plus a
JSON-ready summary of what it did. See its docstring for the details.

Usage::

    python -m tools.generate_data --seed 42 --scale 1.0 --out seeds
    python -m tools.generate_data next-batch --seeds seeds --seed 7 --days 1
        --late 0.2 --duplicates 0.02 --ties 0.05 --restated 0.01 --deletes 0.005
        [--very-late 0.0] [--new-fraction 0.01] [--late-hours 1 48]
        [--very-late-hours 100 2000] [--out OTHER_FOLDER]   (one command line)
"""

from __future__ import annotations

import argparse
import bisect
import csv
import json
import os
import random
import string
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Iterable, Sequence

Row = dict[str, Any]
Tables = dict[str, list[Row]]
View = tuple[datetime, str]

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "raw_customers": ("id", "first_name", "last_name", "created_at"),
    "raw_orders": ("id", "user_id", "order_date", "status"),
    "raw_payments": ("id", "order_id", "payment_method", "amount", "created_at"),
    "raw_web_events": ("id", "visitor_id", "customer_id", "page", "occurred_at"),
}
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

DEFAULT_SEED = 42
DEFAULT_SCALE = 1.0
DEFAULT_START = date(2024, 1, 1)
DEFAULT_DAYS = 182

CUSTOMERS_PER_SCALE = 300
SIGNUP_WINDOW = 0.8  # customers sign up during the first 80 % of the range
NO_ORDER_SHARE = 1 / 6
ORDER_COUNTS = ((1, 2, 3, 4, 5), (20, 25, 25, 18, 12))
SAME_DAY_ORDER_SHARE = 0.08
UNPAID_PLACED_SHARE = 0.5
SPLIT_PAYMENT_SHARE = 0.12
SAME_SECOND_SPLIT_SHARE = 0.5
EXTRA_DEVICE_SHARE = 0.2
NO_ORDER_WEB_SHARE = 0.6
ANONYMOUS_VISITORS_PER_CUSTOMER = 0.4

ORDER_STATUSES = ("placed", "shipped", "completed", "return_pending", "returned")
# (maximum age in days, weights over ORDER_STATUSES); the last entry is the default.
STATUS_WEIGHTS_BY_AGE = (
    (2, (45, 35, 20, 0, 0)),
    (7, (5, 20, 70, 5, 0)),
    (None, (3, 3, 85, 3, 6)),
)
PAYMENT_METHODS = ("credit_card", "coupon", "bank_transfer", "gift_card")
PAYMENT_METHOD_WEIGHTS = (55, 10, 25, 10)
CARD_METHODS = ("credit_card", "bank_transfer", "gift_card")
PAGES = ("/", "/menu", "/cart", "/checkout", "/account", "/login")

FIRST_NAMES = (
    "Michael", "Shawn", "Kathleen", "Jimmy", "Katherine", "Sarah", "Martin",
    "Frank", "Jennifer", "Henry", "Fred", "Amy", "Kathleen", "Steve", "Teresa",
    "Amanda", "Kimberly", "Johnny", "Virginia", "Anna", "Willie", "Sean",
    "Mildred", "David", "Victor", "Aaron", "Benjamin", "Lisa", "Benjamin",
    "Marie", "Scott", "Emily", "Jennifer", "Janet", "Nancy", "Robert", "Laura",
    "Paula", "Jeffrey", "Harold", "Diana", "Adam", "Ruth", "Shirley", "Linda",
    "Andrew", "Rose", "Lillian", "Craig", "Earl", "Christina", "Brenda",
    "Denise", "Carlos", "Joshua", "Gloria", "Sandra", "Raymond", "Jessica",
    "Angela", "Justin", "Ralph", "Peter", "Alan", "Debra", "Ann", "Judith",
    "Howard", "Donna", "Thomas", "Phillip", "Cynthia", "Patricia", "Gregory",
    "Joe", "Paul", "Nicole", "Jacqueline", "Mary", "Elizabeth", "Wanda",
    "Catherine", "Louise", "Pamela", "Irene", "Gary", "Jose", "Samuel",
)


@dataclass(frozen=True)
class DateRange:
    """The simulated period: ``days`` days starting at ``start`` (UTC)."""

    start: date
    days: int

    @property
    def first_moment(self) -> datetime:
        """Midnight at the start of the first day."""
        return datetime.combine(self.start, time())

    @property
    def end_moment(self) -> datetime:
        """Midnight after the last day (exclusive upper bound)."""
        return self.first_moment + timedelta(days=self.days)

    @property
    def last_date(self) -> date:
        """The last day of the period."""
        return self.start + timedelta(days=self.days - 1)

    def contains(self, moment: datetime) -> bool:
        """True if ``moment`` lies inside the period."""
        return self.first_moment <= moment < self.end_moment


@dataclass
class IdCounters:
    """Next free id per table (and visitor number), shared by the builders.

    Kept explicit so that a later batch can continue numbering where an
    earlier batch stopped, e.g. ``IdCounters(orders=max_order_id + 1)``.
    """

    customers: int = 1
    orders: int = 1
    payments: int = 1
    web_events: int = 1
    visitors: int = 1

    def take(self, name: str) -> int:
        """Return the next id for ``name`` and advance its counter."""
        value = getattr(self, name)
        setattr(self, name, value + 1)
        return value


def table_rng(seed: int, table: str) -> random.Random:
    """An independent, reproducible random stream for one table."""
    return random.Random(f"{seed}:{table}")


def seconds(rng: random.Random, low: int, high: int) -> timedelta:
    """A random whole-second duration between ``low`` and ``high`` inclusive."""
    return timedelta(seconds=rng.randint(low, high))


# --------------------------------------------------------------------------
# customers
# --------------------------------------------------------------------------


def build_customers(
    rng: random.Random, ids: IdCounters, period: DateRange, count: int
) -> list[Row]:
    """Customers signing up during the first part of the period, by id."""
    window = max(1, int(period.days * SIGNUP_WINDOW * 86400))
    moments = sorted(period.first_moment + timedelta(seconds=rng.randrange(window)) for _ in range(count))
    return [
        {
            "id": ids.take("customers"),
            "first_name": rng.choice(FIRST_NAMES),
            "last_name": rng.choice(string.ascii_uppercase) + ".",
            "created_at": moment,
        }
        for moment in moments
    ]


# --------------------------------------------------------------------------
# orders
# --------------------------------------------------------------------------


def order_count(rng: random.Random) -> int:
    """How many orders one customer places (0 for about 1 in 6)."""
    if rng.random() < NO_ORDER_SHARE:
        return 0
    return rng.choices(*ORDER_COUNTS)[0]


def order_dates(rng: random.Random, first: date, last: date, count: int) -> list[date]:
    """Sorted order dates in ``[first, last]``, sometimes with a same-day pair."""
    span = max(0, (last - first).days)
    dates = sorted(first + timedelta(days=rng.randint(0, span)) for _ in range(count))
    if count >= 2 and rng.random() < SAME_DAY_ORDER_SHARE:
        i = rng.randrange(count - 1)
        dates[i + 1] = dates[i]
    return dates


def ensure_same_day_orders(dates_by_customer: dict[int, list[date]]) -> None:
    """Guarantee at least one customer with two orders on one date."""
    if any(len(dates) != len(set(dates)) for dates in dates_by_customer.values()):
        return
    for dates in dates_by_customer.values():
        if len(dates) >= 2:
            dates[1] = dates[0]
            return


def order_status(rng: random.Random, order_date: date, period: DateRange) -> str:
    """A status that depends on how old the order is at the end of the period."""
    age = (period.last_date - order_date).days
    for max_age, weights in STATUS_WEIGHTS_BY_AGE:
        if max_age is None or age <= max_age:
            return rng.choices(ORDER_STATUSES, weights)[0]
    raise AssertionError("unreachable")  # pragma: no cover


def build_orders(
    rng: random.Random, ids: IdCounters, period: DateRange, customers: Sequence[Row]
) -> list[Row]:
    """Orders of the given customers; ids follow (order_date, user_id)."""
    planned = {
        c["id"]: order_dates(rng, c["created_at"].date(), period.last_date, order_count(rng))
        for c in customers
    }
    ensure_same_day_orders(planned)
    keyed = sorted((d, cid, seq) for cid, dates in planned.items() for seq, d in enumerate(dates))
    return [
        {"id": ids.take("orders"), "user_id": cid, "order_date": d, "status": order_status(rng, d, period)}
        for d, cid, _ in keyed
    ]


# --------------------------------------------------------------------------
# payments
# --------------------------------------------------------------------------

PaymentPart = tuple[str, int, datetime]  # (method, amount in cents, created_at)


def payment_time(rng: random.Random, order_date: date, signed_up: datetime) -> datetime:
    """When an order is paid: daytime on the order date, after sign-up."""
    earliest = max(datetime.combine(order_date, time(7)), signed_up + timedelta(minutes=30))
    return earliest + seconds(rng, 0, 14 * 3600)


def payment_parts(rng: random.Random, status: str, paid_at: datetime) -> list[PaymentPart]:
    """The payments of one order: none, a single one, or coupon + card."""
    if status == "placed" and rng.random() < UNPAID_PLACED_SHARE:
        return []
    total = rng.randrange(1000, 3001, 50)
    if rng.random() >= SPLIT_PAYMENT_SHARE:
        method = rng.choices(PAYMENT_METHODS, PAYMENT_METHOD_WEIGHTS)[0]
        return [(method, total, paid_at)]
    coupon = rng.randrange(200, 801, 100)
    same_second = rng.random() < SAME_SECOND_SPLIT_SHARE
    card_at = paid_at if same_second else paid_at + seconds(rng, 5, 300)
    return [("coupon", coupon, paid_at), (rng.choice(CARD_METHODS), total - coupon, card_at)]


def ensure_same_second_split(plans: list[tuple[int, list[PaymentPart]]]) -> None:
    """Guarantee at least one order with two payments at the same second."""
    splits = [parts for _, parts in plans if len(parts) == 2]
    if any(parts[0][2] == parts[1][2] for parts in splits):
        return
    if splits:
        method, amount, _ = splits[0][1]
        splits[0][1] = (method, amount, splits[0][0][2])
    elif plans:
        parts = plans[0][1]
        _, amount, at = parts[0]
        parts[:] = [("coupon", 500, at), ("credit_card", amount - 500, at)]


def build_payments(
    rng: random.Random, ids: IdCounters, orders: Sequence[Row], customers: Sequence[Row]
) -> list[Row]:
    """Payments for the given orders; ids follow order id."""
    signed_up = {c["id"]: c["created_at"] for c in customers}
    plans = []
    for order in orders:
        paid_at = payment_time(rng, order["order_date"], signed_up[order["user_id"]])
        parts = payment_parts(rng, order["status"], paid_at)
        if parts:
            plans.append((order["id"], parts))
    ensure_same_second_split(plans)
    return [
        {
            "id": ids.take("payments"),
            "order_id": order_id,
            "payment_method": method,
            "amount": amount,
            "created_at": at,
        }
        for order_id, parts in plans
        for method, amount, at in parts
    ]


# --------------------------------------------------------------------------
# web events
# --------------------------------------------------------------------------


def walk(rng: random.Random, end: datetime, pages: Sequence[str], low: int, high: int) -> list[View]:
    """Views of ``pages`` in order, the last at ``end``, ``low``-``high`` s apart."""
    views, moment = [], end
    for page in reversed(pages):
        views.append((moment, page))
        moment -= seconds(rng, low, high)
    return views[::-1]


def browse(rng: random.Random, start: datetime, pages: Sequence[str], max_views: int) -> list[View]:
    """A short browsing session starting at ``start``."""
    chosen = [rng.choice(pages) for _ in range(rng.randint(1, max_views))]
    return [(start + seconds(rng, 20, 240) * i, page) for i, page in enumerate(chosen)]


def random_moment(rng: random.Random, low: datetime, high: datetime) -> datetime:
    """A whole-second moment in ``[low, high)`` (``low`` if the range is empty)."""
    span = int((high - low).total_seconds())
    return low + timedelta(seconds=rng.randrange(span)) if span > 0 else low


def anonymous_prelude(rng: random.Random, login_at: datetime) -> list[View]:
    """Anonymous views before a login, in the same session or days before."""
    gap = seconds(rng, 10, 120) if rng.random() < 0.6 else seconds(rng, 3600, 72 * 3600)
    pages = [rng.choice(("/", "/menu")) for _ in range(rng.randint(1, 4))]
    return walk(rng, login_at - gap, pages, 15, 300)


def shopping_walk(rng: random.Random, paid_at: datetime) -> list[View]:
    """Views from the first page up to ``/checkout``, just before payment."""
    pages = ["/", "/menu"] + ["/menu"] * rng.randint(0, 1) + ["/cart", "/checkout"]
    if rng.random() < 0.3:
        pages = pages[1:]
    return walk(rng, paid_at - seconds(rng, 5, 60), pages, 20, 180)


def around_order(rng: random.Random, shop: list[View], paid_at: datetime) -> list[View]:
    """Optional visits a day or two before the shopping walk and after payment."""
    views: list[View] = []
    if rng.random() < 0.3:
        views += browse(rng, shop[0][0] - seconds(rng, 86400, 2 * 86400), ("/", "/menu"), 2)
    if rng.random() < 0.6:
        views += browse(rng, paid_at + seconds(rng, 3600, 72 * 3600), ("/account", "/menu"), 2)
    return views


def known_visitor(
    rng: random.Random,
    period: DateRange,
    login_at: datetime | None,
    anchors: Sequence[datetime],
) -> list[View]:
    """Views of a customer's device: prelude, ``/login``, orders, browsing.

    ``login_at`` None means: log in just before the first order session.
    """
    shops = [shopping_walk(rng, anchor) for anchor in anchors]
    if login_at is None:
        login_at = shops[0][0][0] - seconds(rng, 10, 60)
    views = anonymous_prelude(rng, login_at) + [(login_at, "/login")]
    for shop, anchor in zip(shops, anchors):
        views += shop + around_order(rng, shop, anchor)
    for _ in range(rng.randint(0, 2)):
        start = random_moment(rng, login_at, period.end_moment)
        views += browse(rng, start, ("/", "/menu", "/account"), 3)
    return views


def anonymous_visitor(rng: random.Random, period: DateRange) -> list[View]:
    """Views of a visitor who never logs in."""
    views: list[View] = []
    for _ in range(rng.randint(1, 3)):
        start = random_moment(rng, period.first_moment, period.end_moment)
        views += browse(rng, start, ("/", "/menu", "/cart"), 6)
    return views


def checkout_anchors(
    rng: random.Random, orders: Sequence[Row], payments: Sequence[Row], customers: Sequence[Row]
) -> dict[int, datetime]:
    """Per order: the first payment time, or a plausible time if unpaid."""
    anchors: dict[int, datetime] = {}
    for p in payments:
        anchors.setdefault(p["order_id"], p["created_at"])
    signed_up = {c["id"]: c["created_at"] for c in customers}
    for o in orders:
        if o["id"] not in anchors:
            anchors[o["id"]] = payment_time(rng, o["order_date"], signed_up[o["user_id"]])
    return anchors


def customer_visitors(
    rng: random.Random, period: DateRange, customer: Row, anchors: Sequence[datetime]
) -> list[tuple[int | None, list[View]]]:
    """The devices (visitor view lists) of one customer; maybe none."""
    if not anchors and rng.random() >= NO_ORDER_WEB_SHARE:
        return []
    devices = 1 + (len(anchors) >= 2 and rng.random() < EXTRA_DEVICE_SHARE)
    shares: list[list[datetime]] = [[] for _ in range(devices)]
    for i, anchor in enumerate(anchors):
        shares[i if i < devices else rng.randrange(devices)].append(anchor)
    first_login = customer["created_at"] + seconds(rng, 5, 90)
    return [
        (customer["id"], known_visitor(rng, period, first_login if n == 0 else None, sorted(share)))
        for n, share in enumerate(shares)
    ]


def visitor_rows(customer_id: int | None, views: list[View], period: DateRange) -> list[Row]:
    """Rows (without ids) for one visitor: clipped, strictly increasing, logged in after /login."""
    rows, previous, logged_in = [], None, False
    for moment, page in sorted(v for v in views if period.contains(v[0])):
        if previous is not None and moment <= previous:
            moment = previous + timedelta(seconds=1)
        previous = moment
        logged_in = logged_in or (customer_id is not None and page == "/login")
        rows.append({"customer_id": customer_id if logged_in else None, "page": page, "occurred_at": moment})
    return rows


def build_web_events(
    rng: random.Random,
    ids: IdCounters,
    period: DateRange,
    customers: Sequence[Row],
    orders: Sequence[Row],
    payments: Sequence[Row],
    anonymous_count: int,
) -> list[Row]:
    """Web events of customers' devices and of anonymous visitors.

    Visitor ids follow each visitor's first view; event ids follow time.
    """
    anchors = checkout_anchors(rng, orders, payments, customers)
    by_customer: dict[int, list[datetime]] = {c["id"]: [] for c in customers}
    for o in orders:
        by_customer[o["user_id"]].append(anchors[o["id"]])
    visitors = [pair for c in customers for pair in customer_visitors(rng, period, c, sorted(by_customer[c["id"]]))]
    visitors += [(None, anonymous_visitor(rng, period)) for _ in range(anonymous_count)]
    per_visitor = [rows for cid, views in visitors if (rows := visitor_rows(cid, views, period))]
    per_visitor.sort(key=lambda rows: rows[0]["occurred_at"])
    events = []
    for rows in per_visitor:
        visitor_id = f"v{ids.take('visitors'):05d}"
        events += [{"visitor_id": visitor_id, **row} for row in rows]
    events.sort(key=lambda e: (e["occurred_at"], e["visitor_id"]))
    return [{"id": ids.take("web_events"), **e} for e in events]


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------


def customer_count(scale: float) -> int:
    """Number of customers for ``scale`` (300 per 1.0, at least 1)."""
    return max(1, round(CUSTOMERS_PER_SCALE * scale))


def generate(
    seed: int = DEFAULT_SEED,
    scale: float = DEFAULT_SCALE,
    start: date = DEFAULT_START,
    days: int = DEFAULT_DAYS,
) -> Tables:
    """Generate all raw tables; returns ``{"raw_orders": [row, ...], ...}``.

    Rows are dicts keyed by the columns in :data:`TABLE_COLUMNS`, sorted by
    id, with values of type str, int, None, date or datetime.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    period = DateRange(start, days)
    ids = IdCounters()
    n = customer_count(scale)
    customers = build_customers(table_rng(seed, "customers"), ids, period, n)
    orders = build_orders(table_rng(seed, "orders"), ids, period, customers)
    payments = build_payments(table_rng(seed, "payments"), ids, orders, customers)
    web_events = build_web_events(
        table_rng(seed, "web_events"), ids, period, customers, orders, payments,
        round(n * ANONYMOUS_VISITORS_PER_CUSTOMER),
    )
    return {
        "raw_customers": customers,
        "raw_orders": orders,
        "raw_payments": payments,
        "raw_web_events": web_events,
    }


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

    Returns the written paths. Unknown table names raise ``KeyError``.
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
            writer.writerows([format_value(row[c]) for c in columns] for row in rows)
        paths.append(path)
    return paths


# --------------------------------------------------------------------------
# reading the CSV files back
# --------------------------------------------------------------------------

INT_COLUMNS = frozenset({"id", "user_id", "order_id", "amount"})
NULLABLE_INT_COLUMNS = frozenset({"customer_id"})
DATE_COLUMNS = frozenset({"order_date"})
DATETIME_COLUMNS = frozenset({"created_at", "occurred_at"})
# The column that dates each row of a table (its "event time").
TIME_COLUMNS: dict[str, str] = {
    "raw_customers": "created_at",
    "raw_orders": "order_date",
    "raw_payments": "created_at",
    "raw_web_events": "occurred_at",
}


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
    else:
        value = text
    if format_value(value) != text:
        raise ValueError(f"{column}: {text!r} is not in the generator's format")
    return value


def read_csv(folder: str | Path) -> Tables:
    """Read the four ``<folder>/<table>.csv`` files back into tables.

    Values get the same types as :func:`generate` produces (int, str, None,
    date, datetime) and rows keep the file order, so
    ``write_csv(read_csv(x), y)`` rewrites the files byte for byte.
    Missing files raise ``FileNotFoundError``; a wrong header or a cell that
    would not be written back identically raises ``ValueError``.
    """
    tables: Tables = {}
    for name, columns in TABLE_COLUMNS.items():
        path = Path(folder) / f"{name}.csv"
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or tuple(header) != columns:
                raise ValueError(f"{path}: header {header} is not {list(columns)}")
            rows = []
            for number, cells in enumerate(reader, start=2):
                if len(cells) != len(columns):
                    raise ValueError(f"{path}:{number}: expected {len(columns)} cells, got {len(cells)}")
                rows.append({c: parse_value(c, cell) for c, cell in zip(columns, cells)})
        tables[name] = rows
    return tables


# --------------------------------------------------------------------------
# next batch: a simulated daily ingestion on top of the current tables
# --------------------------------------------------------------------------

ON_TIME, LATE, VERY_LATE, TIE = "on_time", "late", "very_late", "ties"
CLASS_RANK = {VERY_LATE: 0, LATE: 1, ON_TIME: 2}
MIN_NEW_ROWS = 10  # "a handful": the floor when new_fraction > 0
RECENT_DAYS = 7  # rows younger than this (before the high-water mark) ...
RECENT_WEIGHT = 50  # ... are this much more likely to be restated/duplicated
RESTATE_MAX_SHIFT = 6 * 3600  # seconds a restated payment / web event may move forward
NEW_UNPAID_SHARE = 0.25
ACTIVITY_WEIGHTS = {"new_customer": 2.0, "order": 4.0, "pay": 1.0, "browse": 4.0, "anonymous": 1.5}
STATUS_RESTATEMENTS = {
    "placed": ("shipped",),
    "shipped": ("completed",),
    "completed": ("return_pending", "returned"),
    "return_pending": ("returned", "completed"),
    "returned": ("completed",),
}
BROWSE_PAGES_KNOWN = ("/", "/menu", "/account")
BROWSE_PAGES_ANONYMOUS = ("/", "/menu", "/cart")


def row_moment(table: str, row: Row) -> datetime:
    """The event time of a row as a datetime (an order date counts as its midnight)."""
    value = row[TIME_COLUMNS[table]]
    return value if isinstance(value, datetime) else datetime.combine(value, time())


def high_water_mark(tables: Tables) -> datetime:
    """The latest event time over all tables (created_at / order_date / occurred_at)."""
    moments = [row_moment(name, row) for name in TABLE_COLUMNS for row in tables.get(name, ())]
    if not moments:
        raise ValueError("the tables are empty: there is no high-water mark")
    return max(moments)


def hours(value: float) -> timedelta:
    """``value`` hours as a whole-second duration."""
    return timedelta(seconds=round(value * 3600))


@dataclass(eq=False)
class _Slot:
    """One new row while a batch is being planned (its row is filled in later)."""

    table: str
    gap: tuple[int, int] = (0, 0)  # seconds after the previous slot of the same timing group
    page: str | None = None  # web events: a fixed page; None = a browsing page chosen later
    klass: str = ON_TIME
    tie_of: _Slot | None = None  # a tie copies the moment of this slot
    order: _Slot | None = None  # payments: the new order paid (None: the activity's existing order)
    moment: datetime | None = None
    row: Row | None = None


@dataclass(eq=False)
class _Activity:
    """Rows that belong together (a sign-up, an order, a browsing session), in dependency order."""

    kind: str
    slots: list[_Slot]
    allow_very_late: bool = True


@dataclass(eq=False)
class _NewVisitor:
    """Placeholder for a visitor id handed out once all moments are known."""

    first: datetime | None = None
    visitor_id: str = ""


@dataclass
class _Context:
    """Look-ups over the current (post delete / restate) tables for new rows."""

    customer_times: list[datetime]  # sorted created_at ...
    customer_ids: list[int]  # ... and the matching ids
    customer_visitors: dict[int, list[str]]
    visitor_login: dict[str, tuple[int, datetime]]  # visitor -> (customer id, first known moment)
    visitors: list[str]
    unpaid: list[tuple[date, int, int]]  # (order_date, order id, user id), sorted
    visitor_number: int


def _views(pages: Sequence[str | None], first_gap: tuple[int, int], gap: tuple[int, int]) -> list[_Slot]:
    return [_Slot("raw_web_events", first_gap if i == 0 else gap, page) for i, page in enumerate(pages)]


def _order_part(rng: random.Random, first_gap: tuple[int, int]) -> list[_Slot]:
    """An order, the shopping walk before its payment, and its payment(s) (maybe none)."""
    order = _Slot("raw_orders", first_gap)
    pages: list[str | None] = ["/", "/menu"] + ["/menu"] * rng.randint(0, 1) + ["/cart", "/checkout"]
    if rng.random() < 0.3:
        pages = pages[1:]
    slots = [order] + _views(pages, (60, 900), (20, 180))
    if rng.random() >= NEW_UNPAID_SHARE:
        slots.append(_Slot("raw_payments", (5, 60), order=order))
        if rng.random() < SPLIT_PAYMENT_SHARE:
            slots.append(_Slot("raw_payments", (5, 300), order=order))
    return slots


def _plan_activity(rng: random.Random, kind: str) -> _Activity:
    """The skeleton (tables, order, gaps) of one activity of ``kind``."""
    if kind == "new_customer":
        prelude = _views([rng.choice(("/", "/menu")) for _ in range(rng.randint(1, 3))], (0, 0), (15, 300))
        slots = prelude + [_Slot("raw_customers", (10, 120)), _Slot("raw_web_events", (5, 90), "/login")]
        slots += _views([None] * rng.randint(0, 2), (20, 240), (20, 240))
        if rng.random() < 0.5:
            slots += _order_part(rng, (600, 6 * 3600))
        return _Activity(kind, slots)
    if kind == "order":
        return _Activity(kind, _order_part(rng, (0, 0)))
    if kind == "pay":
        slots = _views(["/account", "/checkout"], (0, 0), (20, 240)) + [_Slot("raw_payments", (5, 60))]
        return _Activity(kind, slots, allow_very_late=False)
    if kind == "browse":
        return _Activity(kind, _views([None] * rng.randint(1, 4), (0, 0), (20, 240)))
    if kind == "anonymous":
        return _Activity(kind, _views([None] * rng.randint(1, 5), (0, 0), (20, 240)))
    raise ValueError(kind)  # pragma: no cover


def _add_tie(rng: random.Random, activities: list[_Activity]) -> None:
    """Add one row that copies the moment of another new row (same table, customer/visitor)."""
    candidates = [
        (activity, slot)
        for activity in activities
        for slot in activity.slots
        if slot.tie_of is None and slot.table != "raw_customers"
    ]
    activity, original = rng.choice(candidates)
    twin = _Slot(original.table, klass=TIE, tie_of=original, order=original.order)
    position = activity.slots.index(original) + 1
    while position < len(activity.slots) and activity.slots[position].tie_of is original:
        position += 1
    activity.slots.insert(position, twin)


def _assign_classes(rng: random.Random, activities: list[_Activity], n_late: int, n_very: int) -> None:
    plain = [s for a in activities for s in a.slots if s.tie_of is None]
    very_ok = [s for a in activities if a.allow_very_late for s in a.slots if s.tie_of is None]
    for slot in rng.sample(very_ok, min(n_very, len(very_ok))):
        slot.klass = VERY_LATE
    rest = [s for s in plain if s.klass == ON_TIME]
    for slot in rng.sample(rest, min(n_late, len(rest))):
        slot.klass = LATE


def _assign_moments(
    rng: random.Random,
    activity: _Activity,
    windows: dict[str, tuple[datetime, datetime]],
    earliest: datetime | None,
) -> None:
    """Give every slot a moment in its class window, nondecreasing along the activity.

    The classes of an activity are reordered (earliest window first) so that a
    customer precedes its orders, an order its payments, a login its views.
    No moment is before ``earliest`` (e.g. the first sign-up for an order of
    an existing customer), even if that leaves a window.
    """
    plain = [s for s in activity.slots if s.tie_of is None]
    for slot, klass in zip(plain, sorted((s.klass for s in plain), key=CLASS_RANK.__getitem__)):
        slot.klass = klass
    previous = earliest
    start = 0
    while start < len(plain):
        end = start
        while end < len(plain) and plain[end].klass == plain[start].klass:
            end += 1
        group = plain[start:end]
        gaps = [0] + [rng.randint(*s.gap) for s in group[1:]]
        low, high = windows[group[0].klass]
        if previous is not None and previous > low:
            low = previous
        room = max(0, int((high - low).total_seconds()))
        total = sum(gaps)
        if total > room:
            gaps = [g * room // total for g in gaps]
            total = sum(gaps)
        moment = low + timedelta(seconds=rng.randint(0, room - total))
        for slot, gap in zip(group, gaps):
            moment += timedelta(seconds=gap)
            slot.moment = moment
        previous = moment
        start = end
    for slot in activity.slots:
        if slot.tie_of is not None:
            slot.moment = slot.tie_of.moment


def _build_context(state: Tables) -> _Context:
    customers = sorted((c["created_at"], c["id"]) for c in state["raw_customers"])
    visitor_login: dict[str, tuple[int, datetime]] = {}
    numbers = [0]
    for e in state["raw_web_events"]:
        visitor = e["visitor_id"]
        if visitor[1:].isdigit():
            numbers.append(int(visitor[1:]))
        if e["customer_id"] is not None:
            known = visitor_login.get(visitor)
            if known is None or e["occurred_at"] < known[1]:
                visitor_login[visitor] = (e["customer_id"], e["occurred_at"])
    customer_visitors: dict[int, list[str]] = {}
    for visitor in sorted(visitor_login):
        customer_visitors.setdefault(visitor_login[visitor][0], []).append(visitor)
    paid = {p["order_id"] for p in state["raw_payments"]}
    unpaid = sorted(
        {(o["order_date"], o["id"], o["user_id"]) for o in state["raw_orders"]
         if o["status"] == "placed" and o["id"] not in paid}
    )
    return _Context(
        customer_times=[t for t, _ in customers],
        customer_ids=[i for _, i in customers],
        customer_visitors=customer_visitors,
        visitor_login=visitor_login,
        visitors=sorted({e["visitor_id"] for e in state["raw_web_events"]}),
        unpaid=unpaid,
        visitor_number=max(numbers) + 1,
    )


def _browse_page(rng: random.Random, logged_in: bool) -> str:
    return rng.choice(BROWSE_PAGES_KNOWN if logged_in else BROWSE_PAGES_ANONYMOUS)


def _fill_view(rng: random.Random, slot: _Slot, visitor: Any, customer: Any) -> None:
    page = slot.page if slot.page is not None else _browse_page(rng, customer is not None)
    slot.row = {"visitor_id": visitor, "customer_id": customer, "page": page, "occurred_at": slot.moment}


def _fill_orders_and_payments(rng: random.Random, activity: _Activity, customer: Any, paid_order: Any) -> None:
    """Rows of the activity's orders and payments (statuses, methods, amounts)."""
    paid = {id(s.order) for s in activity.slots if s.table == "raw_payments" and s.order is not None}
    first_payment: set[int] = set()
    for slot in activity.slots:
        assert slot.moment is not None
        if slot.table == "raw_orders":
            status = rng.choices(("placed", "shipped"), (60, 40))[0] if id(slot) in paid else "placed"
            slot.row = {"user_id": customer, "order_date": slot.moment.date(), "status": status}
        elif slot.table == "raw_payments":
            target = slot.order if slot.order is not None else paid_order
            if id(target) not in first_payment:
                first_payment.add(id(target))
                method = rng.choices(PAYMENT_METHODS, PAYMENT_METHOD_WEIGHTS)[0]
                amount = rng.randrange(1000, 3001, 50)
            else:
                method = rng.choice(("coupon", "gift_card"))
                amount = rng.randrange(200, 801, 100)
            slot.row = {"order_id": target, "payment_method": method, "amount": amount, "created_at": slot.moment}


def _customer_visitor(rng: random.Random, ctx: _Context, customer: int, activity: _Activity) -> Any:
    """An existing device of ``customer``, or a new one whose first view becomes ``/login``."""
    devices = ctx.customer_visitors.get(customer)
    if devices:
        return rng.choice(devices)
    views = [s for s in activity.slots if s.table == "raw_web_events" and s.tie_of is None]
    if views:
        views[0].page = "/login"
    return _NewVisitor()


def _fill_activity(rng: random.Random, activity: _Activity, ctx: _Context) -> None:
    """Choose customers, visitors and orders for the activity and fill its rows."""
    slots = activity.slots
    views = [s for s in slots if s.table == "raw_web_events"]
    if activity.kind == "new_customer":
        customer_slot = next(s for s in slots if s.table == "raw_customers")
        customer_slot.row = {
            "first_name": rng.choice(FIRST_NAMES),
            "last_name": rng.choice(string.ascii_uppercase) + ".",
            "created_at": customer_slot.moment,
        }
        login = next(i for i, s in enumerate(slots) if s.page == "/login")
        visitor = _NewVisitor()
        for i, slot in enumerate(slots):
            if slot.table == "raw_web_events":
                _fill_view(rng, slot, visitor, customer_slot if i >= login else None)
        _fill_orders_and_payments(rng, activity, customer_slot, None)
        return
    if activity.kind in ("browse", "anonymous"):
        if activity.kind == "anonymous" or not ctx.visitors:
            visitor, known = _NewVisitor(), None
        else:
            visitor = rng.choice(ctx.visitors)
            known = ctx.visitor_login.get(visitor)
        for slot in views:
            assert slot.moment is not None
            logged_in = known is not None and slot.moment >= known[1]
            _fill_view(rng, slot, visitor, known[0] if logged_in else None)
        return
    paid_order: int | None = None
    if activity.kind == "order":
        first = slots[0].moment
        assert first is not None
        eligible = bisect.bisect_right(ctx.customer_times, first)
        assert eligible > 0, "moments start after the first sign-up"
        customer = ctx.customer_ids[rng.randrange(eligible)]
    else:  # "pay": a payment for an existing unpaid order
        pay_at = next(s for s in slots if s.table == "raw_payments").moment
        assert pay_at is not None
        eligible = bisect.bisect_right(ctx.unpaid, (pay_at.date(), float("inf"), 0))
        assert eligible > 0, "moments start after the earliest unpaid order"
        _, paid_order, customer = ctx.unpaid.pop(rng.randrange(eligible))
    visitor = _customer_visitor(rng, ctx, customer, activity)
    known = ctx.visitor_login.get(visitor) if isinstance(visitor, str) else None
    for slot in views:
        assert slot.moment is not None
        logged_in = known is None or slot.moment >= known[1]
        _fill_view(rng, slot, visitor, customer if logged_in else None)
    _fill_orders_and_payments(rng, activity, customer, paid_order)


def _earliest(activity: _Activity, ctx: _Context) -> datetime | None:
    """The earliest moment an activity may start at, given what it must refer to."""
    if activity.kind == "order":  # an existing customer must have signed up
        return ctx.customer_times[0] + timedelta(minutes=1)
    if activity.kind == "pay":  # an unpaid order must exist on that date
        return datetime.combine(ctx.unpaid[0][0], time(7))
    return None


def _plan_new_rows(
    rng: random.Random,
    ctx: _Context,
    target: int,
    ties: float,
    late: float,
    very_late: float,
    windows: dict[str, tuple[datetime, datetime]],
) -> list[_Activity]:
    """Activities with about ``target`` rows, timed and filled (ids not yet given)."""
    if target <= 0:
        return []
    n_ties = round(ties * target)
    kinds = [k for k in ACTIVITY_WEIGHTS
             if (k != "order" or ctx.customer_ids) and (k != "pay" or ctx.unpaid)]
    weights = [ACTIVITY_WEIGHTS[k] for k in kinds]
    activities: list[_Activity] = []
    planned = 0
    pays_left = len(ctx.unpaid)
    while planned < target - n_ties:
        kind = rng.choices(kinds, weights)[0]
        if kind == "pay":
            if pays_left == 0:
                continue
            pays_left -= 1
        activities.append(_plan_activity(rng, kind))
        planned += len(activities[-1].slots)
    for _ in range(n_ties):
        _add_tie(rng, activities)
    total = planned + n_ties
    _assign_classes(rng, activities, round(late * total), round(very_late * total))
    for activity in activities:
        _assign_moments(rng, activity, windows, _earliest(activity, ctx))
        _fill_activity(rng, activity, ctx)
    return activities


def _resolve(value: Any) -> Any:
    if isinstance(value, _Slot):
        assert value.row is not None
        return value.row["id"]
    if isinstance(value, _NewVisitor):
        return value.visitor_id
    return value


def _materialize(activities: list[_Activity], state: Tables, ctx: _Context) -> dict[str, list[tuple[Row, str]]]:
    """Give ids (following time per table) and return the new rows with their class."""
    visitors: dict[int, tuple[datetime, int, _NewVisitor]] = {}
    for slot in (s for a in activities for s in a.slots if s.table == "raw_web_events"):
        assert slot.row is not None and slot.moment is not None
        visitor = slot.row["visitor_id"]
        if isinstance(visitor, _NewVisitor):
            key = id(visitor)
            if key not in visitors or slot.moment < visitors[key][0]:
                visitors[key] = (slot.moment, visitors.get(key, (None, len(visitors)))[1], visitor)
    for _, _, visitor in sorted(visitors.values(), key=lambda v: (v[0], v[1])):
        visitor.visitor_id = f"v{ctx.visitor_number:05d}"
        ctx.visitor_number += 1
    new_rows: dict[str, list[tuple[Row, str]]] = {name: [] for name in TABLE_COLUMNS}
    for name in TABLE_COLUMNS:
        keyed = [
            (slot.moment, a, s, slot)
            for a, activity in enumerate(activities)
            for s, slot in enumerate(activity.slots)
            if slot.table == name
        ]
        keyed.sort(key=lambda k: (k[0], k[1], k[2]))
        next_id = max((r["id"] for r in state[name]), default=0) + 1
        for offset, (_, _, _, slot) in enumerate(keyed):
            assert slot.row is not None
            slot.row["id"] = next_id + offset
    for name, columns in TABLE_COLUMNS.items():
        slots = sorted((s for a in activities for s in a.slots if s.table == name), key=lambda s: s.row["id"])
        new_rows[name] = [({c: _resolve(s.row[c]) for c in columns}, s.klass) for s in slots]
    return new_rows


def _weighted_order(rng: random.Random, items: list[tuple[str, Row]], hwm: datetime) -> list[tuple[str, Row]]:
    """``items`` in a random order where recent rows tend to come first."""
    recent = hwm - timedelta(days=RECENT_DAYS)
    keyed = []
    for table, row in items:
        weight = RECENT_WEIGHT if row_moment(table, row) >= recent else 1
        keyed.append((rng.random() ** (1 / weight), table, row))
    keyed.sort(key=lambda k: -k[0])
    return [(table, row) for _, table, row in keyed]


def _unique_rows(state: Tables) -> list[tuple[str, Row]]:
    """(table, row) for rows whose id appears once in its table, in table order."""
    result = []
    for name in TABLE_COLUMNS:
        counts = Counter(r["id"] for r in state[name])
        result += [(name, r) for r in state[name] if counts[r["id"]] == 1]
    return result


def _apply_deletes(rng: random.Random, state: Tables, count: int) -> dict[str, list[Row]]:
    """Delete ``count`` rows (cascading to dependants); returns the deleted rows per table.

    The row with the highest id of each table and an event of the highest
    visitor number are kept, so that later batches, which only see the
    current state, never hand out a deleted id again.
    """
    deleted: dict[str, set[int]] = {name: set() for name in TABLE_COLUMNS}
    if count <= 0:
        return {name: [] for name in TABLE_COLUMNS}
    protected = {name: {max(r["id"] for r in state[name])} for name in TABLE_COLUMNS if state[name]}
    numbered = [(int(e["visitor_id"][1:]), e["id"]) for e in state["raw_web_events"] if e["visitor_id"][1:].isdigit()]
    if numbered:
        protected["raw_web_events"].add(max(numbered)[1])
    sizes = {name: Counter(r["id"] for r in state[name]) for name in TABLE_COLUMNS}
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
    candidates = [(name, i) for name in TABLE_COLUMNS for i in sorted(sizes[name])]
    rng.shuffle(candidates)
    remaining = count
    for name, row_id in candidates:
        if remaining == 0:
            break
        cascade: dict[str, set[int]] = {n: set() for n in TABLE_COLUMNS}
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
    for name in TABLE_COLUMNS:
        removed[name] = [r for r in state[name] if r["id"] in deleted[name]]
        state[name] = [r for r in state[name] if r["id"] not in deleted[name]]
    return removed


def _restate_row(
    rng: random.Random,
    table: str,
    row: Row,
    hwm: datetime,
    signed_up: dict[int, date],
    first_payment: dict[int, date],
    visitor_login: dict[str, datetime],
) -> tuple[Row, bool, bool] | None:
    """A new version of ``row``: (row, timestamp changed, values changed), or None if impossible."""
    new = dict(row)
    draw = rng.random()
    want_time, want_values = draw >= 0.4, draw < 0.4 or draw >= 0.7
    changed_time = False
    if want_time:
        if table == "raw_customers":
            new["created_at"] = row["created_at"] - seconds(rng, 60, 12 * 3600)
            changed_time = True
        elif table == "raw_orders":
            d = row["order_date"]
            low = max(signed_up[row["user_id"]], d - timedelta(days=3))
            high = min(first_payment.get(row["id"], max(d, hwm.date())), d + timedelta(days=3))
            choices = [low + timedelta(days=k) for k in range((high - low).days + 1)]
            choices = [c for c in choices if c != d]
            if choices:
                new["order_date"] = rng.choice(choices)
                changed_time = True
        elif table == "raw_payments":
            new["created_at"] = row["created_at"] + seconds(rng, 60, RESTATE_MAX_SHIFT)
            changed_time = True
        else:
            at = row["occurred_at"]
            limit = at + timedelta(seconds=RESTATE_MAX_SHIFT)
            login = visitor_login.get(row["visitor_id"])
            if row["customer_id"] is None and login is not None and login > at:
                limit = min(limit, login - timedelta(seconds=1))
            if limit > at:
                new["occurred_at"] = at + timedelta(seconds=rng.randint(1, int((limit - at).total_seconds())))
                changed_time = True
    changed_values = False
    if want_values or not changed_time:
        if table == "raw_customers":
            if rng.random() < 0.5:
                new["first_name"] = rng.choice([n for n in FIRST_NAMES if n != row["first_name"]])
            else:
                new["last_name"] = rng.choice([c for c in string.ascii_uppercase if c + "." != row["last_name"]]) + "."
            changed_values = True
        elif table == "raw_orders":
            if row["status"] in STATUS_RESTATEMENTS:
                new["status"] = rng.choice(STATUS_RESTATEMENTS[row["status"]])
                changed_values = True
        elif table == "raw_payments":
            delta = rng.choice([-1, 1]) * rng.randrange(50, 501, 50)
            new["amount"] = row["amount"] + delta if row["amount"] + delta > 0 else row["amount"] + abs(delta)
            changed_values = True
        elif row["page"] != "/login":
            new["page"] = rng.choice([p for p in PAGES if p not in ("/login", row["page"])])
            changed_values = True
    if not (changed_time or changed_values):
        return None
    return new, changed_time, changed_values


def _apply_restatements(
    rng: random.Random, state: Tables, count: int, hwm: datetime
) -> tuple[dict[str, list[tuple[Row, Row]]], dict[str, Counter]]:
    """Replace ``count`` rows in place by new versions; returns (old, new) pairs per table."""
    restated: dict[str, list[tuple[Row, Row]]] = {name: [] for name in TABLE_COLUMNS}
    kinds: dict[str, Counter] = {name: Counter() for name in TABLE_COLUMNS}
    if count <= 0:
        return restated, kinds
    signed_up = {c["id"]: c["created_at"].date() for c in state["raw_customers"]}
    first_payment: dict[int, date] = {}
    for p in state["raw_payments"]:
        day = p["created_at"].date()
        first_payment[p["order_id"]] = min(day, first_payment.get(p["order_id"], day))
    visitor_login: dict[str, datetime] = {}
    for e in state["raw_web_events"]:
        if e["customer_id"] is not None:
            seen = visitor_login.get(e["visitor_id"])
            visitor_login[e["visitor_id"]] = e["occurred_at"] if seen is None else min(seen, e["occurred_at"])
    replacements: dict[tuple[str, int], Row] = {}
    for table, row in _weighted_order(rng, _unique_rows(state), hwm):
        if len(replacements) == count:
            break
        result = _restate_row(rng, table, row, hwm, signed_up, first_payment, visitor_login)
        if result is None:
            continue
        new, changed_time, changed_values = result
        replacements[(table, row["id"])] = new
        restated[table].append((row, new))
        kinds[table]["timestamp_changed"] += changed_time
        kinds[table]["values_changed"] += changed_values
    for name in TABLE_COLUMNS:
        state[name] = [replacements.get((name, r["id"]), r) for r in state[name]]
    return restated, kinds


def _apply_duplicates(
    rng: random.Random, state: Tables, count: int, new_ids: dict[str, set[int]], hwm: datetime
) -> dict[str, list[Row]]:
    """Append ``count`` byte-identical copies of rows (new or existing) next to their original."""
    chosen: dict[str, set[int]] = {name: set() for name in TABLE_COLUMNS}
    if count > 0:
        unique = _unique_rows(state)
        fresh = [(t, r) for t, r in unique if r["id"] in new_ids[t]]
        rng.shuffle(fresh)
        old = _weighted_order(rng, [(t, r) for t, r in unique if r["id"] not in new_ids[t]], hwm)
        for _ in range(count):
            pool = fresh if (rng.random() < 0.5 and fresh) or not old else old
            if not pool:
                break
            table, row = pool.pop(0)
            chosen[table].add(row["id"])
    copies: dict[str, list[Row]] = {name: [] for name in TABLE_COLUMNS}
    for name in TABLE_COLUMNS:
        rows: list[Row] = []
        for row in state[name]:
            rows.append(row)
            if row["id"] in chosen[name]:
                rows.append(dict(row))
                copies[name].append(row)
        state[name] = rows
    return copies


def _stamp(value: datetime | None) -> str | None:
    return None if value is None else format_value(value)


def _kind_summary(rows: dict[str, list[Row]], **extra: dict[str, Any]) -> dict[str, Any]:
    """count / min / max overall and per table (with ids) for one kind of change."""
    tables: dict[str, Any] = {}
    moments: list[datetime] = []
    for name in TABLE_COLUMNS:
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
) -> tuple[Tables, dict[str, Any]]:
    """Simulate one ingestion: the state of the raw tables ``days`` days later.

    The tables are the current state of the sources as a loader leaves them;
    the input is not modified. With ``hwm`` the high-water mark (the latest
    created_at / order_date / occurred_at over all tables) and ``existing``
    the number of input rows, in this order:

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
      page or a later occurred_at (login stickiness kept).
    * new rows, about ``new_fraction * existing`` (at least
      :data:`MIN_NEW_ROWS` unless ``new_fraction`` is 0): new customers with
      their devices, views and maybe an order; new orders (with payments and
      shopping views) of existing customers; payments of unpaid orders;
      browsing of existing and new visitors. Ids continue after each
      table's maximum (visitor ids too). Each new row is one of:

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
      sign-up precedes its orders and an order its payments.
    * ``duplicates``: ``round(duplicates * n_new)`` rows, new or existing
      (recent favoured), appear a second time, byte-identical, right after
      the original.

    Rows keep their position (restated rows in place); new rows are
    appended by id. Returns ``(tables, summary)``: the summary (JSON-ready)
    has the high-water mark before/after, row counts, and per kind
    (``new``, ``on_time``, ``late``, ``very_late``, ``ties``,
    ``duplicates``, ``restated``, ``deleted``) the count, the min/max
    timestamps and per table the count, ids and min/max. Equal input,
    seed and options give equal output.
    """
    for name, value in (("new_fraction", new_fraction), ("late", late), ("very_late", very_late),
                        ("duplicates", duplicates), ("ties", ties), ("restated", restated),
                        ("deletes", deletes)):
        _check_fraction(name, value)
    if late + very_late + ties > 1.0 + 1e-9:
        raise ValueError("late + very_late + ties must not exceed 1")
    late_low, late_high = _check_hours("late_hours", late_hours)
    very_low, very_high = _check_hours("very_late_hours", very_late_hours)
    if days < 1:
        raise ValueError("days must be at least 1")
    missing = [name for name in TABLE_COLUMNS if name not in tables]
    if missing:
        raise ValueError(f"missing tables: {missing}")

    state: Tables = {name: [dict(r) for r in tables[name]] for name in TABLE_COLUMNS}
    hwm = high_water_mark(state)
    existing = sum(len(rows) for rows in state.values())
    before = {name: len(rows) for name, rows in state.items()}

    def stream(part: str) -> random.Random:
        return random.Random(f"{seed}:next_batch:{format_value(hwm)}:{existing}:{part}")

    removed = _apply_deletes(stream("deletes"), state, round(deletes * existing))
    restatements, restate_kinds = _apply_restatements(stream("restated"), state, round(restated * existing), hwm)

    windows = {
        ON_TIME: (hwm + timedelta(seconds=1), hwm + timedelta(days=days)),
        LATE: (hwm - hours(late_high), hwm - hours(late_low)),
        VERY_LATE: (hwm - hours(very_high), hwm - hours(very_low)),
    }
    target = 0 if new_fraction == 0 else max(MIN_NEW_ROWS, round(new_fraction * existing))
    ctx = _build_context(state)
    activities = _plan_new_rows(stream("new"), ctx, target, ties, late, very_late, windows)
    new_rows = _materialize(activities, state, ctx)
    for name in TABLE_COLUMNS:
        state[name] += [row for row, _ in new_rows[name]]
    n_new = sum(len(rows) for rows in new_rows.values())
    new_ids = {name: {row["id"] for row, _ in rows} for name, rows in new_rows.items()}
    copies = _apply_duplicates(stream("duplicates"), state, round(duplicates * n_new), new_ids, hwm)

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
            "ties": ties, "restated": restated, "deletes": deletes,
        },
        "high_water_mark": {"before": format_value(hwm), "after": format_value(high_water_mark(state))},
        "windows": {k: [format_value(low), format_value(high)] for k, (low, high) in windows.items()},
        "rows": {"before": before, "after": {name: len(rows) for name, rows in state.items()}},
        "new": _kind_summary(of_class(None)),
        ON_TIME: _kind_summary(of_class(ON_TIME)),
        LATE: _kind_summary(of_class(LATE)),
        VERY_LATE: _kind_summary(of_class(VERY_LATE)),
        TIE: _kind_summary(of_class(TIE)),
        "duplicates": _kind_summary(copies),
        "restated": restated_summary,
        "deleted": _kind_summary(removed),
    }
    touched = [summary[k][m] for k in ("new", "duplicates", "restated", "deleted") for m in ("min", "max")]
    touched_moments = [datetime.strptime(t, TIMESTAMP_FORMAT) for t in touched if t is not None]
    summary["touched"] = {
        "min": _stamp(min(touched_moments, default=None)),
        "max": _stamp(max(touched_moments, default=None)),
    }
    return state, summary


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


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    """Parse the command line of the ``generate`` command (the default one)."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.generate_data",
        description="Generate the raw jaffle_activity seed CSV files deterministically.",
        epilog="Other command: 'python -m tools.generate_data next-batch --help' "
               "(add one simulated ingestion batch to existing CSV files).",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    parser.add_argument("--scale", type=float, default=DEFAULT_SCALE,
                        help="1.0 = 300 customers (default %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("seeds"), help="output directory (default %(default)s)")
    parser.add_argument("--start", type=date.fromisoformat, default=DEFAULT_START,
                        help="first day, YYYY-MM-DD (default %(default)s)")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="number of days (default %(default)s)")
    return parser.parse_args(None if argv is None else list(argv))


def parse_next_batch_args(argv: Iterable[str]) -> argparse.Namespace:
    """Parse the arguments of the ``next-batch`` command (without the command name)."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.generate_data next-batch",
        description="Read the raw CSV files of a folder, simulate one ingestion batch "
                    "(new, late, duplicated, restated and deleted rows) and write the new "
                    "state back; prints a JSON summary.",
    )
    parser.add_argument("--seeds", type=Path, default=Path("seeds"),
                        help="folder with the four raw_*.csv files (default %(default)s)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: the --seeds folder)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    parser.add_argument("--days", type=int, default=1, help="days covered by the batch (default %(default)s)")
    parser.add_argument("--new-fraction", type=float, default=0.01,
                        help="new rows as a fraction of the existing rows (default %(default)s)")
    parser.add_argument("--late", type=float, default=0.2, help="share of late new rows (default %(default)s)")
    parser.add_argument("--late-hours", type=float, nargs=2, default=(1.0, 48.0), metavar=("LOW", "HIGH"),
                        help="late rows are LOW-HIGH hours before the high-water mark (default 1 48)")
    parser.add_argument("--very-late", type=float, default=0.0,
                        help="share of very late new rows (default %(default)s)")
    parser.add_argument("--very-late-hours", type=float, nargs=2, default=(100.0, 2000.0), metavar=("LOW", "HIGH"),
                        help="very late rows are LOW-HIGH hours before the high-water mark (default 100 2000)")
    parser.add_argument("--duplicates", type=float, default=0.0,
                        help="rows delivered twice, as a fraction of the new rows (default %(default)s)")
    parser.add_argument("--ties", type=float, default=0.0,
                        help="share of new rows copying a timestamp of the same customer (default %(default)s)")
    parser.add_argument("--restated", type=float, default=0.0,
                        help="share of existing rows restated in place (default %(default)s)")
    parser.add_argument("--deletes", type=float, default=0.0,
                        help="share of existing rows deleted (default %(default)s)")
    return parser.parse_args(list(argv))


def next_batch_main(argv: Iterable[str]) -> int:
    """``next-batch``: read the folder, add one batch, write it back, print the summary."""
    args = parse_next_batch_args(argv)
    try:
        tables, summary = next_batch(
            read_csv(args.seeds),
            args.seed,
            days=args.days,
            new_fraction=args.new_fraction,
            late=args.late,
            late_hours=tuple(args.late_hours),
            very_late=args.very_late,
            very_late_hours=tuple(args.very_late_hours),
            duplicates=args.duplicates,
            ties=args.ties,
            restated=args.restated,
            deletes=args.deletes,
        )
    except (OSError, ValueError) as error:
        print(f"next-batch: {error}", file=sys.stderr)
        return 2
    write_tables_into(tables, args.out if args.out is not None else args.seeds)
    print(json.dumps(summary, indent=2))
    return 0


def main(argv: Iterable[str] | None = None) -> int:
    """CLI entry point.

    ``[generate] --seed --scale --out --start --days`` (the default command)
    writes the four CSV files; ``next-batch ...`` adds one ingestion batch
    to the CSV files of a folder (see :func:`parse_next_batch_args`).
    """
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments and arguments[0] == "next-batch":
        return next_batch_main(arguments[1:])
    if arguments and arguments[0] == "generate":
        arguments = arguments[1:]
    args = parse_args(arguments)
    tables = generate(seed=args.seed, scale=args.scale, start=args.start, days=args.days)
    for path in write_csv(tables, args.out):
        print(f"{path}: {len(tables[path.stem])} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
