"""Pathological sizes are data, not crashes (MAPPING_SPEC §4.3 DQ-27): every JSON/array source column
with 10,000 and with 100,000 elements, text columns near and over 1 MiB and 50 such rows in one table
go through a whole `run` with the default configuration (DuckDB memory limit 1GB) on a real
PostgreSQL source, on the DuckDB and on the PostgreSQL warehouse. A JSON value too large for v2 (an
array over 8,192 elements, over 921,600 bytes) quarantines its row in dbt before any model parses it;
a document over 900 KiB is quarantined by the export; each reject names table, legacy id and field.
What fits loads, conservation holds and verification passes.

The inputs are built in the source database with generate_series; one run per warehouse serves
every case."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg
import pytest

from perm_rehearsal.demo_data import generate
from resilience_support import EmulatorProcess, pipeline_env, run_cli
from source_support import loaded_case_ids

AS_OF = "2026-01-15T00:00:00Z"
MIB = 1 << 20
SIZES = (10_000, 100_000)
MANY_ROWS = 50  # cases with 10,000 tags each, in one table

# Element n (an integer expression) of each case column as a JSON value, in SQL.
CASE_ARRAY_ELEMENTS = {
    "tags": "'tag-' || n",
    "additional_recruitment_methods":
        "json_build_object('method', 'radio_ad', 'date', '2024-01-05', 'description', 'station ' || n)",
    "rfi_list": "json_build_object('title', 'RFI ' || n, 'received_date', '2024-01-10')",
    "rfe_list": "json_build_object('title', 'RFE ' || n, 'received_date', '2024-01-10')",
    "notes": "json_build_object('content', 'note ' || n)",
    "documents": "json_build_object('id', 'd' || n, 'name', 'doc ' || n, 'url', 'https://example.com/' || n)",
    "rfi_documents": "json_build_object('id', 'd' || n, 'name', 'doc ' || n, 'url', 'https://example.com/' || n)",
    "rfe_documents": "json_build_object('id', 'd' || n, 'name', 'doc ' || n, 'url', 'https://example.com/' || n)",
}
# Case text columns (made unbounded text first) and case_rfi.notes, near and over 1 MiB (app user text
# too): the document is over 900 KiB, which the export finds (these are no JSON the models would parse).
CASE_TEXT_COLUMNS = ("job_title", "recruitment_notes", "notes")
TEXT_BYTES = (MIB - 16, MIB + 16)


@dataclass(frozen=True)
class PathologicalSource:
    dsn: str
    quarantined_rows: dict[tuple[str, str], str]  # (v1 table, v1 id) → field: rejected by dbt before parsing
    oversized_documents: set[tuple[str, str]]  # (Convex table, legacy id) the export quarantines (over 900 KiB)
    loaded_cases: set[str]  # pathological cases that fit after mapping
    source_rows: dict[str, int]


def _array_sql(element: str, size: int) -> str:
    return f"(SELECT json_agg({element} ORDER BY n) FROM generate_series(1, {size}) AS n)"


def _make_pathological(dsn: str) -> PathologicalSource:
    """Write the pathological values into loaded rows of a generated source; return what to expect."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return _write_pathological(conn, dsn)


