"""The contracts of the shipped datasets (every model in models/datasets).

A downstream consumer relies on a dataset's columns and their types, so each
dataset has an enforced dbt contract (`contract: {enforced: true}`, set for
the folder in dbt_project.yml) with a `data_type` on every column. Checked
here:

1. from the parsed manifest: every model in models/datasets has an enforced
   contract and a `data_type` on every column;
2. the types follow the activities' declarations: a column that the model
   takes from `activity_schema.dataset` (a primary column or an appended
   output, by its output name) has the type the package gives that output,
   read from the declarations themselves: the feature's declared type in the
   activity model (`features={...}`), the stream column's type
   (`stream_column_types()`), bigint for a count, the column's type for a
   sum, min, max or pick. Each column the model computes itself (a cast, a
   flag) is listed in COMPUTED with its type, and a column that is neither
   fails the test;
3. built on DuckDB and on Postgres (empty raw tables: a column's type does
   not depend on the rows), every dataset's relation has exactly the
   contract's columns, in order, with the contract's types as the warehouse
   reads them (dbt's type aliasing applied: `string` is `text` on Postgres).

The dataset() call of each model is read by rendering the model's Jinja with
a stand-in for the package that records its arguments; the named
aggregations and the stream's column types by rendering the macros that
declare them (macros/dataset_aggregations.sql,
activity_schema/macros/dataset/relationships.sql).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator, Mapping

import jinja2
import pytest

from tests.python.dbt_harness import REPO_ROOT, DbtProject
from tests.python.reference_dataset import normalize_column, output_name
from tests.python.test_end_to_end import describe

DATASETS_FOLDER = "models/datasets/"
SHIPPED = {
    "customers", "customer_checkout_funnel", "customer_monthly_orders",
    "order_journeys", "visitor_journeys",
}
# The contract's spelling of each type a feature or stream column may have:
# one spelling that DuckDB, Postgres and Spark all read. numeric is
# dbt.type_numeric(), numeric(28,6) (decimal(28,6) on Spark).
CONTRACT_TYPE = {
    "string": "string",
    "integer": "integer",
    "bigint": "bigint",
    "numeric": "numeric(28,6)",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
}
# The columns a dataset model computes in its final select, with their type.
COMPUTED = {
    ("customers", "customer_id"): "integer",
    ("customers", "first_order"): "date",
    ("customers", "most_recent_order"): "date",
    ("customer_checkout_funnel", "customer_id"): "integer",
    ("customer_checkout_funnel", "has_viewed_cart"): "boolean",
    ("customer_checkout_funnel", "has_viewed_checkout"): "boolean",
    ("customer_checkout_funnel", "has_ordered"): "boolean",
    ("customer_checkout_funnel", "has_paid"): "boolean",
    ("customer_checkout_funnel", "days_to_first_order"): "integer",
    ("visitor_journeys", "customer_id"): "integer",
    ("visitor_journeys", "has_visited_before_sign_up"): "boolean",
    ("visitor_journeys", "hours_from_first_visit_to_sign_up"): "numeric(28,6)",
    ("visitor_journeys", "hours_from_sign_up_to_first_order"): "numeric(28,6)",
}
# The output type of an aggregate, when it is not the column's own type
# (activity_schema's _dataset_column).
AGGREGATE_TYPE = {
    "count": "bigint", "count_distinct": "bigint", "count_if": "bigint",
    "sum_bool": "bigint", "listagg": "string", "listagg_distinct": "string",
    "is_null": "boolean", "not_null": "boolean",
}
# A time spine's primary columns (activity_schema's _dataset_spine_column).
SPINE_TYPE = {
    "customer": "string", "period_start": "timestamp",
    "period_end": "timestamp",
}


# -- reading the declarations ----------------------------------------------------


class _Returned(Exception):
    """A dbt macro's `return(value)`, raised to hand the value back."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


def _return(value: Any) -> None:
    raise _Returned(value)


