"""What the new rows of a batch refer to: customers, devices and unpaid orders of the current tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .tables import Tables, is_clock_skewed
from .visitors import Timeline, visitor_timelines


@dataclass
class Context:
    """Look-ups over the current (post delete / restate) tables for new rows."""

    customer_times: list[datetime]  # sorted created_at ...
    customer_ids: list[int]  # ... and the matching ids
    customer_visitors: dict[int, list[str]]  # the devices a customer ever logged in on
    timelines: dict[str, Timeline]  # who is logged in on each device when
    visitors: list[str]
    unpaid: list[tuple[date, int, int]]  # (order_date, order id, user id), sorted
    visitor_number: int


def build_context(state: Tables) -> Context:
    """Look-ups for new rows; customers and orders from a clock far ahead are left out."""
    customers = sorted(
        (c["created_at"], c["id"]) for c in state["raw_customers"] if not is_clock_skewed("raw_customers", c)
    )
    numbers = [0] + [int(e["visitor_id"][1:]) for e in state["raw_web_events"] if e["visitor_id"][1:].isdigit()]
    timelines = visitor_timelines(state["raw_web_events"])
    customer_visitors: dict[int, list[str]] = {}
    for visitor in sorted(timelines):
        for customer in timelines[visitor].customers:
            customer_visitors.setdefault(customer, []).append(visitor)
    paid = {p["order_id"] for p in state["raw_payments"]}
    unpaid = sorted(
        {(o["order_date"], o["id"], o["user_id"]) for o in state["raw_orders"]
         if o["status"] == "placed" and o["id"] not in paid and not is_clock_skewed("raw_orders", o)}
    )
    return Context(
        customer_times=[t for t, _ in customers],
        customer_ids=[i for _, i in customers],
        customer_visitors=customer_visitors,
        timelines=timelines,
        visitors=sorted({e["visitor_id"] for e in state["raw_web_events"]}),
        unpaid=unpaid,
        visitor_number=max(numbers) + 1,
    )


def logged_in_at(ctx: Context, visitor: Any, moment: datetime | None) -> int | None:
    """Who is logged in on an existing device at ``moment`` (None for a new device)."""
    timeline = ctx.timelines.get(visitor) if isinstance(visitor, str) else None  # not yet numbered: new
    return timeline.state_at(moment) if timeline is not None and moment is not None else None
