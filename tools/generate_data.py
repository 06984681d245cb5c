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

Usage::

    python -m tools.generate_data --seed 42 --scale 1.0 --out seeds
"""

from __future__ import annotations

import argparse
import csv
import random
import string
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


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.generate_data",
        description="Generate the raw jaffle_activity seed CSV files deterministically.",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    parser.add_argument("--scale", type=float, default=DEFAULT_SCALE,
                        help="1.0 = 300 customers (default %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("seeds"), help="output directory (default %(default)s)")
    parser.add_argument("--start", type=date.fromisoformat, default=DEFAULT_START,
                        help="first day, YYYY-MM-DD (default %(default)s)")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="number of days (default %(default)s)")
    return parser.parse_args(None if argv is None else list(argv))


def main(argv: Iterable[str] | None = None) -> int:
    """CLI entry point: generate and write the four CSV files."""
    args = parse_args(argv)
    tables = generate(seed=args.seed, scale=args.scale, start=args.start, days=args.days)
    for path in write_csv(tables, args.out):
        print(f"{path}: {len(tables[path.stem])} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
