"""The initial load: every raw table built from scratch over one period.

Every table has its own builder (``build_customers``, ``build_orders``,
``build_payments``, ``build_web_events``) that only reads the tables it
depends on, ids come from an explicit :class:`~.shop.IdCounters` object, and
each table uses its own random stream (:func:`~.shop.table_rng`), so adding a
table or changing one builder does not reshuffle the others.
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from .shop import (
    ANONYMOUS_VISITORS_PER_CUSTOMER,
    CARD_METHODS,
    CUSTOMERS_PER_SCALE,
    DEFAULT_DAYS,
    DEFAULT_SCALE,
    DEFAULT_SEED,
    DEFAULT_START,
    EXTRA_DEVICE_SHARE,
    FIRST_NAMES,
    NO_ORDER_SHARE,
    NO_ORDER_WEB_SHARE,
    ORDER_COUNTS,
    ORDER_STATUSES,
    PAYMENT_METHOD_WEIGHTS,
    PAYMENT_METHODS,
    SAME_DAY_ORDER_SHARE,
    SAME_SECOND_SPLIT_SHARE,
    SIGNUP_WINDOW,
    SPLIT_PAYMENT_SHARE,
    STATUS_WEIGHTS_BY_AGE,
    UNPAID_PLACED_SHARE,
    DateRange,
    IdCounters,
    seconds,
    table_rng,
)
from .tables import LOADED_AT, Row, Tables

View = tuple[datetime, str]


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
# the whole initial load
# --------------------------------------------------------------------------


def customer_count(scale: float) -> int:
    """Number of customers for ``scale`` (300 per 1.0, at least 1)."""
    return max(1, round(CUSTOMERS_PER_SCALE * scale))


def initial_load_time(period: DateRange) -> datetime:
    """When the initial load happens: the first moment after the period (midnight after its last day)."""
    return period.end_moment


def generate(
    seed: int = DEFAULT_SEED,
    scale: float = DEFAULT_SCALE,
    start: date = DEFAULT_START,
    days: int = DEFAULT_DAYS,
) -> Tables:
    """Generate all raw tables; returns ``{"raw_orders": [row, ...], ...}``.

    Rows are dicts keyed by the columns in :data:`~.tables.TABLE_COLUMNS`,
    sorted by id, with values of type str, int, None, date or datetime.
    The whole period is loaded as one historical backfill: every row has the
    same ``_loaded_at``, midnight after the last day of the period
    (:func:`initial_load_time`). From five days on, that is later than every
    event time; in a shorter period a payment can follow its order (and the
    period) by some hours.
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
    tables = {
        "raw_customers": customers,
        "raw_orders": orders,
        "raw_payments": payments,
        "raw_web_events": web_events,
    }
    loaded_at = initial_load_time(period)
    for rows in tables.values():
        for row in rows:
            row[LOADED_AT] = loaded_at
    return tables
