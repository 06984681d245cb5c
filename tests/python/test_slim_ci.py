"""Slim CI (docs/ci.md): the pull request job of the GitHub workflow, run here.

The steps are the workflow's `slim-ci` job, on DuckDB:

1. "production": a copy of the project (the base branch) is built into one
   DuckDB file, schema `main` (seeds in `raw`); its `target/manifest.json` is
   kept in a state folder, as a production job keeps its artifacts;
2. "the pull request": a second copy, built with the profile that
   `python -m tools.slim_ci profiles` writes (schema `pr`, same file), runs
   the command of `make slim-ci STATE=<state folder>` (read from `make -n`,
   so the test runs what the target runs).

Checks:

* with no change, the slim run selects nothing;
* after a harmless edit of one activity model, the nodes that ran are
  exactly that model and its descendants (models, tests, unit tests), as the
  child_map of production's manifest gives them, not as the slim run
  reports them; nothing upstream ran, and the `pr` schema holds only the
  models among them;
* the unmodified parent is deferred: the edited model reads production's
  relation, even though the `pr` schema holds a leftover of that parent
  (as an earlier push of the same pull request leaves it), which is what
  `--favor-state` is for.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Iterable, Mapping

from tests.python.dbt_harness import REPO_ROOT, DbtProject, DbtResult
from tools.generate_data import generate
from tools.slim_ci import write_profiles

PACKAGE = "jaffle_activity"
MODIFIED = "act_placed_order"
UPSTREAM = "stg_jaffle_shop__orders"
PRODUCTION_SCHEMA = "main"
PR_SCHEMA = "pr"
# The resource types `dbt build` executes (the child_map also holds analyses).
EXECUTED = ("model", "seed", "snapshot", "test", "unit_test")


def slim_ci_args(state: Path) -> list[str]:
    """The dbt arguments that `make slim-ci STATE=<state>` runs (from `make -n`)."""
    environment = {
        key: value for key, value in os.environ.items()
        if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "SLIM_CI_ARGS")
    }
    output = subprocess.run(
        ["make", "--no-print-directory", "-n", "slim-ci", f"STATE={state}"],
        cwd=REPO_ROOT, env=environment, capture_output=True, text=True, check=True,
    ).stdout
    commands = [
        words for words in map(shlex.split, output.splitlines())
        if len(words) > 1 and Path(words[0]).name == "dbt" and words[1] == "build"
    ]
    assert len(commands) == 1, f"`make -n slim-ci` runs no single dbt build:\n{output}"
    return commands[0][1:]


def descendants(child_map: Mapping[str, Iterable[str]], start: str) -> set[str]:
    """`start` and every node below it in a manifest's child_map."""
    found: set[str] = set()
    pending = [start]
    while pending:
        unique_id = pending.pop()
        if unique_id not in found:
            found.add(unique_id)
            pending.extend(child_map.get(unique_id, ()))
    return found


def executed(unique_ids: Iterable[str]) -> set[str]:
    """The ids of nodes `dbt build` executes (no hooks, no analyses)."""
    return {unique_id for unique_id in unique_ids if unique_id.split(".")[0] in EXECUTED}


def ran(result: DbtResult) -> set[str]:
    """The executed nodes of one dbt invocation, from the runner's result."""
    results = getattr(result.result, "results", None) or ()
    return executed(r.node.unique_id for r in results)


def describe(result: DbtResult) -> str:
    bad = {n: s for n, s in result.statuses().items() if s not in ("success", "pass")}
    tail = "\n".join(result.log.splitlines()[-40:])
    return f"not passing: {bad}\nexception: {result.exception!r}\nlog tail:\n{tail}"


def relations(project: DbtProject, schema: str) -> set[str]:
    rows = project.query(
        f"select table_name from information_schema.tables where table_schema = '{schema}'"
    )
    return {name for (name,) in rows}


