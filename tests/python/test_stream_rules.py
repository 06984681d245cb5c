"""One test per rule of the incremental stream, on cases built by hand.

Each test builds small generated data, applies one kind of change to the raw
tables as a loader would, runs the stream incrementally and compares it with
the same macro compiled as a from-scratch view (`customer_stream_full`),
every column of every row. The property test draws these cases at random;
here each one is pinned, so that a rule cannot go untested by chance:

- sources that lag each other: each activity's window starts from its own
  latest ts (a late payment counts although orders ran days ahead);
- a restatement that moves a row out of the window, or into it, moves the
  row instead of deleting or duplicating it;
- a key delivered twice with other values: one row per key on every run,
  the latest load wins even when the window re-reads the older version,
  and the staging test names the key;
- rows beyond the run's clock are held back, listed with their reason, and
  admitted once the clock passes them;
- a changed, added, removed or renamed activity is re-derived or removed by
  a plain run, which says so in its log;
- `--sample` never diffs sampled sources against the stored stream;
  `--event-time-start`/`--event-time-end` are the rebuild window;
- text timestamps with a UTC offset are converted, and text that is no
  timestamp is rejected naming the value;
- without the strategy wrapper the first run fails, naming it.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.python.dbt_harness import DbtProject, DbtResult, FULL_STREAM_VIEW
from tools.generate_data import generate

FULL_VIEW = FULL_STREAM_VIEW
LOADED_AT_LINE = "    loaded_at='_loaded_at',\n"


# -- helpers -------------------------------------------------------------------


def drop_loaded_at(project: DbtProject, *models: str) -> None:
    """Activity models of the copy that declare no load column."""
    for name in models:
        path = project.root / "models" / "activities" / f"{name}.sql"
        text = path.read_text()
        assert LOADED_AT_LINE in text, name
        path.write_text(text.replace(LOADED_AT_LINE, ""))


def build(project: DbtProject, tables: dict, *args: str) -> None:
    project.write_seeds(tables)
    (project.root / "models" / "stream" / "customer_stream_full.sql").write_text(
        FULL_VIEW
    )
    result = project.build(*args)
    assert result.success, result.log[-4000:]
    project.parse()


def run(project: DbtProject, *args: str, models=("customer_stream", "customer_stream_full")) -> DbtResult:
    result = project.dbt("run", "--select", *models, *args, manifest=True)
    assert result.success, result.log[-4000:]
    return result


def differences(project: DbtProject) -> list[tuple]:
    return project.stream_differences()


def duplicated_keys(project: DbtProject) -> list[tuple]:
    return project.query(
        f"select activity, activity_id, count(*) from {project.schema}.customer_stream"
        " group by activity, activity_id having count(*) > 1"
    )


def latest_ts(project: DbtProject, activity: str) -> datetime:
    return project.query(
        f"select max(ts) from {project.schema}.customer_stream "
        f"where activity = '{activity}'"
    )[0][0]


def latest_loaded_at(tables: dict) -> datetime:
    return max(r["_loaded_at"] for rows in tables.values() for r in rows)


def clock(value: datetime, **extra: Any) -> str:
    pairs = [f"stream_clock: '{value:%Y-%m-%d %H:%M:%S}'"]
    pairs += [f"{key}: {item}" for key, item in extra.items()]
    return "{" + ", ".join(pairs) + "}"


def streamed_page_views(project: DbtProject, *ids: int) -> dict[str, datetime]:
    """{source key: stream ts} of the given raw page views the stream holds."""
    keys = ", ".join(f"'{key}'" for key in ids)
    return dict(project.query(
        f"select a._source_key, s.ts from {project.schema}.act_viewed_page a join "
        f"{project.schema}.customer_stream s on a.activity_id = s.activity_id "
        f"and s.activity = 'viewed_page' where a._source_key in ({keys})"))


def payment_customer(tables: dict, payment: dict) -> int:
    return next(o["user_id"] for o in tables["raw_orders"] if o["id"] == payment["order_id"])


# -- windows, moves, versions -------------------------------------------------------


def test_each_activity_keeps_its_own_window(project: DbtProject) -> None:
    """Payments and page views have no load column here. Orders run ten
    days ahead of them; a payment 50 hours late against the payments' own
    latest ts is still inside the payments' window, and must go in."""
    drop_loaded_at(project, "act_made_payment", "act_viewed_page")
    tables = generate(seed=5, scale=0.05)
    build(project, tables)
    tables = copy.deepcopy(tables)
    stamp = latest_loaded_at(tables) + timedelta(hours=1)

    ahead = datetime.combine(latest_ts(project, "placed_order").date(), datetime.min.time())
    ahead += timedelta(days=10)
    customer = tables["raw_customers"][0]["id"]
    order_id = max(o["id"] for o in tables["raw_orders"]) + 1
    tables["raw_orders"].append({"id": order_id, "user_id": customer, "order_date": ahead.date(),
                                 "status": "placed", "_loaded_at": stamp})
    project.load_raw(tables)
    run(project, "--vars", clock(ahead))
    assert differences(project) == []

    late = latest_ts(project, "made_payment") - timedelta(hours=50)
    assert late < ahead - timedelta(hours=72), "the case needs a lag beyond the window"
    tables["raw_payments"].append({"id": max(p["id"] for p in tables["raw_payments"]) + 1,
                                   "order_id": tables["raw_orders"][0]["id"],
                                   "payment_method": "coupon", "amount": 700,
                                   "created_at": late, "_loaded_at": stamp})
    project.load_raw(tables)
    run(project, "--vars", clock(ahead))
    assert differences(project) == []
    assert duplicated_keys(project) == []


