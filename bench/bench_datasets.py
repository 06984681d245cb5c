"""Benchmark of the dataset macro (`activity_schema.dataset`) at scale.

Not a test: it measures, it does not assert targets. It does fail (exit
status 1) when a self-join form or a hand-written query gives other rows than
the dataset it stands for. Run from the project root:

    .venv/bin/python -m bench.bench_datasets --quick      # ~100k rows, minutes
    .venv/bin/python -m bench.bench_datasets              # 1M + 10M DuckDB, 1M Postgres

Three datasets are timed (bench/dataset_models.py): `order_journeys` (picks and
aggregates before, after and in between), `bench_order_picks` (nth picks, one
with a join condition, one with a time bound) and `customer_monthly_orders` (a
monthly time spine). For each (engine, stream size) it:

1. makes a throwaway copy of the project (tests/python/dbt_harness.py), with
   the bench models of bench/dataset_models.py in `models/bench/`: each
   dataset's floor (a sorted copy of the rows it reads), a stricter floor
   where there is one, and its self-join form;
2. builds it on the project's own tiny seeds, so that every relation exists,
   and checks that each self-join (and the hand-written query of the time
   spine) gives the dataset's rows there: a difference stops the run;
3. replaces the rows of the `customer_stream` table with a generated
   heavy-tailed stream (bench/dataset_stream.py; copied in by column name
   with SQL on DuckDB, through CSV and COPY on Postgres; the table, its types
   and any index it was built with are kept; `_source_customer` is the
   customer, as in a stream where no identity was resolved);
4. times `dbt run --select <model> --threads 1` (a fresh dbt process each,
   `execution_time` of run_results.json): the floors and the datasets take
   turns, each once per round, --repeat rounds (3), and each keeps its
   median run; then each self-join once, with a timeout, and compares its
   rows (and the hand-written query's) with the dataset's.

It prints a markdown table and (for the default sizes, or with --out) writes
it to bench/results/datasets.md, keeping anything from a `## Findings`
heading on.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.dataset_models import (  # noqa: E402
    DATASET_NAMES, MODELS, BenchDataset, round_models, selected,
)
from bench.dataset_stream import STREAM_COLUMNS, generate_stream  # noqa: E402
from bench.stats import lower_median  # noqa: E402
from tests.python.dbt_harness import DbtProject  # noqa: E402

RESULTS = REPO_ROOT / "bench" / "results" / "datasets.md"
SEEDS = REPO_ROOT / "seeds"
DBT = str(Path(sys.executable).parent / "dbt")

TARGET_RATIO = {"duckdb": 1.5, "postgres": 2.0}
TARGET_SPEEDUP = 10.0
TARGET_SPEEDUP_ROWS = 10_000_000


class RowsDiffer(RuntimeError):
    """A self-join or hand-written query gave other rows than its dataset."""


# --------------------------------------------------------------------------- #
# Running dbt in its own process
# --------------------------------------------------------------------------- #
@dataclass
class Timed:
    """One timed dbt model run."""

    model: str
    seconds: float | None = None  # execution_time of run_results.json
    execute_seconds: float | None = None  # its "execute" timing
    wall_seconds: float = 0.0  # the whole dbt process
    status: str = "not run"
    timed_out: bool = False
    message: str = ""
    limit: float | None = None  # the timeout it ran with
    round: int | None = None  # the round of a run taken in turns


def run_dbt(
    project: DbtProject,
    *args: str,
    timeout: float | None = None,
    log: Path | None = None,
) -> tuple[int | None, float]:
    """Run `dbt <args>` in a new process group; (returncode or None, wall s).

    On timeout the process group (started here) is killed and None returned.
    """
    env = {
        **os.environ,
        **project.env,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
    }
    command = [
        DBT, *args,
        "--project-dir", str(project.root),
        "--profiles-dir", str(project.root),
        "--target", project.target,
    ]
    started = time.perf_counter()
    with open(log or os.devnull, "a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        process = subprocess.Popen(
            command, cwd=project.root, env=env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            code = None
    return code, time.perf_counter() - started


def timed_model(
    project: DbtProject,
    model: str,
    *,
    timeout: float | None = None,
    log: Path,
    dbt_vars: dict[str, Any] | None = None,
) -> Timed:
    """`dbt run --select model --threads 1`; its time from run_results.json."""
    results_path = project.root / "target" / "run_results.json"
    results_path.unlink(missing_ok=True)
    args = ["run", "--select", model, "--threads", "1"]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    # Postgres stops the query itself (statement_timeout); the process
    # timeout is the fallback.
    slack = 120 if project.target == "postgres" else 0
    code, wall = run_dbt(
        project, *args,
        timeout=None if timeout is None else timeout + slack, log=log,
    )
    timed = Timed(model=model, wall_seconds=wall, limit=timeout)
    if code is None:
        timed.status, timed.timed_out = "killed at timeout", True
        if project.target == "postgres":
            cancel_backends(project)
        return timed
    if not results_path.exists():
        timed.status = f"dbt exited {code} without run_results.json"
        return timed
    results = json.loads(results_path.read_text())["results"]
    node = next(r for r in results if r["unique_id"].endswith("." + model))
    timed.status = node["status"]
    timed.message = (node.get("message") or "")[:300]
    timed.seconds = node["execution_time"]
    for timing in node.get("timing", []):
        if timing["name"] == "execute" and timing.get("started_at"):
            started = datetime.fromisoformat(timing["started_at"].rstrip("Z"))
            ended = datetime.fromisoformat(timing["completed_at"].rstrip("Z"))
            timed.execute_seconds = (ended - started).total_seconds()
    if "statement timeout" in timed.message.lower():
        timed.timed_out = True
    return timed


def cancel_backends(project: DbtProject) -> None:
    """Stop the queries still running in this copy's own Postgres database."""
    import psycopg2

    with contextlib.closing(psycopg2.connect(
        host=project.env["PGHOST"], port=project.env["PGPORT"],
        user=project.env["PGUSER"], password=project.env["PGPASSWORD"],
        dbname=project.env["PGDATABASE"],
    )) as con:
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(
                "select pg_cancel_backend(pid) from pg_stat_activity"
                " where datname = current_database() and pid <> pg_backend_pid()"
            )




