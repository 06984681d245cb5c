"""Deterministic checks of the incremental stream's scope variables.

- a change older than the lookback window is not picked up by a plain run,
  and is by `stream_rebuild_activity` and by `stream_rebuild_from`/`_to`;
- a run writes only rows of the partitions it touches, and exactly the rows
  whose occurrence columns change;
- bad variable values fail at compile time, naming the variable.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Iterator

import pytest

from tests.python.dbt_harness import DbtProject, FULL_STREAM_VIEW
from tools.generate_data import generate

FULL_VIEW = FULL_STREAM_VIEW


@pytest.fixture
def built(project: DbtProject) -> Iterator[tuple[DbtProject, dict]]:
    """A project built from small generated data, with a full-rebuild view."""
    tables = generate(seed=5, scale=0.05)
    project.write_seeds(tables)
    (project.root / "models" / "stream" / "customer_stream_full.sql").write_text(
        FULL_VIEW
    )
    result = project.build()
    assert result.success, result.log[-4000:]
    project.parse()
    yield project, tables


def differing_rows(project: DbtProject) -> int:
    schema = project.schema
    (count,) = project.query(
        f"""
        select count(*) from (
            (select * from {schema}.customer_stream
             except all select * from {schema}.customer_stream_full)
            union all
            (select * from {schema}.customer_stream_full
             except all select * from {schema}.customer_stream)
        ) as differences
        """
    )[0]
    return count


def run_stream(project: DbtProject, *args: str):
    result = project.dbt("run", "--select", "customer_stream", *args, manifest=True)
    assert result.success, result.log[-4000:]
    return result


def stream_max_ts(project: DbtProject) -> datetime:
    return project.query(f"select max(ts) from {project.schema}.customer_stream")[0][0]


def move_old_order(tables: dict, high_water_mark: datetime) -> tuple[dict, dict]:
    """Restate the status of an order placed long before the lookback window."""
    cutoff = (high_water_mark - timedelta(hours=24 * 30)).date()
    changed = copy.deepcopy(tables)
    order = next(o for o in changed["raw_orders"] if o["order_date"] < cutoff)
    order["status"] = "returned" if order["status"] != "returned" else "completed"
    return changed, order


def test_old_change_needs_a_rebuild_of_its_activity(built):
    project, tables = built
    changed, order = move_old_order(tables, stream_max_ts(project))
    project.load_raw(changed)

    run_stream(project)
    assert differing_rows(project) == 2  # the old and the new version of one row

    run_stream(project, "--vars", "{stream_rebuild_activity: made_payment}")
    assert differing_rows(project) == 2  # another activity does not repair it

    run_stream(project, "--vars", "{stream_rebuild_activity: placed_order}")
    assert differing_rows(project) == 0


def test_old_change_needs_a_rebuild_of_its_time_window(built):
    project, tables = built
    changed, order = move_old_order(tables, stream_max_ts(project))
    project.load_raw(changed)
    day = order["order_date"]

    run_stream(project)
    assert differing_rows(project) == 2

    after = f"{day + timedelta(days=1):%Y-%m-%d}"
    run_stream(project, "--vars", f"{{stream_rebuild_from: '{after}'}}")
    assert differing_rows(project) == 2  # a window that starts after it

    window = (
        f"{{stream_rebuild_from: '{day:%Y-%m-%d} 00:00:00', "
        f"stream_rebuild_to: '{day + timedelta(days=1):%Y-%m-%d}'}}"
    )
    run_stream(project, "--vars", window)
    assert differing_rows(project) == 0


def test_a_run_writes_only_the_rows_whose_values_change(built):
    """A late order of one customer rewrites that customer's later orders
    (their occurrence moves), the order just before it (its repeated_at
    moves) and the new row: nothing else."""
    project, tables = built
    high_water_mark = stream_max_ts(project)
    orders = tables["raw_orders"]
    by_customer: dict[int, list[dict]] = {}
    for order in orders:
        by_customer.setdefault(order["user_id"], []).append(order)
    customer, own = max(by_customer.items(), key=lambda item: len(item[1]))
    own = sorted(own, key=lambda o: (o["order_date"], o["id"]))
    assert len(own) >= 2, "the generated data needs a customer with 2+ orders"

    # A late order dated the day before this customer's second order: inside
    # the customer's history, and inside the window when the window is long.
    late_date = own[1]["order_date"] - timedelta(days=1)
    new_id = max(o["id"] for o in orders) + 1
    changed = copy.deepcopy(tables)
    changed["raw_orders"].append(
        {"id": new_id, "user_id": customer, "order_date": late_date,
         "status": "completed"}
    )
    project.load_raw(changed)

    hours = int((high_water_mark - datetime(late_date.year, late_date.month,
                                            late_date.day)).total_seconds() // 3600) + 1
    lookback = f"{{stream_lookback_hours: {hours}}}"
    compiled = project.dbt(
        "compile", "--select", "customer_stream", "--vars", lookback, manifest=True
    )
    assert compiled.success, compiled.log[-4000:]
    changes_sql = compiled.result.results[0].node.compiled_code
    written = project.query(
        "select activity, coalesce(customer, anonymous_customer_id), _change "
        f"from ({changes_sql}) as changes"
    )

    # Independent expectation: the order before the new one changes its
    # repeated_at; every order after it (same date or later, since a tie is
    # ordered by activity_id) may change occurrence: at least the ones dated
    # strictly after the new order.
    strictly_after = [o for o in own if o["order_date"] > late_date]
    assert {(a, e) for a, e, _ in written} == {("placed_order", str(customer))}
    changes = [change for _, _, change in written]
    if project.target == "duckdb":
        # The new row is inserted; the others, found by their rowid, only
        # have their occurrence columns updated in place.
        assert changes.count("upsert") == 1, changes
        assert set(changes) == {"upsert", "update"}, changes
    else:
        assert set(changes) == {"upsert"}, changes
    assert len(strictly_after) + 1 <= len(written) <= len(own) + 1

    run_stream(project, "--vars", lookback)
    assert differing_rows(project) == 0


BAD_VARIABLES = [
    ("{stream_rebuild_activity: placed_orders}", "stream_rebuild_activity"),
    ("{stream_rebuild_from: 'yesterday'}", "stream_rebuild_from"),
    ("{stream_lookback_hours: -1}", "stream_lookback_hours"),
]


def test_bad_scope_variables_fail_at_compile_time(built):
    project, _ = built
    for variables, message in BAD_VARIABLES:
        result = project.dbt(
            "compile", "--select", "customer_stream", "--vars", variables,
            manifest=True,
        )
        assert not result.success, variables
        text = result.log + str(result.exception or "")
        assert message in text and "customer_stream" in text, text[-2000:]
