"""Source introspection against the contract, and one-line CLI errors (never a traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from loader.introspect import introspect
from loader.source_contract import load_contract

PERM_MIGRATE = str(Path(sys.executable).with_name("perm-migrate"))


def check(dsn: str, app_table: str = "users", explicit: bool = False):
    with psycopg.connect(dsn) as conn:
        return introspect(conn, app_table, explicit)


def alter(dsn: str, *statements: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def plan(report, table: str, column: str):
    return next(c for t in report.tables if t.name == table for c in t.columns if c.name == column)


@pytest.fixture
def source(source_database):
    return source_database(seed=8, n_users=3, n_cases=6)[0]


def test_reference_source_matches_without_notes(source):
    report = check(source)
    assert report.errors == [] and report.notes == []
    assert [t.name for t in report.tables] == [t.name for t in load_contract()]
    assert all(t.present for t in report.tables)


def test_missing_table_and_core_column_are_errors_naming_them(source):
    alter(source, "DROP TABLE public.user_preferences", "ALTER TABLE public.cases DROP COLUMN employer_name")
    report = check(source)
    assert report.errors == ["source table public.user_preferences is missing",
                             "table public.cases: core column employer_name is missing"]


def test_optional_column_and_table_absent_and_extra_column_are_notes(source):
    alter(source, "ALTER TABLE auth.users DROP COLUMN is_anonymous", "DROP TABLE public.case_rfe",
          "ALTER TABLE public.cases ADD COLUMN recruitment_end_date date")
    report = check(source)
    assert report.errors == []
    assert report.notes == [
        "table auth.users: optional column is_anonymous is absent; read as NULL",
        "table public.cases: extra columns not read: recruitment_end_date",
        "optional table public.case_rfe is absent: extracted as an empty table",
    ]
    assert plan(report, "auth_users", "is_anonymous").source_columns == ()


def test_aliases_are_read_under_the_canonical_name(source):
    alter(source, "ALTER TABLE public.cases RENAME COLUMN sunday_ad_first_date TO first_sunday_ad_date",
          "ALTER TABLE public.cases ADD COLUMN is_professional boolean")
    report = check(source)
    assert report.errors == []
    assert plan(report, "cases", "sunday_ad_first_date").source_columns == ("first_sunday_ad_date",)
    assert plan(report, "cases", "is_professional_occupation").source_columns == (
        "is_professional_occupation", "is_professional")
    assert "table public.cases: column first_sunday_ad_date read as sunday_ad_first_date" in report.notes


def test_other_type_family_is_staged_as_text(source):
    alter(source, "ALTER TABLE public.cases ALTER COLUMN pwd_filing_date TYPE text USING to_char(pwd_filing_date, 'MM/DD/YYYY')")
    report = check(source)
    column = plan(report, "cases", "pwd_filing_date")
    assert column.raw_type == "varchar" and plan(report, "cases", "pwd_determination_date").raw_type == "date"
    assert any("pwd_filing_date is text (reference date); staged as varchar" in n for n in report.notes)


def test_dq10_both_user_tables_with_rows_stop_unless_explicit(source_database):
    dsn, _ = source_database(seed=4, n_users=2, n_cases=2)
    alter(dsn, "CREATE TABLE public.perm_users (LIKE public.users INCLUDING ALL)",
          "INSERT INTO public.perm_users SELECT * FROM public.users")
    assert check(dsn).errors == ["DQ-10: public.users and public.perm_users both exist and hold rows; "
                                 "set v1_user_table explicitly to choose the app user table"]
    assert check(dsn, "users", explicit=True).errors == []
    assert check(dsn, "perm_users", explicit=True).errors == []
    alter(dsn, "TRUNCATE public.perm_users")
    assert check(dsn).errors == []


def test_dq10_configured_user_table_missing(source_database):
    dsn, _ = source_database(seed=4, n_users=2, n_cases=2, app_table="perm_users")
    assert check(dsn).errors == [
        "DQ-10: the app user table public.users (v1_user_table) does not exist "
        "(public.perm_users exists: set v1_user_table=perm_users)"]
    assert check(dsn, "perm_users").errors == []


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "SUPABASE_DB_URL"}
    return subprocess.run([PERM_MIGRATE, *args], env={**clean, **(env or {})}, capture_output=True,
                          text=True, timeout=120)


def assert_one_clear_line(done: subprocess.CompletedProcess, *expected: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for fragment in expected:
        assert fragment in lines[0], lines[0]


def test_cli_bad_dsn_is_one_line_exit_2():
    assert_one_clear_line(run_cli("check", "--source-url", "postgresql://u:pw@127.0.0.1:1/x"),
                          "cannot connect to the source database 127.0.0.1:1/x")
    assert_one_clear_line(run_cli("extract", "--source-url", "host=127.0.0.1 port=notaport ="), "malformed")


def test_cli_wrong_password_is_one_line_without_the_password(pg_server, source, tmp_path):
    wrong = source.replace(pg_server.password, "Wr0ngPassw0rd")
    done = run_cli("extract", env={"SUPABASE_DB_URL": wrong, "PERM_RUNS_DIR": str(tmp_path)})
    assert_one_clear_line(done, "password authentication failed")
    assert "Wr0ngPassw0rd" not in done.stderr + done.stdout


def test_cli_missing_table_is_one_line_and_no_source_is_a_config_error(pg_server, source, tmp_path):
    alter(source, "DROP TABLE public.cases CASCADE")
    dbname = source.rsplit("/", 1)[1]
    done = run_cli("check", env={**pg_server.env(dbname)})
    assert_one_clear_line(done, "source table public.cases is missing")
    done = run_cli("extract", env={"SUPABASE_DB_URL": source, "PERM_RUNS_DIR": str(tmp_path)})
    assert_one_clear_line(done, "source table public.cases is missing")
    assert not list(tmp_path.glob("*/raw/*.jsonl"))
    assert_one_clear_line(run_cli("check"), "no source database")


def test_cli_check_prints_notes_and_succeeds(source):
    alter(source, "DROP TABLE public.case_rfi")
    done = run_cli("check", "--source-url", source)
    assert done.returncode == 0, done.stderr
    assert "note: optional table public.case_rfi is absent" in done.stdout
    assert "matches the contract (7 of 8 tables present, 1 notes)" in done.stdout


def test_every_command_help_documents_options_and_environment():
    for command, needles in (("check", ("--source-url", "--v1-user-table", "SUPABASE_DB_URL", "PGPASSWORD")),
                             ("extract", ("--run-id", "--source-url", "SUPABASE_DB_URL", "PERM_RUNS_DIR")),
                             ("stage", ("--run-id", "--warehouse", "--warehouse-url", "PGHOST", "PERM_RUNS_DIR")),
                             ("demo-data", ("--users", "--cases", "--seed", "--dirty", "--app-table", "--replace",
                                            "--report", "SUPABASE_DB_URL"))):
        done = run_cli(command, "--help")
        assert done.returncode == 0
        for needle in needles:
            assert needle in done.stdout, (command, needle)


def test_source_dsn_precedence_flag_then_env_then_pg_variables(monkeypatch):
    from loader.errors import ConfigError
    from loader.source_config import resolve_source_dsn, resolve_warehouse_dsn

    for name in ("SUPABASE_DB_URL", "PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="no source database"):
        resolve_source_dsn(None)
    with pytest.raises(ConfigError, match="no Postgres warehouse"):
        resolve_warehouse_dsn(None)
    monkeypatch.setenv("PGHOST", "pg.internal")
    assert resolve_source_dsn(None) == "" and resolve_warehouse_dsn(None) == ""  # libpq reads PG*
    monkeypatch.setenv("SUPABASE_DB_URL", "postgresql://env@h/db")
    assert resolve_source_dsn(None) == "postgresql://env@h/db"
    assert resolve_source_dsn("postgresql://flag@h/db") == "postgresql://flag@h/db"
    assert resolve_warehouse_dsn("postgresql://wh@h/db") == "postgresql://wh@h/db"
