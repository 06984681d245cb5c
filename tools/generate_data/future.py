"""Rows from a clock far ahead: new rows a batch stamps in the year 2099."""

from __future__ import annotations

import random
import string
from datetime import datetime, timedelta

from .shop import (
    BROWSE_PAGES_ANONYMOUS,
    BROWSE_PAGES_KNOWN,
    FIRST_NAMES,
    PAYMENT_METHOD_WEIGHTS,
    PAYMENT_METHODS,
)
from .tables import (
    LOADED_AT,
    SHOP_TABLES,
    TABLE_COLUMNS,
    TIME_COLUMNS,
    Row,
    Tables,
    is_clock_skewed,
    next_customer_id,
)
from .visitors import visitor_timelines

FUTURE_YEAR = 2099
# Future rows go round-robin over the tables in this order.
FUTURE_TABLES = ("raw_web_events", "raw_orders", "raw_payments", "raw_customers")


def _future_moment(rng: random.Random) -> datetime:
    """A whole-second moment in :data:`FUTURE_YEAR`."""
    start = datetime(FUTURE_YEAR, 1, 1)
    return start + timedelta(seconds=rng.randrange(int((datetime(FUTURE_YEAR + 1, 1, 1) - start).total_seconds())))


def add_future_rows(rng: random.Random, state: Tables, count: int) -> dict[str, list[Row]]:
    """Append ``count`` new rows stamped in :data:`FUTURE_YEAR`, as a client clock far ahead sends them.

    The rows go round-robin over :data:`FUTURE_TABLES` (web events first):
    a page view of an existing visitor (carrying the customer logged in
    after the visitor's last view, if any), a ``placed`` order of an
    existing customer, a payment of an existing order, a customer sign-up.
    An order or payment with nothing to refer to becomes a page view. Ids
    continue after each table's maximum (customer ids also after every
    customer an identity row names, see :func:`~.tables.next_customer_id`),
    in timestamp order. Returns the added rows per table.
    """
    added: dict[str, list[Row]] = {name: [] for name in SHOP_TABLES}
    if count <= 0:
        return added
    customer_ids = sorted({c["id"] for c in state["raw_customers"] if not is_clock_skewed("raw_customers", c)})
    order_ids = sorted({o["id"] for o in state["raw_orders"] if not is_clock_skewed("raw_orders", o)})
    logged_in = {visitor: t.final_state for visitor, t in visitor_timelines(state["raw_web_events"]).items()}
    numbers = [0] + [int(e["visitor_id"][1:]) for e in state["raw_web_events"] if e["visitor_id"][1:].isdigit()]
    visitors = sorted(logged_in)
    if not visitors:
        visitors = [f"v{max(numbers) + 1:05d}"]
        logged_in[visitors[0]] = None
    drafts: dict[str, list[Row]] = {name: [] for name in SHOP_TABLES}
    for i in range(count):
        table = FUTURE_TABLES[i % len(FUTURE_TABLES)]
        if (table == "raw_orders" and not customer_ids) or (table == "raw_payments" and not order_ids):
            table = "raw_web_events"
        at = _future_moment(rng)
        if table == "raw_customers":
            draft = {
                "first_name": rng.choice(FIRST_NAMES),
                "last_name": rng.choice(string.ascii_uppercase) + ".",
                "created_at": at,
            }
        elif table == "raw_orders":
            draft = {"user_id": rng.choice(customer_ids), "order_date": at.date(), "status": "placed"}
        elif table == "raw_payments":
            draft = {
                "order_id": rng.choice(order_ids),
                "payment_method": rng.choices(PAYMENT_METHODS, PAYMENT_METHOD_WEIGHTS)[0],
                "amount": rng.randrange(1000, 3001, 50),
                "created_at": at,
            }
        else:
            visitor = rng.choice(visitors)
            customer = logged_in[visitor]
            pages = BROWSE_PAGES_KNOWN if customer is not None else BROWSE_PAGES_ANONYMOUS
            draft = {"visitor_id": visitor, "customer_id": customer, "page": rng.choice(pages), "occurred_at": at}
        drafts[table].append(draft)
    for name in SHOP_TABLES:
        columns = TABLE_COLUMNS[name]
        if name == "raw_customers":
            next_id = next_customer_id(state)
        else:
            next_id = max((r["id"] for r in state[name]), default=0) + 1
        ordered = sorted(drafts[name], key=lambda d: d[TIME_COLUMNS[name]])
        for offset, draft in enumerate(ordered):
            row = {"id": next_id + offset, **draft, LOADED_AT: None}
            added[name].append({c: row[c] for c in columns})
        state[name] = state[name] + added[name]
    return added