def test_slim_ci_builds_the_modified_model_and_its_children(tmp_path: Path) -> None:
    tables = generate(seed=42, scale=0.05)

    # 1. Production: build the base branch, keep its manifest.
    production = DbtProject.create(tmp_path / "production", "duckdb")
    production.write_seeds(tables)
    built = production.build()
    assert built.success, describe(built)
    state = tmp_path / "state"
    state.mkdir()
    shutil.copy2(production.root / "target" / "manifest.json", state / "manifest.json")
    manifest = json.loads((state / "manifest.json").read_text())
    modified_id = f"model.{PACKAGE}.{MODIFIED}"
    upstream_id = f"model.{PACKAGE}.{UPSTREAM}"
    assert upstream_id in manifest["parent_map"][modified_id]

    # 2. The pull request: another checkout, the same warehouse file, its own
    # schema, the same seeds.
    pull_request = DbtProject.create(tmp_path / "pull_request", "duckdb")
    pull_request.env = dict(production.env)
    pull_request.write_seeds(tables)
    write_profiles(PR_SCHEMA, pull_request.root, source=pull_request.root / "profiles.yml")
    deps = pull_request.dbt("deps")
    assert deps.success, describe(deps)
    args = slim_ci_args(state)

    # Nothing changed: nothing is selected, nothing is built, whatever the
    # checkout's path and the target's schema.
    unchanged = pull_request.dbt(*args)
    assert unchanged.success, describe(unchanged)
    assert ran(unchanged) == set()
    assert relations(pull_request, PR_SCHEMA) == set()

    # A leftover of an earlier push: the unmodified parent, empty, in `pr`.
    pull_request.execute(
        f"create schema {PR_SCHEMA}",
        f"create view {PR_SCHEMA}.{UPSTREAM} as "
        f"select * from {PRODUCTION_SCHEMA}.{UPSTREAM} where false",
    )

    # A harmless edit: a comment, so only the model's checksum changes.
    model = pull_request.root / "models" / "activities" / f"{MODIFIED}.sql"
    source = model.read_text()
    anchor = f"select * from {{{{ ref('{UPSTREAM}') }}}}"
    assert source.count(anchor) == 1
    model.write_text(source.replace(anchor, f"-- slim CI: a harmless edit\n    {anchor}"))

    slim = pull_request.dbt(*args)
    assert slim.success, describe(slim)
    bad = {n: s for n, s in slim.statuses().items() if s not in ("success", "pass")}
    assert not bad, describe(slim)

    # Exactly the model and its descendants, from production's child_map.
    expected = executed(descendants(manifest["child_map"], modified_id))
    assert {f"model.{PACKAGE}.customer_stream", f"model.{PACKAGE}.customers"} <= expected
    assert ran(slim) == expected, (
        f"missing: {sorted(expected - ran(slim))}\nunexpected: {sorted(ran(slim) - expected)}"
    )
    run_results = json.loads((pull_request.root / "target" / "run_results.json").read_text())
    assert executed(r["unique_id"] for r in run_results["results"]) == expected
    assert upstream_id not in ran(slim)

    # The pull request's schema holds the rebuilt models (and the stream's
    # tables of removed rows and of applied identity inputs) and the
    # leftover only.
    models = {unique_id.split(".")[-1] for unique_id in expected if unique_id.startswith("model.")}
    assert relations(pull_request, PR_SCHEMA) == models | {
        UPSTREAM, "customer_stream__removed", "customer_stream__identity"}

    # Deferred: the edited model reads production's parent, not the leftover.
    (node,) = [r.node for r in slim.result.results if r.node.unique_id == modified_id]
    assert f'"{PRODUCTION_SCHEMA}"."{UPSTREAM}"' in node.compiled_code, node.compiled_code
    assert f'"{PR_SCHEMA}"."{UPSTREAM}"' not in node.compiled_code, node.compiled_code
    # Every order is in the stream or among its removed rows (an erasure
    # request removes the orders of its customer).
    count = (
        "select (select count(*) from {0}.customer_stream"
        " where activity = 'placed_order'),"
        " (select count(*) from {0}.customer_stream__removed"
        " where activity = 'placed_order')")
    (orders, removed) = pull_request.query(count.format(PRODUCTION_SCHEMA))[0]
    assert orders > 0 and orders + removed == len(tables["raw_orders"])
    assert pull_request.query(count.format(PR_SCHEMA)) == [(orders, removed)]
