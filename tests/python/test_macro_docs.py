"""Every public macro of the project and of the activity_schema package is
described in a `_*macros.yml` file beside it, and every public macro of the
package is named in the documentation: the README, the package's README or a page
under docs/.

Public: a macro whose name does not start with `_` and is not an adapter
implementation (`<adapter>__<name>`, reached through `adapter.dispatch`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.python.dbt_harness import REPO_ROOT

# A definition starts its line; a macro quoted in a message or example does not.
MACRO = re.compile(r"^\{%-?\s*macro\s+([a-z_0-9]+)", re.MULTILINE)
COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
FOLDERS = {"activity_schema": REPO_ROOT / "activity_schema" / "macros",
           "project": REPO_ROOT / "macros"}


def public_macros(folder: Path) -> set[str]:
    names = set()
    for path in folder.rglob("*.sql"):
        names.update(MACRO.findall(COMMENT.sub("", path.read_text())))
    return {name for name in names if not name.startswith("_") and "__" not in name}


def documented(folder: Path) -> dict[str, str]:
    descriptions = {}
    for path in folder.rglob("_*.yml"):
        for entry in (yaml.safe_load(path.read_text()) or {}).get("macros", []):
            descriptions[entry["name"]] = (entry.get("description") or "").strip()
    return descriptions


@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_every_public_macro_is_described(folder: str) -> None:
    macros = public_macros(FOLDERS[folder])
    assert macros, f"no macros found under {FOLDERS[folder]}"
    descriptions = documented(FOLDERS[folder])
    missing = sorted(name for name in macros if not descriptions.get(name))
    assert not missing, f"macros without a description in a _*.yml file: {missing}"


# The documentation a reader is sent to: the README, the package's own README
# and the pages under docs/ (the macro reference is docs/macros.md and
# docs/datasets.md).
DOC_FILES = (REPO_ROOT / "README.md", REPO_ROOT / "activity_schema" / "README.md",
             *sorted((REPO_ROOT / "docs").glob("*.md")))


def test_every_package_macro_is_in_the_readme() -> None:
    missing_files = [str(path) for path in DOC_FILES if not path.is_file()]
    assert not missing_files, f"documentation files not found: {missing_files}"
    docs = "\n".join(path.read_text() for path in DOC_FILES)
    missing = sorted(
        name for name in public_macros(FOLDERS["activity_schema"])
        if not re.search(rf"\b{name}\b", docs)
    )
    assert not missing, (
        "package macros that neither README.md, activity_schema/README.md nor "
        f"docs/*.md names: {missing}")


def test_every_named_aggregation_is_documented_once() -> None:
    """Each named aggregation of macros/dataset_aggregations.sql has its docs
    block `aggregation__<name>`, and every dataset column documented by such a
    block names a declared aggregation."""
    declared = set(re.findall(
        r"^        '([a-z_0-9]+)': \{$",
        (REPO_ROOT / "macros" / "dataset_aggregations.sql").read_text(),
        re.MULTILINE))
    assert {"first_order_at", "customer_lifetime_value"} <= declared, declared
    blocks = set(re.findall(
        r"\{%\s*docs\s+aggregation__([a-z_0-9]+)\s*%\}",
        (REPO_ROOT / "models" / "datasets" / "_aggregations.md").read_text()))
    assert blocks == declared, (
        f"declared without a docs block: {sorted(declared - blocks)}; "
        f"docs blocks of no aggregation: {sorted(blocks - declared)}")
    models = yaml.safe_load(
        (REPO_ROOT / "models" / "datasets" / "_datasets__models.yml").read_text())
    used = set()
    for model in models["models"]:
        for column in model.get("columns", []):
            used.update(re.findall(r"aggregation__([a-z_0-9]+)",
                                   column.get("description") or ""))
    assert used and used <= declared, sorted(used - declared)
