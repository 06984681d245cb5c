"""Guarantee a reachable PostgreSQL server for the dbt ``postgres`` target and tests.

Usage as a CLI (progress goes to stderr, only ``export`` lines go to stdout)::

    eval "$(python -m tools.pg up)"   # or: python -m tools.pg env
    python -m tools.pg down           # stop the throwaway cluster, if running

Usage as a module::

    from tools.pg import ensure_postgres, create_database, drop_database
    env = ensure_postgres()           # {"PGHOST": ..., "PGPORT": ..., ...}

Resolution order of :func:`ensure_postgres`:

1. A server answering with the libpq settings PGHOST/PGPORT/PGUSER/PGPASSWORD/
   PGDATABASE (defaults: 127.0.0.1, 5432, jaffle, jaffle, jaffle_activity, the
   same as docker-compose.yml). If the database is missing it is created.
2. Otherwise a throwaway cluster in ``$JAFFLE_PG_DIR`` (default
   ``/tmp/jaffle_activity_pg``) on ``127.0.0.1:$JAFFLE_PG_PORT`` (default 55432),
   initialised/started on demand (as the ``postgres`` OS user when running as
   root) and reused when already running.

Only the standard library and psycopg2 are used.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import psycopg2
from psycopg2 import errors as pg_errors
from psycopg2 import sql

REPO_ROOT = Path(__file__).resolve().parents[1]
PG_BIN_CANDIDATES = ("/usr/lib/postgresql/15/bin",)
ENV_KEYS = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")
DEFAULTS = {
    "PGHOST": "127.0.0.1",
    "PGPORT": "5432",
    "PGUSER": "jaffle",
    "PGPASSWORD": "jaffle",
    "PGDATABASE": "jaffle_activity",
}
DEFAULT_DIR = "/tmp/jaffle_activity_pg"
DEFAULT_PORT = 55432
THROWAWAY_USER = "jaffle"
THROWAWAY_PASSWORD = "jaffle"
THROWAWAY_DB = "jaffle_activity"
SERVER_OS_USER = "postgres"
CONNECT_TIMEOUT = 3  # seconds; libpq treats anything below 2 as 2


def _log(msg: str) -> None:
    print(f"[tools.pg] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- #
# Settings
# --------------------------------------------------------------------------- #
def configured_env() -> dict[str, str]:
    """The libpq settings from the environment, with the project defaults."""
    return {k: (os.environ.get(k) or DEFAULTS[k]) for k in ENV_KEYS}


def throwaway_dir() -> Path:
    path = Path(os.environ.get("JAFFLE_PG_DIR") or DEFAULT_DIR).expanduser().resolve()
    if path == REPO_ROOT or REPO_ROOT in path.parents:
        raise RuntimeError(
            f"JAFFLE_PG_DIR={path} is inside the repository {REPO_ROOT}; the "
            f"'{SERVER_OS_USER}' OS user may not be able to traverse it. "
            "Use a directory outside the repo (default: /tmp/jaffle_activity_pg)."
        )
    return path


def throwaway_port() -> int:
    raw = os.environ.get("JAFFLE_PG_PORT") or str(DEFAULT_PORT)
    try:
        port = int(raw)
    except ValueError:
        raise RuntimeError(f"JAFFLE_PG_PORT must be an integer, got {raw!r}") from None
    if not 0 < port < 65536:
        raise RuntimeError(f"JAFFLE_PG_PORT out of range: {port}")
    return port


def _connect(env: dict[str, str], dbname: str | None = None, **extra):
    return psycopg2.connect(
        host=env["PGHOST"],
        port=int(env["PGPORT"]),
        user=env["PGUSER"],
        password=env["PGPASSWORD"],
        dbname=dbname or env["PGDATABASE"],
        connect_timeout=CONNECT_TIMEOUT,
        **extra,
    )


# --------------------------------------------------------------------------- #
# Database helpers
# --------------------------------------------------------------------------- #
def _database_exists(cur, name: str) -> bool:
    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
    return cur.fetchone() is not None


def _maintenance_db(env: dict[str, str], name: str) -> str:
    """A database to connect to while creating/dropping ``name``."""
    return "postgres" if env["PGDATABASE"] == name else env["PGDATABASE"]


def create_database(env: dict[str, str], name: str, *, owner: str | None = None,
                    exist_ok: bool = False) -> dict[str, str]:
    """Create database ``name`` on the server described by ``env``.

    Returns a copy of ``env`` with PGDATABASE set to ``name``.
    """
    conn = _connect(env, _maintenance_db(env, name))
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            if exist_ok and _database_exists(cur, name):
                pass
            else:
                stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
                if owner:
                    stmt += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
                try:
                    cur.execute(stmt)
                except pg_errors.DuplicateDatabase:
                    if not exist_ok:
                        raise
    finally:
        conn.close()
    return {**env, "PGDATABASE": name}


def drop_database(env: dict[str, str], name: str) -> None:
    """Drop database ``name`` (if it exists), terminating open connections."""
    conn = _connect(env, _maintenance_db(env, name))
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    finally:
        conn.close()


# --------------------------------------------------------------------------- #
# Step 1: an already configured server
# --------------------------------------------------------------------------- #
def _try_configured(env: dict[str, str]) -> bool:
    """True if the configured server answers and the database exists (creating it)."""
    try:
        conn = _connect(env)
    except psycopg2.OperationalError as exc:
        if f'database "{env["PGDATABASE"]}" does not exist' not in str(exc):
            reason = " ".join(str(exc).split()) or repr(exc)
            _log(f"no usable server at {env['PGHOST']}:{env['PGPORT']} ({reason})")
            return False
        # Server answers but the database is missing: create it via `postgres`.
        try:
            create_database(env, env["PGDATABASE"], exist_ok=True)
        except psycopg2.Error as exc2:
            _log(f"server at {env['PGHOST']}:{env['PGPORT']} answers but database "
                 f"{env['PGDATABASE']!r} could not be created: {str(exc2).strip()}")
            return False
        _log(f"created database {env['PGDATABASE']!r} on {env['PGHOST']}:{env['PGPORT']}")
        return True
    else:
        conn.close()
        return True


# --------------------------------------------------------------------------- #
# Step 2: the throwaway cluster
# --------------------------------------------------------------------------- #
def _pg_bin(name: str) -> str:
    for d in PG_BIN_CANDIDATES:
        candidate = os.path.join(d, name)
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    if found:
        return found
    raise RuntimeError(f"PostgreSQL binary {name!r} not found (looked in "
                       f"{', '.join(PG_BIN_CANDIDATES)} and PATH)")


def _is_root() -> bool:
    return os.geteuid() == 0


def _server_user() -> pwd.struct_passwd:
    if _is_root():
        try:
            return pwd.getpwnam(SERVER_OS_USER)
        except KeyError:
            raise RuntimeError(f"running as root but OS user {SERVER_OS_USER!r} does not exist") from None
    return pwd.getpwuid(os.geteuid())


def _run_as_server_user(args: list[str], check: bool = True) -> subprocess.CompletedProcess:
    cmd = (["runuser", "-u", SERVER_OS_USER, "--"] + args) if _is_root() else list(args)
    # Keep libpq variables from leaking into pg_ctl/initdb; run from "/" so the
    # postgres user never needs access to the caller's working directory.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.setdefault("PATH", "/usr/bin:/bin")
    proc = subprocess.run(cmd, cwd="/", env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"command failed (exit {proc.returncode}): {shlex.join(cmd)}\n"
                           f"{proc.stdout.strip()}")
    return proc


def _log_tail(data_dir: Path, lines: int = 40) -> str:
    log = data_dir / "server.log"
    try:
        text = log.read_text(errors="replace")
    except OSError as exc:
        return f"(server log {log} unreadable: {exc})"
    tail = "\n".join(text.splitlines()[-lines:])
    return f"--- last {lines} lines of {log} ---\n{tail}"


def _fail(msg: str, data_dir: Path) -> RuntimeError:
    return RuntimeError(f"{msg}\n{_log_tail(data_dir)}")


@contextlib.contextmanager
def _cluster_lock(data_dir: Path) -> Iterator[None]:
    """Serialise concurrent callers (e.g. parallel test workers) on one cluster."""
    lock_path = data_dir.parent / f".{data_dir.name}.lock"
    with open(lock_path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _has_cluster(data_dir: Path) -> bool:
    return (data_dir / "PG_VERSION").is_file()


def _server_running(data_dir: Path) -> bool:
    """``pg_ctl status``: 0 = running, 3 = not running, 4 = no accessible data dir."""
    proc = _run_as_server_user([_pg_bin("pg_ctl"), "status", "-D", str(data_dir)], check=False)
    if proc.returncode == 0:
        return True
    if proc.returncode == 3:
        return False
    raise _fail(f"pg_ctl status failed (exit {proc.returncode}) for {data_dir}: "
                f"{proc.stdout.strip()}", data_dir)


def _running_port(data_dir: Path) -> int | None:
    """The port recorded in postmaster.pid (4th line), if readable."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
        return int(lines[3])
    except (OSError, IndexError, ValueError):
        return None


