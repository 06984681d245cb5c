"""Benchmark: an incremental customer_stream run against a full refresh.

For each engine and size, in a throwaway copy of the project (the pytest
harness `tests/python/dbt_harness.py`):

1. `dbt deps`, `dbt seed` (creates the raw tables with the right types, the
   seeds' load column `_loaded_at` last), then the raw tables are emptied and
   bulk-loaded with data generated in DuckDB (`bench/datagen.py`; for
   Postgres through CSV and COPY). The base data is one backfill: every row
   has the same `_loaded_at`, the midnight after the generated period. A
   first full refresh (not timed) gives the stream's size and latest ts.
2. For each batch kind (`--batch`, both by default), --repeat pairs of runs
   (3 by default), taking turns:
   - `dbt run --full-refresh --select +customer_stream` on the base data:
     the full time;
   - a batch of new source rows (1 % of the stream's rows; 20 % of them
     late, the rest after the stream's latest ts), every row stamped with
     the batch's own, later `_loaded_at`, inserted into the raw tables in
     place, then `dbt run --select +customer_stream`: the incremental time.
   Every pair starts from the base data (DuckDB: a copy of the database
   file; Postgres: the raw tables reloaded), so the two runs of a pair see
   the machine in the same state; the ratio reported is the median of the
   pairs' ratios, beside the median and minimum of each kind of run and
   the load average around every run.
3. After the last pair the stream must equal a full rebuild: the same macro
   compiled as a view over the current sources (`customer_stream_full`),
   compared with EXCEPT ALL both ways.

Batch kinds:

- `late`: the late rows lie 1-48 h before the stream's latest ts, inside
  the 72 h look-back (`stream_lookback_hours`), so both the window and the
  load cursor find them;
- `very-late`: the late rows lie 1-30 days before it (`--very-late-days`).
  Those more than 72 h late are outside the window of every activity whose
  own latest ts is near the stream's: only the load cursor (`_loaded_at >=`
  the activity's latest `_loaded_at` in the stream) finds them.
  `created_account` is the exception: sign-ups stop five weeks before the
  period ends, so its own window still reaches them. The details count the
  batch rows outside their own activity's window;
- `identity` (bench/identity_data.py): identity changes only, a `/login` of
  an existing customer on 1 % of the visitors (`--login-share`; mostly
  visitors who never logged in, whose anonymous history each login
  resolves, and some second customers on a device), 20 account merges and
  10 erasure requests (`--aliases`, `--removals`).

Times are the sum of the `execution_time`s of the activity models and the
stream in `target/run_results.json` (dbt's start-up is left out). Every
timed run uses one dbt thread: with several, models that run at the same
time each count the others' work in their own `execution_time` (they share
the Python process and the machine's cores), and the sum overstates the
pipeline's time.

Prints a markdown table (one row per engine, size and batch kind) and writes
it to bench/results/incremental.md (with --quick: incremental_quick.md, not
tracked; or --output). Exits 1 if an incremental result differs from the
full rebuild (or a run fails); a ratio above its target is reported, not an
error.

    python -m bench.bench_incremental                   # 1M + 10M DuckDB, 1M Postgres
    python -m bench.bench_incremental --quick           # 100k on both, a smoke run
    python -m bench.bench_incremental --duckdb-rows 1000000 --postgres-rows
    python -m bench.bench_incremental --quick --batch very-late --keep   # one kind, kept
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from bench import datagen, identity_data
from bench.stats import lower_median
from tests.python.dbt_harness import REPO_ROOT, DbtProject

DEFAULT_DUCKDB_ROWS = (1_000_000, 10_000_000)
DEFAULT_POSTGRES_ROWS = (1_000_000,)
QUICK_ROWS = 100_000
# (engine, nominal stream rows) -> the highest acceptable incremental/full ratio.
TARGETS = {("duckdb", 10_000_000): 0.10, ("postgres", 1_000_000): 0.25}
DEFAULT_OUTPUT = REPO_ROOT / "bench" / "results" / "incremental.md"
QUICK_OUTPUT = REPO_ROOT / "bench" / "results" / "incremental_quick.md"

FULL_VIEW = """\
{{ config(materialized='view') }}

