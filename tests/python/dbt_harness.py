"""Run the project's dbt pipeline in throwaway copies, on DuckDB or Postgres.

Each :class:`DbtProject` is a copy of the project in a temporary folder, with
its own seeds, its own DuckDB file or Postgres database, and its own
``target/``, so tests never touch the working tree or each other's data.
dbt runs in-process through ``dbtRunner`` (one invocation at a time: it is not
safe to run two at once in one process).
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from dbt.cli.main import dbtRunner, dbtRunnerResult

from tools import pg
from tools.generate_data import write_csv

REPO_ROOT = Path(__file__).resolve().parents[2]
COPIED = (
    "dbt_project.yml",
    "packages.yml",
    "profiles.yml",
    "activity_schema",
    "macros",
    "models",
    "analyses",
    "snapshots",
)
IGNORED = shutil.ignore_patterns("target", "logs", "dbt_packages", "*.duckdb*")
TARGETS = ("duckdb", "postgres")
# The stream computed from scratch over the current sources: the same macro
# as `customer_stream`, with the same identity inputs, as a plain view. Tests
# write it as models/stream/customer_stream_full.sql and compare.
FULL_STREAM_VIEW = """
{{ config(materialized='view') }}

{{ activity_schema.stream(customer_activities(), identity=customer_identity()) }}
"""


@dataclass
class DbtResult:
    """What one dbt invocation did: success, per-node results, log text."""

    success: bool
    result: Any
    log: str
    exception: BaseException | None = None

    def statuses(self) -> dict[str, str]:
        """{node name: status} for every node that ran."""
        if self.result is None or not hasattr(self.result, "results"):
            return {}
        return {r.node.name: str(r.status) for r in self.result.results}


@dataclass
class DbtProject:
    """A throwaway copy of the project bound to one target."""

    root: Path
    target: str
    env: dict[str, str] = field(default_factory=dict)
    database: str | None = None
    _manifest: Any = None

    # -- setup -----------------------------------------------------------------
    @classmethod
    def create(cls, tmp: Path, target: str) -> "DbtProject":
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
        root = tmp / "project"
        root.mkdir(parents=True)
        for name in COPIED:
            source = REPO_ROOT / name
            if source.is_dir():
                shutil.copytree(source, root / name, ignore=IGNORED)
            elif source.exists():
                shutil.copy2(source, root / name)
        (root / "seeds").mkdir()
        project = cls(root=root, target=target)
        project._fill_missing_seeds()
        if target == "duckdb":
            project.env = {"DBT_DUCKDB_PATH": str(tmp / "warehouse.duckdb")}
        else:
            server = pg.ensure_postgres()
            project.database = f"jaffle_test_{uuid.uuid4().hex[:12]}"
            project.env = pg.create_database(server, project.database)
        return project

    def drop(self) -> None:
        """Drop the Postgres database (DuckDB files go with the tmp folder)."""
        if self.database is not None:
            pg.drop_database(self.env, self.database)
            self.database = None

    def write_seeds(self, tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        """Replace the seeds with the given tables ({name: rows})."""
        for old in (self.root / "seeds").glob("*.csv"):
            old.unlink()
        write_csv(dict(tables), self.root / "seeds")
        self._fill_missing_seeds()

    def copy_seeds(self, folder: Path) -> None:
        """Replace the seeds with the CSV files of a folder."""
        for old in (self.root / "seeds").glob("*.csv"):
            old.unlink()
        for path in sorted(folder.glob("*.csv")):
            shutil.copy2(path, self.root / "seeds" / path.name)
        self._fill_missing_seeds()

    def _fill_missing_seeds(self) -> None:
        """Writes each of the project's raw seeds that the copy lacks with its
        header only: every staging model depends on its seed, so the project
        does not parse without them; an empty one loads an empty table."""
        for path in sorted((REPO_ROOT / "seeds").glob("raw_*.csv")):
            target = self.root / "seeds" / path.name
            if not target.exists():
                with path.open(newline="", encoding="utf-8") as handle:
                    target.write_text(handle.readline(), encoding="utf-8")

    def read_seed(self, name: str) -> list[dict[str, str]]:
        with open(self.root / "seeds" / f"{name}.csv", newline="") as handle:
            return list(csv.DictReader(handle))

    # -- dbt -------------------------------------------------------------------
    @contextlib.contextmanager
    def _environment(self) -> Iterator[None]:
        saved = {key: os.environ.get(key) for key in self.env}
        os.environ.update(self.env)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def parse(self) -> Any:
        """Parse the project once; later `dbt(..., manifest=True)` calls reuse it.

        dbt reparses the whole project whenever `--vars` change; a parsed
        manifest skips that. Parse again after changing project files.
        """
        result = self.dbt("parse")
        if not result.success:
            raise RuntimeError(f"dbt parse failed:\n{result.log[-4000:]}")
        self._manifest = result.result
        return self._manifest

    def dbt(self, *args: str, manifest: bool = False) -> DbtResult:
        """Run one dbt command against this copy and its target.

        manifest=True reuses the manifest of the last `parse()`.
        """
        lines: list[str] = []

        def collect(event: Any) -> None:
            message = event.info.msg
            if message:
                lines.append(str(message))

        command = [
            *args,
            "--project-dir", str(self.root),
            "--profiles-dir", str(self.root),
            "--target", self.target,
        ]
        runner = dbtRunner(
            manifest=self._manifest if manifest else None, callbacks=[collect]
        )
        with self._environment():
            outcome: dbtRunnerResult = runner.invoke(command)
        return DbtResult(
            success=outcome.success,
            result=outcome.result,
            log="\n".join(lines),
            exception=outcome.exception,
        )

    def build(self, *args: str) -> DbtResult:
        """Load the seeds, then build and test everything else."""
        deps = self.dbt("deps")
        if not deps.success:
            return deps
        seed = self.dbt("seed", "--full-refresh")
        if not seed.success:
            return seed
        return self.dbt("build", "--exclude", "resource_type:seed", *args)

    # -- direct warehouse access ---------------------------------------------------
    def load_raw(self, tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        """Replace the rows of raw tables in place (as a loader would).

        Faster than `dbt seed`, and keeps the tables (and the views on them).
        The tables must exist already (a first `dbt seed`).
        """
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            paths = write_csv(dict(tables), folder)
            for path in paths:
                table = f"raw.{Path(path).stem}"
                if self.target == "duckdb":
                    self.execute(
                        f"delete from {table}",
                        f"insert into {table} select * from read_csv("
                        f"'{path}', header = true, all_varchar = true)",
                    )
                else:
                    self._pg_copy(table, Path(path).read_text())

    def _pg_copy(self, table: str, csv_text: str) -> None:
        import io

        with contextlib.closing(self._pg_connect()) as con, con.cursor() as cur:
            cur.execute(f"delete from {table}")
            cur.copy_expert(
                f"copy {table} from stdin with (format csv, header true)",
                io.StringIO(csv_text),
            )
            con.commit()

    def _pg_connect(self):
        import psycopg2

        return psycopg2.connect(
            host=self.env["PGHOST"],
            port=self.env["PGPORT"],
            user=self.env["PGUSER"],
            password=self.env["PGPASSWORD"],
            dbname=self.env["PGDATABASE"],
        )

    def execute(self, *statements: str) -> None:
        """Run statements that return nothing, in one transaction."""
        if self.target == "duckdb":
            import duckdb

            with duckdb.connect(self.env["DBT_DUCKDB_PATH"]) as con:
                for statement in statements:
                    con.execute(statement)
            return
        with contextlib.closing(self._pg_connect()) as con, con.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
            con.commit()

    # -- queries ---------------------------------------------------------------
    def query(self, sql: str) -> list[tuple]:
        """Rows of a query on the warehouse, after dbt has finished."""
        if self.target == "duckdb":
            import duckdb

            with duckdb.connect(self.env["DBT_DUCKDB_PATH"]) as con:
                return con.execute(sql).fetchall()
        with contextlib.closing(self._pg_connect()) as con, con.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()

    def stream_differences(self, stream: str = "customer_stream",
                           full: str = "customer_stream_full") -> list[tuple]:
        """The rows of only one of two relations of the models' schema
        (`EXCEPT ALL` both ways), each first tagged 'only incremental' (in
        `stream` only) or 'only full' (in `full` only)."""
        schema = self.schema
        return self.query(
            f"""
            (select 'only incremental' as side, * from (
                select * from {schema}.{stream}
                except all
                select * from {schema}.{full}) as a)
            union all
            (select 'only full' as side, * from (
                select * from {schema}.{full}
                except all
                select * from {schema}.{stream}) as b)
            """
        )

    @property
    def schema(self) -> str:
        """The schema the models are built in."""
        return "main" if self.target == "duckdb" else "analytics"