def _write_pathological(conn: psycopg.Connection, dsn: str) -> PathologicalSource:
    conn.execute("ALTER TABLE public.cases DROP CONSTRAINT IF EXISTS cases_case_status_check")  # NOT VALID
    conn.execute("ALTER TABLE public.cases ALTER COLUMN job_title TYPE text")
    wanted = (len(CASE_ARRAY_ELEMENTS) + 1) * len(SIZES) + len(CASE_TEXT_COLUMNS) * len(TEXT_BYTES) \
        + len(TEXT_BYTES) + MANY_ROWS
    cases = iter(loaded_case_ids(conn, wanted))
    quarantined: dict[tuple[str, str], str] = {}
    oversized_documents: set[tuple[str, str]] = set()
    for column, element in CASE_ARRAY_ELEMENTS.items():
        for size in SIZES:
            case_id = next(cases)
            if column == "tags":
                value = f"(SELECT array_agg({element} ORDER BY n) FROM generate_series(1, {size}) AS n)"
            elif column == "notes":
                value = f"{_array_sql(element, size)}::text"
            else:
                value = f"{_array_sql(element, size)}::jsonb"
            conn.execute(f"UPDATE public.cases SET {column} = {value} WHERE id = %s", [case_id])
            quarantined[("public.cases", case_id)] = column
    # Objects of event ids: 10,000 fit (not carried by default, §3.8.4), 100,000 are over 900 KiB of JSON.
    loaded_cases: set[str] = set()
    for size in SIZES:
        case_id = next(cases)
        conn.execute("UPDATE public.cases SET calendar_event_ids = (SELECT jsonb_object_agg('k' || n, 'e' || n) "
                     "FROM generate_series(1, %s) AS n) WHERE id = %s", [size, case_id])
        if size == SIZES[-1]:
            quarantined[("public.cases", case_id)] = "calendar_event_ids"
        else:
            loaded_cases.add(case_id)
    for column in CASE_TEXT_COLUMNS:
        for size in TEXT_BYTES:
            case_id = next(cases)
            conn.execute(f"UPDATE public.cases SET {column} = repeat('x', %s) WHERE id = %s", [size, case_id])
            oversized_documents.add(("cases", case_id))
    for size in TEXT_BYTES:
        case_id = next(cases)
        conn.execute("INSERT INTO public.case_rfi (case_id, title, received_date, notes, created_at) "
                     "VALUES (%s, 'Big', '2024-02-01', repeat('y', %s), '2024-02-01')", [case_id, size])
        oversized_documents.add(("cases", case_id))
    for _ in range(MANY_ROWS):
        case_id = next(cases)
        conn.execute(f"UPDATE public.cases SET tags = (SELECT array_agg('t' || n) FROM generate_series(1, {SIZES[0]}) "
                     "AS n) WHERE id = %s", [case_id])
        quarantined[("public.cases", case_id)] = "tags"

    settings, preferences = ([str(r[0]) for r in conn.execute(
        f"SELECT s.id FROM public.{table} s JOIN public.users u ON u.id = s.user_id "
        "WHERE u.deleted_at IS NULL ORDER BY s.id LIMIT %s", [len(SIZES)])] for table in ("user_settings", "user_preferences"))
    dismissed = ("json_build_object('case_id', gen_random_uuid(), 'deadline_type', 'pwd_expiration', "
                 "'dismissed_at', 1700000000000 + n)")
    for size, settings_id, preferences_id in zip(SIZES, settings, preferences, strict=True):
        # Days 1-365 repeated, dismissed items of unknown cases: both over 8,192 elements.
        conn.execute(f"UPDATE public.user_settings SET reminder_days_before = (SELECT array_agg(1 + n %% 365) "
                     f"FROM generate_series(1, {size}) AS n), dismissed_deadlines = {_array_sql(dismissed, size)}::jsonb "
                     "WHERE id = %s", [settings_id])
        conn.execute(f"UPDATE public.user_preferences SET dismissed_deadlines = {_array_sql(dismissed, size)}::jsonb "
                     "WHERE id = %s", [preferences_id])
        quarantined[("public.user_settings", settings_id)] = "reminder_days_before"
        quarantined[("public.user_preferences", preferences_id)] = "dismissed_deadlines"
    # App user text over 1 MiB: full_name is in the user's and the profile's document, company in the profile's.
    (name_user, name_email), (company_user, _) = conn.execute(
        "SELECT u.id::text, lower(trim(a.email)) FROM public.users u JOIN auth.users a ON a.id = u.auth_user_id "
        "WHERE u.deleted_at IS NULL ORDER BY u.id LIMIT 2").fetchall()
    conn.execute("UPDATE public.users SET full_name = repeat('n', %s) WHERE id = %s", [TEXT_BYTES[1], name_user])
    conn.execute("UPDATE public.users SET company = repeat('c', %s) WHERE id = %s", [TEXT_BYTES[0], company_user])
    oversized_documents |= {("users", name_email), ("userProfiles", name_user), ("userProfiles", company_user)}
    source_rows = {f"{schema}.{table}": conn.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()[0]
                   for schema, table in [("auth", "users"), ("public", "users"), ("public", "user_settings"),
                                         ("public", "user_preferences"), ("public", "cases"),
                                         ("public", "case_rfi"), ("public", "case_rfe")]}
    return PathologicalSource(dsn, quarantined, oversized_documents, loaded_cases, source_rows)