def test_restatements_move_across_the_window_edge(project: DbtProject) -> None:
    """Page views (no load column): one inside the window moves 60 days
    back, one from 60 days back moves into the window. Neither is deleted,
    neither is duplicated, and the partitions of both are recomputed."""
    drop_loaded_at(project, "act_viewed_page")
    tables = generate(seed=5, scale=0.05)
    build(project, tables)
    tables = copy.deepcopy(tables)
    hwm = latest_ts(project, "viewed_page")
    events = tables["raw_web_events"]
    inside = next(e for e in events if e["occurred_at"] >= hwm - timedelta(hours=24))
    outside = next(e for e in events if e["occurred_at"] < hwm - timedelta(days=90))
    inside["occurred_at"] = hwm - timedelta(days=60, seconds=17)
    outside["occurred_at"] = hwm - timedelta(hours=5, seconds=3)
    project.load_raw(tables)
    run(project, "--vars", clock(hwm))
    assert differences(project) == []
    assert duplicated_keys(project) == []
    moved = project.query(
        f"select ts from {project.schema}.customer_stream where activity = 'viewed_page'"
        f" and feature_json is not null and ts in ("
        f"cast('{inside['occurred_at']:%Y-%m-%d %H:%M:%S}' as timestamp),"
        f" cast('{outside['occurred_at']:%Y-%m-%d %H:%M:%S}' as timestamp))"
    )
    assert len(moved) == 2


