"""Identity changes a batch delivers: logins, shared logins, aliases and removals.

Each change is an *event* with one moment: a visitor who never logged in
logs in (``logins``), a device of one customer gets a login by another
(``shared_logins``), one account is merged into another (``aliases``), a
customer asks for erasure (``removals``). An event is on time (in the
batch's on-time window) or, for the ``late_identity`` share, late (in the
late window, before the high-water mark). A login happens after the
visitor's last view, so that no earlier view changes who is logged in on it.

With ``identity_first`` some new accounts are merged into an existing one
at once, but their ``raw_customers`` row is held back until the next batch
(see :mod:`.held_back`).
"""

from __future__ import annotations

import bisect
import random
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .held_back import HeldBack
from .identity import resolve
from .shop import BROWSE_PAGES_KNOWN, FIRST_NAMES, LOGIN, LOGOUT, PAYMENT_METHOD_WEIGHTS, PAYMENT_METHODS, seconds
from .tables import (
    SHOP_TABLES,
    TABLE_COLUMNS,
    TIME_COLUMNS,
    Row,
    Tables,
    format_value,
    is_clock_skewed,
    next_customer_id,
    row_moment,
)
from .visitors import visitor_timelines

LOGINS, SHARED_LOGINS, ALIASES, REMOVALS = "logins", "shared_logins", "aliases", "removals"
EVENT_KINDS = (LOGINS, SHARED_LOGINS, ALIASES, REMOVALS)
DURATION = {LOGINS: 2400, SHARED_LOGINS: 6000, ALIASES: 0, REMOVALS: 0}  # seconds an event's rows may span
NEW_SIGNUP_SHARE = 0.5  # logins by a customer who signs up right then
SIGNUP_ORDER_SHARE = 0.5  # ... who also orders
UNPAID_SHARE = 0.25


