"""Bad raw input must be caught loudly, on DuckDB and on Postgres.

Each test starts from the public jaffle shop data (or small generated data)
plus one defect, and checks what the project documents:

* a row the stream cannot accept (a payment for an unknown order, an order
  without a date) stays out of `customer_stream`, is listed in
  `stream_rejections` with its source key and reason, and the test on
  `stream_rejections` fails the build (or only warns with
  `stream_rejections_severity: warn`, and the build goes on); the
  `report_failing_rows` hook prints the offending rows in the log;
* a duplicated raw id fails the staging model's unique test, whose failing
  rows name the id;
* a malformed `activity_schema.activity` call fails at compile time with an
  error naming the model and the argument.
"""

from __future__ import annotations

import csv
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.python.dbt_harness import DbtProject, DbtResult
from tools.generate_data import generate

WEB_EVENTS_HEADER = "id,visitor_id,customer_id,page,occurred_at\n"
REFERENCE_ORDERS = 99
REFERENCE_PAYMENTS = 113
REFERENCE_CUSTOMERS = 100

UNKNOWN_ORDER_ID = 9999
ORPHAN_PAYMENT_ID = 777
ORPHAN_PAYMENT = {
    "id": ORPHAN_PAYMENT_ID,
    "order_id": UNKNOWN_ORDER_ID,
    "payment_method": "credit_card",
    "amount": 1500,
    "created_at": "2018-04-09 10:00:00",
}
MISSING_CUSTOMER = "missing customer and anonymous_customer_id"
MISSING_TS = "missing ts"
WARN_VARS = "{stream_rejections_severity: warn}"


# -- helpers -------------------------------------------------------------------


def use_reference_data(project: DbtProject, reference: Path) -> None:
    """The jaffle shop CSV files, plus a web events table with no rows."""
    project.copy_seeds(reference)
    (project.root / "seeds" / "raw_web_events.csv").write_text(WEB_EVENTS_HEADER)


def append_row(project: DbtProject, table: str, row: dict[str, Any]) -> None:
    """Append one row to a seed file (None -> empty cell, i.e. null)."""
    path = project.root / "seeds" / f"{table}.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert set(row) == set(header), (row, header)
    text = path.read_text(encoding="utf-8")
    with path.open("a", newline="", encoding="utf-8") as handle:
        if text and not text.endswith("\n"):
            handle.write("\n")
        csv.writer(handle, lineterminator="\n").writerow(
            ["" if row[c] is None else str(row[c]) for c in header]
        )


def describe(result: DbtResult, tail: int = 40) -> str:
    bad = {n: s for n, s in result.statuses().items() if s not in ("success", "pass")}
    log_tail = "\n".join(result.log.splitlines()[-tail:])
    return f"not passing: {bad}\nexception: {result.exception!r}\nlog tail:\n{log_tail}"


def find_test(result: DbtResult, model: str, test: str, column: str | None = None) -> tuple[str, str]:
    """(name, status) of the generic test `test` on `model` (and `column`)."""
    found = []
    for node_result in getattr(result.result, "results", None) or []:
        node = node_result.node
        metadata = getattr(node, "test_metadata", None)
        if (
            node.resource_type == "test"
            and metadata is not None
            and metadata.name == test
            and getattr(node, "attached_node", None) == f"model.jaffle_activity.{model}"
            and (column is None or getattr(node, "column_name", None) == column)
        ):
            found.append((node.name, str(node_result.status)))
    assert len(found) == 1, f"expected one {test} test on {model}.{column}, ran: {found}\n{describe(result)}"
    return found[0]


def failing_rows(log: str, test_name: str) -> list[dict[str, str]]:
    """The rows that report_failing_rows printed for one test.

    The hook logs `Failing rows of <test> (...)`, then one line per row:
    `    column=value, column=value, ...`.
    """
    lines = log.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(f"Failing rows of {test_name} ("):
            rows = []
            for following in lines[index + 1:]:
                if not re.match(r"^    \w+=", following):
                    break
                cells = re.split(r", (?=\w+=)", following.strip())
                rows.append(dict(cell.split("=", 1) for cell in cells))
            return rows
    raise AssertionError(f"the log has no 'Failing rows of {test_name}' section")


def rejections(project: DbtProject) -> list[tuple]:
    return project.query(
        "select activity, source_key, ts, customer, anonymous_customer_id, rejection_reason, "
        "activity_id is not null "
        f"from {project.schema}.stream_rejections"
    )


