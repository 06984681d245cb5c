"""Identity in the initial data: second accounts and their aliases, shared devices,
long anonymous browsing before sign-up, and erasure requests.

* Duplicates: about :data:`~.shop.DUPLICATE_SHARE` of the customers are a
  second account of an earlier customer (same name, created later, with
  their own orders and devices like anyone else). Each has one alias row
  to the account it was merged into; when there are two or more, the
  second duplicate is merged into the first, which is merged into an
  original account: a chain ``X -> Y -> Z``. Aliases point from a later
  account to an earlier one, so they never form a cycle.
* Long preludes: :data:`~.shop.LONG_PRELUDE_SHARE` of the customers browse
  anonymously in several sessions over 1-5 days on the device they then
  sign up and log in on.
* Shared devices: :data:`~.shop.SHARED_DEVICE_SHARE` of the customers'
  devices are used in turn by a second customer. In a quiet gap of the
  owner's use, the owner logs out (``/logout``), the device shows some
  anonymous views, the other customer logs in, browses, logs out, and the
  owner logs in again before the next session; some devices have two such
  turns, some a last turn after which the other customer stays.
* Removals: about :data:`~.shop.REMOVAL_SHARE` of the customers ask for
  erasure: the end of the longest alias chain first, then a customer of a
  shared device, then customers with web activity.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from .shop import (
    BROWSE_PAGES_KNOWN,
    DUPLICATE_SHARE,
    LOGIN,
    LOGOUT,
    LONG_PRELUDE_DAYS,
    LONG_PRELUDE_SHARE,
    REMOVAL_SHARE,
    SHARED_DEVICE_SHARE,
    DateRange,
    seconds,
)
from .tables import Row
from .web_events import Device, View, in_period_views, random_moment

GUEST_GAP = timedelta(hours=4)  # a quiet gap of the owner's device long enough for another customer's turn


def resolve(aliases: dict[int, int], customer: int) -> int:
    """The end of ``customer``'s alias chain (itself if it has no alias)."""
    seen = {customer}
    while customer in aliases:
        customer = aliases[customer]
        if customer in seen:
            raise ValueError(f"alias cycle through customer {customer}")
        seen.add(customer)
    return customer


def _moment_before_end(rng: random.Random, low: datetime, floor: datetime, period: DateRange) -> datetime:
    """A moment from ``low`` to a minute before the end of the period; from ``floor`` if ``low`` is too late."""
    high = period.end_moment - timedelta(minutes=1)
    return random_moment(rng, low if low < high else min(floor, high - timedelta(seconds=1)), high)


# --------------------------------------------------------------------------
# duplicates and aliases
# --------------------------------------------------------------------------


def plan_duplicates(rng: random.Random, customers: Sequence[Row]) -> list[tuple[int, int]]:
    """Choose the second accounts; returns ``(duplicate id, canonical id)`` pairs.

    ``customers`` are in sign-up order. A duplicate takes the name of the
    account it duplicates (the rows are changed in place).
    """
    n = len(customers)
    count = min(round(DUPLICATE_SHARE * n), n - 1)
    if count <= 0:
        return []
    positions = sorted(rng.sample(range(1, n), count))
    duplicates = set(positions)
    pairs = []
    for k, position in enumerate(positions):
        if k == 1:
            canonical = positions[0]  # the chain: the second duplicate is merged into the first
        else:
            canonical = rng.choice([i for i in range(position) if i not in duplicates])
        duplicate, original = customers[position], customers[canonical]
        duplicate["first_name"], duplicate["last_name"] = original["first_name"], original["last_name"]
        pairs.append((duplicate["id"], original["id"]))
    return pairs


def build_customer_aliases(
    rng: random.Random, customers: Sequence[Row], pairs: Sequence[tuple[int, int]], period: DateRange
) -> list[Row]:
    """One alias row per duplicate, merged after both accounts exist; by customer id."""
    created = {c["id"]: c["created_at"] for c in customers}
    rows = []
    for duplicate, canonical in sorted(pairs):
        both = max(created[duplicate], created[canonical])
        rows.append({
            "customer_id": duplicate,
            "canonical_customer_id": canonical,
            "merged_at": _moment_before_end(rng, both + timedelta(hours=1), both + timedelta(seconds=1), period),
        })
    return rows


# --------------------------------------------------------------------------
# long preludes
# --------------------------------------------------------------------------


def choose_long_preludes(rng: random.Random, customers: Sequence[Row], period: DateRange) -> set[int]:
    """The customers who browse for days before signing up (room for the whole prelude in the period)."""
    earliest = period.first_moment + timedelta(days=LONG_PRELUDE_DAYS[1], hours=1)
    eligible = [c["id"] for c in customers if c["created_at"] >= earliest]
    count = min(round(LONG_PRELUDE_SHARE * len(customers)), len(eligible))
    return set(rng.sample(eligible, count))


# --------------------------------------------------------------------------
# shared devices
# --------------------------------------------------------------------------


def _owner_gaps(
    views: list[View], owner: int, period: DateRange
) -> tuple[list[tuple[datetime, datetime]], tuple[datetime, datetime] | None]:
    """Quiet gaps of at least :data:`GUEST_GAP` after the owner's login: (between views, after the last)."""
    inside = in_period_views(views, period)
    login = next((i for i, v in enumerate(inside) if v[1] == LOGIN and v[2] == owner), None)
    if login is None:
        return [], None
    after = [v[0] for v in inside[login:]]
    interior = [(a, b) for a, b in zip(after, after[1:]) if b - a >= GUEST_GAP]
    tail = (after[-1], period.end_moment) if period.end_moment - after[-1] >= GUEST_GAP else None
    return interior, tail