@dataclass(frozen=True)
class IdentityOptions:
    """How many identity changes a batch delivers (all off by default)."""

    logins: float = 0.0  # share of the visitors who never logged in
    shared_logins: int = 0
    aliases: int = 0
    removals: int = 0
    late_identity: float = 0.0  # share of the events placed in the late window
    identity_first: int = 0  # extra aliases of new accounts whose row comes with the next batch

    def check(self) -> None:
        for name in ("logins", "late_identity"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        for name in ("shared_logins", "aliases", "removals", "identity_first"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")


@dataclass(eq=False)
class _Event:
    kind: str
    earliest: datetime
    visitor: str | None = None
    customer: Any = None  # the customer logging in / merged away / removed (int, HeldBack, or None: decide later)
    other: int | None = None  # the device's owner (shared login) or the canonical account (alias)
    new_signup: bool = False  # logins: by a customer who signs up right then ...
    with_order: bool = False  # ... and orders
    owner_logged_in: bool = False  # shared logins: the owner logs out first
    extends_chain: bool = False  # aliases: the merged account ended a chain that existed before the batch
    late: bool = False
    moment: datetime | None = None
    rows: dict[str, list[Row]] = field(default_factory=dict)


@dataclass
class _People:
    """Who exists, who is merged or removed, and who uses which devices, before the events."""

    created: dict[int, datetime]
    by_time: list[tuple[datetime, int]]
    aliases: dict[Any, int]
    removed: set[int]
    with_web: list[int]
    on_shared: set[int]

    def signed_up_before(self, moment: datetime) -> list[int]:
        return [cid for _, cid in self.by_time[: bisect.bisect_right(self.by_time, (moment, float("inf")))]]

    def ends(self) -> list[int]:
        """Customers not merged into another account."""
        return [c for c in sorted(self.created) if c not in self.aliases]

    def chain_ends(self) -> list[int]:
        """Accounts others were merged into, themselves not merged."""
        return sorted({resolve(self.aliases, c) for c in self.aliases} & set(self.created) - set(self.aliases))


def _people(state: Tables) -> _People:
    created = {c["id"]: c["created_at"] for c in state["raw_customers"] if not is_clock_skewed("raw_customers", c)}
    per_visitor: dict[str, set[int]] = {}
    for e in state["raw_web_events"]:
        if e["customer_id"] is not None:
            per_visitor.setdefault(e["visitor_id"], set()).add(e["customer_id"])
    return _People(
        created=created,
        by_time=sorted((at, cid) for cid, at in created.items()),
        aliases={a["customer_id"]: a["canonical_customer_id"] for a in state["raw_customer_aliases"]},
        removed={r["customer_id"] for r in state["raw_customer_removals"]},
        with_web=sorted({c for ids in per_visitor.values() for c in ids} & set(created)),
        on_shared={c for ids in per_visitor.values() if len(ids) > 1 for c in ids},
    )


def _plan(rng: random.Random, state: Tables, old_visitors: set[str], options: IdentityOptions,
          people: _People) -> list[_Event]:
    """The events of the batch, without moments (customers of logins chosen later)."""
    timelines = visitor_timelines(state["raw_web_events"])
    minute = timedelta(minutes=1)
    events: list[_Event] = []
    never = sorted(v for v in old_visitors & set(timelines)
                   if not timelines[v].customers and not timelines[v].skewed and timelines[v].views)
    for visitor in sorted(rng.sample(never, round(options.logins * len(never)))):
        new = rng.random() < NEW_SIGNUP_SHARE
        events.append(_Event(LOGINS, timelines[visitor].last + minute, visitor=visitor, new_signup=new,
                             with_order=new and rng.random() < SIGNUP_ORDER_SHARE))
    taken = {e.visitor for e in events}
    single = sorted(v for v, t in timelines.items()
                    if len(t.customers) == 1 and not t.skewed and t.views and v not in taken)
    for visitor in sorted(rng.sample(single, min(options.shared_logins, len(single)))):
        owner = timelines[visitor].customers[0]
        events.append(_Event(SHARED_LOGINS, timelines[visitor].last + minute, visitor=visitor, other=owner,
                             owner_logged_in=timelines[visitor].final_state == owner))
        people.on_shared.add(owner)
    existing_chain_ends = people.chain_ends()
    for k in range(options.aliases):
        ends = people.ends()
        chain_ends = [c for c in existing_chain_ends if c not in people.aliases]
        if len(ends) < 2:
            break
        if chain_ends and (k == 0 or rng.random() < 1 / 3):
            merged = rng.choice(chain_ends)
            into = rng.choice([c for c in ends if c != merged])
        else:
            merged, into = rng.sample(ends, 2)
            if people.created[merged] < people.created[into]:
                merged, into = into, merged  # the later account is merged into the earlier one
        people.aliases[merged] = into
        earliest = max(people.created[merged], people.created[into]) + minute
        events.append(_Event(ALIASES, earliest, customer=merged, other=into, extends_chain=merged in chain_ends))
    for _ in range(options.identity_first):
        ends = people.ends()
        if not ends:
            break
        into = rng.choice(ends)
        held = HeldBack()
        people.aliases[held] = into
        events.append(_Event(ALIASES, people.created[into] + minute, customer=held, other=into))
    chosen: set[int] = set()
    for k in range(options.removals):
        chain_ends = people.chain_ends()
        pools = [chain_ends if k % 4 == 0 else sorted(people.on_shared) if k % 4 == 1 else [],
                 people.with_web, sorted(people.created)]
        for pool in pools:
            free = [c for c in pool if c in people.created and c not in people.removed | chosen]
            if free:
                customer = rng.choice(free)
                chosen.add(customer)
                events.append(_Event(REMOVALS, people.created[customer] + minute, customer=customer))
                break
    return events


def _time(rng: random.Random, events: list[_Event], late_identity: float, hwm: datetime,
          windows: dict[str, tuple[datetime, datetime]]) -> None:
    """Mark the late share (where a late moment is possible) and draw every event's moment."""
    late_low, late_high = windows["late"]
    late_high = min(late_high, hwm - timedelta(seconds=1))
    feasible = [e for e in events if e.earliest + timedelta(seconds=DURATION[e.kind]) <= late_high]
    for event in rng.sample(feasible, min(round(late_identity * len(events)), len(feasible))):
        event.late = True
    for event in events:
        low, high = (late_low, late_high) if event.late else windows["on_time"]
        low = max(low, event.earliest)
        high -= timedelta(seconds=DURATION[event.kind])
        span = int((high - low).total_seconds())
        event.moment = low + timedelta(seconds=rng.randint(0, span)) if span > 0 else low


def _view(visitor: str, customer: Any, page: str, at: datetime) -> Row:
    return {"visitor_id": visitor, "customer_id": customer, "page": page, "occurred_at": at}


def _login_rows(rng: random.Random, event: _Event, people: _People) -> None:
    """A login on a visitor who never logged in: maybe a sign-up first, a few views, maybe an order."""
    t = event.moment
    assert t is not None and event.visitor is not None
    candidates = [c for c in people.signed_up_before(t - timedelta(minutes=1)) if c not in people.removed]
    if not candidates:
        event.new_signup, event.with_order = True, False
    rows: dict[str, list[Row]] = {name: [] for name in SHOP_TABLES}
    if event.new_signup:
        customer: Row | int = {"first_name": rng.choice(FIRST_NAMES),
                               "last_name": rng.choice(string.ascii_uppercase) + ".",
                               "created_at": t - seconds(rng, 30, 600)}
        rows["raw_customers"].append(customer)
    else:
        customer = rng.choice(candidates)
    event.customer = customer
    views = [_view(event.visitor, customer, LOGIN, t)]
    for _ in range(rng.randint(0, 3)):
        t += seconds(rng, 20, 240)
        views.append(_view(event.visitor, customer, rng.choice(BROWSE_PAGES_KNOWN), t))
    if event.with_order:
        t += seconds(rng, 60, 600)
        for i, page in enumerate(("/menu", "/cart", "/checkout")):
            t += seconds(rng, 20, 180) if i else timedelta()
            views.append(_view(event.visitor, customer, page, t))
        paid = rng.random() >= UNPAID_SHARE
        t += seconds(rng, 5, 60)
        order = {"user_id": customer, "order_date": t.date(),
                 "status": rng.choices(("placed", "shipped"), (60, 40))[0] if paid else "placed", "_at": t}
        rows["raw_orders"].append(order)
        if paid:
            rows["raw_payments"].append({
                "order_id": order, "payment_method": rng.choices(PAYMENT_METHODS, PAYMENT_METHOD_WEIGHTS)[0],
                "amount": rng.randrange(1000, 3001, 50), "created_at": t,
            })
    rows["raw_web_events"] = views
    event.rows = rows


def _shared_login_rows(rng: random.Random, event: _Event, people: _People) -> bool:
    """The owner logs out (if logged in), maybe anonymous views, another customer logs in; False if nobody can."""
    t = event.moment
    assert t is not None and event.visitor is not None and event.other is not None
    owner = event.other
    guests = [c for c in people.signed_up_before(t - timedelta(minutes=1))
              if c not in people.removed and resolve(people.aliases, c) != resolve(people.aliases, owner)]
    if not guests:
        return False
    guest = event.customer = rng.choice(guests)
    views = []
    if event.owner_logged_in:
        views.append(_view(event.visitor, owner, LOGOUT, t))
    for _ in range(rng.randint(0, 2)):
        t += seconds(rng, 30, 900)
        views.append(_view(event.visitor, None, rng.choice(("/", "/menu")), t))
    t += seconds(rng, 60, 1800)
    event.moment = t  # the guest's login is the event's moment
    views.append(_view(event.visitor, guest, LOGIN, t))
    for _ in range(rng.randint(1, 3)):
        t += seconds(rng, 20, 240)
        views.append(_view(event.visitor, guest, rng.choice(BROWSE_PAGES_KNOWN), t))
    if rng.random() < 0.5:
        t += seconds(rng, 30, 600)
        views.append(_view(event.visitor, guest, LOGOUT, t))
    event.rows = {"raw_web_events": views}
    people.on_shared.add(guest)
    return True


def _number(rows: list[tuple[datetime, int, int, str, Row]], state: Tables) -> None:
    """Give the new shop rows ids (following time per table) and resolve the references between them."""
    for name in SHOP_TABLES:
        mine = sorted((r for r in rows if r[3] == name), key=lambda r: r[:3])
        first = next_customer_id(state) if name == "raw_customers" else max(
            (r["id"] for r in state[name]), default=0) + 1
        for offset, (*_, row) in enumerate(mine):
            row["id"] = first + offset
    for *_, name, row in rows:
        for column in ("customer_id", "user_id", "order_id"):
            if isinstance(row.get(column), dict):
                row[column] = row[column]["id"]


def _summary(events: list[_Event], written: dict[_Event, list[tuple[str, Row]]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for kind in EVENT_KINDS:
        mine = [e for e in events if e.kind == kind]
        moments = [row_moment(name, row) for e in mine for name, row in written[e]]
        entry: dict[str, Any] = {
            "count": len(mine),
            "late": sum(e.late for e in mine),
            "min": format_value(min(moments)) if moments else None,
            "max": format_value(max(moments)) if moments else None,
        }
        if kind in (LOGINS, SHARED_LOGINS):
            entry["visitors"] = [e.visitor for e in mine]
            entry["customer_ids"] = [e.customer["id"] if isinstance(e.customer, dict) else e.customer for e in mine]
            entry["new_customer_ids"] = [e.customer["id"] for e in mine if isinstance(e.customer, dict)]
            if kind == SHARED_LOGINS:
                entry["owner_ids"] = [e.other for e in mine]
            entry["tables"] = {}
            for name in SHOP_TABLES:
                ids = [row["id"] for e in mine for table, row in written[e] if table == name]
                entry["tables"][name] = {"count": len(ids), "ids": ids}
        result[kind] = entry
    return result


def apply_identity(
    rng: random.Random,
    state: Tables,
    old_visitors: set[str],
    options: IdentityOptions,
    hwm: datetime,
    windows: dict[str, tuple[datetime, datetime]],
) -> tuple[list[Row], list[HeldBack], dict[str, Any]]:
    """Append the batch's identity events to ``state``.

    ``old_visitors`` are the visitors before the batch's new rows (the
    candidates of ``logins``). Returns the written rows (``_loaded_at``
    None), the held-back accounts (ids given by :func:`~.held_back.assign_held_back`)
    and the summary per kind (``logins``, ``shared_logins``, ``aliases``,
    ``removals``: count, late, min, max and the customers and visitors).
    """
    people = _people(state)
    events = _plan(rng, state, old_visitors, options, people)
    _time(rng, events, options.late_identity, hwm, windows)
    numbered: list[tuple[datetime, int, int, str, Row]] = []
    kept = []
    for index, event in enumerate(events):
        if event.kind == LOGINS:
            _login_rows(rng, event, people)
        elif event.kind == SHARED_LOGINS:
            if not _shared_login_rows(rng, event, people):
                continue
        elif event.kind == ALIASES:
            event.rows = {"raw_customer_aliases": [
                {"customer_id": event.customer, "canonical_customer_id": event.other, "merged_at": event.moment}]}
        else:
            event.rows = {"raw_customer_removals": [{"customer_id": event.customer, "requested_at": event.moment}]}
        kept.append(event)
        for name, rows in event.rows.items():
            for position, row in enumerate(rows):
                at = row.pop("_at", None) or row[TIME_COLUMNS[name]]
                numbered.append((at, index, position, name, row))
    _number([r for r in numbered if r[3] in SHOP_TABLES], state)
    written: dict[_Event, list[tuple[str, Row]]] = {e: [] for e in kept}
    out: list[Row] = []
    for name in TABLE_COLUMNS:
        mine = sorted((r for r in numbered if r[3] == name), key=lambda r: r[:3])  # ids follow this order
        for _, index, _, _, row in mine:
            full = {c: row.get(c) for c in TABLE_COLUMNS[name]}
            row.clear()
            row.update(full)
            written[events[index]].append((name, row))
            out.append(row)
        state[name] = state[name] + [r[4] for r in mine]
    kept.sort(key=lambda e: e.moment)  # the summary lists events in the order of their rows
    held = [e.customer for e in kept if isinstance(e.customer, HeldBack)]
    summary = _summary(kept, written)
    summary[ALIASES]["customer_ids"] = [e.customer for e in kept if e.kind == ALIASES]
    summary[ALIASES]["canonical_customer_ids"] = [e.other for e in kept if e.kind == ALIASES]
    summary[ALIASES]["extends_chain"] = sum(e.extends_chain for e in kept)
    removed = [e.customer for e in kept if e.kind == REMOVALS]
    chain_ends = set(people.chain_ends())
    summary[REMOVALS]["customer_ids"] = removed
    summary[REMOVALS]["at_chain_end"] = sum(c in chain_ends for c in removed)
    summary[REMOVALS]["on_shared_device"] = sum(c in people.on_shared for c in removed)
    return out, held, summary
