"""Tests for tools/pg.py: a reachable Postgres for the dbt postgres target."""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import psycopg2
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tools import pg  # noqa: E402
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


def _run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tools.pg", *args],
        cwd=str(REPO_ROOT), capture_output=True, text=True, timeout=180, env=env,
    )


def _parse_exports(stdout: str) -> dict[str, str]:
    """{KEY: value} of the ``export KEY=value`` lines printed by ``up``."""
    parsed: dict[str, str] = {}
    for line in stdout.splitlines():
        tokens = shlex.split(line)
        assert len(tokens) == 2 and tokens[0] == "export", line
        key, sep, value = tokens[1].partition("=")
        assert sep == "=", line
        parsed[key] = value
    return parsed


def test_cli_up_prints_export_lines(pg_env):
    proc = _run_cli("up")
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == len(ENV_KEYS), proc.stdout
    parsed = _parse_exports(proc.stdout)
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


# --------------------------------------------------------------------------- #
# Password authentication
# --------------------------------------------------------------------------- #
def _connect_without_password(monkeypatch, env: dict[str, str], host: str | None = None,
                              password: str | None = None):
    """Connect with no password (or ``password``), with PGPASSWORD/.pgpass out of the way."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", os.devnull)
    kwargs = {} if password is None else {"password": password}
    return psycopg2.connect(host=host or env["PGHOST"], port=int(env["PGPORT"]),
                            user=env["PGUSER"], dbname=env["PGDATABASE"],
                            connect_timeout=5, **kwargs)


def test_connection_without_password_is_refused(pg_env, monkeypatch):
    with pytest.raises(psycopg2.OperationalError):
        _connect_without_password(monkeypatch, pg_env).close()
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        _connect_without_password(monkeypatch, pg_env,
                                  password=pg_env["PGPASSWORD"] + "-wrong").close()


def _pg_binaries_available() -> bool:
    try:
        pg._pg_bin("initdb")
        pg._pg_bin("pg_ctl")
    except RuntimeError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cli_env(tmp: Path, data_dir: Path, port: int | None = None) -> dict[str, str]:
    """An environment where no configured server answers, so ``up`` uses ``data_dir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(JAFFLE_PG_DIR=str(data_dir), JAFFLE_PG_PORT=str(port or _free_port()),
               PGHOST=str(tmp / "no-server-here"), PGPASSFILE=os.devnull)
    return env


@dataclass
class Cluster:
    """A throwaway cluster started by ``python -m tools.pg up`` for these tests only."""

    base: Path
    data_dir: Path
    cli_env: dict[str, str]
    up: subprocess.CompletedProcess
    exports: dict[str, str]

    @property
    def password(self) -> str:
        return self.exports["PGPASSWORD"]


@pytest.fixture(scope="module")
def fresh_cluster() -> Iterator[Cluster]:
    assert _pg_binaries_available(), (
        "PostgreSQL server binaries (initdb, pg_ctl) are not installed: looked in "
        f"{', '.join(pg.PG_BIN_CANDIDATES)} and PATH")
    base = Path(tempfile.mkdtemp(prefix="jaffle_pg_test-", dir=os.path.realpath("/tmp")))
    base.chmod(0o711)  # the postgres user must reach the data directory when we are root
    data_dir = base / "pgdata"
    cli_env = _cli_env(base, data_dir)
    try:
        up = _run_cli("up", env=cli_env)
        assert up.returncode == 0, up.stderr
        yield Cluster(base, data_dir, cli_env, up, _parse_exports(up.stdout))
    finally:
        _run_cli("down", env=cli_env)
        shutil.rmtree(base, ignore_errors=True)


def test_throwaway_exports_a_random_password_once(fresh_cluster):
    password = fresh_cluster.password
    assert len(password) >= 24 and password != pg.DEFAULTS["PGPASSWORD"]
    assert fresh_cluster.exports["PGUSER"] == pg.THROWAWAY_USER
    lines = [line for line in fresh_cluster.up.stdout.splitlines() if password in line]
    assert lines == [f"export PGPASSWORD={shlex.quote(password)}"]
    assert password not in fresh_cluster.up.stderr


