"""Shared pytest fixtures: throwaway dbt projects on DuckDB and Postgres."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.python.dbt_harness import TARGETS, DbtProject  # noqa: E402

# The public jaffle shop raw tables, enriched with `created_at` timestamps
# (customers and payments). One setting says where they are: the variable
# JAFFLE_REFERENCE_DIR, or by default the shared folder beside the project.
REFERENCE_DIR_VARIABLE = "JAFFLE_REFERENCE_DIR"
DEFAULT_REFERENCE_DIR = REPO_ROOT.parent / "shared" / "reference" / "jaffle_shop_enriched"
REFERENCE_FILES = ("raw_customers.csv", "raw_orders.csv", "raw_payments.csv")


def reference_dir() -> Path:
    """The folder of the reference tables: JAFFLE_REFERENCE_DIR when set (a
    relative path is taken from the repository root), else the default."""
    value = os.environ.get(REFERENCE_DIR_VARIABLE, "").strip()
    if not value:
        return DEFAULT_REFERENCE_DIR
    path = Path(value).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest) -> str:
    """Each test that takes `target` runs once on DuckDB and once on Postgres."""
    return request.param


@pytest.fixture
def project(tmp_path: Path, target: str) -> Iterator[DbtProject]:
    """A throwaway copy of the project on the parametrized target."""
    copy = DbtProject.create(tmp_path, target)
    try:
        yield copy
    finally:
        copy.drop()


@pytest.fixture(scope="session")
def jaffle_reference() -> Path:
    """The public jaffle shop raw tables, required: a test that needs them
    fails (never skips) when they are missing."""
    folder = reference_dir()
    missing = [name for name in REFERENCE_FILES if not (folder / name).is_file()]
    if missing:
        source = (
            f"{REFERENCE_DIR_VARIABLE}={os.environ[REFERENCE_DIR_VARIABLE]}"
            if os.environ.get(REFERENCE_DIR_VARIABLE, "").strip()
            else f"the default, {REFERENCE_DIR_VARIABLE} being unset"
        )
        pytest.fail(
            f"the jaffle shop reference tables are missing from {folder} "
            f"({source}): {', '.join(missing)}. Set {REFERENCE_DIR_VARIABLE} "
            f"to a folder holding {', '.join(REFERENCE_FILES)}, or put the "
            f"shared folder beside the project ({DEFAULT_REFERENCE_DIR})."
        )
    return folder