{{ activity_schema.stream(customer_activities(), identity=customer_identity()) }}
"""
TIMED_PREFIXES = ("act_",)
TIMED_MODELS = ("customer_stream",)
# The stream's look-back (dbt_project.yml, `stream_lookback_hours`).
LOOKBACK_HOURS = 72
# Batch kinds, in the order they run.
BATCH_KINDS = ("late", "very-late", "identity")
LATE_HOURS = datagen.DEFAULT_LATE_HOURS
DEFAULT_VERY_LATE_DAYS = (1.0, 30.0)


def late_hours(kind: str, args: argparse.Namespace) -> tuple[float, float]:
    """How long before the stream's latest ts the late rows of a batch kind lie."""
    if kind in ("late", "identity"):
        return LATE_HOURS
    low, high = args.very_late_days
    return (low * 24, high * 24)


def batch_label(kind: str, args: argparse.Namespace) -> str:
    if kind == "identity":
        return (f"identity: logins on {args.login_share:.0%} of visitors, "
                f"{args.aliases} merges, {args.removals} removals")
    low, high = late_hours(kind, args)
    if kind == "late":
        return f"late {low:g}-{high:g} h"
    return f"very late {low / 24:g}-{high / 24:g} d"


def log(message: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


@dataclass
class Result:
    engine: str
    nominal_rows: int
    batch: str = "late"
    label: str = ""
    stream_rows: int | None = None
    batch_rows: int | None = None
    late_rows: int | None = None
    full_seconds: float | None = None
    incremental_seconds: float | None = None
    differing_rows: int | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    # Timed sums of every pair's runs, in the order they ran, and the load
    # average (1 min) around each: (full, incremental).
    full_runs: list[float] = field(default_factory=list)
    incremental_runs: list[float] = field(default_factory=list)
    loads: list[tuple[float, float]] = field(default_factory=list)

    @property
    def paired_ratios(self) -> list[float]:
        return [i / f for f, i in zip(self.full_runs, self.incremental_runs) if f]

    @property
    def ratio(self) -> float | None:
        """The median of the paired ratios (the lower one of an even count)."""
        if not self.paired_ratios:
            return None
        return lower_median(self.paired_ratios, key=float)

    @property
    def equal(self) -> bool:
        return self.error is None and self.differing_rows == 0

    @property
    def target(self) -> float | None:
        return TARGETS.get((self.engine, self.nominal_rows))

    @property
    def name(self) -> str:
        return f"{self.engine} {self.nominal_rows:,} {self.batch}"


# -- dbt ---------------------------------------------------------------------------


def run_dbt(project: DbtProject, *args: str, label: str | None = None) -> dict[str, float]:
    """Run dbt; return {model name: execution_time} from run_results.json.

    With a label, run_results.json is also kept as run_results_<label>.json.
    """
    started, cpu = time.perf_counter(), process_cpu()
    load = os.getloadavg()[0]
    result = project.dbt(*args)
    wall = time.perf_counter() - started
    cpu = process_cpu() - cpu
    if not result.success:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{result.log[-6000:]}")
    path = project.root / "target" / "run_results.json"
    times: dict[str, float] = {}
    if args[0] in ("run", "build", "seed"):
        if label:
            shutil.copy2(path, path.with_name(f"run_results_{label}.json"))
        for node in json.loads(path.read_text())["results"]:
            times[node["unique_id"].split(".")[-1]] = float(node["execution_time"])
    times["_wall"] = wall
    # CPU of this process (dbt and, on DuckDB, the database's threads), and
    # the machine's load: the wall times above depend on both.
    times["_cpu"] = cpu
    times["_load"] = max(load, os.getloadavg()[0])
    return times


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run whose timed sum is the median (the lower one of an even count)."""
    return lower_median(runs, key=timed_sum)


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed_sum(times: dict[str, float]) -> float:
    return sum(
        seconds for name, seconds in times.items()
        if name.startswith(TIMED_PREFIXES) or name in TIMED_MODELS
    )


# -- loading the generated data ------------------------------------------------------


def load_duckdb(project: DbtProject, generator: Path, prefix: str, replace: bool) -> None:
    """Copy the generator's tables into the warehouse's raw tables."""
    statements = [f"attach '{generator}' as gen (read_only)"]
    for table in datagen.LOADED_TABLES:
        columns = ", ".join(datagen.LOADED_COLUMNS[table])
        if replace:
            statements.append(f"delete from raw.{table}")
        statements.append(
            f"insert into raw.{table} ({columns}) "
            f"select {columns} from gen.{prefix}{table} order by 1"
        )
    statements.append("detach gen")
    project.execute(*statements)


def load_postgres(
    project: DbtProject, generator: Path, prefix: str, replace: bool, scratch: Path
) -> None:
    """Export the generator's tables as CSV and COPY them into Postgres."""
    scratch.mkdir(parents=True, exist_ok=True)
    paths = {}
    with duckdb.connect(str(generator), read_only=True) as con:
        for table in datagen.LOADED_TABLES:
            path = scratch / f"{prefix}{table}.csv"
            columns = ", ".join(datagen.LOADED_COLUMNS[table])
            con.execute(
                f"copy (select {columns} from {prefix}{table} order by 1) "
                f"to '{path}' (format csv, header true, "
                f"timestampformat '%Y-%m-%d %H:%M:%S')"
            )
            paths[table] = path
    with contextlib.closing(project._pg_connect()) as con:
        with con.cursor() as cur:
            for table, path in paths.items():
                columns = ", ".join(datagen.LOADED_COLUMNS[table])
                if replace:
                    cur.execute(f"truncate raw.{table}")
                with path.open() as handle:
                    cur.copy_expert(
                        f"copy raw.{table} ({columns}) from stdin with (format csv, header true)",
                        handle,
                    )
        con.commit()
    for path in paths.values():
        path.unlink()


def pg_analyze(project: DbtProject) -> None:
    """ANALYZE, as autovacuum would soon after a bulk load or a new table."""
    with contextlib.closing(project._pg_connect()) as con:
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute("analyze")


# -- one engine and size ---------------------------------------------------------------


def generator_database(workdir: Path, rows: int, seed: int) -> tuple[Path, dict[str, int]]:
    """The generator database for (rows, seed), generated once per work folder."""
    path = workdir / f"generator_{rows}_{seed}.duckdb"
    marker = path.with_suffix(".json")
    columns = {table: list(names) for table, names in datagen.LOADED_COLUMNS.items()}
    if path.exists() and marker.exists():
        saved = json.loads(marker.read_text())
        # A database made with other columns (an older generator) is made again.
        if saved.get("columns") == columns:
            return path, saved["counts"]
    path.unlink(missing_ok=True)
    log(f"generating ~{rows:,} raw rows (seed {seed}) in {path}")
    started = time.perf_counter()
    with duckdb.connect(str(path)) as con:
        counts = datagen.generate_base(con, rows, seed=seed)
    counts["_seconds"] = round(time.perf_counter() - started, 1)
    marker.write_text(json.dumps({"columns": columns, "counts": counts}))
    log(f"generated {counts}")
    return path, counts


def load_base(project: DbtProject, engine: str, generator: Path, folder: Path) -> None:
    """Replace the raw tables' rows with the generator's base data."""
    if engine == "duckdb":
        load_duckdb(project, generator, "", replace=True)
    else:
        load_postgres(project, generator, "", replace=True, scratch=folder / "csv")
        pg_analyze(project)


def compare_with_rebuild(project: DbtProject, result: Result) -> None:
    """Count the rows only in the stream, and only in a full rebuild, both ways."""
    schema = project.schema
    run_dbt(project, "run", "--select", "customer_stream_full")
    started = time.perf_counter()
    # The view is computed once into a table, then compared both ways.
    rebuilt = f"{schema}.customer_stream_full_rows"
    project.execute(
        f"drop table if exists {rebuilt}",
        f"create table {rebuilt} as select * from {schema}.customer_stream_full",
    )
    only_incremental, only_full = project.query(
        f"""
        select
            (select count(*) from (
                select * from {schema}.customer_stream
                except all
                select * from {rebuilt}) as a),
            (select count(*) from (
                select * from {rebuilt}
                except all
                select * from {schema}.customer_stream) as b)
        """
    )[0]
    project.execute(f"drop table {rebuilt}")
    result.details["compare_seconds"] = round(time.perf_counter() - started, 1)
    result.details["only_incremental"] = int(only_incremental)
    result.details["only_full"] = int(only_full)
    result.differing_rows = int(only_incremental) + int(only_full)


def generate_batch(
    project: DbtProject, result: Result, generator: Path, high_water_mark: datetime,
    args: argparse.Namespace,
) -> None:
    """Generate the batch of `result.batch`'s kind into the generator's b_ tables."""
    if result.batch == "identity":
        with duckdb.connect(str(generator)) as con:
            previous = max(con.execute(
                f"select max(_loaded_at) from {name}").fetchone()[0]
                for name in datagen.LOADED_TABLES)
            loaded_at = identity_data.identity_batch_load_time(previous)
            summary = identity_data.generate_identity_batch(
                con, high_water_mark, loaded_at, seed=args.seed,
                login_share=args.login_share, aliases=args.aliases,
                removals=args.removals)
        result.batch_rows = sum(summary[name] for name in
                                ("raw_web_events", *identity_data.IDENTITY_TABLES))
        result.late_rows = 0
        result.details["batch"] = {**summary, "loaded_at": str(loaded_at)}
        log(f"{result.name}: identity batch {summary}")
        return
    batch_rows = max(1, round(args.batch_fraction * result.stream_rows))
    log(f"{result.name}: batch of {batch_rows:,} rows ({result.label}; high-water mark "
        f"{high_water_mark})")
    with duckdb.connect(str(generator)) as con:
        summary = datagen.generate_batch(
            con, batch_rows, high_water_mark, seed=args.seed, late=args.late,
            late_hours=late_hours(result.batch, args), window_hours=LOOKBACK_HOURS,
        )
    result.batch_rows = summary["rows"]
    result.late_rows = summary["late_rows"]
    result.details["batch"] = {k: str(v) if isinstance(v, datetime) else v
                               for k, v in summary.items()}


def load_batch(project: DbtProject, engine: str, generator: Path, folder: Path) -> None:
    if engine == "duckdb":
        load_duckdb(project, generator, "b_", replace=False)
    else:
        load_postgres(project, generator, "b_", replace=False, scratch=folder / "csv")


def run_pairs(
    project: DbtProject, result: Result, generator: Path, folder: Path,
    args: argparse.Namespace, base: Path | None, reload_first: bool,
) -> None:
    """--repeat pairs of runs, taking turns: a full refresh of the base data,
    then the batch loaded and an incremental run. Each pair starts from the
    base data (DuckDB: a copy of the database file as it was after the
    first full refresh, `base`; Postgres: the raw tables reloaded), so both
    runs of a pair see the machine in the same state, and the ratio of the
    pair says what the incremental run costs. Then the stream is compared
    with a full rebuild."""
    engine, tag = result.engine, f"{result.name}:"
    fulls, incrementals = [], []
    for run in range(args.repeat):
        if base is not None:
            database = Path(project.env["DBT_DUCKDB_PATH"])
            database.with_name(database.name + ".wal").unlink(missing_ok=True)
            shutil.copy2(base, database)
        elif run > 0 or reload_first:
            load_base(project, engine, generator, folder)
        log(f"{tag} pair {run + 1}/{args.repeat}: full refresh")
        fulls.append(run_dbt(
            project, "run", "--full-refresh", "--select", "+customer_stream",
            "--threads", "1", label=f"full_{result.batch}_{run + 1}",
        ))
        if engine == "postgres":
            pg_analyze(project)
        started = time.perf_counter()
        load_batch(project, engine, generator, folder)
        result.details["batch_load_seconds"] = round(time.perf_counter() - started, 2)
        log(f"{tag} pair {run + 1}/{args.repeat}: incremental run")
        incrementals.append(run_dbt(
            project, "run", "--select", "+customer_stream", "--threads", "1",
            label=f"incremental_{result.batch}_{run + 1}",
        ))
        log(f"{tag} pair {run + 1}: full {timed_sum(fulls[-1]):.2f} s, incremental "
            f"{timed_sum(incrementals[-1]):.2f} s")
    result.full_runs = [timed_sum(t) for t in fulls]
    result.incremental_runs = [timed_sum(t) for t in incrementals]
    result.loads = [(f["_load"], i["_load"]) for f, i in zip(fulls, incrementals)]
    result.full_seconds = timed_sum(median_run(fulls))
    result.incremental_seconds = timed_sum(median_run(incrementals))
    result.details["full_times"] = median_run(fulls)
    result.details["incremental_times"] = median_run(incrementals)
    log(f"{tag} paired ratios {[f'{r:.3f}' for r in result.paired_ratios]}")

    log(f"{tag} comparing with a full rebuild")
    compare_with_rebuild(project, result)
    log(f"{tag} {result.differing_rows} differing rows")


def bench_one(engine: str, rows: int, args: argparse.Namespace, workdir: Path) -> list[Result]:
    """One engine and size: the base data, then pairs of runs for each batch kind."""
    results = [Result(engine=engine, nominal_rows=rows, batch=kind,
                      label=batch_label(kind, args))
               for kind in args.batch]
    shared: dict[str, Any] = {}
    folder = Path(tempfile.mkdtemp(prefix=f"{engine}_{rows}_", dir=workdir))
    project: DbtProject | None = None
    pending = list(results)
    base: Path | None = None
    try:
        generator, counts = generator_database(workdir, rows, args.seed)
        shared["generated"] = counts
        project = DbtProject.create(folder, engine)
        shared["project"] = str(project.root)
        if project.database:
            shared["database"] = project.database
        project.copy_seeds(REPO_ROOT / "seeds")
        (project.root / "models" / "stream" / "customer_stream_full.sql").write_text(FULL_VIEW)
        schema = project.schema

        log(f"{engine} {rows:,}: dbt deps + dbt seed in {project.root}")
        run_dbt(project, "deps")
        run_dbt(project, "seed", "--full-refresh")

        log(f"{engine} {rows:,}: loading the raw tables")
        started = time.perf_counter()
        load_base(project, engine, generator, folder)
        shared["load_seconds"] = round(time.perf_counter() - started, 1)
        log(f"{engine} {rows:,}: a first full refresh (not timed)")
        run_dbt(project, "run", "--full-refresh", "--select", "+customer_stream",
                "--threads", "1")
        stream_rows, high_water_mark = project.query(
            f"select count(*), max(ts) from {schema}.customer_stream"
        )[0]
        if isinstance(high_water_mark, str):
            high_water_mark = datetime.fromisoformat(high_water_mark)
        if engine == "duckdb":
            database = Path(project.env["DBT_DUCKDB_PATH"])
            project.execute("checkpoint")
            base = database.with_name(database.name + ".base")
            shutil.copy2(database, base)
        for result in results:
            result.details.update(shared)
            result.stream_rows = int(stream_rows)

        for result in results:
            pending.remove(result)
            try:
                generate_batch(project, result, generator, high_water_mark, args)
                run_pairs(project, result, generator, folder, args, base,
                          reload_first=result is not results[0])
            except Exception as error:  # noqa: BLE001 - reported in the table
                result.error = f"{type(error).__name__}: {error}"
                log(f"{result.name}: FAILED\n{traceback.format_exc()}")
    except Exception as error:  # noqa: BLE001 - reported in the table
        for result in pending:
            result.details.update(shared)
            result.error = f"{type(error).__name__}: {error}"
        log(f"{engine} {rows:,}: FAILED\n{traceback.format_exc()}")
    finally:
        if base is not None:
            base.unlink(missing_ok=True)
        if project is not None and not args.keep:
            with contextlib.suppress(Exception):
                project.drop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return results


# -- report --------------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _min(values: list[float]) -> str:
    return "—" if not values else f"{min(values):.2f}"


def markdown(results: list[Result], command: str, args: argparse.Namespace) -> str:
    lines = [
        "| engine | batch | stream rows | batch rows | full refresh (s), median / min "
        "| incremental (s), median / min | incremental / full, paired (median) "
        "| equal | target | target met |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for r in results:
        ratio = "—" if r.ratio is None else f"{r.ratio:.3f}"
        equal = "yes" if r.equal else ("no" if r.differing_rows else "error")
        target = "—" if r.target is None else f"≤ {r.target:.2f}"
        met = "—" if r.target is None or r.ratio is None else ("yes" if r.ratio <= r.target else "no")
        lines.append(
            f"| {r.engine} | {r.label} | {_count(r.stream_rows)} | {_count(r.batch_rows)} "
            f"| {_seconds(r.full_seconds)} / {_min(r.full_runs)} "
            f"| {_seconds(r.incremental_seconds)} / {_min(r.incremental_runs)} "
            f"| {ratio} | {equal} | {target} | {met} |"
        )
    lines += ["", "Targets:", ""]
    for (engine, rows), limit in TARGETS.items():
        matching = [r for r in results if (r.engine, r.nominal_rows) == (engine, rows)]
        verdicts = [
            f"{r.label}: " + ("not measured" if r.ratio is None else
                              f"{r.ratio:.3f} — {'met' if r.ratio <= limit else 'NOT met'}")
            for r in matching
        ]
        verdict = "; ".join(verdicts) if verdicts else "not measured in this run"
        lines.append(f"- {engine} at {rows:,} stream rows: incremental / full ≤ {limit:.2f}: {verdict}")
    lines += [
        "",
        f"Command: `{command}`",
        "",
        "Times: sum of the `execution_time` of the activity models (`act_*`) and "
        "`customer_stream` in `target/run_results.json`, every run with one dbt "
        "thread (`--threads 1`), so that the sum is the time the pipeline took. "
        f"Runs take turns in {args.repeat} pairs: a full refresh of the base data, "
        "then the batch loaded and an incremental run; every pair starts from the "
        "base data (DuckDB: a copy of the database file made after a first, untimed "
        "full refresh; Postgres: the raw tables reloaded). The ratio of each pair is "
        "the incremental run's time over the full refresh's, and the table gives "
        "their median, so that a pair sees the machine in one state. After the last "
        "pair the stream is compared with a full rebuild of the same sources "
        "(`EXCEPT ALL` both ways): every pair's incremental run starts from the same "
        "state and reads the same batch. Batch: "
        f"{args.batch_fraction:.0%} of the stream's rows as new source rows, all with "
        "the batch's own `_loaded_at` (later than the base data's single one), "
        f"{args.late:.0%} of them late: `late`, 1-48 h before the stream's latest ts "
        f"(inside the {LOOKBACK_HOURS} h look-back); `very late`, "
        f"{args.very_late_days[0]:g}-{args.very_late_days[1]:g} days before it; "
        "'late rows' below counts the rows whose stream ts is before the stream's "
        f"latest ts, 'outside the window' those more than {LOOKBACK_HOURS} h before "
        "the latest ts of their own table, which only the load cursor finds. "
        f"Machine: {os.cpu_count()} CPUs; the load average (1 min, highest of the "
        "start and the end of each dbt run: full / incremental) says how much other "
        "work shared them.",
        "",
        "Details:",
        "",
    ]
    for r in results:
        d = r.details
        inc = d.get("incremental_times", {})
        full = d.get("full_times", {})
        batch = d.get("batch", {})
        pairs = "; ".join(
            f"{f:.2f} / {i:.2f} s (load {fl:.1f} / {il:.1f})"
            for f, i, (fl, il) in zip(r.full_runs, r.incremental_runs, r.loads)
        )
        lines.append(
            f"- {r.engine} {r.nominal_rows:,}, {r.label}: generated {d.get('generated', {})}; "
            f"load {d.get('load_seconds', '—')} s; late rows {_count(r.late_rows)}, "
            f"outside the window {_count(batch.get('outside_window'))}; "
            f"batch ts {batch.get('min_ts', '—')} to {batch.get('max_ts', '—')}, "
            f"loaded at {batch.get('loaded_at', '—')}; "
            + (f"pairs (full / incremental, timed sums): {pairs}; paired ratios "
               f"{', '.join(f'{x:.3f}' for x in r.paired_ratios)}; " if pairs else "")
            + f"customer_stream (median runs) full {_seconds(full.get('customer_stream'))} s, "
            f"incremental {_seconds(inc.get('customer_stream'))} s; "
            f"dbt wall time full {_seconds(full.get('_wall'))} s, "
            f"incremental {_seconds(inc.get('_wall'))} s; "
            + (f"dbt process CPU full {_seconds(full.get('_cpu'))} s, "
               f"incremental {_seconds(inc.get('_cpu'))} s; "
               if r.engine == "duckdb" else "")
            + f"compare {d.get('compare_seconds', '—')} s"
            + (f"; only in incremental {d['only_incremental']}, only in full {d['only_full']}"
               if "only_full" in d else "")
            + (f"; ERROR: {r.error.splitlines()[0]}" if r.error else "")
        )
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_incremental",
        description="Time an incremental customer_stream run against a full refresh "
                    "and check that it equals a full rebuild.",
    )
    parser.add_argument("--duckdb-rows", type=int, nargs="*", default=None,
                        help="stream sizes on DuckDB (default 1000000 10000000; none: skip)")
    parser.add_argument("--postgres-rows", type=int, nargs="*", default=None,
                        help="stream sizes on Postgres (default 1000000; none: skip)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="pairs of runs (a full refresh, then an incremental run) "
                             "per engine, size and batch kind; the median of their "
                             "ratios is reported (default 3)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK_ROWS:,} rows on each engine "
                             "(unless sizes are given)")
    parser.add_argument("--batch-fraction", type=float, default=0.01,
                        help="new rows as a share of the stream's rows (default %(default)s)")
    parser.add_argument("--late", type=float, default=0.2,
                        help="share of late batch rows (default %(default)s)")
    parser.add_argument("--batch", nargs="+", choices=BATCH_KINDS, default=list(BATCH_KINDS),
                        help="batch kinds to run, each from the state after the full refresh: "
                             "'late' (late rows 1-48 h before the stream's latest ts), "
                             "'very-late' (see --very-late-days) and 'identity' (logins, "
                             "merges and removals, see --login-share); default all three")
    parser.add_argument("--very-late-days", type=float, nargs=2, metavar=("LOW", "HIGH"),
                        default=list(DEFAULT_VERY_LATE_DAYS),
                        help="how many days before the stream's latest ts the late rows of a "
                             "'very-late' batch lie (default 1 30)")
    parser.add_argument("--login-share", type=float, default=0.01,
                        help="identity batch: share of the visitors who log in "
                             "(default %(default)s)")
    parser.add_argument("--aliases", type=int, default=20,
                        help="identity batch: new account merges (default %(default)s)")
    parser.add_argument("--removals", type=int, default=10,
                        help="identity batch: new erasure requests (default %(default)s)")
    parser.add_argument("--seed", type=int, default=datagen.DEFAULT_SEED,
                        help="random seed of the generated data (default %(default)s)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where the throwaway copies go (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the copies, DuckDB files and Postgres databases (to profile); "
                             "a copy holds the state after the last batch kind, so keep one "
                             "kind with --batch")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"markdown file (default {DEFAULT_OUTPUT.relative_to(REPO_ROOT)}, "
                             f"with --quick {QUICK_OUTPUT.relative_to(REPO_ROOT)})")
    args = parser.parse_args(argv)
    default_duckdb = [QUICK_ROWS] if args.quick else list(DEFAULT_DUCKDB_ROWS)
    default_postgres = [QUICK_ROWS] if args.quick else list(DEFAULT_POSTGRES_ROWS)
    args.duckdb_rows = default_duckdb if args.duckdb_rows is None else args.duckdb_rows
    args.postgres_rows = default_postgres if args.postgres_rows is None else args.postgres_rows
    if args.output is None:
        args.output = QUICK_OUTPUT if args.quick else DEFAULT_OUTPUT
    args.batch = list(dict.fromkeys(args.batch))
    low, high = args.very_late_days
    if not 0 <= low < high:
        parser.error(f"--very-late-days: need 0 <= LOW < HIGH, got {low:g} {high:g}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = "python -m bench.bench_incremental " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    if args.workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="bench_incremental_"))
        remove_workdir = not args.keep
    else:
        workdir = args.workdir.resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        remove_workdir = False
    log(f"work folder {workdir}")
    results = []
    try:
        for engine, sizes in (("duckdb", args.duckdb_rows), ("postgres", args.postgres_rows)):
            for rows in sizes:
                results.extend(bench_one(engine, rows, args, workdir))
    finally:
        if remove_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    report = markdown(results, command.strip(), args)
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        f"# Incremental customer_stream vs full refresh\n\nRun {datetime.now():%Y-%m-%d %H:%M}.\n\n"
        + report
    )
    log(f"wrote {args.output}")
    return 0 if all(r.equal for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
