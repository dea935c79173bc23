"""Extract: the raw files equal the source, one consistent snapshot, nothing complete on failure."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid

import psycopg
import pytest
from psycopg import sql

from loader.errors import SourceError
from loader.extract import extract
from loader.run_folder import RunFolder
from loader.source_contract import load_contract, type_family


def quiet(_line: str) -> None:
    """Discard echo output."""


def expected_value(value, v1_type: str):
    """INTERFACES §1 representation, computed independently from psycopg's Python values."""
    family = type_family(v1_type)
    if value is None:
        return None
    if family == "json":
        return value  # selected as ::text below: the JSON text exactly as stored
    if family == "array":
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, (dt.date, dt.time, uuid.UUID, decimal.Decimal)):
        return str(value)
    return value


def source_rows(dsn: str, table) -> list[dict]:
    schema, name = table.v1_qualified("users").split(".")
    columns = sql.SQL(", ").join(
        sql.SQL("{}::text").format(sql.Identifier(c.name)) if type_family(c.v1_type) == "json" else sql.Identifier(c.name)
        for c in table.columns)
    query = sql.SQL("SELECT {} FROM {} ORDER BY id").format(columns, sql.Identifier(schema, name))
    with psycopg.connect(dsn) as conn:
        conn.execute("SET TIME ZONE 'America/Los_Angeles'")  # the extract must not depend on it
        return [{c.name: expected_value(v, c.v1_type) for c, v in zip(table.columns, row)}
                for row in conn.execute(query)]


def raw_rows(folder: RunFolder, table: str) -> list[dict]:
    return [json.loads(line) for line in folder.path("raw", f"{table}.jsonl").read_text().splitlines()]


def test_extract_equals_source_and_manifest_is_complete(dirty_snapshot):
    folder, dsn = dirty_snapshot.folder, dirty_snapshot.source_dsn
    step = folder.read_manifest()["steps"]["extract"]
    assert step["status"] == "complete" and step["tool_version"] and step["source"]["server_version"].startswith("15")
    assert step["snapshot_time"].endswith("Z")
    for table in load_contract():
        entry = step["tables"][table.name]
        path = folder.path(entry["file"])
        data = path.read_bytes()
        assert entry["complete"] and entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert path.stat().st_mode & 0o777 == 0o600
        assert [c["name"] for c in entry["columns"]] == [c.name for c in table.columns]
        rows = raw_rows(folder, table.name)
        assert entry["rows"] == len(rows) == len(source_rows(dsn, table))
        assert [list(r) for r in rows[:1]] == [[c.name for c in table.columns]][: len(rows)]  # key order
        assert rows == source_rows(dsn, table), table.name
    assert not list(folder.raw_dir.glob(".*"))  # no temp files left
    password = psycopg.conninfo.conninfo_to_dict(dsn)["password"].encode()
    written = [path for path in folder.root.rglob("*") if path.is_file()]
    assert folder.path("manifest.json") in written and folder.path("state.json") in written
    assert [path.name for path in written if password in path.read_bytes()] == []