@pytest.fixture(scope="module")
def pathological_source(pg_server) -> PathologicalSource:
    dsn = pg_server.create_database("pathological_source")
    generate(dsn, n_users=8, n_cases=110, seed=41)
    return _make_pathological(dsn)


@dataclass(frozen=True)
class RunResult:
    folder: Path
    stdout: str
    stderr: str
    returncode: int
    warehouse_dsn: str | None

    def rows(self, query: str) -> list[tuple]:
        """Rows of a query on the run's warehouse (its dbt schema)."""
        if self.warehouse_dsn is None:
            with duckdb.connect(str(self.folder / "warehouse.duckdb"), read_only=True) as conn:
                return conn.execute(query).fetchall()
        with psycopg.connect(self.warehouse_dsn) as conn:
            conn.execute("SET search_path TO perm")
            return conn.execute(query).fetchall()

    def export_lines(self, name: str) -> list[dict]:
        path = self.folder / "export" / name
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def pathological_run(request, pathological_source, pg_server, tmp_path_factory) -> RunResult:
    """One whole `run` of the pathological source per warehouse, default settings, onto the emulator."""
    work = tmp_path_factory.mktemp(f"pathological_{request.param}")
    runs_dir = work / "runs"
    args = ["run", "--no-progress", "--migration-as-of", AS_OF]
    warehouse_dsn = None
    if request.param == "postgres":
        warehouse_dsn = pg_server.create_database(f"pathological_wh_{work.name}")
        args += ["--warehouse", "postgres", "--warehouse-url", warehouse_dsn]
    with EmulatorProcess(work / "emulator") as emulator:
        env = pipeline_env(pathological_source.dsn, emulator, runs_dir)
        env.pop("PERM_DUCKDB_MEMORY_LIMIT", None)  # the default limit
        done = run_cli(args, env, timeout=1200)
    folder = next(p.parent for p in runs_dir.glob("*/state.json"))
    return RunResult(folder, done.stdout, done.stderr, done.returncode, warehouse_dsn)


def test_the_run_completes_and_verifies(pathological_run):
    assert "Traceback" not in pathological_run.stderr, pathological_run.stderr[-3000:]
    assert pathological_run.returncode == 0, pathological_run.stderr[-3000:]
    assert "verification PASSED" in pathological_run.stdout


def test_json_too_large_for_v2_is_quarantined_by_dbt_under_dq27(pathological_run, pathological_source):
    rejects = {(table, v1_id): (dq_id, field, reason) for table, v1_id, dq_id, field, reason in pathological_run.rows(
        "select source_table, v1_id, dq_id, field, reason from dq_rejects")}
    for (table, v1_id), field in pathological_source.quarantined_rows.items():
        dq_id, rejected_field, reason = rejects[(table, v1_id)]
        assert (dq_id, rejected_field) == ("DQ-27", field), (table, v1_id, reason)
        assert reason.startswith(f"{table} {v1_id}: {field} ") and reason.endswith("; quarantined"), reason
        assert " elements, over the 8,192 of a v2 array" in reason or " bytes of JSON, over the 921,600" in reason


def test_documents_over_900_kib_are_quarantined_by_the_export(pathological_run, pathological_source):
    rejected = {(r["table"], r["legacy_id"]) for r in pathological_run.export_lines("rejects.jsonl")
                if r["dq_id"] == "DQ-27"}
    assert rejected == pathological_source.oversized_documents


def test_rows_that_fit_load_and_every_row_is_accounted_for(pathological_run, pathological_source):
    exported = {line["legacyId"] for line in pathological_run.export_lines("cases.jsonl")}
    assert pathological_source.loaded_cases <= exported
    quarantined = {v1_id for _, v1_id in pathological_source.quarantined_rows} | {
        legacy_id for table, legacy_id in pathological_source.oversized_documents if table == "cases"}
    assert not exported & quarantined
    balance = {table: (extracted, balanced) for table, extracted, balanced in pathological_run.rows(
        "select source_table, extracted, balanced from dq_reconciliation")}
    assert balance == {table: (count, True) for table, count in pathological_source.source_rows.items()}
