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
   ``/tmp/jaffle_activity_pg-<uid>``, one per user, mode 0700) on
   ``127.0.0.1:$JAFFLE_PG_PORT`` (default 55432), initialised/started on demand
   (as the ``postgres`` OS user when running as root) and reused when already
   running.

The throwaway cluster uses password authentication (``scram-sha-256`` for
local and TCP connections). Its superuser ``jaffle`` gets a random password
when the cluster is initialised, kept in ``<data dir>/jaffle_password`` (mode
0600, owned by the caller) so that later runs on the same directory reuse it.
The password only leaves this module through the returned settings, i.e. the
``export PGPASSWORD=...`` line of ``up``; it is never logged.

The data directory must be a real directory (not a symbolic link) owned by the
user that runs the server, in a parent directory that is not a symbolic link
and that nobody else can rename entries of. A directory this module did not
create is never chowned.

Only the standard library and psycopg2 are used.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import os
import pwd
import secrets
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import psycopg2
from psycopg2 import errors as pg_errors
from psycopg2 import sql

REPO_ROOT = Path(__file__).resolve().parents[1]
# Debian and Ubuntu install each major version under its own folder; the
# newest one found wins (GitHub's ubuntu-24.04 runners carry 16).
PG_BIN_CANDIDATES = tuple(sorted(
    glob.glob("/usr/lib/postgresql/*/bin"),
    key=lambda path: int(path.split("/")[-2]) if path.split("/")[-2].isdigit() else 0,
    reverse=True,
)) or ("/usr/lib/postgresql/15/bin",)
ENV_KEYS = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")
DEFAULTS = {
    "PGHOST": "127.0.0.1",
    "PGPORT": "5432",
    "PGUSER": "jaffle",
    "PGPASSWORD": "jaffle",
    "PGDATABASE": "jaffle_activity",
}
DEFAULT_PARENT = "/tmp"
DEFAULT_NAME = "jaffle_activity_pg"
DEFAULT_PORT = 55432
THROWAWAY_USER = "jaffle"
THROWAWAY_DB = "jaffle_activity"
PASSWORD_FILE = "jaffle_password"
AUTH_METHOD = "scram-sha-256"
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


def default_dir() -> Path:
    """The per-user default data directory: ``/tmp/jaffle_activity_pg-<uid>``.

    ``/tmp`` (resolved once, for systems where it is a link such as macOS) is
    used rather than ``$XDG_RUNTIME_DIR``: the latter is private to its owner,
    so the ``postgres`` user could not reach a cluster there when running as
    root, and it is a small tmpfs.
    """
    return Path(os.path.realpath(DEFAULT_PARENT)) / f"{DEFAULT_NAME}-{os.geteuid()}"


def throwaway_dir() -> Path:
    """The throwaway cluster's data directory (``$JAFFLE_PG_DIR`` or the default).

    The path is made absolute but symbolic links are not resolved, so that
    :func:`prepare_data_dir` can refuse them.
    """
    raw = os.environ.get("JAFFLE_PG_DIR")
    path = Path(os.path.abspath(os.path.expanduser(raw))) if raw else default_dir()
    real = Path(os.path.realpath(path))
    if real == REPO_ROOT or REPO_ROOT in real.parents:
        raise RuntimeError(
            f"JAFFLE_PG_DIR={path} is inside the repository {REPO_ROOT}; the "
            f"'{SERVER_OS_USER}' OS user may not be able to traverse it. "
            f"Use a directory outside the repo (default: {default_dir()}).")
    return path


def throwaway_port() -> int:
    """The port of the throwaway cluster (``$JAFFLE_PG_PORT`` or 55432)."""
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
    """Path of a PostgreSQL server binary (``initdb``, ``pg_ctl``)."""
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
    """The OS user that runs the throwaway server: ``postgres`` as root, else the caller."""
    if _is_root():
        try:
            return pwd.getpwnam(SERVER_OS_USER)
        except KeyError:
            raise RuntimeError(f"running as root but OS user {SERVER_OS_USER!r} does not exist") from None
    return pwd.getpwuid(os.geteuid())