def macro_value(path: Path, name: str) -> Any:
    """The value that a macro without arguments of a file returns."""
    environment = jinja2.Environment(extensions=["jinja2.ext.do"])
    module = environment.from_string(
        path.read_text(), globals={"return": _return}).module
    try:
        getattr(module, name)()
    except _Returned as returned:
        return returned.value
    raise AssertionError(f"{name} in {path} returned nothing")


class _Package:
    """Stands in for activity_schema: records the arguments of dataset()."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def dataset(self, stream: Any, primary: Mapping[str, Any],
                append: list[Any] = ()) -> str:
        self.calls.append({"primary": primary, "append": list(append)})
        return ""


class _Anything:
    """Stands in for any other namespace (dbt.type_int(), ...)."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: ""


def dataset_arguments(raw_code: str) -> dict[str, Any]:
    """The arguments of the model's one call of activity_schema.dataset."""
    package = _Package()
    jinja2.Environment(extensions=["jinja2.ext.do"]).from_string(raw_code).render(
        activity_schema=package, dbt=_Anything(), ref=lambda *args: "",
        source=lambda *args: "", var=lambda *args: None)
    assert len(package.calls) == 1, f"{len(package.calls)} dataset() calls"
    return package.calls[0]


def output_types(
    arguments: Mapping[str, Any], features: Mapping[str, Mapping[str, str]],
    stream_types: Mapping[str, str], named: Mapping[str, Any],
) -> dict[str, str]:
    """{output name: feature type} of a dataset() call: a column's declared
    type (the activity's feature, or the stream column), an aggregate's."""
    def column_type(activity: str, column: str) -> str:
        if column in stream_types:
            return stream_types[column]
        assert column in features[activity], (
            f"{column!r} is neither a stream column nor a feature of {activity}")
        return features[activity][column]

    types: dict[str, str] = {}
    primary = arguments["primary"]
    for item in map(normalize_column, primary["columns"]):
        name = output_name(item, None, None)
        types[name] = (SPINE_TYPE[item["column"]] if "time_spine" in primary
                       else column_type(primary["activity"], item["column"]))
    for appended in arguments["append"]:
        if isinstance(appended, str):
            appended = named[appended]
        activity = appended["activity"]
        for item in map(normalize_column, appended["columns"]):
            name = output_name(item, appended["relationship"], activity,
                               appended.get("nth"))
            aggregate = item.get("aggregate")
            types[name] = AGGREGATE_TYPE.get(aggregate) or column_type(
                activity, item["column"])
    return types


# -- the parsed project ----------------------------------------------------------


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    project = DbtProject.create(tmp_path_factory.mktemp("contracts"), "duckdb")
    deps = project.dbt("deps")
    assert deps.success, deps.log
    yield project.parse()


def dataset_nodes(manifest: Any) -> dict[str, Any]:
    return {
        node.name: node for node in manifest.nodes.values()
        if node.resource_type == "model"
        and node.original_file_path.startswith(DATASETS_FOLDER)
    }


def test_every_dataset_has_an_enforced_contract_with_typed_columns(
    parsed: Any,
) -> None:
    nodes = dataset_nodes(parsed)
    assert SHIPPED <= set(nodes), f"missing datasets: {SHIPPED - set(nodes)}"
    for name, node in sorted(nodes.items()):
        assert node.config.contract.enforced, f"{name}: contract not enforced"
        assert node.columns, f"{name}: no columns declared"
        untyped = [c for c, info in node.columns.items() if not info.data_type]
        assert not untyped, f"{name}: columns without a data_type: {untyped}"


