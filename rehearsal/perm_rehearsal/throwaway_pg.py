"""A throwaway PostgreSQL cluster in a temp dir on a free port (tests, demo, benchmark).

Uses the machine's `initdb`/`pg_ctl` (through `runuser -u postgres --` when running as root);
installs Debian's `postgresql` package if the binaries are missing. The cluster listens on
127.0.0.1 only, with password (scram) authentication, and is always stopped and removed when
the context manager exits, also on failure, and by a watchdog when the process is killed outright.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from loader.errors import MigrationError

SUPERUSER = "postgres"
_START_ATTEMPTS = 3


class ThrowawayPgError(MigrationError):
    """The throwaway PostgreSQL server could not be started."""


@dataclass(frozen=True)
class PgCluster:
    """Connection facts of a running throwaway cluster."""

    host: str
    port: int
    user: str
    password: str

    def dsn(self, dbname: str = "postgres", password: str | None = None) -> str:
        pw = self.password if password is None else password
        return f"postgresql://{self.user}:{pw}@{self.host}:{self.port}/{dbname}"

    def env(self, dbname: str = "postgres") -> dict[str, str]:
        """The PG* environment variables that point libpq (and dbt's profile) at `dbname`."""
        return {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": dbname,
        }

    def create_database(self, name: str) -> str:
        """Create an empty database and return its DSN."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.dsn(name)


def _pg_bin_dir() -> Path:
    """Directory holding initdb and pg_ctl; installs the Debian package when none is found."""
    for attempt in range(2):
        found = shutil.which("initdb")
        if found and shutil.which("pg_ctl"):
            return Path(os.path.realpath(found)).parent
        versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
        if versions:
            return Path(versions[0]).parent
        if attempt == 0:
            _install_postgresql()
    raise ThrowawayPgError("PostgreSQL server binaries (initdb, pg_ctl) not found and could not be installed")


def _install_postgresql() -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise ThrowawayPgError("initdb/pg_ctl not found; install the PostgreSQL server (e.g. apt-get install postgresql)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "postgresql"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise ThrowawayPgError(f"`{' '.join(cmd)}` failed: {done.stderr.strip().splitlines()[-1:]}")


def _as_server_user(cmd: list[str]) -> list[str]:
    """Run server binaries as `postgres` when we are root (PostgreSQL refuses to run as root)."""
    return ["runuser", "-u", SUPERUSER, "--", *cmd] if os.geteuid() == 0 else cmd


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(_as_server_user(cmd), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise ThrowawayPgError(f"{what} failed: {detail[-1] if detail else f'exit {done.returncode}'}")


def _watchdog(stop_cmd: list[str], root: Path) -> subprocess.Popen:
    """A detached shell that stops and deletes the cluster once this process is gone without cleaning
    up (SIGKILL, OOM kill): a test or benchmark killed hard leaves no server behind."""
    script = (f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 1; done; "
              f"{shlex.join(stop_cmd)} >/dev/null 2>&1; rm -rf {shlex.quote(str(root))}")
    return subprocess.Popen(["sh", "-c", script], start_new_session=True, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextlib.contextmanager
def throwaway_cluster(base_dir: str | None = None) -> Iterator[PgCluster]:
    """Start a fresh cluster; yield its connection facts; stop and delete it on exit."""
    bin_dir = _pg_bin_dir()
    root = Path(tempfile.mkdtemp(prefix="perm-pg-", dir=base_dir))
    data_dir, socket_dir = root / "data", root / "sock"
    password = secrets.token_urlsafe(18)
    stop_cmd = _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-m", "immediate", "-w", "stop"])
    started, watchdog = False, None
    try:
        socket_dir.mkdir()
        pwfile = root / "pwfile"
        pwfile.write_text(password + "\n")
        if os.geteuid() == 0:
            shutil.chown(root, SUPERUSER)
            shutil.chown(socket_dir, SUPERUSER)
            shutil.chown(pwfile, SUPERUSER)
        _run(
            [str(bin_dir / "initdb"), "-D", str(data_dir), "-U", SUPERUSER, "-E", "UTF8",
             "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256",
             f"--pwfile={pwfile}"],
            "initdb",
        )
        pwfile.unlink()
        for attempt in range(_START_ATTEMPTS):
            port = _free_port()
            options = (f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60 "
                       "-c shared_buffers=64MB")
            try:
                _run([str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-l", str(root / "server.log"),
                      "-o", options, "-w", "-t", "60", "start"], "pg_ctl start")
                started = True
                watchdog = _watchdog(stop_cmd, root)
                break
            except ThrowawayPgError as exc:
                if attempt == _START_ATTEMPTS - 1:
                    log = (root / "server.log").read_text(errors="replace").strip().splitlines()
                    raise ThrowawayPgError(f"{exc}; server log: {log[-1] if log else '(empty)'}") from None
        yield PgCluster(host="127.0.0.1", port=port, user=SUPERUSER, password=password)
    finally:
        if watchdog is not None:
            watchdog.kill()
            watchdog.wait()
        if started:
            subprocess.run(stop_cmd, capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