# --------------------------------------------------------------------------- #
# One case: an engine and a stream size
# --------------------------------------------------------------------------- #
@dataclass
class Check:
    """The rows of a dataset compared with those of its self-join (or of a
    hand-written query of the same result)."""

    dataset: str
    other: str
    stage: str  # "project seeds" or "generated stream"
    result: dict[str, Any]

    @property
    def equal(self) -> bool:
        return bool(self.result["equal"])


@dataclass
class Case:
    engine: str
    rows: int
    datasets: tuple[BenchDataset, ...] = ()
    stream: dict[str, Any] = field(default_factory=dict)
    runs: dict[str, list[Timed]] = field(default_factory=dict)  # taken in turns
    selfjoins: dict[str, Timed] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)
    physical_design: str = ""
    selfjoin_timeout: float = 0.0

    @property
    def label(self) -> str:
        return f"{self.engine} {self.stream.get('rows', self.rows):,}"

    def median(self, model: str | None) -> Timed | None:
        runs = self.runs.get(model or "")
        return median_run(runs) if runs else None

    def timeline(self) -> list[Timed]:
        """Every run in the order it ran: the rounds, then the self-joins."""
        order = {m: i for i, m in enumerate(round_models(self.datasets))}
        turns = sorted((t for runs in self.runs.values() for t in runs),
                       key=lambda t: (t.round or 0, order.get(t.model, 0)))
        return turns + list(self.selfjoins.values())


@dataclass
class Outcome:
    """One dataset's times in one case, and its ratios."""

    case: Case
    dataset: BenchDataset

    @property
    def timed(self) -> Timed | None:
        return self.case.median(self.dataset.name)

    @property
    def floor(self) -> Timed | None:
        return self.case.median(self.dataset.floor)

    @property
    def strict(self) -> Timed | None:
        return self.case.median(self.dataset.strict)

    @property
    def selfjoin(self) -> Timed | None:
        return self.case.selfjoins.get(self.dataset.selfjoin)

    def ratio_to(self, floor: Timed | None) -> float | None:
        """dataset s / floor s (a lower bound when the dataset timed out)."""
        timed = self.timed
        if not (timed and floor and floor.seconds and floor.status == "success"):
            return None
        if timed.timed_out and timed.limit:
            return timed.limit / floor.seconds
        if timed.seconds and timed.status == "success":
            return timed.seconds / floor.seconds
        return None

    @property
    def speedup(self) -> tuple[float | None, str]:
        """(self-join s / dataset s, '' or '> ' or '< ' for a bound)."""
        timed, joined = self.timed, self.selfjoin
        if not (timed and joined):
            return None, ""
        joined_s = joined.seconds if joined.status == "success" else None
        if timed.timed_out and timed.limit and joined_s:
            return joined_s / timed.limit, "< "
        if not (timed.seconds and timed.status == "success"):
            return None, ""
        if joined.timed_out:
            limit = joined.limit or self.case.selfjoin_timeout
            return limit / timed.seconds, "> "
        if joined_s:
            return joined_s / timed.seconds, ""
        return None, ""


