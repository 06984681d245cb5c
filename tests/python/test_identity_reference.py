"""The plain-Python identity resolution pins the rules of the semantics page
on hand-made cases; the property tests then hold the SQL to it."""

from datetime import datetime, timedelta

import pytest

from tests.python.identity_reference import REMOVED, AliasCycle, canonical_map, resolve

T0 = datetime(2024, 3, 1, 12, 0, 0)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def view(key: str, minutes: int, anonymous: str | None, customer: str | None = None,
         activity: str = "viewed_page") -> dict:
    return {"activity": activity, "activity_id": key, "ts": at(minutes),
            "customer": customer, "anonymous_customer_id": anonymous}


def test_a_shared_device_belongs_to_whoever_last_logged_in():
    rows = [
        view("a", 0, "web_d"),             # before any login: the first to log in
        view("b", 10, "web_d", "1"),       # customer 1 logs in
        view("c", 20, "web_d"),            # 1's
        view("d", 30, "web_d", "2"),       # customer 2 logs in on the same device
        view("e", 40, "web_d"),            # 2's
        view("f", 50, "web_d", "1"),       # 1 again
        view("g", 60, "web_d"),            # 1's
        view("h", 5, "web_other"),         # never observed: stays anonymous
    ]
    resolved = resolve(rows)
    assert resolved == {
        ("viewed_page", "a"): "1", ("viewed_page", "b"): "1",
        ("viewed_page", "c"): "1", ("viewed_page", "d"): "2",
        ("viewed_page", "e"): "2", ("viewed_page", "f"): "1",
        ("viewed_page", "g"): "1", ("viewed_page", "h"): None,
    }


def test_equal_timestamps_take_the_last_observation_of_that_instant():
    # Observations at the same ts are ordered by (activity, activity_id): a
    # row at that ts takes the last one, a row before it the first one.
    rows = [
        view("x", 10, "web_d", "2", activity="viewed_page"),
        view("w", 10, "web_d", "1", activity="viewed_page"),
        view("z", 10, "web_d", "3", activity="clicked_ad"),
        view("early", 0, "web_d"),
        view("same", 10, "web_d", activity="signed_in"),
    ]
    resolved = resolve(rows)
    # Order: (clicked_ad, z) 3, (viewed_page, w) 1, (viewed_page, x) 2.
    assert resolved[("viewed_page", "early")] == "3"
    assert resolved[("signed_in", "same")] == "2"


def test_a_row_with_its_own_customer_keeps_it():
    rows = [view("a", 0, "web_d", "1"), view("b", 5, "web_d", "2"),
            view("c", 3, "web_d")]
    resolved = resolve(rows)
    assert resolved[("viewed_page", "b")] == "2"
    assert resolved[("viewed_page", "c")] == "1"


def test_aliases_follow_chains_and_apply_after_slicing():
    rows = [view("a", 0, "web_d"), view("b", 10, "web_d", "7"),
            view("c", 0, None, "5", activity="placed_order")]
    aliases = [("7", "5"), ("5", "3")]
    assert canonical_map(aliases) == {"7": "3", "5": "3"}
    resolved = resolve(rows, aliases)
    assert set(resolved.values()) == {"3"}


def test_a_cycle_of_aliases_names_its_ids():
    with pytest.raises(AliasCycle, match="1 -> 2 -> 3 -> 1"):
        canonical_map([("1", "2"), ("2", "3"), ("3", "1")])


def test_a_removal_takes_the_anonymous_rows_of_its_slices_and_follows_merges():
    rows = [view("a", 0, "web_d"), view("b", 10, "web_d", "1"),
            view("c", 20, "web_d"), view("d", 30, "web_d", "2"),
            view("e", 40, "web_d"),
            view("o", 0, None, "9", activity="placed_order")]
    resolved = resolve(rows, aliases=[("9", "1")], removals=["9"])
    # 9 was merged into 1: erasing 9 erases the person, 1.
    assert [k[1] for k, v in resolved.items() if v is REMOVED] == ["a", "b", "c", "o"]
    assert resolved[("viewed_page", "e")] == "2"
