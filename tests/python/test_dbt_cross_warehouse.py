"""The same dirty snapshot, plus the case-side dirty rows, built by dbt on DuckDB and on PostgreSQL
gives identical marts (every convex_* and dq_* table), row by row.

dbt runs `seed` + `run` in-process (data tests and unit tests are exercised by `dbt build` elsewhere):
this test is about the two warehouses agreeing, not about any single rule.

The PostgreSQL warehouse database defaults to session settings far from ISO/UTC (`HOSTILE_SETTINGS`):
the marts must not depend on them. (dbt-postgres's driver, psycopg2, resets DateStyle's output format to
ISO in its sessions, keeping the DMY input order; TimeZone and IntervalStyle reach the build as set.
test_dbt_postgres_session_settings.py runs the date macros under every DateStyle.)"""

from __future__ import annotations

import duckdb
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from cases_dirty_snapshot import insert_statements
from loader.run_folder import RunFolder
from loader.transform import run_dbt, run_settings

AS_OF = "2024-06-15T00:00:00Z"
MART_PREFIXES = ("convex_", "dq_")
PG_SCHEMA = "perm"
HOSTILE_SETTINGS = {"DateStyle": "SQL, DMY", "TimeZone": "America/New_York", "IntervalStyle": "sql_standard"}


def _canonical(rows: list[tuple]) -> list[tuple]:
    """Rows in a warehouse-independent order (NULLs first, then by the text of each value)."""
    return sorted(rows, key=lambda row: tuple((value is not None, str(value)) for value in row))


def _duckdb_marts(path) -> dict[str, tuple[list[str], list[tuple]]]:
    with duckdb.connect(str(path), read_only=True) as conn:
        names = [name for (name,) in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'main' order by 1").fetchall()
            if name.startswith(MART_PREFIXES)]
        marts = {}
        for name in names:
            result = conn.execute(f'select * from main."{name}"')
            marts[name] = ([column[0] for column in result.description], _canonical(result.fetchall()))
        return marts


def _postgres_marts(dsn: str) -> dict[str, tuple[list[str], list[tuple]]]:
    with psycopg.connect(dsn) as conn:
        names = [name for (name,) in conn.execute(
            "select table_name from information_schema.tables where table_schema = %s order by 1", (PG_SCHEMA,))
            if name.startswith(MART_PREFIXES)]
        marts = {}
        for name in names:
            cursor = conn.execute(f'select * from {PG_SCHEMA}."{name}"')
            marts[name] = ([column.name for column in cursor.description], _canonical(cursor.fetchall()))
        return marts


def _add_case_rows_duckdb(path) -> None:
    with duckdb.connect(str(path)) as conn:
        for statement in insert_statements():
            conn.execute(statement)


def _add_case_rows_postgres(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in insert_statements():
            conn.execute(statement)


def _set_database_defaults(dsn: str, settings: dict[str, str]) -> None:
    """Make `settings` the defaults of every later session on the DSN's database."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        database = conn.info.dbname
        for name, value in settings.items():
            conn.execute(sql.SQL("alter database {} set {} = {}").format(
                sql.Identifier(database), sql.Identifier(name), sql.Literal(value)))


def _build(folder: RunFolder, warehouse: str) -> None:
    settings = run_settings(folder, AS_OF, warehouse=warehouse)
    run_dbt(folder, settings, "seed")
    run_dbt(folder, settings, "run")


def test_duckdb_and_postgres_build_identical_marts(staged_duckdb_run, staged_postgres_run, pg_server, monkeypatch):
    duck = staged_duckdb_run
    pg_folder, pg_dsn = staged_postgres_run
    _add_case_rows_duckdb(duck.warehouse_path)
    _add_case_rows_postgres(pg_dsn)
    _set_database_defaults(pg_dsn, HOSTILE_SETTINGS)
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("select cast(date '2024-01-24' as text)").fetchone() == ("24/01/2024",)

    _build(duck, "duckdb")
    for name, value in pg_server.env(conninfo_to_dict(pg_dsn)["dbname"]).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PERM_PG_SCHEMA", PG_SCHEMA)
    _build(pg_folder, "postgres")

    duck_marts = _duckdb_marts(duck.warehouse_path)
    pg_marts = _postgres_marts(pg_dsn)
    assert sorted(duck_marts) == sorted(pg_marts)
    assert {"convex_cases", "dq_document_reupload", "dq_v2_validation_failures"} <= set(duck_marts)
    assert duck_marts["convex_cases"][1], "convex_cases is empty: the snapshot exercised nothing"
    warning_columns, warning_rows = duck_marts["dq_warnings"]
    levels = {(row[warning_columns.index("dq_id")], row[warning_columns.index("level")]) for row in warning_rows}
    assert {("DQ-22", "info"), ("DQ-27", "info")} <= levels, "the normalisation findings were not exercised"
    for name in sorted(duck_marts):
        duck_columns, duck_rows = duck_marts[name]
        pg_columns, pg_rows = pg_marts[name]
        assert duck_columns == pg_columns, name
        assert len(duck_rows) == len(pg_rows), name
        for duck_row, pg_row in zip(duck_rows, pg_rows):
            assert duck_row == pg_row, f"{name}: {dict(zip(duck_columns, duck_row))} != {dict(zip(pg_columns, pg_row))}"
