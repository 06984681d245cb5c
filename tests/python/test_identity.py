"""Identity resolution, one pinned case per rule, on DuckDB and Postgres.

The README's shared device, `web_v7`, logged in by customer 1 and then by
customer 2; then customer 1 is merged into customer 5, 5 asks to be
erased, a late anonymous page view falls in the erased slice, and a late
login of customer 2 gives the device's first view back to 2. After every
plain run the stream equals a full rebuild, and every row has the customer
the rules give, written out by hand here.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tests.python.dbt_harness import DbtProject, FULL_STREAM_VIEW

DAY = datetime(2024, 3, 1)
LOAD_1 = datetime(2024, 3, 2)
FULL_VIEW = FULL_STREAM_VIEW


def at(hours: int, minutes: int = 0) -> datetime:
    return DAY.replace(hour=hours, minute=minutes)


def customer(customer_id: int, signed_up: datetime, loaded: datetime = LOAD_1) -> dict:
    return {"id": customer_id, "first_name": f"C{customer_id}", "last_name": "X.",
            "created_at": signed_up, "_loaded_at": loaded}


def view(event_id: int, ts: datetime, customer_id: int | None, page: str,
         loaded: datetime = LOAD_1) -> dict:
    return {"id": event_id, "visitor_id": "v7", "customer_id": customer_id,
            "page": page, "occurred_at": ts, "_loaded_at": loaded}


def initial_tables() -> dict[str, list[dict]]:
    return {
        "raw_customers": [customer(1, at(8)), customer(2, at(8, 30)),
                          customer(5, at(7))],
        "raw_orders": [],
        "raw_payments": [],
        "raw_web_events": [
            view(1, at(9), None, "/menu"),
            view(2, at(9, 5), 1, "/login"),
            view(3, at(9, 20), None, "/cart"),
            view(4, at(18), 2, "/login"),
            view(5, at(18, 30), None, "/menu"),
        ],
        "raw_customer_aliases": [],
        "raw_customer_removals": [],
    }


class Device:
    def __init__(self, project: DbtProject):
        self.project = project
        self.tables = initial_tables()
        project.write_seeds(self.tables)
        (project.root / "models" / "stream" / "customer_stream_full.sql").write_text(
            FULL_VIEW)
        self.clock = LOAD_1
        result = project.build("--vars", self.vars())
        assert result.success, result.log[-4000:]

    def vars(self) -> str:
        return f"{{stream_clock: '{self.clock:%Y-%m-%d %H:%M:%S}'}}"

    def load(self, clock: datetime, **changes: list[dict]) -> None:
        self.clock = clock
        for table, rows in changes.items():
            self.tables[table] = self.tables[table] + rows
        self.project.load_raw(self.tables)
        result = self.project.dbt(
            "run", "--select", "customer_stream", "customer_stream_full",
            "stream_removals", "--vars", self.vars())
        assert result.success, result.log[-4000:]
        assert "customer_stream: incremental run" in result.log or \
            "incremental model" in result.log

    def views(self) -> dict[str, str | None]:
        """{page view ts (HH:MM): customer} of the stream's page views."""
        rows = self.project.query(
            f"select ts, customer from {self.project.schema}.customer_stream "
            "where activity = 'viewed_page'")
        return {f"{ts:%H:%M}": customer for ts, customer in rows}

    def removed_counts(self) -> dict[str, int]:
        return dict(self.project.query(
            f"select activity, removed_rows from {self.project.schema}.stream_removals"))

    def differences(self) -> list[tuple]:
        return self.project.stream_differences()


@pytest.fixture(params=["duckdb", "postgres"])
def device(request, tmp_path: Path):
    project = DbtProject.create(tmp_path, request.param)
    try:
        yield Device(project)
    finally:
        project.drop()


