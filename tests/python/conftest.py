"""Shared pytest fixtures: throwaway dbt projects on DuckDB and Postgres."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.python.dbt_harness import TARGETS, DbtProject  # noqa: E402

SHARED_REFERENCE = REPO_ROOT.parent / "shared" / "reference" / "jaffle_shop_enriched"


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
    """The public jaffle shop raw tables (shared/reference), required."""
    if not (SHARED_REFERENCE / "raw_orders.csv").exists():
        pytest.fail(
            f"{SHARED_REFERENCE} is missing: the shared folder must sit beside "
            "the project (../shared)."
        )
    return SHARED_REFERENCE
