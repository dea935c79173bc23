"""How the loader opens a run's DuckDB warehouse: bounded memory that spills to disk, no progress bar.

The same `PERM_DUCKDB_MEMORY_LIMIT` (default 1GB) bounds dbt's connection (`profiles.yml`), so
every step's memory stays flat from a thousand rows to millions: beyond the limit DuckDB spills
to `<warehouse>.tmp` in the run folder instead of growing.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from loader.errors import ConfigError

MEMORY_LIMIT_ENV = "PERM_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "1GB"


def memory_limit() -> str:
    return os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT


def connect_duckdb(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open `path` with the memory limit and a spill directory next to it (`duckdb.Error` if it cannot)."""
    config = {"memory_limit": memory_limit(), "temp_directory": f"{path}.tmp",
              "preserve_insertion_order": False}  # as in profiles.yml: no step relies on physical order
    try:
        connection = duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.Error as exc:
        if MEMORY_LIMIT_ENV in os.environ and "memory" in str(exc).lower():
            raise ConfigError(f"{MEMORY_LIMIT_ENV}={memory_limit()!r} is not a DuckDB memory size "
                              "(e.g. 1GB, 512MB)") from None
        raise
    connection.execute("SET enable_progress_bar = false")
    return connection
