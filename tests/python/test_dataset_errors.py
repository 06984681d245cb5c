"""Wrong arguments of `activity_schema.dataset` fail when dbt compiles the
model, with a message that names the model, the argument and what is allowed.

One throwaway copy of the project on DuckDB; each case writes one broken
dataset model into it, runs `dbt compile --select <model>` and removes the
model again. Some mistakes are caught while dbt parses (the arguments alone
show them), others once dbt's graph knows the activities and their features:
both make the compile fail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.python.dbt_harness import DbtProject

ACTIVITIES = "created_account, made_payment, placed_order, viewed_page"
AGGREGATE_RELATIONSHIPS = (
    "aggregate_before, aggregate_after, aggregate_in_between, aggregate_all")


def dataset_model(primary: str, append: str) -> str:
    return (
        "{{ activity_schema.dataset(\n"
        "    stream=ref('customer_stream'),\n"
        f"    primary={primary},\n"
        f"    append={append},\n"
        ") }}\n"
    )


ORDERS = "{'activity': 'placed_order', 'columns': ['customer', 'ts']}"

# name: (primary, append, fragments the message must contain)
CASES: dict[str, tuple[str, str, list[str]]] = {
    "unknown_primary_activity": (
        "{'activity': 'bought_jaffle', 'columns': ['customer']}", "[]",
        ["argument 'primary.activity' is 'bought_jaffle'",
         f"allowed values: {ACTIVITIES}."],
    ),
    "unknown_appended_activity": (
        ORDERS,
        "[{'activity': 'placed_orders', 'relationship': 'first_before',"
        " 'columns': ['ts']}]",
        ["argument 'append[0].activity' is 'placed_orders'",
         f"allowed values: {ACTIVITIES}."],
    ),
    "unknown_feature": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'last_before',"
        " 'columns': ['ts', 'payment_colour']}]",
        ["argument 'append[0].columns[1].column' is 'payment_colour'",
         "allowed values: activity_id, ts,",
         "payment_id, order_id, payment_method, amount."],
    ),
    "unknown_primary_feature": (
        "{'activity': 'placed_order', 'columns': ['customer', 'colour']}", "[]",
        ["argument 'primary.columns[1].column' is 'colour'",
         "allowed values: activity_id,", "order_id, order_status."],
    ),
    "unknown_filter_column": (
        "{'activity': 'placed_order', 'columns': ['customer'],"
        " 'filters': [{'column': 'state', 'value': 'x'}]}", "[]",
        ["argument 'primary.filters[0].column' is 'state'",
         "allowed values: activity_id,", "order_id, order_status."],
    ),
    "unknown_relationship": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'second_before',"
        " 'columns': ['ts']}]",
        ["argument 'append[0].relationship' is 'second_before'",
         "allowed values: first_ever, last_ever, first_before, last_before,"
         " first_after, last_after, first_in_between, last_in_between,"
         " nth_ever, nth_before, nth_after, nth_in_between,"
         f" {AGGREGATE_RELATIONSHIPS}."],
    ),
    "aggregate_on_a_pick_relationship": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'first_before',"
        " 'columns': [{'column': 'revenue_impact', 'aggregate': 'sum'}]}]",
        ["argument 'append[0].columns[0].aggregate' is 'sum'",
         "relationship 'first_before' picks one row",
         f"one of the relationships {AGGREGATE_RELATIONSHIPS}."],
    ),
    "unknown_aggregate": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'aggregate_all',"
        " 'columns': [{'column': 'amount', 'aggregate': 'median'}]}]",
        ["argument 'append[0].columns[0].aggregate' is 'median'",
         "allowed values: count, count_distinct, sum, avg, min, max,"
         " first_value, last_value, listagg, listagg_distinct, count_if,"
         " sum_bool, is_null, not_null."],
    ),
    "sum_of_a_string_feature": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'aggregate_all',"
        " 'columns': [{'column': 'payment_method', 'aggregate': 'sum'}]}]",
        ["argument 'append[0].columns[0].aggregate' is 'sum'",
         "needs a numeric column; 'payment_method' is string."],
    ),
    "duplicate_output_column": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'first_after',"
        " 'columns': [{'column': 'ts', 'alias': 'paid_at'}]},"
        " {'activity': 'made_payment', 'relationship': 'last_after',"
        " 'columns': [{'column': 'ts', 'alias': 'Paid_At'}]}]",
        ["argument 'append[1].columns[0]' gives the output column name"
         " 'Paid_At' a second time",
         "already used: customer, ts, paid_at."],
    ),
    "duplicate_default_output_name": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'first_after',"
        " 'columns': ['ts', 'ts']}]",
        ["argument 'append[0].columns[1]' gives the output column name"
         " 'first_after_made_payment_ts' a second time"],
    ),
    "bad_selector": (
        "{'activity': 'placed_order', 'selector': 'latest',"
        " 'columns': ['customer']}", "[]",
        ["argument 'primary.selector' is 'latest'",
         "allowed values: all, first, last, nth."],
    ),
    "bad_nth": (
        "{'activity': 'placed_order', 'selector': 'nth', 'nth': 0,"
        " 'columns': ['customer']}", "[]",
        ["argument 'primary.nth' is '0'",
         "allowed values: a whole number of at least 1"],
    ),
    "aggregate_on_a_primary_column": (
        "{'activity': 'placed_order',"
        " 'columns': [{'column': 'order_id', 'aggregate': 'max'}]}", "[]",
        ["argument 'primary.columns[0]' has an aggregate or a default",
         "allowed keys: column, alias)."],
    ),
    "unknown_filter_operator": (
        "{'activity': 'placed_order', 'columns': ['customer'],"
        " 'filters': [{'column': 'order_status', 'operator': 'like',"
        " 'value': 'ret%'}]}", "[]",
        ["argument 'primary.filters[0].operator' is 'like'",
         "allowed values: =, !=, <, <=, >, >=, in, not in, is null,"
         " is not null."],
    ),
    "misspelled_key": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'aggregate_all',"
        " 'columns': [{'column': 'amount', 'agregate': 'sum'}]}]",
        ["argument 'append[0].columns[0]' has the key 'agregate'",
         "allowed keys: column, alias, aggregate, default, delimiter."],
    ),
    "nth_relationship_without_n": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'nth_after',"
        " 'columns': ['ts']}]",
        ["argument 'append[0].nth' is 'None'",
         "allowed values: a whole number of at least 1 (required with"
         " relationship 'nth_after')."],
    ),
    "nth_of_zero": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'nth_before',"
        " 'nth': 0, 'columns': ['ts']}]",
        ["argument 'append[0].nth' is '0'",
         "allowed values: a whole number of at least 1"],
    ),
    "nth_not_a_whole_number": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'nth_ever',"
        " 'nth': 1.5, 'columns': ['ts']}]",
        ["argument 'append[0].nth' is '1.5'",
         "allowed values: a whole number of at least 1"],
    ),
    "nth_as_text": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'nth_in_between',"
        " 'nth': '2', 'columns': ['ts']}]",
        ["argument 'append[0].nth' is '2'",
         "allowed values: a whole number of at least 1"],
    ),
    "nth_as_boolean": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'nth_ever',"
        " 'nth': true, 'columns': ['ts']}]",
        ["argument 'append[0].nth' is 'True'",
         "allowed values: a whole number of at least 1"],
    ),
    "nth_on_a_first_relationship": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'first_after',"
        " 'nth': 2, 'columns': ['ts']}]",
        ["argument 'append[0].nth' is set, but relationship 'first_after'"
         " takes no n",
         "allowed relationships with nth: nth_ever, nth_before, nth_after,"
         " nth_in_between."],
    ),
    "aggregate_on_an_nth_relationship": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'nth_before',"
        " 'nth': 2, 'columns': [{'column': 'amount', 'aggregate': 'sum'}]}]",
        ["argument 'append[0].columns[0].aggregate' is 'sum'",
         "relationship 'nth_before' picks one row"],
    ),
    "duplicate_nth_output_name": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'nth_after',"
        " 'nth': 2, 'columns': ['ts']},"
        " {'activity': 'made_payment', 'relationship': 'nth_after',"
        " 'nth': 2, 'columns': ['ts']}]",
        ["argument 'append[1].columns[0]' gives the output column name"
         " 'nth_after_2_made_payment_ts' a second time"],
    ),
    "join_not_a_list": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'aggregate_all',"
        " 'join': {'column': 'order_id', 'primary_column': 'order_id'},"
        " 'columns': [{'aggregate': 'count'}]}]",
        ["argument 'append[0].join' must be a list of mappings with keys"
         " column, primary_column."],
    ),
    "join_unknown_column": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'aggregate_all',"
        " 'join': [{'column': 'order_number', 'primary_column': 'order_id'}],"
        " 'columns': [{'aggregate': 'count'}]}]",
        ["argument 'append[0].join[0].column' is 'order_number'",
         "payment_id, order_id, payment_method, amount."],
    ),
    "join_unknown_primary_column": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'aggregate_all',"
        " 'join': [{'column': 'order_id', 'primary_column': 'payment_id'}],"
        " 'columns': [{'aggregate': 'count'}]}]",
        ["argument 'append[0].join[0].primary_column' is 'payment_id',"
         " neither a stream column nor a feature of the primary activity"
         " 'placed_order'",
         "order_id, order_status."],
    ),
    "join_of_two_types": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'first_after',"
        " 'join': [{'column': 'payment_method',"
        " 'primary_column': 'order_id'}], 'columns': ['ts']}]",
        ["argument 'append[0].join[0]' compares 'payment_method' (string)"
         " with the primary column 'order_id' (integer); a join condition"
         " compares columns of one type."],
    ),
    "join_missing_primary_column": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'first_after',"
        " 'join': [{'column': 'order_id'}], 'columns': ['ts']}]",
        ["argument 'append[0].join[0].primary_column' is required"],
    ),
    "join_misspelled_key": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'first_after',"
        " 'join': [{'column': 'order_id', 'primary': 'order_id'}],"
        " 'columns': ['ts']}]",
        ["argument 'append[0].join[0]' has the key 'primary'",
         "allowed keys: column, primary_column."],
    ),
    "within_of_an_unknown_unit": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'aggregate_after',"
        " 'within': {'weeks': 1}, 'columns': [{'aggregate': 'count'}]}]",
        ["argument 'append[0].within' must be a mapping with one key,"
         " minutes, hours or days, such as {'days': 7}."],
    ),
    "within_of_zero_hours": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'first_after',"
        " 'within': {'hours': 0}, 'columns': ['ts']}]",
        ["argument 'append[0].within.hours' is '0'",
         "allowed values: a whole number of at least 1."],
    ),
    "within_on_in_between": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'aggregate_in_between',"
        " 'within': {'days': 7}, 'columns': [{'aggregate': 'count'}]}]",
        ["argument 'append[0].within' is set, but relationship"
         " 'aggregate_in_between' has no time bound",
         "allowed relationships with within: first_before, last_before,"
         " nth_before, first_after, last_after, nth_after, aggregate_before,"
         " aggregate_after."],
    ),
    "within_with_max": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'aggregate_before',"
        " 'within': {'days': 7}, 'columns': [{'column': 'amount',"
        " 'aggregate': 'max'}]}]",
        ["argument 'append[0].columns[0].aggregate' is 'max', which is not"
         " implemented with 'within'"],
    ),
    "default_on_a_count": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'aggregate_all',"
        " 'columns': [{'aggregate': 'count', 'default': 0}]}]",
        ["argument 'append[0].columns[0].default' is set on a count, which"
         " has a value over no rows (0)",
         "a default applies to picks and to the aggregates sum, avg, min,"
         " max, first_value, last_value, listagg, listagg_distinct,"
         " sum_bool."],
    ),
    "default_on_is_null": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'aggregate_after',"
        " 'columns': [{'column': 'amount', 'aggregate': 'is_null',"
        " 'default': false}]}]",
        ["argument 'append[0].columns[0].default' is set on a is_null, which"
         " has a value over no rows (true)"],
    ),
    "default_on_count_if": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'aggregate_after',"
        " 'columns': [{'column': 'amount', 'aggregate': 'count_if',"
        " 'default': 1}]}]",
        ["argument 'append[0].columns[0].default' is set on a count_if"],
    ),
    "count_if_of_a_numeric_feature": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'aggregate_all',"
        " 'columns': [{'column': 'amount', 'aggregate': 'count_if'}]}]",
        ["argument 'append[0].columns[0].aggregate' is 'count_if'",
         "needs a boolean column; 'amount' is numeric."],
    ),
    "sum_bool_of_a_string_feature": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'aggregate_before',"
        " 'columns': [{'column': 'payment_method', 'aggregate': 'sum_bool'}]}]",
        ["argument 'append[0].columns[0].aggregate' is 'sum_bool'",
         "needs a boolean column; 'payment_method' is string."],
    ),
    "delimiter_without_listagg": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'aggregate_all',"
        " 'columns': [{'column': 'amount', 'aggregate': 'max',"
        " 'delimiter': '|'}]}]",
        ["argument 'append[0].columns[0].delimiter' is set on max",
         "only the aggregates listagg, listagg_distinct take a delimiter."],
    ),
    "delimiter_on_a_pick": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'last_before',"
        " 'columns': [{'column': 'amount', 'delimiter': '|'}]}]",
        ["argument 'append[0].columns[0].delimiter' is set on a column"
         " without an aggregate"],
    ),
    "delimiter_not_a_string": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'aggregate_all',"
        " 'columns': [{'column': 'payment_method', 'aggregate': 'listagg',"
        " 'delimiter': 1}]}]",
        ["argument 'append[0].columns[0].delimiter' is '1'",
         "allowed values: a string, such as ', ' (the default)."],
    ),
    "listagg_on_a_pick_relationship": (
        ORDERS,
        "[{'activity': 'made_payment', 'relationship': 'first_after',"
        " 'columns': [{'column': 'payment_method', 'aggregate': 'listagg'}]}]",
        ["argument 'append[0].columns[0].aggregate' is 'listagg'",
         "relationship 'first_after' picks one row"],
    ),
    "unknown_period": (
        "{'activity': 'placed_order', 'time_spine': 'fortnight'}", "[]",
        ["argument 'primary.time_spine' is 'fortnight'",
         "allowed values: day, week, month, quarter, year."],
    ),
    "selector_on_a_time_spine": (
        "{'activity': 'placed_order', 'time_spine': 'month',"
        " 'selector': 'first'}", "[]",
        ["argument 'primary.selector' is 'first'", "allowed values: all."],
    ),
    "activity_column_on_a_time_spine": (
        "{'activity': 'placed_order', 'time_spine': 'month',"
        " 'columns': ['customer', 'order_id']}", "[]",
        ["argument 'primary.columns[1]' is", "order_id",
         "allowed values: customer, period_start, period_end."],
    ),
    "bad_spine_end": (
        "{'activity': 'placed_order', 'time_spine': 'month',"
        " 'end': 'last month'}", "[]",
        ["argument 'primary.end' is 'last month'",
         "allowed values: a date or timestamp such as '2024-06-30'"],
    ),
    "end_without_a_time_spine": (
        "{'activity': 'placed_order', 'columns': ['customer'],"
        " 'end': '2024-06-30'}", "[]",
        ["argument 'primary.end' is set, but the primary has no time_spine"],
    ),
    "join_on_a_time_spine": (
        "{'activity': 'placed_order', 'time_spine': 'week'}",
        "[{'activity': 'made_payment', 'relationship': 'aggregate_in_between',"
        " 'join': [{'column': 'order_id', 'primary_column': 'order_id'}],"
        " 'columns': [{'aggregate': 'count'}]}]",
        ["argument 'append[0].join' is set, but the primary is a time spine"],
    ),
    "within_on_a_time_spine": (
        "{'activity': 'placed_order', 'time_spine': 'day'}",
        "[{'activity': 'made_payment', 'relationship': 'aggregate_before',"
        " 'within': {'days': 7}, 'columns': [{'aggregate': 'count'}]}]",
        ["argument 'append[0].within' is set, but the primary is a time spine"],
    ),
    "unknown_named_aggregation": (
        ORDERS, "['number_of_orders', 'lifetime_value']",
        ["argument 'append[1]' is 'lifetime_value', which names no"
         " aggregation of dataset_aggregations()",
         "allowed values: customer_lifetime_value, first_order_at,"
         " most_recent_order_at, number_of_orders."],
    ),
}


@pytest.fixture(scope="module")
def duckdb_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbtProject]:
    copy = DbtProject.create(tmp_path_factory.mktemp("dataset_errors"), "duckdb")
    deps = copy.dbt("deps")
    assert deps.success, deps.log
    try:
        yield copy
    finally:
        copy.drop()


def compile_model(project: DbtProject, name: str, sql: str):
    path: Path = project.root / "models" / "datasets" / f"{name}.sql"
    path.write_text(sql)
    try:
        return project.dbt("compile", "--select", name)
    finally:
        path.unlink()


@pytest.mark.parametrize("case", sorted(CASES))
def test_wrong_argument_fails_at_compile_time(
    duckdb_project: DbtProject, case: str
) -> None:
    primary, append, fragments = CASES[case]
    name = f"broken_{case}"
    result = compile_model(duckdb_project, name, dataset_model(primary, append))
    assert not result.success, f"{name} compiled:\n{result.log}"
    message = " ".join(
        str(part) for part in (result.exception, result.log) if part)
    assert f"activity_schema.dataset in model '{name}'" in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"


def test_valid_arguments_compile(duckdb_project: DbtProject) -> None:
    """The control: aggregates of numeric features (unknown while dbt
    parses), filters, defaults and every selector compile."""
    append = (
        "[{'activity': 'made_payment', 'relationship': 'aggregate_in_between',"
        " 'filters': [{'column': 'payment_method', 'operator': 'in',"
        " 'value': ['coupon', 'gift_card']}],"
        " 'columns': [{'column': 'amount', 'aggregate': 'sum', 'default': 0},"
        " {'column': 'amount', 'aggregate': 'avg'},"
        " {'column': 'order_id', 'aggregate': 'count_distinct'}]},"
        " {'activity': 'placed_order', 'relationship': 'last_before',"
        " 'columns': ['order_status', {'column': 'ts', 'default':"
        " '1970-01-01'}]},"
        " {'activity': 'made_payment', 'relationship': 'nth_after', 'nth': 2,"
        " 'columns': ['ts', 'amount']},"
        " {'activity': 'made_payment', 'relationship': 'nth_after', 'nth': 3,"
        " 'columns': ['ts', 'amount']},"
        " {'activity': 'made_payment', 'relationship': 'aggregate_before',"
        " 'columns': [{'column': 'payment_method', 'aggregate': 'listagg',"
        " 'delimiter': ' / ', 'default': ''},"
        " {'column': 'payment_method', 'aggregate': 'listagg_distinct'},"
        " {'column': 'amount', 'aggregate': 'first_value', 'default': 0},"
        " {'column': 'amount', 'aggregate': 'last_value'},"
        " {'column': 'amount', 'aggregate': 'is_null'},"
        " {'column': 'amount', 'aggregate': 'not_null'}]},"
        " {'activity': 'made_payment', 'relationship': 'nth_in_between',"
        " 'nth': 2, 'join': [{'column': 'order_id',"
        " 'primary_column': 'order_id'}], 'columns': ['ts', 'amount']},"
        " {'activity': 'made_payment', 'relationship': 'aggregate_after',"
        " 'join': [{'column': 'order_id', 'primary_column': 'order_id'},"
        " {'column': 'customer', 'primary_column': 'customer'}],"
        " 'columns': [{'column': 'amount', 'aggregate': 'listagg',"
        " 'alias': 'paid_amounts'}]},"
        " {'activity': 'made_payment', 'relationship': 'aggregate_after',"
        " 'within': {'days': 7}, 'join': [{'column': 'order_id',"
        " 'primary_column': 'order_id'}],"
        " 'columns': [{'column': 'amount', 'aggregate': 'sum', 'default': 0,"
        " 'alias': 'paid_within_a_week'},"
        " {'column': 'amount', 'aggregate': 'last_value',"
        " 'alias': 'last_amount_within_a_week'}]},"
        " {'activity': 'placed_order', 'relationship': 'nth_before',"
        " 'nth': 2, 'within': {'hours': 1}, 'columns': ['ts']}]"
    )
    for selector in ("'all'", "'first'", "'last'", "'nth', 'nth': 2"):
        primary = (
            f"{{'activity': 'placed_order', 'selector': {selector},"
            " 'columns': ['customer', 'ts', 'order_id'],"
            " 'filters': [{'column': 'order_status', 'operator': '!=',"
            " 'value': 'returned'}]}")
        result = compile_model(
            duckdb_project, "valid_dataset", dataset_model(primary, append))
        assert result.success, f"selector {selector}:\n{result.log}"
    # Time spines of every period, with an end, filters, aliases and named
    # aggregations.
    for period in ("day", "week", "month", "quarter", "year"):
        primary = (
            f"{{'activity': 'placed_order', 'time_spine': '{period}',"
            " 'end': '2018-04-30', 'columns': ['customer',"
            " {'column': 'period_start', 'alias': 'starts'}],"
            " 'filters': [{'column': 'order_status', 'operator': '!=',"
            " 'value': 'returned'}]}")
        spine_append = (
            "['number_of_orders', 'customer_lifetime_value',"
            " {'activity': 'made_payment', 'relationship': 'nth_in_between',"
            " 'nth': 2, 'columns': ['ts', 'amount']},"
            " {'activity': 'made_payment', 'relationship': 'aggregate_before',"
            " 'columns': [{'column': 'payment_method', 'aggregate': 'listagg'}]}]")
        result = compile_model(
            duckdb_project, "valid_spine", dataset_model(primary, spine_append))
        assert result.success, f"time spine {period}:\n{result.log}"
