"""Tests for tools/pg.py: a reachable Postgres for the dbt postgres target."""

from __future__ import annotations

import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tools.pg import ENV_KEYS, create_database, drop_database, ensure_postgres  # noqa: E402


def _connect(env: dict[str, str], dbname: str | None = None):
    return psycopg2.connect(
        host=env["PGHOST"], port=int(env["PGPORT"]), user=env["PGUSER"],
        password=env["PGPASSWORD"], dbname=dbname or env["PGDATABASE"], connect_timeout=5,
    )


def _database_names(env: dict[str, str]) -> set[str]:
    conn = _connect(env)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database")
            return {row[0] for row in cur.fetchall()}
    finally:
        conn.close()


@pytest.fixture(scope="module")
def pg_env() -> dict[str, str]:
    return ensure_postgres()


def test_ensure_postgres_returns_connectable_env(pg_env):
    assert set(pg_env) == set(ENV_KEYS)
    assert all(isinstance(v, str) and v for v in pg_env.values())
    int(pg_env["PGPORT"])  # numeric port
    conn = _connect(pg_env)
    try:
        with conn.cursor() as cur:
            cur.execute("select 1")
            assert cur.fetchone() == (1,)
            cur.execute("select current_database(), current_user")
            assert cur.fetchone() == (pg_env["PGDATABASE"], pg_env["PGUSER"])
    finally:
        conn.close()


def test_ensure_postgres_is_idempotent(pg_env):
    first = ensure_postgres()
    second = ensure_postgres()
    assert first == second == pg_env
    assert first["PGPORT"] == second["PGPORT"]
    conn = _connect(second)
    conn.close()


def test_create_and_drop_database_round_trip(pg_env):
    # Mixed case and a hyphen: only works if the identifier is quoted properly.
    name = f"Jaffle-Test_{uuid.uuid4().hex[:8]}"
    assert name not in _database_names(pg_env)

    test_env = create_database(pg_env, name)
    try:
        assert test_env["PGDATABASE"] == name
        assert {k: v for k, v in test_env.items() if k != "PGDATABASE"} == {
            k: v for k, v in pg_env.items() if k != "PGDATABASE"}
        assert name in _database_names(pg_env)

        # Keep a connection open: drop_database must still succeed (WITH (FORCE)).
        held = _connect(test_env)
        with held.cursor() as cur:
            cur.execute("select current_database()")
            assert cur.fetchone() == (name,)
        drop_database(pg_env, name)
        assert name not in _database_names(pg_env)
        held.close()
    finally:
        drop_database(pg_env, name)  # idempotent: IF EXISTS

    assert name not in _database_names(pg_env)


def test_drop_database_quotes_identifiers(pg_env):
    # A name that would be an injection if interpolated verbatim.
    name = f'evil"; select 1; --{uuid.uuid4().hex[:6]}'
    create_database(pg_env, name)
    assert name in _database_names(pg_env)
    drop_database(pg_env, name)
    assert name not in _database_names(pg_env)


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tools.pg", *args],
        cwd=str(REPO_ROOT), capture_output=True, text=True, timeout=180,
    )


def test_cli_up_prints_export_lines(pg_env):
    proc = _run_cli("up")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(ENV_KEYS), proc.stdout

    parsed: dict[str, str] = {}
    for line in lines:
        tokens = shlex.split(line)
        assert len(tokens) == 2 and tokens[0] == "export", line
        key, sep, value = tokens[1].partition("=")
        assert sep == "=", line
        parsed[key] = value
    assert set(parsed) == set(ENV_KEYS)
    assert parsed == pg_env

    conn = _connect(parsed)
    try:
        with conn.cursor() as cur:
            cur.execute("select 1")
            assert cur.fetchone() == (1,)
    finally:
        conn.close()


def test_cli_up_output_is_evaluable_by_shell(pg_env):
    cmd = f'eval "$({shlex.quote(sys.executable)} -m tools.pg up)" && ' + " && ".join(
        f'printf "%s=%s\\n" {k} "${k}"' for k in ENV_KEYS)
    proc = subprocess.run(["bash", "-c", cmd], cwd=str(REPO_ROOT),
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    evaluated = dict(line.split("=", 1) for line in proc.stdout.splitlines())
    assert evaluated == pg_env


def test_cli_env_matches_up(pg_env):
    up = _run_cli("up")
    env = _run_cli("env")
    assert up.returncode == 0 and env.returncode == 0, up.stderr + env.stderr
    assert up.stdout == env.stdout
