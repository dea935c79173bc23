"""Shared pytest fixtures: one throwaway PostgreSQL server for the whole session, fresh databases."""

from __future__ import annotations

import itertools

import pytest

from loader.throwaway_pg import PgCluster, throwaway_cluster

_db_counter = itertools.count(1)


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
