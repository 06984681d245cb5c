"""The initial load: every raw table built from scratch over one period.

Every table has its own builder (``build_customers``, ``build_orders``,
``build_payments``, ``build_web_events``, and in :mod:`.identity` the
aliases and removals) that only reads the tables it depends on, ids come
from an explicit :class:`~.shop.IdCounters` object, and each table (and each
identity feature) uses its own random stream (:func:`~.shop.table_rng`), so
adding a table or changing one builder does not reshuffle the others.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Collection, Sequence
from datetime import date, datetime, timedelta

from .shop import (
    ANONYMOUS_VISITORS_PER_CUSTOMER,
    CARD_METHODS,
    CUSTOMERS_PER_SCALE,
    DEFAULT_DAYS,
    DEFAULT_SCALE,
    DEFAULT_SEED,
    DEFAULT_START,
    FIRST_NAMES,
    NO_ORDER_SHARE,
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
    payment_time,
    seconds,
    table_rng,
)
from .identity import (
    build_customer_aliases,
    build_customer_removals,
    choose_long_preludes,
    plan_duplicates,
    share_devices,
)
from .tables import LOADED_AT, Row, Tables
from .web_events import Device, device_views, event_rows


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


def build_web_events(
    rng: random.Random,
    ids: IdCounters,
    period: DateRange,
    customers: Sequence[Row],
    orders: Sequence[Row],
    payments: Sequence[Row],
    anonymous_count: int,
    long_preludes: Collection[int] = (),
    share: Callable[[list[Device]], None] | None = None,
) -> list[Row]:
    """Web events of customers' devices and of anonymous visitors.

    ``long_preludes`` are the customers who browse for days before signing
    up; ``share`` may add other customers' turns to the devices (see
    :func:`~.identity.share_devices`). Visitor ids follow each visitor's
    first view; event ids follow time.
    """
    devices = device_views(rng, period, customers, orders, payments, anonymous_count, long_preludes)
    if share is not None:
        share(devices)
    return event_rows(ids, period, devices)


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
    sorted by id (the identity tables by customer_id), with values of type
    str, int, None, date or datetime.
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
    alias_rng = table_rng(seed, "customer_aliases")
    duplicates = plan_duplicates(alias_rng, customers)
    aliases = build_customer_aliases(alias_rng, customers, duplicates, period)
    orders = build_orders(table_rng(seed, "orders"), ids, period, customers)
    payments = build_payments(table_rng(seed, "payments"), ids, orders, customers)
    share_rng = table_rng(seed, "shared_devices")
    web_events = build_web_events(
        table_rng(seed, "web_events"), ids, period, customers, orders, payments,
        round(n * ANONYMOUS_VISITORS_PER_CUSTOMER),
        long_preludes=choose_long_preludes(table_rng(seed, "long_preludes"), customers, period),
        share=lambda devices: share_devices(share_rng, devices, customers, period, dict(duplicates)),
    )
    removals = build_customer_removals(
        table_rng(seed, "customer_removals"), customers, aliases, web_events, period
    )
    tables = {
        "raw_customers": customers,
        "raw_orders": orders,
        "raw_payments": payments,
        "raw_web_events": web_events,
        "raw_customer_aliases": aliases,
        "raw_customer_removals": removals,
    }
    loaded_at = initial_load_time(period)
    for rows in tables.values():
        for row in rows:
            row[LOADED_AT] = loaded_at
    return tables
