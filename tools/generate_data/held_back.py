"""Accounts whose row arrives after the identity rows that name them.

A batch with ``identity_first`` merges new accounts into existing ones at
once (alias rows), but holds their ``raw_customers`` row back: each gets an
id after every customer id in use (:func:`assign_held_back`, called once the
batch's other rows are numbered). The next batch finds them, customers an
identity row names with an id above every ``raw_customers.id`` (a deleted
customer never is: the highest id is never deleted), and delivers their rows
(:func:`deliver_held_back`).
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .shop import FIRST_NAMES, seconds
from .tables import IDENTITY_TABLES, LOADED_AT, TIME_COLUMNS, Row, Tables, next_customer_id


@dataclass(eq=False)
class HeldBack:
    """A new account named by an alias now; its id is given at the end of the batch."""

    id: int | None = None


def deliver_held_back(rng: random.Random, state: Tables) -> list[Row]:
    """Append the account rows an earlier batch held back; returns them (``_loaded_at`` None).

    Each signs up before the first identity row naming it, with the name of
    the account it is merged into when that one exists.
    """
    top = max((c["id"] for c in state["raw_customers"]), default=0)
    named: dict[int, datetime] = {}
    canonical: dict[int, int] = {}
    for table in IDENTITY_TABLES:
        for row in state[table]:
            for column in ("customer_id", "canonical_customer_id"):
                value = row.get(column)
                if isinstance(value, int) and value > top:
                    at = row[TIME_COLUMNS[table]]
                    named[value] = min(at, named.get(value, at))
            if table == "raw_customer_aliases":
                canonical[row["customer_id"]] = row["canonical_customer_id"]
    names = {c["id"]: (c["first_name"], c["last_name"]) for c in state["raw_customers"]}
    rows = []
    for customer in sorted(named):
        first, last = names.get(canonical.get(customer), (None, None))
        rows.append({
            "id": customer,
            "first_name": first or rng.choice(FIRST_NAMES),
            "last_name": last or rng.choice(string.ascii_uppercase) + ".",
            "created_at": named[customer] - seconds(rng, 300, 6 * 3600),
            LOADED_AT: None,
        })
    state["raw_customers"] += rows
    return rows


def assign_held_back(state: Tables, held: list[HeldBack], summary: dict[str, Any]) -> list[int]:
    """Give the held-back accounts the ids after every customer id in use (call it last)."""
    first = next_customer_id(state)
    for offset, account in enumerate(held):
        account.id = first + offset
    for row in state["raw_customer_aliases"]:
        if isinstance(row["customer_id"], HeldBack):
            row["customer_id"] = row["customer_id"].id
    summary["aliases"]["customer_ids"] = [c.id if isinstance(c, HeldBack) else c
                                         for c in summary["aliases"]["customer_ids"]]
    return [account.id for account in held if account.id is not None]
