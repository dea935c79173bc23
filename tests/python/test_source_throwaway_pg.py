"""The throwaway PostgreSQL cluster: usable while open, stopped and removed on exit, also on failure."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from perm_rehearsal.throwaway_pg import throwaway_cluster


def test_cluster_is_stopped_and_removed_even_when_the_body_fails(tmp_path):
    seen = {}
    with pytest.raises(RuntimeError, match="boom"):
        with throwaway_cluster() as cluster:
            with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
                seen["data_dir"] = Path(conn.execute("SHOW data_directory").fetchone()[0])
                assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
            dsn = cluster.create_database("scratch")
            with psycopg.connect(dsn) as conn:
                assert conn.execute("SELECT current_database()").fetchone()[0] == "scratch"
            with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
                psycopg.connect(cluster.dsn(password="wrong"), connect_timeout=5)
            raise RuntimeError("boom")
    assert not seen["data_dir"].exists() and not seen["data_dir"].parent.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn, connect_timeout=5)


def test_cluster_of_a_process_killed_with_sigkill_is_stopped_and_removed():
    """No context-manager exit runs on SIGKILL: the watchdog stops the server and deletes its folder."""
    import json
    import subprocess
    import sys
    import time

    child = subprocess.Popen(
        [sys.executable, "-c",
         "import json, os, signal, sys\n"
         "from perm_rehearsal.throwaway_pg import throwaway_cluster\n"
         "with throwaway_cluster() as pg:\n"
         "    print(json.dumps({'dsn': pg.dsn()}), flush=True)\n"
         "    sys.stdin.readline()\n"
         "    os.kill(os.getpid(), signal.SIGKILL)\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    dsn = json.loads(child.stdout.readline())["dsn"]
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        root = Path(conn.execute("SHOW data_directory").fetchone()[0]).parent
    assert root.name.startswith("perm-pg-") and root.is_dir()
    child.stdin.write("\n")
    child.stdin.flush()
    assert child.wait(timeout=30) == -9
    deadline = time.monotonic() + 30
    while root.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not root.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn, connect_timeout=5)