def outcomes(cases: list[Case]) -> list[Outcome]:
    return [Outcome(case, dataset) for case in cases for dataset in case.datasets]


def median_run(runs: list[Timed]) -> Timed:
    """The run of median time (the lower middle one of an even count); a
    failed or timed-out run, if there is one, as it makes no time."""
    failed = [r for r in runs if r.status != "success" or r.seconds is None]
    if failed:
        return failed[0]
    return lower_median(runs, key=lambda r: r.seconds)


def prepare_project(
    tmp: Path, engine: str, duckdb_memory_limit: str | None = None,
) -> DbtProject:
    """A throwaway copy with the bench models, built on the tiny seeds.

    On DuckDB, the copy's profile caps the memory of every model at
    `duckdb_memory_limit` (a self-join over heavy-tailed rows would take
    what the machine has; beyond the cap DuckDB spills to disk).
    """
    project = DbtProject.create(tmp, engine)
    if engine == "duckdb" and duckdb_memory_limit:
        import yaml

        profiles_path = project.root / "profiles.yml"
        profiles = yaml.safe_load(profiles_path.read_text())
        for profile in profiles.values():
            output = profile.get("outputs", {}).get("duckdb")
            if output is not None:
                output.setdefault("settings", {})["memory_limit"] = (
                    duckdb_memory_limit)
        profiles_path.write_text(yaml.safe_dump(profiles, sort_keys=False))
    bench_models = project.root / "models" / "bench"
    bench_models.mkdir(parents=True, exist_ok=True)
    for name, sql in MODELS.items():
        (bench_models / f"{name}.sql").write_text(sql)
    project.copy_seeds(SEEDS)
    return project


def build_tiny(project: DbtProject, datasets: tuple[BenchDataset, ...],
               log: Path) -> None:
    models = round_models(datasets) + [d.selfjoin for d in datasets]
    for args in (
        ("deps",),
        ("seed", "--full-refresh"),
        ("run", "--select", *(f"+{model}" for model in models)),
    ):
        code, _ = run_dbt(project, *args, log=log)
        if code != 0:
            raise RuntimeError(f"dbt {' '.join(args)} failed; see {log}")


def compare(project: DbtProject, dataset: BenchDataset, other: str) -> dict[str, Any]:
    """Rows of the dataset vs those of `other` (its self-join, or a
    hand-written query of the same result), joined on the dataset's keys:
    counts, rows on one side only, and per column the rows whose values
    differ (`is distinct from`) and the dataset's non-null values."""
    schema = project.schema
    left, right = f"{schema}.{dataset.name}", f"{schema}.{other}"
    key = dataset.keys[0]
    on = " and ".join(f"d.{k} = o.{k}" for k in dataset.keys)
    differ = ",\n".join(
        f"sum(case when d.{key} is not null and o.{key} is not null"
        f" and d.{c} is distinct from o.{c} then 1 else 0 end)"
        for c in dataset.columns
    )
    non_null = ",\n".join(
        f"count(d.{c})" for c in dataset.columns
    )
    row = project.query(f"""
        select
            (select count(*) from {left}),
            (select count(*) from {right}),
            sum(case when o.{key} is null then 1 else 0 end),
            sum(case when d.{key} is null then 1 else 0 end),
            {differ},
            {non_null}
        from {left} as d
        full outer join {right} as o on {on}
    """)[0]
    values = [int(v or 0) for v in row]
    n = len(dataset.columns)
    result: dict[str, Any] = dict(zip(
        ["dataset_rows", "other_rows", "only_dataset", "only_other"], values[:4]))
    mismatched = {c: v for c, v in zip(dataset.columns, values[4:4 + n]) if v}
    result["mismatched_columns"] = mismatched
    result["non_null"] = dict(zip(dataset.columns, values[4 + n:]))
    result["equal"] = (
        not mismatched and not result["only_dataset"]
        and not result["only_other"]
        and result["dataset_rows"] == result["other_rows"]
    )
    if mismatched:
        column = next(iter(mismatched))
        keys = ", ".join(f"d.{k}" for k in dataset.keys)
        result["example"] = [
            tuple(str(v) for v in r) for r in project.query(f"""
            select {keys}, d.{column}, o.{column}
            from {left} as d
            join {right} as o on {on}
            where d.{column} is distinct from o.{column}
            order by {keys}
            limit 3
        """)]
    return result


