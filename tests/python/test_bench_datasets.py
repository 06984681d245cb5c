"""The dataset benchmark's bookkeeping (bench/bench_datasets.py), without dbt.

The benchmark itself is not a test (it measures); what is checked here is
what its numbers and its verdicts rest on: which models take turns, how the
rows of a dataset and of its self-join are compared (a difference must fail
the run), how a timeout becomes a bound, and that the generated stream goes
into a stream with metadata columns by column name.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from bench import bench_datasets as bench
from bench.dataset_models import DATASETS, MODELS, round_models, selected
from bench.dataset_stream import STREAM_COLUMNS, generate_stream

REPO_ROOT = Path(__file__).resolve().parents[2]


class DuckProject:
    """What the benchmark uses of a DbtProject, on one DuckDB file."""

    target = "duckdb"
    schema = "main"

    def __init__(self, path: Path) -> None:
        self.env = {"DBT_DUCKDB_PATH": str(path)}

    def execute(self, *statements: str) -> None:
        with duckdb.connect(self.env["DBT_DUCKDB_PATH"]) as con:
            for statement in statements:
                con.execute(statement)

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(self.env["DBT_DUCKDB_PATH"]) as con:
            return con.execute(sql).fetchall()


def test_floors_and_datasets_take_turns_and_a_shared_floor_runs_once():
    assert round_models(DATASETS) == [
        "bench_stream_sorted", "bench_stream_sorted_narrow", "order_journeys",
        "bench_order_picks",
        "bench_monthly_floor", "bench_monthly_handwritten",
        "customer_monthly_orders",
    ]
    spine = selected(["customer_monthly_orders"])
    assert round_models(spine) == [
        "bench_monthly_floor", "bench_monthly_handwritten",
        "customer_monthly_orders"]
    with pytest.raises(ValueError, match="unknown datasets"):
        selected(["customers"])


def test_every_model_exists_and_the_comparison_covers_every_column():
    shipped = yaml.safe_load(
        (REPO_ROOT / "models" / "datasets" / "_datasets__models.yml").read_text())
    shipped_columns = {
        model["name"]: [column["name"] for column in model["columns"]]
        for model in shipped["models"]
    }
    for dataset in DATASETS:
        for model in (dataset.floor, dataset.strict, dataset.selfjoin):
            assert model is None or model in MODELS, model
        assert dataset.name in MODELS or dataset.name in shipped_columns
        if dataset.name in shipped_columns:
            assert [*dataset.keys, *dataset.columns] == (
                shipped_columns[dataset.name]), dataset.name
    # Every self-join stops at the bench's Postgres statement timeout.
    for dataset in DATASETS:
        assert "bench_statement_timeout_ms" in MODELS[dataset.selfjoin]


@pytest.fixture
def spine_tables(tmp_path: Path) -> DuckProject:
    project = DuckProject(tmp_path / "compare.duckdb")
    project.execute(
        "create table customer_monthly_orders as select * from (values"
        " ('1', timestamp '2024-01-01', timestamp '2024-02-01', 2, 10.5, 2,"
        "  10.5, timestamp '2024-01-20', 'completed'),"
        " ('1', timestamp '2024-02-01', timestamp '2024-03-01', 0, 0.0, 2,"
        "  10.5, timestamp '2024-01-20', 'completed'),"
        " ('2', timestamp '2024-02-01', timestamp '2024-03-01', 1, 3.0, 1,"
        "  3.0, timestamp '2024-02-03', 'placed')"
        ") as t(customer, month_start_at, month_end_at, orders_in_month,"
        " revenue_in_month, orders_to_date, lifetime_value_to_date,"
        " last_order_at, last_order_status)",
        "create table same as select * from customer_monthly_orders",
        # one value differs, a null against a value counts as different,
        # and a row is missing
        "create table other as select * from customer_monthly_orders"
        " where not (customer = '2')",
        "update other set orders_to_date = 3"
        " where month_start_at = timestamp '2024-02-01'",
        "update other set last_order_status = null"
        " where month_start_at = timestamp '2024-01-01'",
    )
    return project


def test_same_rows_compare_equal(spine_tables: DuckProject):
    spine = selected(["customer_monthly_orders"])[0]
    result = bench.compare(spine_tables, spine, "same")
    assert result["equal"], result
    assert result["dataset_rows"] == result["other_rows"] == 3
    assert result["non_null"]["last_order_status"] == 3


def test_a_difference_is_found_and_fails_the_run(spine_tables: DuckProject, capsys):
    spine = selected(["customer_monthly_orders"])[0]
    case = bench.Case(engine="duckdb", rows=3, datasets=(spine,))
    check = bench.check_rows(spine_tables, case, spine, "other", "generated stream")
    result = check.result
    assert not check.equal
    assert result["only_dataset"] == 1 and result["only_other"] == 0
    assert result["mismatched_columns"] == {
        "orders_to_date": 1, "last_order_status": 1}
    assert result["example"] == [("1", "2024-02-01 00:00:00", "2", "3")]
    assert "MISMATCH" in capsys.readouterr().err
    differ = bench.mismatches([case])
    assert len(differ) == 1 and "ROWS DIFFER" in differ[0]
    text = bench.report([case], bench.parse_args(["--quick"]), "bench", "")
    assert "**ROWS DIFFER**" in text and "**DIFFER**" in text


def _timed(model: str, seconds: float | None, *, timed_out: bool = False,
           limit: float | None = None) -> bench.Timed:
    return bench.Timed(
        model=model, seconds=seconds, wall_seconds=seconds or limit or 0,
        status="killed at timeout" if timed_out else "success",
        timed_out=timed_out, limit=limit, round=None)


def test_a_timed_out_self_join_gives_a_lower_bound():
    picks = selected(["bench_order_picks"])[0]
    case = bench.Case(engine="duckdb", rows=10_000_000, datasets=(picks,),
                      selfjoin_timeout=1200)
    for round_, (floor_s, dataset_s) in enumerate(
            [(10.0, 14.0), (12.0, 13.0), (11.0, 30.0)], start=1):
        for model, seconds in ((picks.floor, floor_s), (picks.name, dataset_s)):
            timed = _timed(model, seconds)
            timed.round = round_
            case.runs.setdefault(model, []).append(timed)
    case.selfjoins[picks.selfjoin] = _timed(
        picks.selfjoin, None, timed_out=True, limit=1200)
    outcome = bench.outcomes([case])[0]
    assert outcome.timed.seconds == 14.0 and outcome.floor.seconds == 11.0
    assert outcome.ratio_to(outcome.floor) == pytest.approx(14.0 / 11.0)
    assert outcome.speedup == (pytest.approx(1200 / 14.0), "> ")
    verdicts = "\n".join(bench.verdicts([case]))
    assert "within 1.5x of the floor: **met** (1.27x)" in verdicts
    assert "**met** (> 85.7x, a lower bound: the self-join hit the timeout)" in verdicts
    row = bench.table([case], 1200).splitlines()[-1]
    assert "| > 1200 | > 85.7x |" in row
    # the raw timings list the runs as they took turns, then the self-join
    assert [(t.round, t.model) for t in case.timeline()] == [
        (1, picks.floor), (1, picks.name), (2, picks.floor), (2, picks.name),
        (3, picks.floor), (3, picks.name), (None, picks.selfjoin)]


def test_the_stream_is_loaded_by_column_name_with_its_source_customer(tmp_path: Path):
    generator = tmp_path / "generator.duckdb"
    with duckdb.connect(str(generator)) as con:
        stats = generate_stream(con, 3_000)
    project = DuckProject(tmp_path / "warehouse.duckdb")
    # the stream's columns in another order, with metadata columns after them
    columns = list(reversed(STREAM_COLUMNS))
    with duckdb.connect(str(generator)) as con:
        types = dict(con.execute(
            "select column_name, data_type from information_schema.columns"
            " where table_name = 'stream'").fetchall())
    project.execute(
        "create table customer_stream ("
        + ", ".join(f"{c} {types[c]}" for c in columns)
        + ", _loaded_at timestamp, _definition varchar,"
        " _source_customer varchar)",
        "insert into customer_stream (activity_id, activity)"
        " values ('old', 'placed_order')",
    )
    bench.load_stream(project, generator, tmp_path)
    rows, resolved, loaded, old = project.query(
        "select count(*),"
        " count(*) filter (where _source_customer is distinct from customer),"
        " count(_loaded_at),"
        " count(*) filter (where activity_id = 'old')"
        " from customer_stream")[0]
    assert rows == stats["rows"] and resolved == 0 and loaded == 0 and old == 0
    assert project.query(
        "select count(*) from customer_stream where customer is null")[0][0] > 0
