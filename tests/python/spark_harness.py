"""A throwaway copy of the project on Spark (dbt-spark's `session` method).

:class:`SparkDbtProject` is a :class:`DbtProject` bound to the `spark` target
of profiles.yml: pyspark in local mode inside this Python process, with its
warehouse, its Derby metastore and derby.log in the copy's own work folder.
dbt runs in-process (``dbtRunner``), so every dbt invocation and every query
of the test share one Spark session: the JVM and the Hive metastore start
once (20-60 s), not once per command.

One Spark session per process: a JVM holds one Derby metastore, so a test
process uses one SparkDbtProject at a time (a module-scoped fixture).

Queries go straight to the Spark session. pyspark turns timestamps into the
Python process's local time, so :meth:`SparkDbtProject.query` reads them as
text (the session's time zone is UTC) and parses them back.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Sequence

from tests.python.dbt_harness import DbtProject
from tools.generate_data import LOADED_AT, TABLE_COLUMNS, format_value


def spark_missing() -> str | None:
    """Why Spark cannot run here (None when it can)."""
    for module in ("pyspark", "dbt.adapters.spark"):
        try:
            if importlib.util.find_spec(module) is None:
                return f"{module} is not installed (pip install -r requirements-spark.txt)"
        except ModuleNotFoundError:
            return f"{module} is not installed (pip install -r requirements-spark.txt)"
    java = shutil.which("java")
    if java is None:
        return "no java on PATH (Spark needs Java 17)"
    try:
        subprocess.run([java, "-version"], capture_output=True, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as error:
        return f"java does not run: {error}"
    return None


@dataclass
class SparkDbtProject(DbtProject):
    """A throwaway copy of the project on the `spark` target."""

    @classmethod
    def create_spark(
        cls, tmp: Path, vars: Mapping[str, Any] | None = None
    ) -> "SparkDbtProject":
        """Copy the project into `tmp`, bound to Spark.

        vars: project variables written into the copy's dbt_project.yml (so
        every dbt invocation sees them, as a deployment would set them).
        """
        # DbtProject.create copies the project; its DuckDB file is never made.
        root = DbtProject.create(tmp, "duckdb").root
        project_file = root / "dbt_project.yml"
        text = project_file.read_text()
        for name, value in (vars or {}).items():
            text, count = re.subn(
                rf"^(  {re.escape(name)}:).*$", rf"\g<1> {value}", text, flags=re.MULTILINE
            )
            if count == 0:
                text = text.replace("\nvars:\n", f"\nvars:\n  {name}: {value}\n", 1)
        project_file.write_text(text)
        work = tmp / "spark-work"
        work.mkdir()
        project = cls(root=root, target="spark")
        project.env = {
            "DBT_SPARK_WORK_DIR": str(work),
            "DBT_SPARK_SCHEMA": "analytics",
            # Spark would otherwise look up the host's address.
            "SPARK_LOCAL_IP": "127.0.0.1",
            "DBT_SPARK_SHUFFLE_PARTITIONS": "2",
        }
        return project

    def drop(self) -> None:
        """Nothing to drop: the warehouse lives in the tmp folder."""

    @staticmethod
    def session():
        """The Spark session that dbt started in this process."""
        from pyspark.sql import SparkSession

        return SparkSession.builder.getOrCreate()

    @staticmethod
    def stop() -> None:
        """Stop the process's Spark session (and its JVM's metastore use)."""
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession() or getattr(
            SparkSession, "_instantiatedSession", None
        )
        if active is not None:
            active.stop()

    # -- queries ---------------------------------------------------------------
    def frame(self, sql: str):
        """A DataFrame of a query, with timestamps read as text."""
        from pyspark.sql import functions as F
        from pyspark.sql.types import TimestampNTZType, TimestampType

        df = self.session().sql(sql)
        columns = [
            F.col(f"`{field.name}`").cast("string").alias(field.name)
            if isinstance(field.dataType, (TimestampType, TimestampNTZType))
            else F.col(f"`{field.name}`")
            for field in df.schema.fields
        ]
        return df.select(*columns), {
            field.name
            for field in df.schema.fields
            if isinstance(field.dataType, (TimestampType, TimestampNTZType))
        }

    def query(self, sql: str) -> list[tuple]:
        """Rows of a query, timestamps as naive (UTC) datetimes."""
        return self.query_with_columns(sql)[1]

    def query_with_columns(self, sql: str) -> tuple[list[str], list[tuple]]:
        df, timestamps = self.frame(sql)
        names = df.columns
        rows = []
        for row in df.collect():
            rows.append(
                tuple(
                    _parse_timestamp(value) if name in timestamps else value
                    for name, value in zip(names, row)
                )
            )
        return names, rows

    def execute(self, *statements: str) -> None:
        session = self.session()
        for statement in statements:
            session.sql(statement).collect()

    def load_raw(self, tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        """Replace the rows of raw tables in place (as a loader would).

        The values go to Spark as text (the generator's CSV format) and are
        cast to the raw table's types in Spark, in the session's UTC. A row
        without a ``_loaded_at`` key gets a null there, as in the CSV files
        of :func:`~tools.generate_data.write_csv`.
        """
        from pyspark.sql.types import StringType, StructField, StructType

        session = self.session()
        for name, rows in tables.items():
            columns = TABLE_COLUMNS[name]
            schema = StructType([StructField(c, StringType(), True) for c in columns])
            data = [
                tuple(
                    None if value is None else format_value(value)
                    for value in (
                        row.get(c) if c == LOADED_AT else row[c] for c in columns
                    )
                )
                for row in rows
            ]
            view = f"_load_{name}"
            session.createDataFrame(data, schema).createOrReplaceTempView(view)
            types = {
                field.name: field.dataType.simpleString()
                for field in session.table(f"raw.{name}").schema.fields
            }
            select = ", ".join(f"cast(`{c}` as {types[c]}) as `{c}`" for c in columns)
            session.sql(
                f"insert overwrite table raw.{name} select {select} from {view}"
            ).collect()
            session.catalog.dropTempView(view)

    @property
    def schema(self) -> str:
        return "analytics"


def _parse_timestamp(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