def check_rows(project: DbtProject, case: Case, dataset: BenchDataset,
               other: str, stage: str) -> Check:
    """Compare, record and say; a difference is printed to stderr."""
    check = Check(dataset.name, other, stage, compare(project, dataset, other))
    case.checks.append(check)
    say(f"[{case.label}] {stage}: {dataset.name} vs {other}: "
        f"{'same rows' if check.equal else 'ROWS DIFFER'}: {check.result}")
    if not check.equal:
        print(f"MISMATCH [{case.label}] {stage}: {other} does not give the rows "
              f"of {dataset.name}: {check.result}", file=sys.stderr, flush=True)
    return check


def load_stream(project: DbtProject, generator: Path, work: Path) -> None:
    """Replace the rows of customer_stream with the generator's `stream`,
    by column name: the stream's own columns, and `_source_customer` (where
    the stream has it) equal to `customer`, as no identity was resolved.
    The stream's other metadata columns stay null."""
    stored = {name.lower() for (name,) in project.query(
        "select column_name from information_schema.columns"
        f" where table_schema = '{project.schema}'"
        " and table_name = 'customer_stream'")}
    missing = set(STREAM_COLUMNS) - stored
    if missing:
        raise RuntimeError(f"customer_stream lacks the columns {sorted(missing)}")
    targets = list(STREAM_COLUMNS)
    selects = list(STREAM_COLUMNS)
    if "_source_customer" in stored:
        targets.append("_source_customer")
        selects.append("customer as _source_customer")
    into, select = ", ".join(targets), ", ".join(selects)
    if project.target == "duckdb":
        project.execute(
            f"attach '{generator}' as generator (read_only)",
            "delete from main.customer_stream",
            f"insert into main.customer_stream ({into})"
            f" select {select} from generator.main.stream"
            " order by ts, activity, activity_id",
            "detach generator",
            "checkpoint",
        )
        return
    import psycopg2

    csv_path = work / "stream.csv"
    with duckdb.connect(str(generator), read_only=True) as con:
        con.execute(
            f"copy (select {select} from stream order by ts, activity, activity_id)"
            f" to '{csv_path}' (header, delimiter ',')"
        )
    with contextlib.closing(psycopg2.connect(
        host=project.env["PGHOST"], port=project.env["PGPORT"],
        user=project.env["PGUSER"], password=project.env["PGPASSWORD"],
        dbname=project.env["PGDATABASE"],
    )) as con:
        with con.cursor() as cur, open(csv_path) as handle:
            cur.execute("truncate analytics.customer_stream")
            cur.copy_expert(
                f"copy analytics.customer_stream ({into})"
                " from stdin with (format csv, header true)",
                handle,
            )
        con.commit()
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute("vacuum analyze analytics.customer_stream")
    csv_path.unlink()


def describe_physical(project: DbtProject, case: Case, log: Path) -> None:
    """What physical_design('stream') returns, and the stream's indexes."""
    code, _ = run_dbt(
        project, "compile", "--inline",
        "{{ tojson(activity_schema.physical_design('stream')) }}",
        log=log,
    )
    compiled = log.read_text().rstrip().splitlines()
    case.physical_design = compiled[-1].strip() if code == 0 and compiled else "?"
    if project.target == "postgres":
        case.indexes = [
            r[0] for r in project.query(
                "select indexdef from pg_indexes"
                " where schemaname = 'analytics' and tablename = 'customer_stream'"
            )
        ]