def stream_count(project: DbtProject, activity: str) -> int:
    [(count,)] = project.query(
        f"select count(*) from {project.schema}.customer_stream where activity = '{activity}'"
    )
    return count


def assert_orphan_payment_rejected(project: DbtProject) -> None:
    """The orphan payment is in stream_rejections (alone) and not in the stream."""
    assert rejections(project) == [
        ("made_payment", str(ORPHAN_PAYMENT_ID), datetime(2018, 4, 9, 10), None, None,
         MISSING_CUSTOMER, True),
    ]
    assert stream_count(project, "made_payment") == REFERENCE_PAYMENTS
    [(rejected_id,)] = project.query(
        f"select activity_id from {project.schema}.stream_rejections"
    )
    assert project.query(
        f"select count(*) from {project.schema}.customer_stream "
        f"where activity = 'made_payment' and activity_id = '{rejected_id}'"
    ) == [(0,)]


def assert_reported(result: DbtResult, test_name: str, **cells: str) -> None:
    rows = failing_rows(result.log, test_name)
    assert any(all(row.get(k) == v for k, v in cells.items()) for row in rows), (
        f"no failing row of {test_name} with {cells}: {rows}"
    )


# -- rows the stream cannot accept --------------------------------------------


def test_payment_for_unknown_order_fails_the_build(project: DbtProject, jaffle_reference: Path) -> None:
    use_reference_data(project, jaffle_reference)
    append_row(project, "raw_payments", ORPHAN_PAYMENT)

    result = project.build()
    assert not result.success, describe(result)

    # The staging relationships test names the unknown order.
    relationships, _ = find_test(result, "stg_jaffle_shop__payments", "relationships", "order_id")
    assert_reported(result, relationships, from_field=str(UNKNOWN_ORDER_ID))

    # The test on stream_rejections fails and names the payment by its key.
    name, status = find_test(result, "stream_rejections", "expect_no_rows")
    assert status == "fail", (
        f"{name} is {status}: the payment was never checked by stream_rejections\n"
        + describe(result)
    )
    assert_reported(result, name, activity="made_payment", source_key=str(ORPHAN_PAYMENT_ID),
                    rejection_reason=MISSING_CUSTOMER)
    assert_orphan_payment_rejected(project)


def test_order_without_date_fails_the_build(project: DbtProject, jaffle_reference: Path) -> None:
    use_reference_data(project, jaffle_reference)
    append_row(project, "raw_orders", {"id": 100, "user_id": 5, "order_date": None, "status": "placed"})

    result = project.build()
    assert not result.success, describe(result)
    name, status = find_test(result, "stream_rejections", "expect_no_rows")
    assert status == "fail", describe(result)
    # Only the rejection test fails: nothing upstream blocks the stream.
    failed = {n for n, s in result.statuses().items() if s in ("fail", "error", "skipped")}
    assert failed == {name}, describe(result)
    assert_reported(result, name, activity="placed_order", source_key="100",
                    rejection_reason=MISSING_TS)

    assert rejections(project) == [("placed_order", "100", None, "5", None, MISSING_TS, True)]
    assert stream_count(project, "placed_order") == REFERENCE_ORDERS
    assert project.query(
        f"select count(*) from {project.schema}.customer_stream where ts is null"
    ) == [(0,)]
    assert project.query(f"select count(*) from {project.schema}.customers") == [(REFERENCE_CUSTOMERS,)]


def test_warn_severity_reports_rejections_and_goes_on(project: DbtProject, jaffle_reference: Path) -> None:
    """dbt_project.yml: with `stream_rejections_severity: warn` the test on
    stream_rejections "reports them and goes on"."""
    use_reference_data(project, jaffle_reference)
    append_row(project, "raw_payments", ORPHAN_PAYMENT)

    result = project.build("--vars", WARN_VARS)
    assert result.success, (
        "with stream_rejections_severity: warn the build must go on\n" + describe(result)
    )
    name, status = find_test(result, "stream_rejections", "expect_no_rows")
    assert status == "warn", describe(result)
    assert_reported(result, name, source_key=str(ORPHAN_PAYMENT_ID), rejection_reason=MISSING_CUSTOMER)
    assert_orphan_payment_rejected(project)
    assert project.query(f"select count(*) from {project.schema}.customers") == [(REFERENCE_CUSTOMERS,)]


