"""Who is logged in on a device when: per-visitor timelines of the web events.

A visitor's views, ordered by ``(occurred_at, id)``, follow one rule: a
``/login`` view carries the customer who logs in and so does every later
view, up to and including a ``/logout`` view (which carries the customer
who logs out); the views after a logout are anonymous until the next
``/login``. A :class:`Timeline` holds the changes of that state, so that
rows added or moved later can carry the customer the rule gives them.
Rows from a clock far ahead (:func:`~.tables.is_clock_skewed`) are left out
of the timeline and only flagged.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .shop import LOGIN, LOGOUT
from .tables import Row, is_clock_skewed

STATE_PAGES = (LOGIN, LOGOUT)


@dataclass
class Timeline:
    """The views of one visitor and the moments its logged-in customer changes."""

    views: list[tuple[datetime, int, str]] = field(default_factory=list)  # (moment, id, page), sorted
    change_moments: list[datetime] = field(default_factory=list)
    change_states: list[int | None] = field(default_factory=list)  # the state after each change
    customers: list[int] = field(default_factory=list)  # who logged in, in order of first login
    skewed: bool = False  # some view comes from a clock far ahead

    @property
    def first(self) -> datetime:
        return self.views[0][0]

    @property
    def last(self) -> datetime:
        return self.views[-1][0]

    @property
    def final_state(self) -> int | None:
        """Who is logged in after the visitor's last view (None: nobody)."""
        return self.change_states[-1] if self.change_states else None

    def state_at(self, moment: datetime) -> int | None:
        """Who is logged in at ``moment`` (a change at that very second counts)."""
        i = bisect.bisect_right(self.change_moments, moment)
        return self.change_states[i - 1] if i else None

    def move_limit(self, row: Row) -> datetime | None:
        """The latest moment ``row`` (a view of this visitor) may move to, later, without
        changing who is logged in on any view; None if nothing limits it.

        An ordinary view stays before the next ``/login`` or ``/logout``; a
        ``/login`` or ``/logout`` stays before the next view of any page. A
        limiting view at the row's own second pins the row (the limit is its
        own moment).
        """
        moment = row["occurred_at"]
        state_row = row["page"] in STATE_PAGES
        start = bisect.bisect_left(self.views, (moment, -1, ""))
        for at, other_id, page in self.views[start:]:
            if other_id == row["id"]:
                continue
            if state_row or page in STATE_PAGES:
                return moment if at <= moment else at - timedelta(seconds=1)
        return None


def visitor_timelines(events: Iterable[Row]) -> dict[str, Timeline]:
    """One :class:`Timeline` per visitor id of ``events`` (rows of raw_web_events)."""
    ordered = sorted(events, key=lambda e: (e["visitor_id"], e["occurred_at"], e["id"]))
    timelines: dict[str, Timeline] = {}
    for e in ordered:
        timeline = timelines.setdefault(e["visitor_id"], Timeline())
        if is_clock_skewed("raw_web_events", e):
            timeline.skewed = True
            continue
        if timeline.views and timeline.views[-1][1] == e["id"]:
            continue  # a second delivery of the same row
        timeline.views.append((e["occurred_at"], e["id"], e["page"]))
        if e["page"] == LOGIN:
            timeline.change_moments.append(e["occurred_at"])
            timeline.change_states.append(e["customer_id"])
            if e["customer_id"] is not None and e["customer_id"] not in timeline.customers:
                timeline.customers.append(e["customer_id"])
        elif e["page"] == LOGOUT:
            timeline.change_moments.append(e["occurred_at"])
            timeline.change_states.append(None)
    return {visitor: t for visitor, t in timelines.items() if t.views or t.skewed}