def run_case(
    case: Case,
    generator: Path,
    args: argparse.Namespace,
    work: Path,
) -> Case:
    """Fill `case` in as its steps finish (a stopped run keeps what it has).

    Raises RowsDiffer when a self-join or hand-written query differs from
    its dataset on the project's seeds (before anything is timed)."""
    engine, rows = case.engine, case.rows
    case.selfjoin_timeout = args.timeout
    tmp = work / f"{engine}_{rows}"
    tmp.mkdir(parents=True, exist_ok=True)
    log = tmp / "dbt.log"
    project = prepare_project(tmp, engine, args.duckdb_memory_limit)
    say(f"[{case.label}] copy at {project.root}; dbt log {log}")
    try:
        build_tiny(project, case.datasets, log)
        tiny = [check_rows(project, case, dataset, other, "project seeds")
                for dataset in case.datasets for other in dataset.compared]
        if not all(check.equal for check in tiny):
            raise RowsDiffer(
                "on the project's seeds: " + "; ".join(
                    f"{c.other} vs {c.dataset}: {c.result}"
                    for c in tiny if not c.equal))
        describe_physical(project, case, tmp / "physical.log")
        started = time.perf_counter()
        load_stream(project, generator, tmp)
        say(f"[{case.label}] stream loaded in "
            f"{time.perf_counter() - started:.1f} s; indexes: {case.indexes}")
        # The floors and the datasets take turns, `repeat` rounds; each
        # keeps its median run (other jobs share the machine: one run can
        # be slowed several times over). A model that fails or times out
        # is not run again.
        with_timeout = {d.name for d in case.datasets} | {
            d.strict for d in case.datasets if d.strict}
        stopped: set[str] = set()
        for round_ in range(1, args.repeat + 1):
            for model in round_models(case.datasets):
                if model in stopped:
                    continue
                timed = timed_model(
                    project, model, log=log,
                    timeout=args.dataset_timeout if model in with_timeout else None)
                timed.round = round_
                case.runs.setdefault(model, []).append(timed)
                say(f"[{case.label}] round {round_}: {model}: {timed}")
                if timed.status != "success":
                    stopped.add(model)
        for dataset in case.datasets:
            timed = case.median(dataset.name)
            if dataset.strict_same_rows and dataset.strict not in stopped and (
                    timed and timed.status == "success"):
                check_rows(project, case, dataset, dataset.strict,
                           "generated stream")
            if args.skip_selfjoin:
                continue
            joined = timed_model(
                project, dataset.selfjoin, timeout=args.timeout, log=log,
                dbt_vars={"bench_statement_timeout_ms": int(args.timeout * 1000)},
            )
            case.selfjoins[dataset.selfjoin] = joined
            say(f"[{case.label}] self-join: {joined}")
            if joined.status == "success" and timed and timed.status == "success":
                check_rows(project, case, dataset, dataset.selfjoin,
                           "generated stream")
    finally:
        if args.keep:
            say(f"[{case.label}] kept {project.root}")
        else:
            project.drop()
            shutil.rmtree(tmp, ignore_errors=True)
    return case


# --------------------------------------------------------------------------- #
# Report
# --------------------------------------------------------------------------- #
def fmt_s(timed: Timed | None, timeout: float) -> str:
    if timed is None:
        return "not run"
    if timed.timed_out:
        return f"> {timed.limit or timeout:.0f}"
    if timed.status != "success" or timed.seconds is None:
        return f"failed ({timed.status})"
    return f"{timed.seconds:.2f}"


def fmt_ratio(outcome: Outcome, floor: Timed | None) -> str:
    ratio = outcome.ratio_to(floor)
    if ratio is None:
        return "-"
    return f"{'> ' if outcome.timed.timed_out else ''}{ratio:.2f}x"