def test_contract_types_follow_the_declared_types(parsed: Any) -> None:
    features = {
        node.config.meta["activity_schema"]["activity"]:
            node.config.meta["activity_schema"]["features"]
        for node in parsed.nodes.values()
        if node.resource_type == "model"
        and "activity_schema" in (node.config.meta or {})
    }
    assert features, "no activity declarations in the manifest"
    stream_types = macro_value(
        REPO_ROOT / "activity_schema" / "macros" / "dataset" / "relationships.sql",
        "stream_column_types")
    named = macro_value(REPO_ROOT / "macros" / "dataset_aggregations.sql",
                        "default__dataset_aggregations")
    wrong: list[str] = []
    for name, node in sorted(dataset_nodes(parsed).items()):
        outputs = output_types(
            dataset_arguments(node.raw_code), features, stream_types, named)
        for column, info in node.columns.items():
            if (name, column) in COMPUTED:
                expected = COMPUTED[(name, column)]
                origin = "computed by the model"
            elif column in outputs:
                assert outputs[column] in CONTRACT_TYPE, (
                    f"{name}.{column}: no contract spelling for the type "
                    f"{outputs[column]!r}")
                expected = CONTRACT_TYPE[outputs[column]]
                origin = f"dataset() gives it type {outputs[column]}"
            else:
                wrong.append(f"{name}.{column}: neither an output of dataset() "
                             "nor listed in COMPUTED")
                continue
            if (info.data_type or "").replace(" ", "").lower() != expected:
                wrong.append(f"{name}.{column}: contract {info.data_type!r}, "
                             f"expected {expected!r} ({origin})")
    assert not wrong, "\n".join(wrong)


# -- the built relations ---------------------------------------------------------


def _warehouse_types(project: DbtProject, relations: Mapping[str, str],
                     contracts: Mapping[str, list[str]]) -> tuple[dict, dict]:
    """({dataset: [(column, type)]} of the built relations, {dataset:
    [type]} of the contract's data_types as the warehouse reads them)."""
    built: dict[str, list[tuple[str, str]]] = {}
    declared: dict[str, list[str]] = {}
    if project.target == "duckdb":
        import duckdb
        from dbt.adapters.duckdb import DuckDBAdapter

        with duckdb.connect(project.env["DBT_DUCKDB_PATH"]) as con:
            for name, relation in relations.items():
                built[name] = [tuple(row[:2]) for row in
                               con.execute(f"describe {relation}").fetchall()]
                casts = ", ".join(
                    f"cast(null as {DuckDBAdapter.Column.translate_type(t)}) as c{i}"
                    for i, t in enumerate(contracts[name]))
                declared[name] = [row[1] for row in
                                  con.execute(f"describe select {casts}").fetchall()]
        return built, declared
    from dbt.adapters.postgres import PostgresAdapter

    columns_of = """
        select attname, format_type(atttypid, atttypmod)
        from pg_attribute
        where attrelid = %s::regclass and attnum > 0 and not attisdropped
        order by attnum
    """
    with contextlib.closing(project._pg_connect()) as con, con.cursor() as cur:
        for name, relation in relations.items():
            cur.execute(columns_of, (relation,))
            built[name] = cur.fetchall()
            casts = ", ".join(
                f"cast(null as {PostgresAdapter.Column.translate_type(t)}) as c{i}"
                for i, t in enumerate(contracts[name]))
            cur.execute(f"create temporary table contract_probe as select {casts}")
            cur.execute(columns_of, ("contract_probe",))
            declared[name] = [row[1] for row in cur.fetchall()]
            cur.execute("drop table contract_probe")
        con.rollback()
    return built, declared


def test_built_datasets_have_the_contract_types(project: DbtProject) -> None:
    deps = project.dbt("deps")
    assert deps.success, deps.log
    manifest = project.parse()
    nodes = dataset_nodes(manifest)
    seed = project.dbt("seed", manifest=True)
    assert seed.success, describe(seed)
    run = project.dbt("run", "--select", "+tag:datasets", manifest=True)
    errors = [f"{r.node.name}: {r.message}" for r in getattr(run.result, "results", [])
              if str(r.status) != "success"]
    assert run.success, "\n".join(errors) or describe(run)
    relations = {name: f"{node.schema}.{node.alias}" for name, node in nodes.items()}
    contracts = {name: [info.data_type for info in node.columns.values()]
                 for name, node in nodes.items()}
    built, declared = _warehouse_types(project, relations, contracts)
    for name, node in sorted(nodes.items()):
        expected = list(zip(node.columns, declared[name]))
        assert [tuple(c) for c in built[name]] == expected, (
            f"{name} on {project.target}: built {built[name]}, "
            f"contract {expected}")