def _turn(rng: random.Random, start: datetime, owner: int) -> tuple[list[View], datetime]:
    """The owner logs out after ``start``, maybe anonymous views; returns them and the guest's login moment."""
    t = start + seconds(rng, 60, 900)
    views: list[View] = [(t, LOGOUT, owner)]
    for _ in range(rng.randint(0, 2)):
        t += seconds(rng, 30, 900)
        views.append((t, rng.choice(("/", "/menu")), None))
    return views, t + seconds(rng, 300, 3600)


def _guest_views(rng: random.Random, login_at: datetime, guest: int, logs_out: bool) -> tuple[list[View], datetime]:
    """The guest's login, 1-4 views and maybe a logout; returns them and the last moment."""
    t = login_at
    views: list[View] = [(t, LOGIN, guest)]
    for _ in range(rng.randint(1, 4)):
        t += seconds(rng, 20, 240)
        views.append((t, rng.choice(BROWSE_PAGES_KNOWN + ("/cart",)), None))
    if logs_out:
        t += seconds(rng, 30, 600)
        views.append((t, LOGOUT, guest))
    return views, t


def share_devices(
    rng: random.Random,
    devices: list[Device],
    customers: Sequence[Row],
    period: DateRange,
    aliases: dict[int, int],
) -> None:
    """Let a second customer use some customers' devices in turn (views added in place).

    The guest is another person (another alias chain end) who signed up
    before their first login on the device. The first shared device gets two
    turns in between the owner's sessions when it has room for them.
    """
    owned = [i for i, (owner, _) in enumerate(devices) if owner is not None]
    count = round(SHARED_DEVICE_SHARE * len(owned))
    gaps = {i: _owner_gaps(devices[i][1], devices[i][0], period) for i in owned}
    eligible = [i for i in owned if gaps[i][0]]
    signed_up = sorted((c["created_at"], c["id"]) for c in customers)
    for k, index in enumerate(sorted(rng.sample(eligible, min(count, len(eligible))))):
        owner, views = devices[index]
        assert owner is not None
        interior, tail = gaps[index]
        turns = min(len(interior), 2 if k == 0 or rng.random() < 0.4 else 1)
        chosen = sorted(rng.sample(interior, turns))
        if tail is not None and rng.random() < 0.3:
            chosen.append(tail)
        planned = []
        for start, end in chosen:
            owner_views, guest_login = _turn(rng, start, owner)
            planned.append((owner_views, guest_login, end))
        first_login = planned[0][1]
        guests = [cid for at, cid in signed_up
                  if at <= first_login - timedelta(minutes=1) and resolve(aliases, cid) != resolve(aliases, owner)]
        if not guests:
            continue
        guest = rng.choice(guests)
        for owner_views, guest_login, end in planned:
            returns = end != period.end_moment
            guest_part, _ = _guest_views(rng, guest_login, guest, returns or rng.random() < 0.5)
            views += owner_views + guest_part
            if returns:
                views.append((end - seconds(rng, 10, 60), LOGIN, owner))


# --------------------------------------------------------------------------
# removals
# --------------------------------------------------------------------------


def build_customer_removals(
    rng: random.Random,
    customers: Sequence[Row],
    aliases: Sequence[Row],
    web_events: Sequence[Row],
    period: DateRange,
) -> list[Row]:
    """Erasure requests, one row per customer, by customer id (see the module docstring)."""
    count = min(round(REMOVAL_SHARE * len(customers)), len(customers))
    if count <= 0:
        return []
    alias_map = {a["customer_id"]: a["canonical_customer_id"] for a in aliases}
    chain_length: dict[int, int] = {}
    for duplicate in alias_map:
        end, hops = duplicate, 0
        while end in alias_map:
            end, hops = alias_map[end], hops + 1
            if hops > len(alias_map):
                raise ValueError(f"alias cycle through customer {duplicate}")
        chain_length[end] = max(chain_length.get(end, 0), hops)
    per_visitor: dict[str, set[int]] = {}
    for e in web_events:
        if e["customer_id"] is not None:
            per_visitor.setdefault(e["visitor_id"], set()).add(e["customer_id"])
    on_shared = sorted({c for ids in per_visitor.values() if len(ids) > 1 for c in ids})
    with_web = sorted({c for ids in per_visitor.values() for c in ids})
    chosen: list[int] = []
    if chain_length:
        chosen.append(min(chain_length, key=lambda c: (-chain_length[c], c)))
    for pool, take in ((on_shared, 1), (with_web, count), ([c["id"] for c in customers], count)):
        free = [c for c in pool if c not in chosen]
        chosen += rng.sample(free, max(0, min(take, count - len(chosen), len(free))))
    created = {c["id"]: c["created_at"] for c in customers}
    merged_into: dict[int, datetime] = {}
    for a in aliases:
        end = resolve(alias_map, a["customer_id"])
        merged_into[end] = max(a["merged_at"], merged_into.get(end, a["merged_at"]))
    rows = []
    for customer in sorted(chosen):
        low = max(created[customer], merged_into.get(customer, created[customer])) + timedelta(hours=1)
        floor = created[customer] + timedelta(seconds=1)
        rows.append({"customer_id": customer, "requested_at": _moment_before_end(rng, low, floor, period)})
    return rows
