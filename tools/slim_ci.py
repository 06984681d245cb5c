"""A profiles.yml for slim CI: the project's profile with a pull request's DuckDB schema.

Slim CI (docs/ci.md) builds a pull request's changed models and their
children in a schema of their own and reads every other ``ref()`` from
production's relations (``dbt build --select state:modified+ --defer
--favor-state --state <production artifacts>``, ``make slim-ci``). On
DuckDB both live in one database file: production in the profile's schema
(``main``), the pull request in another. The project's profiles.yml names
the DuckDB schema literally, so this module writes a copy of it in which
the ``duckdb`` output's schema is the pull request's; every other setting
(the file, ``DBT_DUCKDB_PATH``, threads, the other outputs) is unchanged.
Postgres needs no copy: its schema is ``DBT_PG_SCHEMA``.

Seeds are not moved: ``generate_schema_name`` puts them in ``raw`` whatever
the target's schema, so a pull request that changes a seed reloads the
``raw`` table production reads (see docs/ci.md).

Usage::

    python -m tools.slim_ci profiles --schema pr --out .work/slim-ci/profiles
    make slim-ci STATE=<production target/> DBT_PROFILES_DIR=.work/slim-ci/profiles

The schema must be a plain identifier, other than production's schema and
``raw``.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path
from typing import Any, Iterable

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
PROFILE = "jaffle_activity"
OUTPUT = "duckdb"
SEED_SCHEMA = "raw"
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
HEADER = (
    "# Written by `python -m tools.slim_ci profiles`: the project's profiles.yml\n"
    "# with the {output} output's schema set to {schema!r} (slim CI, docs/ci.md).\n"
)


def production_schema(profiles: dict[str, Any]) -> str:
    """The schema of the DuckDB output in a parsed profiles.yml."""
    try:
        return str(profiles[PROFILE]["outputs"][OUTPUT]["schema"])
    except (KeyError, TypeError) as error:
        raise ValueError(f"profiles.yml has no {PROFILE}.outputs.{OUTPUT}.schema") from error


def ci_profiles(profiles: dict[str, Any], schema: str) -> dict[str, Any]:
    """A copy of the parsed profiles with the DuckDB output's schema replaced."""
    current = production_schema(profiles)
    if not IDENTIFIER.fullmatch(schema):
        raise ValueError(f"schema {schema!r} is not a plain identifier")
    if schema.lower() in (current.lower(), SEED_SCHEMA):
        raise ValueError(
            f"schema {schema!r} is production's ({current!r}) or the seeds' "
            f"({SEED_SCHEMA!r}): the pull request needs a schema of its own"
        )
    result = copy.deepcopy(profiles)
    result[PROFILE]["outputs"][OUTPUT]["schema"] = schema
    return result


def write_profiles(schema: str, out: str | Path, source: str | Path | None = None) -> Path:
    """Write ``<out>/profiles.yml`` for the schema; return its path.

    ``source`` is the profiles.yml to copy (default: the project's).
    """
    source = Path(source) if source is not None else REPO_ROOT / "profiles.yml"
    profiles = yaml.safe_load(source.read_text(encoding="utf-8"))
    text = HEADER.format(output=OUTPUT, schema=schema) + yaml.safe_dump(
        ci_profiles(profiles, schema), sort_keys=False, width=1000
    )
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "profiles.yml"
    path.write_text(text, encoding="utf-8")
    return path


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.slim_ci",
        description="Slim CI helpers (docs/ci.md).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    profiles = commands.add_parser(
        "profiles",
        help="write a profiles.yml whose DuckDB output builds in another schema",
    )
    profiles.add_argument("--schema", required=True, help="the pull request's schema, e.g. pr")
    profiles.add_argument("--out", required=True, type=Path,
                          help="folder to write profiles.yml into (use it as DBT_PROFILES_DIR)")
    profiles.add_argument("--source", type=Path, default=None,
                          help="the profiles.yml to copy (default: the project's)")
    return parser.parse_args(None if argv is None else list(argv))


def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        path = write_profiles(args.schema, args.out, args.source)
    except (OSError, ValueError, yaml.YAMLError) as error:
        print(f"tools.slim_ci: {error}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
