"""The activity_schema package as another project installs it.

`integration_tests/` is a small project beside the package that installs it
with `local: ../activity_schema`; `make test-integration` builds it twice
(the second run incremental) and checks its rows. These tests work on a copy
of both folders in a temporary directory, on a fresh DuckDB file, and run
the `dbt` of the interpreter's environment in a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.python.dbt_harness import REPO_ROOT

WRAPPER = Path("macros") / "get_incremental_activity_stream_sql.sql"
IGNORED = shutil.ignore_patterns("target", "logs", "dbt_packages", "*.duckdb*")


def copy_integration_project(tmp_path: Path) -> Path:
    """integration_tests and activity_schema side by side, as in the repository,
    so that `local: ../activity_schema` resolves in the copy."""
    for name in ("activity_schema", "integration_tests"):
        shutil.copytree(REPO_ROOT / name, tmp_path / name, ignore=IGNORED)
    return tmp_path / "integration_tests"


def run_dbt(project: Path, warehouse: Path, *args: str) -> subprocess.CompletedProcess:
    dbt = Path(sys.executable).parent / "dbt"
    env = dict(
        os.environ,
        DBT_PROJECT_DIR=str(project),
        DBT_PROFILES_DIR=str(project),
        INTEGRATION_DUCKDB_PATH=str(warehouse),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    return subprocess.run(
        [str(dbt), *args], cwd=project, env=env, capture_output=True, text=True,
        timeout=600,
    )


def test_a_stream_without_the_strategy_wrapper_fails_on_its_first_run(tmp_path: Path) -> None:
    project = copy_integration_project(tmp_path)
    (project / WRAPPER).unlink()
    warehouse = tmp_path / "warehouse.duckdb"
    deps = run_dbt(project, warehouse, "deps")
    assert deps.returncode == 0, deps.stdout[-3000:] + deps.stderr[-3000:]
    assert not warehouse.exists()

    build = run_dbt(project, warehouse, "build")

    output = build.stdout + build.stderr
    assert build.returncode != 0, output[-3000:]
    assert (
        "activity_schema.stream in model 'customer_stream': the root project has"
        " no macro get_incremental_activity_stream_sql" in output
    ), output[-3000:]
    assert "{{ return(activity_schema.stream_upsert_sql(arg_dict)) }}" in output
    # The stream alone failed, at compile time; what does not need it built.
    results = json.loads((project / "target" / "run_results.json").read_text())
    statuses = {r["unique_id"].split(".")[-1]: r["status"] for r in results["results"]}
    assert statuses["customer_stream"] == "error", statuses
    assert statuses["act_made_purchase"] == "success", statuses
    assert statuses["stream_rejections"] == "success", statuses
    assert statuses["customer_purchases"] == "skipped", statuses
