"""A newcomer's first commands, as typed, in a copy of the repository.

- `make parse` and then a bare `dbt build` (no flags, no environment) share
  dbt's partial parse: the Makefile names no target, so switching between
  `make` and plain `dbt` never forces a full parse.
- That bare `dbt build` passes on a fresh DuckDB file: each staging model
  depends on the seed that loads its source, so dbt loads the seeds first,
  and the lineage graph links every seed to its staging model.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from tests.python.dbt_harness import REPO_ROOT

SKIPPED = shutil.ignore_patterns(
    ".git", ".venv", ".work", "target", "logs", "dbt_packages", "*.duckdb*",
    "__pycache__", ".pytest_cache", ".hypothesis",
)
SEEDS = {
    "raw_customers": "stg_jaffle_shop__customers",
    "raw_orders": "stg_jaffle_shop__orders",
    "raw_payments": "stg_jaffle_shop__payments",
    "raw_web_events": "stg_web__events",
}


def bare_environment() -> dict[str, str]:
    """The environment of a shell with none of the project's variables set."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DBT_", "PG", "JAFFLE_"))}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    return env


def run(command: list[str], cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, env=bare_environment(),
                          capture_output=True, text=True, timeout=900)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{output[-4000:]}"
    return output


def test_make_and_bare_dbt_share_the_parse_and_build_from_scratch(tmp_path: Path) -> None:
    copy = tmp_path / "jaffle_activity"
    shutil.copytree(REPO_ROOT, copy, ignore=SKIPPED, symlinks=True)
    (copy / ".venv").symlink_to(REPO_ROOT / ".venv")
    dbt = str(copy / ".venv" / "bin" / "dbt")

    # -o: the shared virtualenv is installed already.
    run(["make", "-o", ".venv/.installed", "parse"], copy)
    output = run([dbt, "build"], copy)

    assert "Unable to do partial parsing" not in output, output[:3000]
    assert (copy / "jaffle_activity.duckdb").exists()
    results = json.loads((copy / "target" / "run_results.json").read_text())
    statuses = {r["unique_id"].split(".")[-1]: r["status"] for r in results["results"]}
    for seed, staging in SEEDS.items():
        assert statuses.get(seed) == "success", statuses
        assert statuses.get(staging) == "success", statuses

    manifest = json.loads((copy / "target" / "manifest.json").read_text())
    for seed, staging in SEEDS.items():
        parents = manifest["parent_map"][f"model.jaffle_activity.{staging}"]
        assert f"seed.jaffle_activity.{seed}" in parents, (staging, parents)