def test_throwaway_password_is_nowhere_but_its_file(fresh_cluster):
    password = fresh_cluster.password.encode()
    path = fresh_cluster.data_dir / pg.PASSWORD_FILE
    st = os.lstat(path)
    assert stat.S_ISREG(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == os.geteuid()
    assert path.read_bytes().strip() == password

    leaked = []
    for root, _dirs, files in os.walk(fresh_cluster.data_dir):
        for name in files:
            candidate = Path(root, name)
            if candidate == path or not stat.S_ISREG(os.lstat(candidate).st_mode):
                continue
            if password in candidate.read_bytes():
                leaked.append(str(candidate))
    assert leaked == []
    assert (fresh_cluster.data_dir / "server.log").is_file()

    leftovers = [p for folder in (fresh_cluster.base, Path(tempfile.gettempdir()))
                 for p in folder.glob(".jaffle_pg_pwfile-*")]
    assert leftovers == []


def test_throwaway_uses_scram_everywhere(fresh_cluster):
    rules = [line.split() for line in
             (fresh_cluster.data_dir / "pg_hba.conf").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert rules
    assert {rule[0] for rule in rules} >= {"local", "host"}
    assert {rule[-1] for rule in rules} == {"scram-sha-256"}


def test_throwaway_refuses_connections_without_password(fresh_cluster, monkeypatch):
    env = fresh_cluster.exports
    with pytest.raises(psycopg2.OperationalError, match="no password supplied"):
        _connect_without_password(monkeypatch, env).close()
    # The unix socket (in the data directory) asks for the password too.
    with pytest.raises(psycopg2.OperationalError, match="no password supplied"):
        _connect_without_password(monkeypatch, env, host=str(fresh_cluster.data_dir)).close()
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        _connect_without_password(monkeypatch, env, password="jaffle").close()
    conn = _connect_without_password(monkeypatch, env, password=fresh_cluster.password)
    conn.close()


def test_throwaway_data_dir_is_private(fresh_cluster):
    st = os.lstat(fresh_cluster.data_dir)
    assert stat.S_ISDIR(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o700
    assert st.st_uid == pg._server_user().pw_uid


def test_throwaway_restart_reuses_the_password(fresh_cluster):
    down = _run_cli("down", env=fresh_cluster.cli_env)
    assert down.returncode == 0, down.stderr
    assert "stopping" in down.stderr
    assert fresh_cluster.password not in down.stdout + down.stderr

    again = _run_cli("up", env=fresh_cluster.cli_env)
    assert again.returncode == 0, again.stderr
    assert "starting throwaway server" in again.stderr
    assert "initialising" not in again.stderr
    assert fresh_cluster.password not in again.stderr
    assert _parse_exports(again.stdout) == fresh_cluster.exports


# --------------------------------------------------------------------------- #
# The data directory
# --------------------------------------------------------------------------- #
def test_default_dir_is_per_user_and_private(tmp_path, monkeypatch):
    monkeypatch.delenv("JAFFLE_PG_DIR", raising=False)
    name = f"jaffle_activity_pg-{os.geteuid()}"
    assert pg.default_dir().name == name
    assert pg.throwaway_dir() == pg.default_dir()

    monkeypatch.setattr(pg, "DEFAULT_PARENT", str(tmp_path))
    data_dir = pg.throwaway_dir()
    assert data_dir == tmp_path / name
    old_umask = os.umask(0)
    try:
        pg.prepare_data_dir(data_dir)
    finally:
        os.umask(old_umask)
    st = os.lstat(data_dir)
    assert stat.S_ISDIR(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o700
    assert st.st_uid == pg._server_user().pw_uid


def test_symlinked_data_dir_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    before = os.lstat(real)
    with pytest.raises(RuntimeError, match="symbolic link") as excinfo:
        pg.prepare_data_dir(link)
    assert str(link) in str(excinfo.value)
    after = os.lstat(real)
    assert (after.st_uid, after.st_mode) == (before.st_uid, before.st_mode)
    assert list(real.iterdir()) == []


def test_cli_up_refuses_symlinked_data_dir(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    proc = _run_cli("up", env=_cli_env(tmp_path, link))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert str(link) in proc.stderr and "symbolic link" in proc.stderr
    assert list(real.iterdir()) == []


def test_symlinked_parent_is_refused(tmp_path):
    real_parent = tmp_path / "real_parent"
    real_parent.mkdir(mode=0o700)
    link_parent = tmp_path / "link_parent"
    link_parent.symlink_to(real_parent)
    with pytest.raises(RuntimeError, match="symbolic link") as excinfo:
        pg.prepare_data_dir(link_parent / "pgdata")
    assert str(link_parent) in str(excinfo.value)
    assert list(real_parent.iterdir()) == []


def test_parent_writable_by_others_needs_the_sticky_bit(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(RuntimeError, match="writable by other users") as excinfo:
        pg.prepare_data_dir(shared / "pgdata")
    assert str(shared) in str(excinfo.value)
    assert not (shared / "pgdata").exists()

    shared.chmod(0o1777)
    pg.prepare_data_dir(shared / "pgdata")
    assert stat.S_IMODE(os.lstat(shared / "pgdata").st_mode) == 0o700


def test_symlinked_lock_file_is_refused(tmp_path):
    target = tmp_path / "target"
    (tmp_path / ".pgdata.lock").symlink_to(target)
    with pytest.raises(RuntimeError, match="lock file") as excinfo:
        with pg._cluster_lock(tmp_path / "pgdata"):
            pass
    assert ".pgdata.lock" in str(excinfo.value)
    assert not target.exists()


def _directories_of_other_users(tmp_path: Path) -> list[Path]:
    """Directories owned by a user other than the server's: made here as
    root (owned by nobody and by root); otherwise /tmp, which root owns."""
    if os.geteuid() != 0:
        return [Path(os.path.realpath(tempfile.gettempdir()))]
    made = []
    for owner in ("nobody", "root"):
        user = pwd.getpwnam(owner)
        data_dir = tmp_path / f"pgdata_{owner}"
        data_dir.mkdir(mode=0o755)
        os.chown(data_dir, user.pw_uid, user.pw_gid)
        made.append(data_dir)
    return made


def test_data_dir_of_another_user_is_refused_not_chowned(tmp_path):
    for data_dir in _directories_of_other_users(tmp_path):
        before = os.lstat(data_dir)
        assert before.st_uid != pg._server_user().pw_uid
        with pytest.raises(RuntimeError, match="owned by") as excinfo:
            pg.prepare_data_dir(data_dir)
        assert str(data_dir) in str(excinfo.value)
        after = os.lstat(data_dir)
        assert (after.st_uid, after.st_mode) == (before.st_uid, before.st_mode)


def test_cluster_without_password_file_is_refused(tmp_path):
    server = pg._server_user()
    data_dir = tmp_path / "old_cluster"
    data_dir.mkdir(mode=0o700)
    (data_dir / "PG_VERSION").write_text("15\n")
    os.chown(data_dir, server.pw_uid, server.pw_gid)
    proc = _run_cli("up", env=_cli_env(tmp_path, data_dir))
    assert proc.returncode == 1
    assert f"no {pg.PASSWORD_FILE}" in proc.stderr and str(data_dir) in proc.stderr
