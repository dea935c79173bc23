"""The throwaway PostgreSQL cluster: usable while open, stopped and removed on exit, also on failure."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from loader.throwaway_pg import throwaway_cluster


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
