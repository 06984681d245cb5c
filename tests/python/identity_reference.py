"""Identity resolution in plain Python, written from the semantics page
(docs/activity-schema.md, "Identity resolution"), not from the SQL.

- An observation is a row with both an anonymous id A and a customer C;
  A's observations are ordered by (ts, activity, activity_id).
- A row of A without a customer takes the customer of A's latest
  observation at or before its ts; a row earlier than A's first
  observation takes the customer of that first observation. An anonymous
  id never observed stays anonymous.
- A row with its own customer keeps it.
- Aliases (customer -> canonical) then replace the customer everywhere;
  chains resolve to their end; a cycle is an error.
- A removal removes every row whose resolved customer is the removed
  customer's canonical id.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any, Iterable, Mapping, Sequence

REMOVED = object()


class AliasCycle(ValueError):
    """The aliases form a cycle."""


def canonical_map(aliases: Iterable[tuple[str, str]]) -> dict[str, str]:
    """{customer: the end of its chain} for every aliased customer."""
    targets: dict[str, str] = {}
    for customer, canonical in aliases:
        if targets.get(customer, canonical) != canonical:
            raise ValueError(f"customer {customer!r} has two canonical customers")
        targets[customer] = canonical
    resolved: dict[str, str] = {}
    for start in targets:
        seen = [start]
        current = targets[start]
        while current in targets:
            if current in seen:
                raise AliasCycle(" -> ".join(seen[seen.index(current):] + [current]))
            seen.append(current)
            current = targets[current]
        for customer in seen:
            resolved[customer] = current
    return resolved


def resolve(
    rows: Sequence[Mapping[str, Any]],
    aliases: Iterable[tuple[str, str]] = (),
    removals: Iterable[str] = (),
) -> dict[tuple[str, str], Any]:
    """{(activity, activity_id): resolved customer, None (anonymous) or
    REMOVED} for every row. Rows carry activity, activity_id, ts, customer
    and anonymous_customer_id (customer ids as strings)."""
    canon = canonical_map(aliases)
    removed = {canon.get(customer, customer) for customer in removals}
    observations: dict[str, list[tuple[Any, str, str, str]]] = {}
    for row in rows:
        anonymous = row.get("anonymous_customer_id")
        if anonymous is not None and row.get("customer") is not None:
            observations.setdefault(anonymous, []).append(
                (row["ts"], row["activity"], row["activity_id"], row["customer"])
            )
    timelines = {}
    for anonymous, observed in observations.items():
        observed.sort(key=lambda o: (o[0], o[1], o[2]))
        timelines[anonymous] = ([o[0] for o in observed], [o[3] for o in observed])
    result: dict[tuple[str, str], Any] = {}
    for row in rows:
        customer = row.get("customer")
        if customer is None:
            timeline = timelines.get(row.get("anonymous_customer_id"))
            if timeline is not None:
                times, customers = timeline
                position = bisect_right(times, row["ts"])
                customer = customers[position - 1] if position else customers[0]
        if customer is not None:
            customer = canon.get(customer, customer)
            if customer in removed:
                customer = REMOVED
        result[(row["activity"], row["activity_id"])] = customer
    return result