def test_never_extracted_columns_are_not_in_the_snapshot(dirty_snapshot):
    raw = b"".join(p.read_bytes() for p in dirty_snapshot.folder.raw_dir.glob("*.jsonl"))
    assert b"$2a$10$" not in raw and b"encrypted_password" not in raw  # auth.users.encrypted_password
    assert b"gAAAAAB" not in raw and b"ya29." not in raw and b"google_refresh_token" not in raw
    with psycopg.connect(dirty_snapshot.source_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM auth.users WHERE encrypted_password LIKE '$2a$10$%'").fetchone()[0]


def test_same_source_extracts_byte_identical(dirty_snapshot, tmp_path):
    again = RunFolder.create(tmp_path, "again")
    result = extract(again, dirty_snapshot.source_dsn, echo=quiet)
    first = dirty_snapshot.folder.read_manifest()["steps"]["extract"]["tables"]
    assert {t: e["sha256"] for t, e in result["tables"].items()} == {t: e["sha256"] for t, e in first.items()}


def test_values_follow_the_raw_representation(dirty_snapshot):
    folder = dirty_snapshot.folder
    case = next(r for r in raw_rows(folder, "cases") if r["pwd_wage_amount"] == "25000000.00")
    assert isinstance(case["is_favorite"], bool) and isinstance(case["recruitment_applicants_count"], int)
    assert case["tags"] == "[]" and isinstance(case["additional_recruitment_methods"], str)
    assert len(case["created_at"]) == 26 and case["created_at"][10] == " "
    setting = next(r for r in raw_rows(folder, "user_settings") if r["reminder_days_before"] == "[0,-1,400,7,7]")
    assert setting["quiet_hours_start"] == "22:00:30"
    doubled = [r for r in raw_rows(folder, "cases") if r["rfi_list"] and r["rfi_list"].startswith('"')]
    assert doubled and json.loads(json.loads(doubled[0]["rfi_list"]))[0]["title"] == "DOL RFI"


def test_absent_optional_table_and_column_and_alias(source_database, tmp_path):
    dsn, _ = source_database(seed=6, n_users=3, n_cases=30)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE public.case_rfe")
        conn.execute("ALTER TABLE public.cases DROP COLUMN soc_title")
        conn.execute("ALTER TABLE public.cases RENAME COLUMN eta9089_filing_date TO eta_9089_filing_date")
        filed = {str(r[0]): str(r[1]) for r in conn.execute(
            "SELECT id, eta_9089_filing_date FROM public.cases WHERE eta_9089_filing_date IS NOT NULL")}
    folder = RunFolder.create(tmp_path, "variants")
    result = extract(folder, dsn, echo=quiet)
    assert result["tables"]["case_rfe"]["rows"] == 0 and not result["tables"]["case_rfe"]["present"]
    assert folder.path("raw", "case_rfe.jsonl").read_bytes() == b""
    rows = raw_rows(folder, "cases")
    assert all(r["soc_title"] is None for r in rows)
    assert filed and {r["id"]: r["eta9089_filing_date"] for r in rows if r["eta9089_filing_date"]} == filed
    assert any("eta_9089_filing_date read as eta9089_filing_date" in n for n in result["notes"])


def test_concurrent_writer_does_not_break_the_snapshot(source_database, tmp_path):
    """Rows committed between two tables' reads are in neither: all tables see one snapshot."""
    dsn, generated = source_database(seed=7, n_users=5, n_cases=120)
    assert generated.counts["public.case_rfi"] > 0
    new_auth, new_app, new_case = (str(uuid.uuid4()) for _ in range(3))

    def writer(table: str) -> None:
        if table != "auth_users":
            return
        with psycopg.connect(dsn, autocommit=True) as other:
            other.execute("INSERT INTO auth.users (id, email, created_at) VALUES (%s, 'late@example.com', now())", [new_auth])
            other.execute("INSERT INTO public.users (id, auth_user_id, email) VALUES (%s, %s, 'late@example.com')",
                          [new_app, new_auth])
            other.execute("INSERT INTO public.cases (id, user_id, employer_name, position_title) "
                          "VALUES (%s, %s, 'Late LLC', 'Dev')", [new_case, new_app])
            other.execute("DELETE FROM public.case_rfi")

    folder = RunFolder.create(tmp_path, "consistent")
    result = extract(folder, dsn, echo=quiet, after_table=writer)
    with psycopg.connect(dsn) as conn:  # the writes really committed during the extract
        assert conn.execute("SELECT count(*) FROM public.cases WHERE id = %s", [new_case]).fetchone()[0] == 1
        rfi_now = conn.execute("SELECT count(*) FROM public.case_rfi").fetchone()[0]
    assert rfi_now == 0 and result["tables"]["case_rfi"]["rows"] == generated.counts["public.case_rfi"]
    assert new_app not in {r["id"] for r in raw_rows(folder, "app_users")}
    assert new_case not in {r["id"] for r in raw_rows(folder, "cases")}


def test_lost_connection_leaves_nothing_that_looks_complete(source_database, tmp_path):
    dsn, _ = source_database(seed=9, n_users=4, n_cases=10)

    def kill_extract_backend(table: str) -> None:
        if table != "app_users":
            return
        with psycopg.connect(dsn, autocommit=True) as other:
            killed = other.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
            ).fetchall()
        assert killed == [(True,)]

    folder = RunFolder.create(tmp_path, "lost")
    with pytest.raises(SourceError, match=r"extract failed while reading public\.user_settings"):
        extract(folder, dsn, echo=quiet, after_table=kill_extract_backend)
    assert list(folder.raw_dir.iterdir()) == []
    step = folder.read_manifest()["steps"]["extract"]
    assert step["status"] == "failed" and "tables" not in step
    password = psycopg.conninfo.conninfo_to_dict(dsn)["password"]
    assert password not in json.dumps(step)


def test_timestamp_without_time_zone_is_read_as_utc(fresh_database, tmp_path):
    from perm_rehearsal.demo_data import generate

    dsn = fresh_database("naive")
    generate(dsn, n_users=2, n_cases=5, seed=3, variants=("naive-timestamps",))
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT data_type FROM information_schema.columns WHERE table_schema = 'public' "
                            "AND table_name = 'cases' AND column_name = 'created_at'").fetchone() == (
            "timestamp without time zone",)
        conn.execute("SET TIME ZONE 'Asia/Kolkata'")
        stored = {str(i): c.strftime("%Y-%m-%d %H:%M:%S.%f") for i, c in conn.execute("SELECT id, created_at FROM public.cases")}
    folder = RunFolder.create(tmp_path, "naive")
    extract(folder, dsn, echo=quiet)
    assert {r["id"]: r["created_at"] for r in raw_rows(folder, "cases")} == stored
