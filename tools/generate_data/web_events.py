"""The initial web events: the devices (visitors) of customers and anonymous visitors.

A device is a list of views ``(moment, page, who)``; ``who`` is the
customer a ``/login`` or ``/logout`` view concerns (None on other pages).
:func:`visitor_rows` turns a device into rows by the login rule: a
``/login`` view and the views after it carry the customer who logged in, up
to and including a ``/logout`` view; after that the views are anonymous until
the next ``/login``.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from .shop import (
    BROWSE_PAGES_ANONYMOUS,
    EXTRA_DEVICE_SHARE,
    LOGIN,
    LOGOUT,
    LONG_PRELUDE_DAYS,
    NO_ORDER_WEB_SHARE,
    DateRange,
    IdCounters,
    payment_time,
    seconds,
)
from .tables import Row

View = tuple[datetime, str, "int | None"]  # (moment, page, customer a /login or /logout concerns)
Device = tuple["int | None", list[View]]  # (customer who first uses it, or None; its views)


def walk(rng: random.Random, end: datetime, pages: Sequence[str], low: int, high: int) -> list[View]:
    """Views of ``pages`` in order, the last at ``end``, ``low``-``high`` s apart."""
    views, moment = [], end
    for page in reversed(pages):
        views.append((moment, page, None))
        moment -= seconds(rng, low, high)
    return views[::-1]


def browse(rng: random.Random, start: datetime, pages: Sequence[str], max_views: int) -> list[View]:
    """A short browsing session starting at ``start``."""
    chosen = [rng.choice(pages) for _ in range(rng.randint(1, max_views))]
    return [(start + seconds(rng, 20, 240) * i, page, None) for i, page in enumerate(chosen)]


def random_moment(rng: random.Random, low: datetime, high: datetime) -> datetime:
    """A whole-second moment in ``[low, high)`` (``low`` if the range is empty)."""
    span = int((high - low).total_seconds())
    return low + timedelta(seconds=rng.randrange(span)) if span > 0 else low


def anonymous_prelude(rng: random.Random, login_at: datetime) -> list[View]:
    """Anonymous views before a login, in the same session or days before."""
    gap = seconds(rng, 10, 120) if rng.random() < 0.6 else seconds(rng, 3600, 72 * 3600)
    pages = [rng.choice(("/", "/menu")) for _ in range(rng.randint(1, 4))]
    return walk(rng, login_at - gap, pages, 15, 300)


def long_prelude(rng: random.Random, login_at: datetime) -> list[View]:
    """Anonymous sessions over 1-5 days before a sign-up, the last one leading to it.

    The first view lies :data:`~.shop.LONG_PRELUDE_DAYS` days before
    ``login_at``; 1-4 more sessions fall between it and the sign-up session.
    """
    low, high = LONG_PRELUDE_DAYS
    first = login_at - seconds(rng, low * 86400, high * 86400)
    views = browse(rng, first, BROWSE_PAGES_ANONYMOUS, 4)
    for _ in range(rng.randint(1, 4)):
        views += browse(rng, random_moment(rng, first + timedelta(hours=2), login_at - timedelta(hours=2)),
                        BROWSE_PAGES_ANONYMOUS, 4)
    pages = [rng.choice(("/", "/menu")) for _ in range(rng.randint(1, 3))]
    return views + walk(rng, login_at - seconds(rng, 10, 120), pages, 15, 300)


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
    customer_id: int,
    login_at: datetime | None,
    anchors: Sequence[datetime],
    long: bool = False,
) -> list[View]:
    """Views of a customer's device: prelude, ``/login``, orders, browsing.

    ``login_at`` None means: log in just before the first order session.
    ``long`` gives the device a :func:`long_prelude` instead of a short one.
    """
    shops = [shopping_walk(rng, anchor) for anchor in anchors]
    if login_at is None:
        login_at = shops[0][0][0] - seconds(rng, 10, 60)
    prelude = long_prelude(rng, login_at) if long else anonymous_prelude(rng, login_at)
    views = prelude + [(login_at, LOGIN, customer_id)]
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
    rng: random.Random,
    orders: Sequence[Row],
    payments: Sequence[Row],
    customers: Sequence[Row],
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
    rng: random.Random, period: DateRange, customer: Row, anchors: Sequence[datetime], long: bool = False
) -> list[Device]:
    """The devices of one customer; maybe none (never for a ``long`` prelude customer)."""
    if not anchors and not long and rng.random() >= NO_ORDER_WEB_SHARE:
        return []
    devices = 1 + (len(anchors) >= 2 and rng.random() < EXTRA_DEVICE_SHARE)
    shares: list[list[datetime]] = [[] for _ in range(devices)]
    for i, anchor in enumerate(anchors):
        shares[i if i < devices else rng.randrange(devices)].append(anchor)
    first_login = customer["created_at"] + seconds(rng, 5, 90)
    return [
        (customer["id"], known_visitor(rng, period, customer["id"], first_login if n == 0 else None,
                                       sorted(share), long and n == 0))
        for n, share in enumerate(shares)
    ]


def in_period_views(views: list[View], period: DateRange) -> list[View]:
    """The views inside the period, by moment (equal moments keep their page order)."""
    return sorted((v for v in views if period.contains(v[0])), key=lambda v: (v[0], v[1]))


def visitor_rows(views: list[View], period: DateRange) -> list[Row]:
    """Rows (without ids) for one device: clipped to the period, strictly increasing,
    each carrying the customer logged in at that view (see the module docstring)."""
    rows, previous, state = [], None, None
    for moment, page, who in in_period_views(views, period):
        if previous is not None and moment <= previous:
            moment = previous + timedelta(seconds=1)
        previous = moment
        if page == LOGIN:
            state = who
        rows.append({"customer_id": state, "page": page, "occurred_at": moment})
        if page == LOGOUT:
            state = None
    return rows


def device_views(
    rng: random.Random,
    period: DateRange,
    customers: Sequence[Row],
    orders: Sequence[Row],
    payments: Sequence[Row],
    anonymous_count: int,
    long_preludes: Collection[int] = (),
) -> list[Device]:
    """The devices of the customers (in id order) followed by those of anonymous visitors."""
    anchors = checkout_anchors(rng, orders, payments, customers)
    by_customer: dict[int, list[datetime]] = {c["id"]: [] for c in customers}
    for o in orders:
        by_customer[o["user_id"]].append(anchors[o["id"]])
    devices = [
        device
        for c in customers
        for device in customer_visitors(rng, period, c, sorted(by_customer[c["id"]]), c["id"] in long_preludes)
    ]
    devices += [(None, anonymous_visitor(rng, period)) for _ in range(anonymous_count)]
    return devices


def event_rows(ids: IdCounters, period: DateRange, devices: Sequence[Device]) -> list[Row]:
    """Numbered web events: visitor ids follow each visitor's first view, event ids follow time."""
    per_visitor = [rows for _, views in devices if (rows := visitor_rows(views, period))]
    per_visitor.sort(key=lambda rows: rows[0]["occurred_at"])
    events = []
    for rows in per_visitor:
        visitor_id = f"v{ids.take('visitors'):05d}"
        events += [{"visitor_id": visitor_id, **row} for row in rows]
    events.sort(key=lambda e: (e["occurred_at"], e["visitor_id"]))
    return [{"id": ids.take("web_events"), **e} for e in events]
