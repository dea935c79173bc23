"""Shared pytest fixtures: one throwaway PostgreSQL server per session, generated v1 sources,
and a small dirty snapshot (extracted once) that tests stage into their own warehouses."""

from __future__ import annotations

import itertools
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from perm_rehearsal.demo_data import GenerationResult, generate
from loader.extract import extract
from loader.run_folder import RunFolder
from loader.stage import stage
from perm_rehearsal.throwaway_pg import PgCluster, throwaway_cluster

_db_counter = itertools.count(1)
_run_counter = itertools.count(1)

DIRTY_SNAPSHOT_SEED = 20260101
DIRTY_SNAPSHOT_USERS = 15
DIRTY_SNAPSHOT_CASES = 60


def _quiet(_line: str) -> None:
    """Swallow progress/notes lines from library calls in fixtures."""


@pytest.fixture(scope="session")
def pg_server() -> PgCluster:
    """A throwaway PostgreSQL cluster (127.0.0.1, scram auth), stopped at session end even on failure.

    Use `pg_server.dsn(dbname)`, `pg_server.env(dbname)` (PG* variables) and
    `pg_server.create_database(name)`; prefer the `fresh_database` factory for unique names.
    """
    with throwaway_cluster() as cluster:
        yield cluster


@pytest.fixture
def fresh_database(pg_server):
    """Factory: `fresh_database(prefix="t")` creates an empty uniquely named database, returns its DSN."""

    def create(prefix: str = "t") -> str:
        return pg_server.create_database(f"{prefix}_{next(_db_counter)}")

    return create


@pytest.fixture
def source_database(fresh_database):
    """Factory: a fresh database holding the reference v1 schema and generated rows.

    `source_database(seed=3, n_users=12, n_cases=40, dirty=False, app_table="users")`
    returns `(dsn, GenerationResult)`.
    """

    def create(seed: int = 3, n_users: int = 12, n_cases: int = 40, dirty: bool = False,
               app_table: str = "users") -> tuple[str, GenerationResult]:
        dsn = fresh_database("src")
        return dsn, generate(dsn, n_users=n_users, n_cases=n_cases, seed=seed, dirty=dirty, app_table=app_table)

    return create


@dataclass(frozen=True)
class DirtySnapshot:
    """A dirty generated source and its extracted raw snapshot (read-only: copy before changing)."""

    source_dsn: str
    folder: RunFolder
    generation: GenerationResult

    @property
    def injected(self) -> dict[str, list[dict]]:
        return self.generation.injected

    def copy_to(self, runs_dir: Path) -> RunFolder:
        """A new run folder under `runs_dir` holding a copy of the raw snapshot and its manifest."""
        run_id = f"snapshot-{next(_run_counter)}"
        root = runs_dir / run_id
        root.mkdir(parents=True, mode=0o700)
        shutil.copytree(self.folder.raw_dir, root / "raw")
        manifest = self.folder.read_manifest()
        manifest["run_id"] = run_id
        manifest["steps"] = {"extract": manifest["steps"]["extract"]}
        folder = RunFolder(root)
        folder.write_manifest(manifest)
        return folder


@pytest.fixture(scope="session")
def dirty_snapshot(pg_server, tmp_path_factory) -> DirtySnapshot:
    """One small dirty source (every source-data DQ scenario), extracted once per session."""
    dsn = pg_server.create_database("dirty_snapshot_source")
    generation = generate(dsn, n_users=DIRTY_SNAPSHOT_USERS, n_cases=DIRTY_SNAPSHOT_CASES,
                          seed=DIRTY_SNAPSHOT_SEED, dirty=True)
    folder = RunFolder.create(tmp_path_factory.mktemp("dirty_snapshot"), "dirty-snapshot")
    extract(folder, dsn, echo=_quiet)
    return DirtySnapshot(dsn, folder, generation)


@pytest.fixture
def staged_duckdb_run(dirty_snapshot, tmp_path) -> RunFolder:
    """A fresh run folder with the dirty snapshot staged into its own `warehouse.duckdb` (schema raw)."""
    folder = dirty_snapshot.copy_to(tmp_path / "runs")
    stage(folder, "duckdb", echo=_quiet)
    return folder


@pytest.fixture
def staged_postgres_run(dirty_snapshot, fresh_database, tmp_path) -> tuple[RunFolder, str]:
    """The dirty snapshot staged into a fresh Postgres database (schema raw); returns (folder, DSN)."""
    folder = dirty_snapshot.copy_to(tmp_path / "runs")
    dsn = fresh_database("wh")
    stage(folder, "postgres", warehouse_dsn=dsn, echo=_quiet)
    return folder, dsn