# -- duplicated raw ids ---------------------------------------------------------


def test_duplicated_order_id_fails_the_one_version_test(project: DbtProject, jaffle_reference: Path) -> None:
    use_reference_data(project, jaffle_reference)
    # Order 42 again, for another customer and date: a second version of the key.
    append_row(project, "raw_orders", {"id": 42, "user_id": 7, "order_date": "2018-03-01",
                                       "status": "completed"})

    # Only the orders' staging model and its own tests are needed.
    result = project.build("--select", "stg_jaffle_shop__orders", "--indirect-selection", "cautious")
    assert not result.success, describe(result)
    name, status = find_test(result, "stg_jaffle_shop__orders", "one_version_per_key", "order_id")
    assert status == "fail", describe(result)
    assert failing_rows(result.log, name) == [{"order_id": "42", "n_versions": "2"}]


def test_undeclared_activity_in_the_stream_fails_its_test(project: DbtProject, jaffle_reference: Path) -> None:
    use_reference_data(project, jaffle_reference)
    result = project.build("--select", "+customer_stream", "--exclude", "test_type:data")
    assert result.success, describe(result)
    # A row of an activity that no model declares (as a hand-made insert would leave).
    project.execute(
        f"update {project.schema}.customer_stream set activity = 'moved_house' "
        f"where activity = 'placed_order' and activity_id = (select min(activity_id) from {project.schema}.customer_stream "
        "where activity = 'placed_order')"
    )
    result = project.dbt("test", "--select", "customer_stream,test_name:activity_is_declared")
    assert not result.success, describe(result)
    name, status = find_test(result, "customer_stream", "activity_is_declared", "activity")
    assert status == "fail", describe(result)
    assert failing_rows(result.log, name) == [{"activity": "moved_house", "n_rows": "1"}]


# -- compile-time errors of the activity macro ---------------------------------

ACTIVITY_MODEL = """\
{{% call activity_schema.activity(
    activity='tested_macro',
    {arguments}
) %}}

select * from {{{{ ref('stg_jaffle_shop__orders') }}}}

{{% endcall %}}
"""
GOOD_ARGUMENTS = {
    "activity_id": "'order_id'",
    "ts": "'order_date'",
    "customer": "'customer_id'",
    "features": "{'order_status': 'string'}",
}


def activity_model(**changes: str | None) -> str:
    """act_broken.sql: GOOD_ARGUMENTS with some replaced (None drops one)."""
    arguments = {**GOOD_ARGUMENTS, **changes}
    return ACTIVITY_MODEL.format(arguments=",\n    ".join(
        f"{name}={value}" for name, value in arguments.items() if value is not None
    ))


def error_lines(result: DbtResult) -> list[str]:
    text = [result.log, str(result.exception or "")]
    for node_result in getattr(result.result, "results", None) or []:
        text.append(str(getattr(node_result, "message", "") or ""))
    return "\n".join(text).splitlines()


def test_activity_macro_compile_errors(project: DbtProject) -> None:
    project.write_seeds(generate(seed=42, scale=0.05))
    for step in (("deps",), ("seed",), ("run", "--select", "+stg_jaffle_shop__orders")):
        done = project.dbt(*step)
        assert done.success, describe(done)

    model = project.root / "models" / "activities" / "act_broken.sql"
    # A control: the well-formed call compiles, so the failures below come
    # from the defects alone.
    model.write_text(activity_model())
    control = project.dbt("compile", "--select", "act_broken")
    assert control.success, describe(control)

    cases = [
        # (changes, argument, column named in the message or None)
        ({"ts": None}, "ts", None),
        ({"ts": "'ordered_at'"}, "ts", "ordered_at"),
        ({"customer": "'user_id'"}, "customer", "user_id"),
        ({"features": "{'order_total': 'numeric'}"}, "features", "order_total"),
    ]
    for changes, argument, column in cases:
        model.write_text(activity_model(**changes))
        result = project.dbt("compile", "--select", "act_broken")
        assert not result.success, f"{changes} compiled\n{describe(result)}"
        # One message names the model, the argument (and the missing column).
        named = [
            line for line in error_lines(result)
            if "act_broken" in line and f"'{argument}'" in line
            and (column is None or column in line)
        ]
        assert named, f"{changes}: no error line names act_broken and '{argument}'\n{describe(result)}"