def _prepare_dir(data_dir: Path) -> None:
    user = _server_user()
    if not data_dir.exists():
        data_dir.mkdir(mode=0o700, parents=True)
    if _is_root():
        st = data_dir.stat()
        if st.st_uid != user.pw_uid:
            if _has_cluster(data_dir):
                for root, dirs, files in os.walk(data_dir):
                    for name in dirs + files:
                        os.lchown(os.path.join(root, name), user.pw_uid, user.pw_gid)
            os.chown(data_dir, user.pw_uid, user.pw_gid)
    if not _has_cluster(data_dir):
        data_dir.chmod(0o700)


def _init_cluster(data_dir: Path) -> None:
    if any(data_dir.iterdir()):
        raise RuntimeError(
            f"{data_dir} is not empty but contains no PostgreSQL cluster (no PG_VERSION); "
            "remove it or point JAFFLE_PG_DIR elsewhere")
    _log(f"initialising cluster in {data_dir}")
    _run_as_server_user([
        _pg_bin("initdb"), "-D", str(data_dir), "--auth=trust",
        f"--username={SERVER_OS_USER}", "--encoding=UTF8", "--locale=C",
    ])


def _start_cluster(data_dir: Path, port: int) -> None:
    pid_file = data_dir / "postmaster.pid"
    if pid_file.exists():
        # pg_ctl status said no server runs, so the pid file is stale.
        _log(f"removing stale {pid_file}")
        pid_file.unlink()
    _log(f"starting throwaway server on 127.0.0.1:{port} (data: {data_dir})")
    opts = f"-p {port} -c listen_addresses=127.0.0.1 -k {shlex.quote(str(data_dir))}"
    proc = _run_as_server_user([
        _pg_bin("pg_ctl"), "-D", str(data_dir), "-l", str(data_dir / "server.log"),
        "-w", "-t", "60", "-o", opts, "start",
    ], check=False)
    if proc.returncode != 0:
        raise _fail(f"pg_ctl start failed (exit {proc.returncode}):\n{proc.stdout.strip()}",
                    data_dir)