def test_a_key_delivered_twice_keeps_its_latest_load(project: DbtProject) -> None:
    """An order comes again with another status and a date 60 days back:
    the later load wins, on every run, even once the window re-reads the
    first version (still in the raw table) and the cursor has moved past
    the second. The staging test names the order."""
    tables = generate(seed=5, scale=0.05)
    build(project, tables)
    tables = copy.deepcopy(tables)
    first_stamp = latest_loaded_at(tables)
    hwm = latest_ts(project, "placed_order")
    order = max(tables["raw_orders"], key=lambda o: o["order_date"])
    again = dict(order, status="returned" if order["status"] != "returned" else "completed",
                 order_date=order["order_date"] - timedelta(days=60),
                 _loaded_at=first_stamp + timedelta(hours=1))
    tables["raw_orders"].append(again)
    project.load_raw(tables)
    for _ in range(3):
        run(project, "--vars", clock(hwm))
        assert duplicated_keys(project) == []
        assert differences(project) == []

    # Another load moves the cursor past the second version.
    tables["raw_customers"].append(dict(tables["raw_customers"][0], id=9001,
                                        _loaded_at=first_stamp + timedelta(hours=2)))
    project.load_raw(tables)
    run(project, "--vars", clock(hwm))
    assert differences(project) == []
    statuses = project.query(
        f"select feature_json from {project.schema}.customer_stream "
        f"where activity = 'placed_order' and ts = "
        f"cast('{again['order_date']:%Y-%m-%d}' as timestamp)"
    )
    assert any(again["status"] in str(row[0]) for row in statuses)

    result = project.dbt("test", "--select", "stg_jaffle_shop__orders", manifest=True)
    assert not result.success
    assert re.search(rf"order_id\D+{order['id']}\b", result.log), result.log[-3000:]


# -- the clock -------------------------------------------------------------------


def test_rows_beyond_the_clock_wait_for_their_time(project: DbtProject) -> None:
    tables = generate(seed=5, scale=0.05)
    build(project, tables)
    tables = copy.deepcopy(tables)
    now = latest_loaded_at(tables)
    stamp = now + timedelta(hours=1)
    base = dict(tables["raw_web_events"][0], _loaded_at=stamp)
    last = max(e["id"] for e in tables["raw_web_events"])
    soon = dict(base, id=last + 1, occurred_at=now + timedelta(days=3))
    far = dict(base, id=last + 2, occurred_at=datetime(2099, 1, 1))
    on_time = dict(base, id=last + 3, occurred_at=now - timedelta(hours=2))
    tables["raw_web_events"] += [soon, far, on_time]
    project.load_raw(tables)

    run(project, "--vars", clock(now))
    assert differences(project) == []
    held = streamed_page_views(project, soon["id"], far["id"], on_time["id"])
    assert set(held) == {str(on_time["id"])}

    # stream_rejections names the held rows (the view built with that clock).
    rejected = run(project, "--vars", clock(now), models=("stream_rejections",))
    assert rejected.success
    reasons = dict(project.query(
        f"select source_key, rejection_reason from {project.schema}.stream_rejections"))
    assert reasons.get(str(soon["id"]), "").startswith("ts is in the future")
    assert reasons.get(str(far["id"]), "").startswith("ts is in the future")
    assert str(on_time["id"]) not in reasons

    # Four days later, the first one's time has come; 2099 still waits.
    run(project, "--vars", clock(now + timedelta(days=4)))
    assert differences(project) == []
    assert set(streamed_page_views(project, soon["id"], far["id"])) == {str(soon["id"])}


# -- definitions -----------------------------------------------------------------

NEW_ACTIVITY = """
{% call activity_schema.activity(
    activity='ordered_online',
    activity_id='order_id',
    ts='order_date',
    customer='customer_id',
    features={'order_status': 'string'},
    loaded_at='_loaded_at',
) %}
select * from {{ ref('stg_jaffle_shop__orders') }}
{% endcall %}
"""


def set_activity_list(project: DbtProject, names: list[str]) -> None:
    refs = ",\n        ".join(f"ref('{name}')" for name in names)
    (project.root / "macros" / "customer_activities.sql").write_text(
        "{% macro customer_activities() -%}\n"
        f"    {{{{ return([\n        {refs},\n    ]) }}}}\n"
        "{%- endmacro %}\n"
    )