def test_a_shared_device_merges_and_an_erasure(device: Device):
    assert device.views() == {"09:00": "1", "09:05": "1", "09:20": "1",
                              "18:00": "2", "18:30": "2"}
    occurrences = dict(device.project.query(
        f"select activity_id, activity_occurrence from {device.project.schema}"
        ".customer_stream where activity = 'viewed_page' and customer = '1'"))
    assert sorted(occurrences.values()) == [1, 2, 3]

    # Customer 1 is merged into 5: every row of 1 becomes 5's, the rows its
    # login resolved included.
    device.load(datetime(2024, 3, 3), raw_customer_aliases=[
        {"customer_id": 1, "canonical_customer_id": 5,
         "merged_at": datetime(2024, 3, 2, 12), "_loaded_at": datetime(2024, 3, 3)}])
    assert device.views() == {"09:00": "5", "09:05": "5", "09:20": "5",
                              "18:00": "2", "18:30": "2"}
    assert device.differences() == []

    # 5 asks to be erased: 5's rows and 1's leave the stream.
    device.load(datetime(2024, 3, 4), raw_customer_removals=[
        {"customer_id": 5, "requested_at": datetime(2024, 3, 3, 12),
         "_loaded_at": datetime(2024, 3, 4)}])
    assert device.views() == {"18:00": "2", "18:30": "2"}
    assert device.removed_counts() == {"viewed_page": 3, "created_account": 2}
    assert device.differences() == []

    # A late anonymous view inside the erased slice is removed too.
    device.load(datetime(2024, 3, 5), raw_web_events=[
        view(6, at(9, 10), None, "/menu", loaded=datetime(2024, 3, 5))])
    assert device.views() == {"18:00": "2", "18:30": "2"}
    assert device.removed_counts() == {"viewed_page": 4, "created_account": 2}
    assert device.differences() == []

    # A late login of 2 at 09:02 makes 2 the device's first login: the view
    # before it (09:00) comes back, as 2's, with its page.
    device.load(datetime(2024, 3, 6), raw_web_events=[
        view(7, at(9, 2), 2, "/login", loaded=datetime(2024, 3, 6))])
    assert device.views() == {"09:00": "2", "09:02": "2", "18:00": "2",
                              "18:30": "2"}
    assert device.removed_counts() == {"viewed_page": 3, "created_account": 2}
    assert device.project.query(
        f"select feature_json from {device.project.schema}.customer_stream "
        "where activity = 'viewed_page' and ts = '2024-03-01 09:00:00'"
    )[0][0] is not None
    assert device.differences() == []
    # The table of removed rows keeps no customer id.
    columns = {c.lower() for c in _columns(device.project, "customer_stream__removed")}
    assert not {"customer", "_source_customer"} & columns


def test_an_alias_cycle_fails_naming_its_ids(device: Device):
    device.tables["raw_customer_aliases"] = [
        {"customer_id": 1, "canonical_customer_id": 2, "merged_at": DAY,
         "_loaded_at": LOAD_1},
        {"customer_id": 2, "canonical_customer_id": 5, "merged_at": DAY,
         "_loaded_at": LOAD_1},
        {"customer_id": 5, "canonical_customer_id": 1, "merged_at": DAY,
         "_loaded_at": LOAD_1},
    ]
    device.project.load_raw(device.tables)
    result = device.project.dbt("run", "--select", "customer_stream", "--vars",
                                device.vars())
    assert not result.success
    assert "the customer aliases form a cycle: 1 -> 2 -> 5 -> 1" in result.log


def test_identity_facts_may_come_before_their_rows(device: Device):
    # Customer 9 is merged into 2 and removed... before 9 exists at all.
    device.load(datetime(2024, 3, 3), raw_customer_aliases=[
        {"customer_id": 9, "canonical_customer_id": 2, "merged_at": DAY,
         "_loaded_at": datetime(2024, 3, 3)}])
    assert device.differences() == []
    # 9 signs up and logs in on a new device, browsing anonymously first.
    device.load(
        datetime(2024, 3, 4),
        raw_customers=[customer(9, at(20), loaded=datetime(2024, 3, 4))],
        raw_web_events=[
            {**view(8, at(19, 50), None, "/", loaded=datetime(2024, 3, 4)),
             "visitor_id": "v9"},
            {**view(9, at(20, 1), 9, "/login", loaded=datetime(2024, 3, 4)),
             "visitor_id": "v9"},
        ])
    rows = device.project.query(
        f"select ts, customer, _source_customer from {device.project.schema}"
        ".customer_stream where anonymous_customer_id = 'web_v9' order by ts")
    assert [(f"{ts:%H:%M}", c, s) for ts, c, s in rows] == [
        ("19:50", "2", None), ("20:01", "2", "9")]
    assert device.differences() == []


def _columns(project: DbtProject, table: str) -> list[str]:
    schema = project.schema
    return [row[0] for row in project.query(
        "select column_name from information_schema.columns "
        f"where table_schema = '{schema}' and table_name = '{table}'")]


def test_a_stream_with_removals_needs_its_hooks(tmp_path: Path):
    project = DbtProject.create(tmp_path, "duckdb")
    project.write_seeds(initial_tables())
    model = project.root / "models" / "stream" / "customer_stream.sql"
    text = model.read_text()
    hook = ("    'post_hook': [\n"
            '        "{{ activity_schema.stream_post_hook(customer_identity()) }}",\n'
            "    ],\n")
    assert hook in text
    model.write_text(text.replace(hook, ""))
    result = project.build()
    assert not result.success
    assert "stream_post_hook is missing" in result.log
    assert "post_hook=" in result.log