def _admin_connect(port: int, data_dir: Path, wait: float = 30.0):
    deadline = time.monotonic() + wait
    while True:
        try:
            return psycopg2.connect(host="127.0.0.1", port=port, user=SERVER_OS_USER,
                                    dbname="postgres", connect_timeout=CONNECT_TIMEOUT)
        except psycopg2.OperationalError as exc:
            # e.g. "the database system is starting up"
            if time.monotonic() >= deadline:
                raise _fail(f"throwaway server on 127.0.0.1:{port} not reachable: "
                            f"{str(exc).strip()}", data_dir) from exc
            time.sleep(0.5)


def _provision(port: int, data_dir: Path) -> None:
    conn = _admin_connect(port, data_dir)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (THROWAWAY_USER,))
            if cur.fetchone() is None:
                try:
                    cur.execute(sql.SQL("CREATE ROLE {} LOGIN SUPERUSER PASSWORD %s")
                                .format(sql.Identifier(THROWAWAY_USER)), (THROWAWAY_PASSWORD,))
                    _log(f"created role {THROWAWAY_USER!r}")
                except pg_errors.DuplicateObject:
                    pass
            if not _database_exists(cur, THROWAWAY_DB):
                try:
                    cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(THROWAWAY_DB), sql.Identifier(THROWAWAY_USER)))
                    _log(f"created database {THROWAWAY_DB!r}")
                except pg_errors.DuplicateDatabase:
                    pass
    finally:
        conn.close()


