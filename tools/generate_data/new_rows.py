"""New rows of a batch: activities planned, timed into their windows, filled and numbered.

An activity is a group of rows that belong together (a sign-up with its
device's views, an order with its shopping walk and payments, a payment of an
unpaid order, a browsing session). Each row of an activity is a slot with a
timing class (on time, late, very late, or a tie copying another slot's
moment); moments are drawn inside the class windows, nondecreasing along the
activity, and ids follow time per table once all moments are known.

A view on an existing device carries the customer logged in there at its
moment (:meth:`~.visitors.Timeline.state_at`); only a new device starts with
a ``/login``, so the new rows never change who is logged in on an old view.
"""

from __future__ import annotations

import bisect
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from .context import Context, logged_in_at
from .shop import (
    BROWSE_PAGES_ANONYMOUS,
    BROWSE_PAGES_KNOWN,
    FIRST_NAMES,
    PAYMENT_METHOD_WEIGHTS,
    PAYMENT_METHODS,
    SPLIT_PAYMENT_SHARE,
)
from .tables import LOADED_AT, SHOP_TABLES, TABLE_COLUMNS, Row, Tables, next_customer_id

ON_TIME, LATE, VERY_LATE, TIE = "on_time", "late", "very_late", "ties"
CLASS_RANK = {VERY_LATE: 0, LATE: 1, ON_TIME: 2}
MIN_NEW_ROWS = 10  # "a handful": the floor when new_fraction > 0
NEW_UNPAID_SHARE = 0.25
ACTIVITY_WEIGHTS = {"new_customer": 2.0, "order": 4.0, "pay": 1.0, "browse": 4.0, "anonymous": 1.5}


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


def _customer_visitor(rng: random.Random, ctx: Context, customer: int, activity: _Activity) -> Any:
    """An existing device of ``customer`` on which no other customer is logged in
    during the activity's views, or a new one whose first view becomes ``/login``."""
    moments = [s.moment for s in activity.slots if s.table == "raw_web_events"]
    devices = [
        visitor for visitor in ctx.customer_visitors.get(customer, ())
        if all(logged_in_at(ctx, visitor, m) in (None, customer) for m in moments)
    ]
    if devices:
        return rng.choice(devices)
    views = [s for s in activity.slots if s.table == "raw_web_events" and s.tie_of is None]
    if views:
        views[0].page = "/login"
    return _NewVisitor()


def _fill_activity(rng: random.Random, activity: _Activity, ctx: Context) -> None:
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
        visitor = _NewVisitor() if activity.kind == "anonymous" or not ctx.visitors else rng.choice(ctx.visitors)
        for slot in views:
            _fill_view(rng, slot, visitor, logged_in_at(ctx, visitor, slot.moment))
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
    for slot in views:
        state = customer if isinstance(visitor, _NewVisitor) else logged_in_at(ctx, visitor, slot.moment)
        _fill_view(rng, slot, visitor, state)
    _fill_orders_and_payments(rng, activity, customer, paid_order)


def _earliest(activity: _Activity, ctx: Context) -> datetime | None:
    """The earliest moment an activity may start at, given what it must refer to."""
    if activity.kind == "order":  # an existing customer must have signed up
        return ctx.customer_times[0] + timedelta(minutes=1)
    if activity.kind == "pay":  # an unpaid order must exist on that date
        return datetime.combine(ctx.unpaid[0][0], time(7))
    return None


def plan_new_rows(
    rng: random.Random,
    ctx: Context,
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


def materialize(activities: list[_Activity], state: Tables, ctx: Context) -> dict[str, list[tuple[Row, str]]]:
    """Give ids (following time per table) and return the new rows with their class.

    The rows' ``_loaded_at`` is None here; the batch stamps its load time later.
    """
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
    new_rows: dict[str, list[tuple[Row, str]]] = {name: [] for name in SHOP_TABLES}
    for name in SHOP_TABLES:
        keyed = [
            (slot.moment, a, s, slot)
            for a, activity in enumerate(activities)
            for s, slot in enumerate(activity.slots)
            if slot.table == name
        ]
        keyed.sort(key=lambda k: (k[0], k[1], k[2]))
        if name == "raw_customers":  # also after the customers identity rows name
            next_id = next_customer_id(state)
        else:
            next_id = max((r["id"] for r in state[name]), default=0) + 1
        for offset, (_, _, _, slot) in enumerate(keyed):
            assert slot.row is not None
            slot.row["id"] = next_id + offset
    for name in SHOP_TABLES:
        columns = TABLE_COLUMNS[name]
        slots = sorted((s for a in activities for s in a.slots if s.table == name), key=lambda s: s.row["id"])
        new_rows[name] = [
            ({c: _resolve(s.row[c]) if c != LOADED_AT else None for c in columns}, s.klass) for s in slots
        ]
    return new_rows