def test_definition_changes_apply_by_themselves(project: DbtProject, target: str) -> None:
    tables = generate(seed=5, scale=0.05)
    build(project, tables)
    activities = ["act_created_account", "act_placed_order", "act_made_payment",
                  "act_viewed_page"]

    def counts() -> dict[str, int]:
        return dict(project.query(
            f"select activity, count(*) from {project.schema}.customer_stream"
            " group by activity"))

    # A new feature on placed_order reaches every one of its rows.
    path = project.root / "models" / "activities" / "act_placed_order.sql"
    path.write_text(path.read_text().replace(
        "features={'order_id': 'integer', 'order_status': 'string'}",
        "features={'order_id': 'integer', 'order_status': 'string',"
        " 'customer_id': 'integer'}"))
    project.parse()
    result = run(project, models=("act_placed_order", "customer_stream",
                                  "customer_stream_full"))
    assert "definition of activity 'placed_order' changed" in result.log
    assert differences(project) == []
    (without,) = project.query(
        f"select count(*) from {project.schema}.customer_stream where activity = "
        "'placed_order' and cast(feature_json as varchar) not like '%customer_id%'")[0]
    assert without == 0

    # A new activity is derived in full; a removed one leaves the stream.
    (project.root / "models" / "activities" / "act_ordered_online.sql").write_text(
        NEW_ACTIVITY)
    set_activity_list(project, activities + ["act_ordered_online"])
    project.parse()
    result = project.dbt("run", "--select", "act_ordered_online", "customer_stream",
                         "customer_stream_full", manifest=True)
    assert result.success, result.log[-3000:]
    assert "activity 'ordered_online' is new" in result.log
    assert differences(project) == []
    assert counts()["ordered_online"] == len(tables["raw_orders"])

    set_activity_list(project, [a for a in activities if a != "act_made_payment"]
                      + ["act_ordered_online"])
    project.parse()
    result = run(project)
    assert "activity 'made_payment' is no longer listed" in result.log
    assert differences(project) == []
    assert "made_payment" not in counts()

    # A renamed activity: the old name's rows go, the new name's come.
    new = project.root / "models" / "activities" / "act_ordered_online.sql"
    new.write_text(NEW_ACTIVITY.replace("ordered_online", "ordered_on_the_web"))
    project.parse()
    result = project.dbt("run", "--select", "act_ordered_online", "customer_stream",
                         "customer_stream_full", manifest=True)
    assert result.success, result.log[-3000:]
    assert differences(project) == []
    assert "ordered_online" not in counts()
    assert counts()["ordered_on_the_web"] == len(tables["raw_orders"])
    assert duplicated_keys(project) == []


# -- dbt's time features ------------------------------------------------------------


@pytest.fixture
def duckdb_project(tmp_path: Path):
    """dbt's flags and Jinja behave alike on every adapter: DuckDB checks them."""
    return DbtProject.create(tmp_path, "duckdb")


def test_sample_runs_never_diff_a_sample_against_the_stream(duckdb_project) -> None:
    project = duckdb_project
    tables = generate(seed=5, scale=0.05)
    build(project, tables)
    count = f"select count(*) from {project.schema}.customer_stream"
    before = project.query(count)[0][0]
    result = project.dbt("run", "--select", "customer_stream", "--sample", "3 days",
                         manifest=True)
    assert not result.success
    text = result.log + str(result.exception or "")
    assert "--sample --full-refresh" in text, text[-2000:]
    assert project.query(count)[0][0] == before

    result = project.dbt("run", "--select", "customer_stream", "--sample",
                         "{'start': '2024-05-01', 'end': '2024-06-01'}",
                         "--full-refresh", manifest=True)
    assert result.success, result.log[-3000:]
    assert 0 < project.query(count)[0][0] < before