def table(cases: list[Case], timeout: float) -> str:
    lines = [
        "| engine | rows | dataset | dataset s | floor s | ratio to floor "
        "| stricter floor s | ratio to stricter floor "
        "| self-join s | speed-up vs self-join |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for outcome in outcomes(cases):
        case, dataset = outcome.case, outcome.dataset
        strict = "-"
        if dataset.strict:
            strict = f"{fmt_s(outcome.strict, timeout)} ({dataset.strict_label})"
        speedup, bound = outcome.speedup
        speedup_text = "-" if speedup is None else f"{bound}{speedup:.1f}x"
        lines.append(
            f"| {case.engine} | {case.stream.get('rows', case.rows):,} "
            f"| {dataset.name} | {fmt_s(outcome.timed, timeout)} "
            f"| {fmt_s(outcome.floor, timeout)} | {fmt_ratio(outcome, outcome.floor)} "
            f"| {strict} | {fmt_ratio(outcome, outcome.strict)} "
            f"| {fmt_s(outcome.selfjoin, timeout)} | {speedup_text} |"
        )
    return "\n".join(lines)


def mismatches(cases: list[Case]) -> list[str]:
    return [
        f"- **ROWS DIFFER**: {case.label}, {check.stage}: `{check.other}` vs "
        f"`{check.dataset}`: {check.result}"
        for case in cases for check in case.checks if not check.equal
    ]


def verdicts(cases: list[Case]) -> list[str]:
    out = []
    for outcome in outcomes(cases):
        case, dataset = outcome.case, outcome.dataset
        label = f"{case.label} rows, {dataset.name}"
        limit = TARGET_RATIO[case.engine]
        for name, floor in (("floor", outcome.floor),
                            (dataset.strict_label, outcome.strict)):
            ratio = outcome.ratio_to(floor)
            if ratio is None:
                continue
            timed_out = outcome.timed.timed_out
            met = ratio <= limit and not timed_out
            out.append(
                f"- {label}: within {limit}x of the {name}: "
                f"{'**met**' if met else '**missed**'} "
                f"({'> ' if timed_out else ''}{ratio:.2f}x)"
            )
        speedup, bound = outcome.speedup
        if case.rows >= TARGET_SPEEDUP_ROWS and outcome.selfjoin is not None:
            if speedup is None:
                out.append(f"- {label}: >= {TARGET_SPEEDUP:.0f}x faster than the "
                           "self-join: unknown (a run failed)")
            else:
                met = speedup >= TARGET_SPEEDUP and bound != "< "
                note = {
                    "> ": ", a lower bound: the self-join hit the timeout",
                    "< ": ", an upper bound: the dataset hit the timeout",
                }.get(bound, "")
                out.append(
                    f"- {label}: >= {TARGET_SPEEDUP:.0f}x faster than the "
                    f"self-join: {'**met**' if met else '**missed**'} "
                    f"({bound}{speedup:.1f}x{note})"
                )
    return out


def git_state() -> str:
    """The commit, and whether what is timed differs from it."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "?"
    commit = git("log", "-1", "--format=%h %s")
    dirty = git("status", "--porcelain", "--", "activity_schema/macros/dataset",
                "models/datasets", "bench/dataset_models.py")
    return (f"- project at commit `{commit}`; dataset macros, dataset models and "
            "bench models " + ("modified in the working tree" if dirty
                               else "as committed"))


LOAD_AT_START = os.getloadavg()


def environment(args: argparse.Namespace) -> list[str]:
    return [
        git_state(),
        f"- machine: {os.cpu_count()} CPUs, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}; load average (1, 5, 15 min) "
        f"at the start {' '.join(f'{x:.2f}' for x in LOAD_AT_START)}, at the end "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (other jobs shared "
        "the machine)",
        f"- duckdb {duckdb.__version__} (threads = CPUs; memory_limit = "
        f"{args.duckdb_memory_limit or 'default'} for every model)",
    ]


def report(
    cases: list[Case], args: argparse.Namespace, command: str, pg_info: str,
    partial: bool = False,
) -> str:
    datasets = selected(args.datasets)
    differ = mismatches(cases)
    parts = [
        "# Dataset benchmark: datasets vs their floors and their self-join forms",
        "",
        f"Generated by `{command}` on {datetime.now():%Y-%m-%d %H:%M}"
        + (" (partial: the run goes on)." if partial else "."),
        "",
        table(cases, args.timeout),
        "",
        *(differ + [""] if differ else []),
        "Targets: within 1.5x of the floor on DuckDB and 2x on Postgres; at "
        "least 10x faster than the self-join form at 10M heavy-tailed rows.",
        "",
        *verdicts(cases),
        "",
        "## How it is measured",
        "",
        "- Every time is the `execution_time` of the model in `run_results.json` "
        "of its own `dbt run --select <model> --threads 1` (a fresh dbt process; "
        "table materialization: create as select, rename, drop the old one), on "
        "a throwaway copy of the project whose `customer_stream` rows were "
        "replaced by the generated stream (inserted by column name in ts order, "
        "as an append-only stream grows). The floors and the datasets take "
        f"turns, each once per round, {args.repeat} rounds, and the table shows "
        "the median run of each (every run under Raw timings, in the order "
        "they ran); each ratio is the dataset's median over the floor's. Then "
        "each self-join runs once.",
        "- A floor is a table model that reads the rows the dataset reads, once, "
        "and writes them sorted by entity and time, as the dataset's window "
        "pass needs them: whatever computes the dataset from those rows reads "
        "and orders them too, so the ratio is what the relationships cost on "
        "top. A stricter floor, where there is one, is reported beside it.",
        "- A self-join form computes the same result by joining the primary "
        "rows (or the spine's periods) to the appended rows on the entity and "
        "each relationship's condition, then grouping or ranking back: the "
        "shape of the public dbt activity-schema packages, written to the "
        "spec's semantics. Its rows are compared with the dataset's, on the "
        "project's seeds before anything is timed and on the generated stream "
        "after it ran; a difference fails the run (exit status 1). Timeout "
        f"{args.timeout:.0f} s (Postgres: statement_timeout; DuckDB: the dbt "
        "process is killed); a timed-out self-join gives a lower bound of the "
        "speed-up, shown as `> `.",
    ]
    for dataset in datasets:
        parts += [
            f"- `{dataset.name}`: {dataset.summary}.",
            f"  - floor: {dataset.floor_summary}.",
        ]
        if dataset.strict:
            parts.append(f"  - stricter floor ({dataset.strict_label}): "
                         f"{dataset.strict_summary}.")
        parts.append(f"  - self-join: `{dataset.selfjoin}`: "
                     f"{dataset.selfjoin_summary}.")
    parts += [
        *environment(args),
        *([pg_info] if pg_info else []),
        "",
        "## Streams",
        "",
        "| rows | created_account | placed_order | made_payment | viewed_page "
        "| anonymous rows | customers | median / p99 events | busiest customer: "
        "events, orders, views | customers with >= 1000 orders / >= 10000 views |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    seen = set()
    for case in cases:
        s = case.stream
        if not s or s["rows"] in seen:
            continue
        seen.add(s["rows"])
        a = s["per_activity"]
        parts.append(
            f"| {s['rows']:,} | {a.get('created_account', 0):,} "
            f"| {a.get('placed_order', 0):,} | {a.get('made_payment', 0):,} "
            f"| {a.get('viewed_page', 0):,} | {s['anonymous_only_rows']:,} "
            f"| {s['customers']:,} | {s['median_events']} / {s['p99_events']} "
            f"| {s['busiest_customer_events']:,}, {s['busiest_orders']:,}, "
            f"{s['busiest_views']:,} | {s['customers_with_1000_orders']} / "
            f"{s['customers_with_10000_views']} |"
        )
    parts += [
        "",
        f"Zipf exponent s = {args.zipf_s}, seed {args.seed}.",
        "",
        "## Same rows? (each dataset vs its self-join, and vs a hand-written "
        "query of the same result)",
        "",
    ]
    for case in cases:
        for check in case.checks:
            r = check.result
            verdict = "same rows" if check.equal else (
                f"**DIFFER**: {r['mismatched_columns']}, only in the dataset "
                f"{r['only_dataset']}, only in `{check.other}` {r['only_other']}"
                + (f", e.g. {r.get('example')}" if r.get("example") else "")
            )
            filled = ", ".join(f"{c} {n:,}" for c, n in r["non_null"].items())
            parts.append(
                f"- {case.label}, {check.stage}: `{check.dataset}` vs "
                f"`{check.other}`: {r['dataset_rows']:,} vs {r['other_rows']:,} "
                f"rows: {verdict} (non-null values compared: {filled})"
            )
    parts += ["", "## Physical design", ""]
    for case in cases:
        parts.append(
            f"- {case.engine} {case.rows:,}: physical_design('stream') = "
            f"`{case.physical_design}`"
            + (f"; indexes on customer_stream: {case.indexes or 'none'}"
               if case.engine == "postgres" else "")
        )
    parts += ["", "## Raw timings (s)", "",
              "| engine | rows | round | model | execution_time | execute "
              "| dbt process | status |",
              "|---|---:|---:|---|---:|---:|---:|---|"]
    for case in cases:
        for timed in case.timeline():
            parts.append(
                f"| {case.engine} | {case.rows:,} "
                f"| {timed.round if timed.round else 'self-join'} | {timed.model} "
                f"| {'' if timed.seconds is None else f'{timed.seconds:.2f}'} "
                f"| {'' if timed.execute_seconds is None else f'{timed.execute_seconds:.2f}'} "
                f"| {timed.wall_seconds:.1f} | {timed.status}"
                f"{' (timeout)' if timed.timed_out else ''} |"
            )
    return "\n".join(parts) + "\n"


def write_report(path: Path, text: str) -> None:
    """Write the report, keeping a hand-written `## Findings` section."""
    kept = ""
    if path.exists():
        old = path.read_text()
        marker = old.find("\n## Findings")
        if marker >= 0:
            kept = old[marker:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + kept)


def postgres_info() -> str:
    import psycopg2
    from tools import pg

    env = pg.ensure_postgres()
    with contextlib.closing(psycopg2.connect(
        host=env["PGHOST"], port=env["PGPORT"], user=env["PGUSER"],
        password=env["PGPASSWORD"], dbname=env["PGDATABASE"],
    )) as con, con.cursor() as cur:
        cur.execute("select version()")
        version = cur.fetchone()[0].split(" on ")[0]
        settings = []
        for name in ("shared_buffers", "work_mem", "max_parallel_workers_per_gather",
                     "jit"):
            cur.execute(f"show {name}")
            settings.append(f"{name} = {cur.fetchone()[0]}")
    return f"- {version} (server settings as found: {', '.join(settings)})"


def say(message: str) -> None:
    print(f"{datetime.now():%H:%M:%S} {message}", flush=True)




def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_datasets",
        description=textwrap.dedent(__doc__.split("\n\n")[0]),
    )
    parser.add_argument("--duckdb-rows", type=int, nargs="*",
                        default=[1_000_000, 10_000_000],
                        help="stream sizes on DuckDB (default: 1M 10M)")
    parser.add_argument("--postgres-rows", type=int, nargs="*",
                        default=[1_000_000],
                        help="stream sizes on Postgres (default: 1M)")
    parser.add_argument("--quick", action="store_true",
                        help="~100k rows on each engine (overrides the sizes)")
    parser.add_argument("--datasets", nargs="*", choices=DATASET_NAMES,
                        default=None, metavar="DATASET",
                        help="the datasets to time (default: all of "
                        f"{', '.join(DATASET_NAMES)})")
    parser.add_argument("--timeout", type=float, default=1200,
                        help="seconds before a self-join is stopped (default 1200)")
    parser.add_argument("--dataset-timeout", type=float, default=1200,
                        help="seconds before a dataset (or the hand-written "
                        "query) is stopped (default 1200)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds in which each floor and each dataset "
                        "runs once, in turn; each reports its median (default 3)")
    parser.add_argument("--duckdb-memory-limit", default="8GB",
                        help="DuckDB memory_limit of every model (default 8GB; "
                        "'' for DuckDB's default, 80%% of RAM)")
    parser.add_argument("--skip-selfjoin", action="store_true")
    parser.add_argument("--zipf-s", type=float, default=1.0,
                        help="Zipf exponent of events per customer (default 1)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=None,
                        help="markdown output (default: bench/results/datasets.md, "
                        "not written with --quick unless given)")
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for the throwaway copies (default: a temp dir)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the throwaway copies (and their databases)")
    args = parser.parse_args(argv)
    if args.quick:
        args.duckdb_rows, args.postgres_rows = [100_000], [100_000]
    if args.out is None and not args.quick:
        args.out = RESULTS
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    datasets = selected(args.datasets)
    command = "python -m bench.bench_datasets " + " ".join(
        sys.argv[1:] if argv is None else argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="bench_datasets_"))
    work.mkdir(parents=True, exist_ok=True)
    say(f"work folder {work}")
    pg_info = postgres_info() if args.postgres_rows else ""
    sizes = sorted(set(args.duckdb_rows) | set(args.postgres_rows))
    cases: list[Case] = []
    failure = ""

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(f"stopped by signal {signum}")

    # A SIGTERM still writes the report of the cases done so far.
    signal.signal(signal.SIGTERM, stop)
    try:
        for rows in sizes:
            generator = work / f"generator_{rows}.duckdb"
            started = time.perf_counter()
            with duckdb.connect(str(generator)) as con:
                stats = generate_stream(con, rows, seed=args.seed, zipf_s=args.zipf_s)
            say(f"generated {stats['rows']:,} stream rows in "
                f"{time.perf_counter() - started:.1f} s: {stats}")
            for engine, engine_sizes in (
                ("duckdb", args.duckdb_rows), ("postgres", args.postgres_rows)
            ):
                if rows in engine_sizes:
                    case = Case(engine=engine, rows=rows, datasets=datasets,
                                stream=stats)
                    cases.append(case)
                    run_case(case, generator, args, work)
                    print(table(cases, args.timeout), flush=True)
                    if args.out:
                        write_report(args.out, report(
                            sorted(cases, key=lambda c: (c.engine, c.rows)),
                            args, command.strip(), pg_info,
                            partial=True))
            if not args.keep:
                generator.unlink(missing_ok=True)
    except RowsDiffer as error:
        failure = f"rows differ {error}"
    finally:
        cases.sort(key=lambda c: (c.engine, c.rows))
        text = report(cases, args, command.strip(), pg_info)
        print("\n" + text, flush=True)
        if args.out and cases:
            write_report(args.out, text)
            say(f"wrote {args.out}")
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    differ = mismatches(cases)
    if failure or differ:
        print("\nFAILED: a self-join or hand-written query does not give its "
              "dataset's rows:\n" + (failure or "\n".join(differ)),
              file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