def _user_name(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


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
        fd = os.open(log, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, errors="replace") as fh:
            text = fh.read()
    except OSError as exc:
        return f"(server log {log} unreadable: {exc})"
    tail = "\n".join(text.splitlines()[-lines:])
    return f"--- last {lines} lines of {log} ---\n{tail}"


def _fail(msg: str, data_dir: Path) -> RuntimeError:
    return RuntimeError(f"{msg}\n{_log_tail(data_dir)}")


# -- the data directory and its parent ------------------------------------------
def _refuse(path: Path, problem: str) -> RuntimeError:
    return RuntimeError(
        f"refusing to use {path}: {problem}. Remove it, or set JAFFLE_PG_DIR to "
        "another directory.")


def _check_trusted_dir(path: Path) -> None:
    """Refuse ``path`` (a parent of the data directory) unless it is safe to work in.

    It must be a real directory (checked with ``lstat``, so a symbolic link is
    refused), owned by root, the caller or the server user, and not writable by
    others unless it has the sticky bit (like ``/tmp``), so that nobody else can
    swap the entries this module creates in it.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise _refuse(path, "the directory does not exist") from None
    if stat.S_ISLNK(st.st_mode):
        raise _refuse(path, "it is a symbolic link, not a directory "
                            f"(use the real path {os.path.realpath(path)} if you trust it)")
    if not stat.S_ISDIR(st.st_mode):
        raise _refuse(path, "it is not a directory")
    trusted = {0, os.geteuid(), _server_user().pw_uid}
    if st.st_uid not in trusted:
        raise _refuse(path, f"it is owned by {_user_name(st.st_uid)}, who could replace "
                            "the data directory in it")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not st.st_mode & stat.S_ISVTX:
        raise _refuse(path, f"it is writable by other users (mode {stat.filemode(st.st_mode)}) "
                            "without the sticky bit")


def _make_parents(data_dir: Path) -> None:
    """Create the missing ancestors of ``data_dir``, checking each one and the parent.

    New ancestors get mode 0711 when running as root (the server user must be
    able to traverse them), else 0700.
    """
    missing = []
    ancestor = data_dir.parent
    while not os.path.lexists(ancestor):
        missing.append(ancestor)
        ancestor = ancestor.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, 0o711 if _is_root() else 0o700)
        _check_trusted_dir(directory)
    _check_trusted_dir(data_dir.parent)


def _lstat_data_dir(data_dir: Path) -> os.stat_result | None:
    """``lstat`` of the data directory; None if absent; refuses anything but a directory."""
    try:
        st = os.lstat(data_dir)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        raise _refuse(data_dir, "it is a symbolic link; the data directory must be a real "
                                "directory")
    if not stat.S_ISDIR(st.st_mode):
        raise _refuse(data_dir, "it is not a directory")
    return st


@contextlib.contextmanager
def _open_dir(path: Path, expected: os.stat_result) -> Iterator[int]:
    """An fd on the directory ``path`` without following links, checked to be ``expected``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise _refuse(path, f"it cannot be opened as a directory ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (expected.st_dev, expected.st_ino):
            raise _refuse(path, "it was replaced while being checked")
        yield fd
    finally:
        os.close(fd)


def prepare_data_dir(data_dir: Path) -> None:
    """Make ``data_dir`` a private directory owned by the server user, or refuse.

    A missing directory is created with mode 0700 (and, as root, handed to the
    server user through its file descriptor, never through a path that could
    be a link). An existing one must be a real directory already owned by the
    server user; it is never chowned. An existing one without a cluster is
    narrowed to mode 0700.
    """
    server = _server_user()
    _make_parents(data_dir)
    created = False
    try:
        os.mkdir(data_dir, 0o700)
        created = True
    except FileExistsError:
        pass
    st = _lstat_data_dir(data_dir)
    if st is None:
        raise _refuse(data_dir, "it disappeared while being created")
    with _open_dir(data_dir, st) as fd:
        if created and st.st_uid != server.pw_uid:
            os.fchown(fd, server.pw_uid, server.pw_gid)
        elif st.st_uid != server.pw_uid:
            raise _refuse(data_dir, f"it is owned by {_user_name(st.st_uid)}, not by "
                                    f"{_user_name(server.pw_uid)} who runs the server")
        if not _has_cluster(data_dir) and stat.S_IMODE(st.st_mode) != 0o700:
            os.fchmod(fd, 0o700)


def _check_data_dir(data_dir: Path) -> bool:
    """For ``down``: True if ``data_dir`` exists and passes the checks of :func:`prepare_data_dir`."""
    st = _lstat_data_dir(data_dir)
    if st is None:
        return False
    _check_trusted_dir(data_dir.parent)
    if st.st_uid != _server_user().pw_uid:
        raise _refuse(data_dir, f"it is owned by {_user_name(st.st_uid)}, not by "
                                f"{_user_name(_server_user().pw_uid)} who runs the server")
    return True


@contextlib.contextmanager
def _cluster_lock(data_dir: Path) -> Iterator[None]:
    """Serialise concurrent callers (e.g. parallel test workers) on one cluster.

    The lock file sits next to the data directory (``initdb`` wants the latter
    empty); it is opened without following links and must be the caller's.
    """
    lock_path = data_dir.parent / f".{data_dir.name}.lock"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise _refuse(lock_path, f"the lock file cannot be opened ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            raise _refuse(lock_path, f"the lock file is not a regular file of "
                                     f"{_user_name(os.geteuid())}")
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# -- the password ---------------------------------------------------------------
def _write_secret_file(path: Path, password: str) -> None:
    """Create ``path`` (mode 0600, must not exist yet) holding ``password``."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password + "\n")


def _read_password(data_dir: Path) -> str:
    """The superuser password kept in the cluster's data directory."""
    path = data_dir / PASSWORD_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise RuntimeError(
            f"{data_dir} holds a PostgreSQL cluster but no {PASSWORD_FILE} (it was made "
            "without password authentication, e.g. by an older tools.pg). Stop it with "
            f"`JAFFLE_PG_DIR={shlex.quote(str(data_dir))} python -m tools.pg down`, then "
            "remove the directory, or set JAFFLE_PG_DIR to another directory.") from None
    except OSError as exc:
        raise _refuse(path, f"the password file cannot be opened ({exc.strerror})") from None
    with os.fdopen(fd) as fh:
        st = os.fstat(fh.fileno())
        if (not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid()
                or st.st_mode & 0o077):
            raise _refuse(path, "the password file must be a regular file of "
                                f"{_user_name(os.geteuid())} with mode 0600")
        password = fh.readline().strip()
    if not password:
        raise _refuse(path, "the password file is empty")
    return password


@contextlib.contextmanager
def _initdb_pwfile(data_dir: Path, password: str) -> Iterator[str]:
    """A temporary 0600 file holding ``password``, readable by the server user only.

    As root it is created next to the data directory (the server user can
    reach that directory) and handed to the server user by descriptor; it is
    removed afterwards.
    """
    server = _server_user()
    where = str(data_dir.parent) if _is_root() else None
    fd, path = tempfile.mkstemp(prefix=".jaffle_pg_pwfile-", dir=where)
    try:
        with os.fdopen(fd, "w") as fh:
            if _is_root():
                os.fchown(fh.fileno(), server.pw_uid, server.pw_gid)
            fh.write(password + "\n")
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


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


def _init_cluster(data_dir: Path) -> str:
    """``initdb`` a password-protected cluster in ``data_dir``; returns the password."""
    if any(data_dir.iterdir()):
        raise RuntimeError(
            f"{data_dir} is not empty but contains no PostgreSQL cluster (no PG_VERSION); "
            "remove it or point JAFFLE_PG_DIR elsewhere")
    _log(f"initialising cluster in {data_dir} ({AUTH_METHOD} authentication)")
    password = secrets.token_urlsafe(24)
    with _initdb_pwfile(data_dir, password) as pwfile:
        cmd = [
            _pg_bin("initdb"), "-D", str(data_dir), f"--auth={AUTH_METHOD}",
            f"--username={THROWAWAY_USER}", f"--pwfile={pwfile}",
            "--encoding=UTF8", "--locale=C",
        ]
        proc = _run_as_server_user(cmd, check=False)
    if proc.returncode != 0:
        output = proc.stdout.replace(password, "[password]").strip()
        raise RuntimeError(f"initdb failed (exit {proc.returncode}) for {data_dir}:\n{output}")
    _write_secret_file(data_dir / PASSWORD_FILE, password)
    return password


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
        raise _fail(f"pg_ctl start failed (exit {proc.returncode}) on port {port} "
                    f"(JAFFLE_PG_PORT):\n{proc.stdout.strip()}", data_dir)


def _admin_connect(port: int, password: str, data_dir: Path, wait: float = 30.0):
    deadline = time.monotonic() + wait
    while True:
        try:
            return psycopg2.connect(host="127.0.0.1", port=port, user=THROWAWAY_USER,
                                    password=password, dbname="postgres",
                                    connect_timeout=CONNECT_TIMEOUT)
        except psycopg2.OperationalError as exc:
            # e.g. "the database system is starting up"
            if time.monotonic() >= deadline:
                raise _fail(f"throwaway server on 127.0.0.1:{port} not reachable: "
                            f"{str(exc).strip()}", data_dir) from exc
            time.sleep(0.5)


def _provision(port: int, password: str, data_dir: Path) -> None:
    """Create the project database (the superuser is made by ``initdb``)."""
    conn = _admin_connect(port, password, data_dir)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            if not _database_exists(cur, THROWAWAY_DB):
                try:
                    cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(THROWAWAY_DB), sql.Identifier(THROWAWAY_USER)))
                    _log(f"created database {THROWAWAY_DB!r}")
                except pg_errors.DuplicateDatabase:
                    pass
    finally:
        conn.close()


def _throwaway_env(port: int, password: str) -> dict[str, str]:
    return {
        "PGHOST": "127.0.0.1",
        "PGPORT": str(port),
        "PGUSER": THROWAWAY_USER,
        "PGPASSWORD": password,
        "PGDATABASE": THROWAWAY_DB,
    }


def _ensure_throwaway() -> dict[str, str]:
    data_dir = throwaway_dir()
    port = throwaway_port()
    _make_parents(data_dir)
    with _cluster_lock(data_dir):
        prepare_data_dir(data_dir)
        if _has_cluster(data_dir):
            password = _read_password(data_dir)
        else:
            password = _init_cluster(data_dir)
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
        _provision(port, password, data_dir)
    return _throwaway_env(port, password)


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
    if not _check_data_dir(data_dir) or not _has_cluster(data_dir):
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
    """``export KEY=value`` lines for a POSIX shell, one per libpq setting."""
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
