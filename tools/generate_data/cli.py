"""Command line: ``[generate]`` (the default command) and ``next-batch``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from .batch import next_batch
from .initial import generate
from .shop import DEFAULT_DAYS, DEFAULT_SCALE, DEFAULT_SEED, DEFAULT_START
from .tables import read_csv, write_csv, write_tables_into


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    """Parse the command line of the ``generate`` command (the default one)."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.generate_data",
        description="Generate the raw jaffle_activity seed CSV files deterministically.",
        epilog="Other command: 'python -m tools.generate_data next-batch --help' "
               "(add one simulated ingestion batch to existing CSV files).",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    parser.add_argument("--scale", type=float, default=DEFAULT_SCALE,
                        help="1.0 = 300 customers (default %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("seeds"), help="output directory (default %(default)s)")
    parser.add_argument("--start", type=date.fromisoformat, default=DEFAULT_START,
                        help="first day, YYYY-MM-DD (default %(default)s)")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="number of days (default %(default)s)")
    return parser.parse_args(None if argv is None else list(argv))


def parse_next_batch_args(argv: Iterable[str]) -> argparse.Namespace:
    """Parse the arguments of the ``next-batch`` command (without the command name)."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.generate_data next-batch",
        description="Read the raw CSV files of a folder, simulate one ingestion batch "
                    "(new, late, duplicated, conflicting, restated, deleted and future rows, and identity "
                    "changes: logins, shared devices, account merges and erasure requests) and write the new "
                    "state back; prints a JSON summary.",
    )
    parser.add_argument("--seeds", type=Path, default=Path("seeds"),
                        help="folder with the raw_*.csv files (default %(default)s)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: the --seeds folder)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    parser.add_argument("--days", type=int, default=1, help="days covered by the batch (default %(default)s)")
    parser.add_argument("--new-fraction", type=float, default=0.01,
                        help="new rows as a fraction of the existing rows (default %(default)s)")
    parser.add_argument("--late", type=float, default=0.2, help="share of late new rows (default %(default)s)")
    parser.add_argument("--late-hours", type=float, nargs=2, default=(1.0, 48.0), metavar=("LOW", "HIGH"),
                        help="late rows are LOW-HIGH hours before the high-water mark (default 1 48)")
    parser.add_argument("--very-late", type=float, default=0.0,
                        help="share of very late new rows (default %(default)s)")
    parser.add_argument("--very-late-hours", type=float, nargs=2, default=(100.0, 2000.0), metavar=("LOW", "HIGH"),
                        help="very late rows are LOW-HIGH hours before the high-water mark (default 100 2000)")
    parser.add_argument("--duplicates", type=float, default=0.0,
                        help="rows delivered twice, as a fraction of the new rows (default %(default)s)")
    parser.add_argument("--ties", type=float, default=0.0,
                        help="share of new rows copying a timestamp of the same customer (default %(default)s)")
    parser.add_argument("--restated", type=float, default=0.0,
                        help="share of existing rows restated in place (default %(default)s)")
    parser.add_argument("--deletes", type=float, default=0.0,
                        help="share of existing rows deleted (default %(default)s)")
    parser.add_argument("--conflicting", type=float, default=0.0, metavar="FRACTION",
                        help="rows delivered a second time with other values, as a fraction of the "
                             "new rows (default %(default)s)")
    parser.add_argument("--future", type=int, default=0, metavar="N",
                        help="new rows stamped in the year 2099 by a clock far ahead (default %(default)s)")
    identity = parser.add_argument_group("identity changes")
    identity.add_argument("--logins", type=float, default=0.0, metavar="FRACTION",
                          help="share of the visitors who never logged in that log in now, as an existing "
                               "or a newly signed-up customer (default %(default)s)")
    identity.add_argument("--shared-logins", type=int, default=0, metavar="N",
                          help="devices of one customer on which another customer logs in (default %(default)s)")
    identity.add_argument("--aliases", type=int, default=0, metavar="N",
                          help="new account merges (raw_customer_aliases rows), some extending a chain "
                               "(default %(default)s)")
    identity.add_argument("--removals", type=int, default=0, metavar="N",
                          help="new erasure requests (raw_customer_removals rows) (default %(default)s)")
    identity.add_argument("--late-identity", type=float, default=0.0, metavar="FRACTION",
                          help="share of the identity changes placed in the --late-hours window "
                               "(default %(default)s)")
    identity.add_argument("--identity-first", type=int, default=0, metavar="N",
                          help="merges of new accounts whose raw_customers row comes with the next batch "
                               "(default %(default)s)")
    return parser.parse_args(list(argv))


def next_batch_main(argv: Iterable[str]) -> int:
    """``next-batch``: read the folder, add one batch, write it back, print the summary."""
    args = parse_next_batch_args(argv)
    try:
        tables, summary = next_batch(
            read_csv(args.seeds),
            args.seed,
            days=args.days,
            new_fraction=args.new_fraction,
            late=args.late,
            late_hours=tuple(args.late_hours),
            very_late=args.very_late,
            very_late_hours=tuple(args.very_late_hours),
            duplicates=args.duplicates,
            ties=args.ties,
            restated=args.restated,
            deletes=args.deletes,
            conflicting=args.conflicting,
            future=args.future,
            logins=args.logins,
            shared_logins=args.shared_logins,
            aliases=args.aliases,
            removals=args.removals,
            late_identity=args.late_identity,
            identity_first=args.identity_first,
        )
    except (OSError, ValueError) as error:
        print(f"next-batch: {error}", file=sys.stderr)
        return 2
    write_tables_into(tables, args.out if args.out is not None else args.seeds)
    print(json.dumps(summary, indent=2))
    return 0


def main(argv: Iterable[str] | None = None) -> int:
    """CLI entry point.

    ``[generate] --seed --scale --out --start --days`` (the default command)
    writes the CSV files of every raw table; ``next-batch ...`` adds one ingestion batch
    to the CSV files of a folder (see :func:`parse_next_batch_args`).
    """
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments and arguments[0] == "next-batch":
        return next_batch_main(arguments[1:])
    if arguments and arguments[0] == "generate":
        arguments = arguments[1:]
    args = parse_args(arguments)
    tables = generate(seed=args.seed, scale=args.scale, start=args.start, days=args.days)
    for path in write_csv(tables, args.out):
        print(f"{path}: {len(tables[path.stem])} rows")
    return 0

