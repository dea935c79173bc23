"""The date and timestamp macros on PostgreSQL (MAPPING_SPEC §3.1) give the same values whatever the
session's DateStyle, TimeZone and IntervalStyle.

PostgreSQL's own text output of a DATE or TIMESTAMP follows DateStyle. dbt-postgres happens to run on
psycopg2, which forces an ISO DateStyle on its sessions, so the full builds of
test_dbt_cross_warehouse.py cannot show a macro that reads that text. Here real dbt compiles the
macros for the Postgres target and the compiled SQL runs on sessions that keep the settings given."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from loader.transform import release_duckdb

REPO = Path(__file__).resolve().parents[2]

INLINE_QUERY = """
select
    {{ parse_date('typed_date') }} as typed_date,
    {{ parse_date('early_date') }} as early_date,
    {{ parse_date('evening_timestamp') }} as timestamp_date,
    {{ parse_date('text_date') }} as text_date,
    {{ parse_date('slash_text') }} as slash_text,
    {{ stored_text('early_date') }} as early_date_text,
    {{ epoch_ms('typed_timestamp') }} as typed_ms,
    {{ epoch_ms('pre_epoch_timestamp') }} as pre_epoch_ms,
    {{ epoch_ms('text_timestamp') }} as text_ms,
    {{ epoch_ms('infinite_text') }} as infinite_ms
from (values (
    date '2024-01-24', date '1985-03-01', timestamp '2024-03-01 23:30:00', cast('2024-02-29' as varchar),
    cast('24/01/2024' as varchar), timestamp '2024-01-24 10:11:12.345678', timestamp '1969-12-31 23:59:59.9995',
    cast('2024-01-24 10:11:12.345678' as varchar), cast('infinity' as varchar)
)) as source_values (typed_date, early_date, evening_timestamp, text_date, slash_text, typed_timestamp,
                     pre_epoch_timestamp, text_timestamp, infinite_text)
"""

EXPECTED = {
    "typed_date": "2024-01-24",
    "early_date": None,  # out of the 1990-2100 range
    "timestamp_date": "2024-03-01",
    "text_date": "2024-02-29",
    "slash_text": None,  # no v1_text_date_format: the order is never guessed
    "early_date_text": "1985-03-01",
    "typed_ms": 1706091072345,
    "pre_epoch_ms": -1,  # floor(-500 µs / 1000)
    "text_ms": 1706091072345,
    "infinite_ms": None,
}

SESSION_SETTINGS = [
    {"DateStyle": "ISO, MDY", "TimeZone": "UTC", "IntervalStyle": "postgres"},
    {"DateStyle": "SQL, DMY", "TimeZone": "America/New_York", "IntervalStyle": "sql_standard"},
    {"DateStyle": "German, DMY", "TimeZone": "Asia/Kolkata", "IntervalStyle": "postgres_verbose"},
    {"DateStyle": "Postgres, MDY", "TimeZone": "Pacific/Chatham", "IntervalStyle": "iso_8601"},
]


@pytest.fixture(scope="module")
def compiled_query(pg_server, tmp_path_factory) -> tuple[str, str]:
    """(DSN of a fresh warehouse database, INLINE_QUERY compiled by dbt for the Postgres target)."""
    from dbt.cli.main import dbtRunner

    dbname = pg_server.create_database("wh_session_settings").rsplit("/", 1)[1]
    work = tmp_path_factory.mktemp("dbt_session_settings")
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in pg_server.env(dbname).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("PERM_PG_SCHEMA", "perm")
        try:
            result = dbtRunner().invoke([
                "compile", "--inline", INLINE_QUERY, "--project-dir", str(REPO), "--profiles-dir", str(REPO),
                "--target", "postgres", "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
                "--vars", json.dumps({"migration_as_of": "2024-06-15T00:00:00Z"}), "--quiet"])
        finally:
            release_duckdb()
    assert result.success, result.exception
    return pg_server.dsn(dbname), result.result.results[0].node.compiled_code


@pytest.mark.parametrize("settings", SESSION_SETTINGS, ids=lambda settings: settings["DateStyle"])
def test_date_and_timestamp_macros_ignore_session_settings(compiled_query, settings):
    dsn, compiled = compiled_query
    with psycopg.connect(dsn) as conn:
        for name, value in settings.items():
            conn.execute("select set_config(%s, %s, false)", (name, value))
        assert conn.execute("show DateStyle").fetchone() == (settings["DateStyle"],)
        cursor = conn.execute(compiled)
        row = dict(zip([column.name for column in cursor.description], cursor.fetchone()))
    assert row == EXPECTED