def _throwaway_env(port: int) -> dict[str, str]:
    return {
        "PGHOST": "127.0.0.1",
        "PGPORT": str(port),
        "PGUSER": THROWAWAY_USER,
        "PGPASSWORD": THROWAWAY_PASSWORD,
        "PGDATABASE": THROWAWAY_DB,
    }


def _ensure_throwaway() -> dict[str, str]:
    data_dir = throwaway_dir()
    port = throwaway_port()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with _cluster_lock(data_dir):
        _prepare_dir(data_dir)
        if not _has_cluster(data_dir):
            _init_cluster(data_dir)
        if _server_running(data_dir):
            actual = _running_port(data_dir)
            if actual is not None and actual != port:
                _log(f"throwaway server in {data_dir} already runs on port {actual} "
                     f"(JAFFLE_PG_PORT={port}); reusing it")
                port = actual
            else:
                _log(f"reusing throwaway server on 127.0.0.1:{port}")
        else:
            _start_cluster(data_dir, port)
        _provision(port, data_dir)
    return _throwaway_env(port)


# --------------------------------------------------------------------------- #
# Public API
# --------------------------------------------------------------------------- #
def ensure_postgres() -> dict[str, str]:
    """Return PG* env vars of a reachable server where the database exists."""
    env = configured_env()
    if _try_configured(env):
        _log(f"using server at {env['PGHOST']}:{env['PGPORT']} "
             f"(user {env['PGUSER']}, database {env['PGDATABASE']})")
        return env
    env = _ensure_throwaway()
    # Final sanity check with the returned settings.
    try:
        _connect(env).close()
    except psycopg2.OperationalError as exc:
        raise _fail(f"throwaway server started but not reachable as {env['PGUSER']}: "
                    f"{str(exc).strip()}", throwaway_dir()) from exc
    return env


def stop_throwaway() -> bool:
    """Stop the throwaway cluster if it runs. Returns True if it was stopped."""
    data_dir = throwaway_dir()
    if not _has_cluster(data_dir):
        _log(f"no throwaway cluster in {data_dir}")
        return False
    with _cluster_lock(data_dir):
        if not _server_running(data_dir):
            _log("throwaway server is not running")
            return False
        _log(f"stopping throwaway server (data: {data_dir})")
        proc = _run_as_server_user(
            [_pg_bin("pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "-t", "60", "stop"],
            check=False)
        if proc.returncode != 0:
            raise _fail(f"pg_ctl stop failed (exit {proc.returncode}):\n{proc.stdout.strip()}",
                        data_dir)
        return True


def export_lines(env: dict[str, str]) -> str:
    return "".join(f"export {k}={shlex.quote(env[k])}\n" for k in ENV_KEYS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.pg",
        description="Ensure a reachable Postgres for the dbt postgres target.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="ensure a server; print export lines (eval \"$(python -m tools.pg up)\")")
    sub.add_parser("env", help="same as up")
    sub.add_parser("down", help="stop the throwaway cluster if it runs")
    args = parser.parse_args(argv)
    try:
        if args.command in ("up", "env"):
            sys.stdout.write(export_lines(ensure_postgres()))
            sys.stdout.flush()
        else:
            stop_throwaway()
    except RuntimeError as exc:
        _log(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