def test_event_time_flags_are_the_rebuild_window(duckdb_project) -> None:
    """An old order restated without a new load stamp: no cursor sees it,
    but a run with --event-time-start/--event-time-end around its day
    re-derives it, as the rebuild variables would."""
    project = duckdb_project
    tables = generate(seed=5, scale=0.05)
    build(project, tables)
    tables = copy.deepcopy(tables)
    hwm = latest_ts(project, "placed_order")
    order = next(o for o in tables["raw_orders"]
                 if datetime.combine(o["order_date"], datetime.min.time())
                 < hwm - timedelta(days=30))
    order["status"] = "returned" if order["status"] != "returned" else "completed"
    project.load_raw(tables)
    run(project)
    assert len(differences(project)) == 2  # the old and the new version

    day = order["order_date"]
    flags = ("--event-time-start", f"{day:%Y-%m-%d}",
             "--event-time-end", f"{day + timedelta(days=1):%Y-%m-%d}")
    both = project.dbt("run", "--select", "customer_stream", *flags, "--vars",
                       f"{{stream_rebuild_from: '{day:%Y-%m-%d}'}}", manifest=True)
    assert not both.success
    assert "both set a rebuild bound" in both.log + str(both.exception or "")
    run(project, *flags)
    assert differences(project) == []


# -- text timestamps -----------------------------------------------------------------

TEXT_EVENTS = [
    ("2024-03-01 10:00:00+02:00", datetime(2024, 3, 1, 8, 0)),
    ("2024-03-01 10:00:00-0530", datetime(2024, 3, 1, 15, 30)),
    ("2024-03-01T10:00:00Z", datetime(2024, 3, 1, 10, 0)),
    ("2024-03-01 10:00:00", datetime(2024, 3, 1, 10, 0)),
    ("2024-03-01", datetime(2024, 3, 1, 0, 0)),
    ("garbage", None),
    ("2024-02-30 10:00:00", None),
]


def test_text_timestamps_are_converted_or_rejected_by_name(project: DbtProject) -> None:
    """A source that delivers its timestamps as text (the seeds' page views
    typed as text here): offsets are converted to UTC, text without one is
    taken as UTC, and text that is no timestamp is rejected naming it."""
    config = project.root / "dbt_project.yml"
    text = config.read_text()
    assert "        occurred_at: timestamp\n" in text
    config.write_text(text.replace("        occurred_at: timestamp\n",
                                   "        occurred_at: *string\n"))
    staging = project.root / "models" / "staging" / "web" / "stg_web__events.sql"
    cast = "cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at"
    assert cast in staging.read_text()
    staging.write_text(staging.read_text().replace(cast, "occurred_at"))
    tables = generate(seed=5, scale=0.05)
    events = tables["raw_web_events"]
    first = max(e["id"] for e in events) + 1
    base = dict(events[0], customer_id=None, visitor_id="v77777")
    for offset, (value, _) in enumerate(TEXT_EVENTS):
        events.append(dict(base, id=first + offset, occurred_at=value))
    build(project, tables, "--vars", "{stream_rejections_severity: warn}")
    stored = streamed_page_views(project, *(first + i for i in range(len(TEXT_EVENTS))))
    reasons = dict(project.query(
        f"select source_key, rejection_reason from {project.schema}.stream_rejections"))
    for offset, (value, expected) in enumerate(TEXT_EVENTS):
        key = str(first + offset)
        if expected is None:
            assert key not in stored, value
            assert reasons.get(key) == f"ts is not a timestamp: {value}", reasons
        else:
            assert stored.get(key) == expected, (value, stored.get(key))


# -- the package's wiring -----------------------------------------------------------------


def test_a_stream_without_the_strategy_wrapper_fails_first(duckdb_project) -> None:
    project = duckdb_project
    (project.root / "macros" / "get_incremental_activity_stream_sql.sql").unlink()
    project.write_seeds(generate(seed=5, scale=0.05))
    result = project.build()
    assert not result.success
    text = result.log + str(result.exception or "")
    assert "get_incremental_activity_stream_sql" in text, text[-2000:]
    assert "activity_schema.stream_upsert_sql(arg_dict)" in text
