"""The ``--vars`` that make ``dbt source freshness`` judge the seeds by their own clock.

``dbt source freshness`` compares each source table's latest ``_loaded_at``
with the moment it runs. The generated seeds were loaded in 2024 (the
initial load at the midnight after the simulated period, then one later time
per ``next-batch``), so against the wall clock every table is many months
old, and would fail even if its loads were perfectly regular.

This module takes the data's own clock instead: the latest ``_loaded_at``
in the CSV files of a seeds folder, that is the latest load. It prints how
far that load lies behind the wall clock, in whole hours rounded up, as dbt
``--vars``. With the seeds' latest load at 2024-07-01 00:00:00::

    $ python -m tools.freshness_vars seeds --now '2024-07-03 12:30:00'
    {source_freshness_age_hours: 61}

Every source's thresholds (``models/staging/*/_*__sources.yml``) are
``source_freshness_warn_after_hours`` and
``source_freshness_error_after_hours`` plus ``source_freshness_age_hours``
(defaults in ``dbt_project.yml``: 24, 48 and 0). With the printed value, a
table is judged by how far its latest load lags the latest load of the whole
data set (it warns beyond 24 hours, fails beyond 48), not by how far it lags
today. Rounding the age up grants less than one hour of slack, which also
covers the seconds between this command and dbt's query. Without the vars
(age 0) the thresholds count from the wall clock, as they must for a real
loader, and the 2024 data is reported as stale.

What counts:

- every ``*.csv`` file of the folder with a ``_loaded_at`` column (other
  files are skipped); empty cells (rows without a load time) are skipped;
- timestamps as the generator writes them, UTC without time zone
  (``2024-07-01 00:00:00``); ISO text with a ``T`` or with an offset is read
  too, an offset converted to UTC;
- a latest load later than the wall clock gives age 0 (never a negative
  shift);
- a folder without any load time is an error (exit status 2): there is no
  clock to judge the data by.

Usage::

    python -m tools.freshness_vars [SEEDS_FOLDER] [--now 'YYYY-MM-DD HH:MM:SS']
    dbt source freshness --vars "$(python -m tools.freshness_vars seeds)"

``--now`` replaces the wall clock (UTC), for reproducible output.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable

LOADED_AT = "_loaded_at"
AGE_VAR = "source_freshness_age_hours"


def parse_timestamp(text: str) -> datetime:
    """A naive UTC datetime from ISO text (an offset is converted to UTC)."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def latest_load_time(folder: str | Path) -> datetime | None:
    """The latest ``_loaded_at`` over the folder's CSV files, or None if none has one."""
    latest: datetime | None = None
    for path in sorted(Path(folder).glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if LOADED_AT not in (reader.fieldnames or ()):
                continue
            for number, row in enumerate(reader, start=2):
                text = (row.get(LOADED_AT) or "").strip()
                if not text:
                    continue
                try:
                    value = parse_timestamp(text)
                except ValueError as error:
                    raise ValueError(f"{path}:{number}: {LOADED_AT} {text!r} is not a timestamp") from error
                if latest is None or value > latest:
                    latest = value
    return latest


def age_hours(latest: datetime, now: datetime) -> int:
    """Whole hours from ``latest`` to ``now``, rounded up; 0 if ``latest`` is not before ``now``."""
    seconds = (now - latest) / timedelta(seconds=1)
    return max(0, math.ceil(seconds / 3600))


def freshness_vars(folder: str | Path, now: datetime) -> dict[str, int]:
    """The dbt variables that count the thresholds from the folder's latest load."""
    latest = latest_load_time(folder)
    if latest is None:
        raise ValueError(f"{folder}: no CSV file has a {LOADED_AT} value")
    return {AGE_VAR: age_hours(latest, now)}


def format_vars(variables: dict[str, int]) -> str:
    """The variables as one YAML flow mapping, as ``dbt --vars`` takes them."""
    return "{" + ", ".join(f"{name}: {value}" for name, value in variables.items()) + "}"


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.freshness_vars",
        description="Print the dbt --vars that judge source freshness against the seeds' latest _loaded_at.",
    )
    parser.add_argument("folder", nargs="?", type=Path, default=Path("seeds"),
                        help="folder with the raw CSV files (default %(default)s)")
    parser.add_argument("--now", type=parse_timestamp, default=None,
                        help="the wall clock, UTC (default: the current time)")
    return parser.parse_args(None if argv is None else list(argv))


def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    now = args.now or datetime.now(timezone.utc).replace(tzinfo=None)
    try:
        variables = freshness_vars(args.folder, now)
    except (OSError, ValueError) as error:
        print(f"tools.freshness_vars: {error}", file=sys.stderr)
        return 2
    print(format_vars(variables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
