"""The synthetic v1 generator: determinism, realism of clean data, dirty coverage per DQ id."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from perm_rehearsal.demo_data.realistic import BASE_DATE, pwd_expiration
from loader.reference_schema import reference_columns
from loader.errors import ConfigError

# MAPPING_SPEC §4.3 ids that concern source rows (DQ-10 is run level, DQ-30 target side).
SOURCE_DATA_DQ_IDS = {f"DQ-{n:02d}" for n in range(1, 33)} - {"DQ-10", "DQ-19", "DQ-30"} | {"DQ-19a", "DQ-19b", "DQ-19c"}
PERM_MIGRATE = str(Path(sys.executable).with_name("perm-migrate"))


def dump(dsn: str, app_table: str = "users") -> dict[str, list[tuple]]:
    """Every reference table's rows as text, ordered by id."""
    out = {}
    with psycopg.connect(dsn) as conn:
        for qualified in reference_columns(app_table):
            schema, table = qualified.split(".")
            query = sql.SQL("SELECT t::text FROM {} AS t ORDER BY id").format(sql.Identifier(schema, table))
            out[qualified] = [r[0] for r in conn.execute(query)]
    return out


def test_same_seed_gives_identical_rows_and_another_seed_differs(source_database):
    first, result = source_database(seed=42, n_users=8, n_cases=30, dirty=True)
    second, again = source_database(seed=42, n_users=8, n_cases=30, dirty=True)
    other, _ = source_database(seed=43, n_users=8, n_cases=30, dirty=True)
    rows = dump(first)
    assert rows == dump(second)
    assert result.injected == again.injected
    assert rows["public.cases"] != dump(other)["public.cases"]
    assert len(rows["public.cases"]) == result.counts["public.cases"]


def test_clean_data_is_realistic_and_consistent(source_database):
    dsn, result = source_database(seed=5, n_users=20, n_cases=300)
    assert result.injected == {}
    with psycopg.connect(dsn) as conn:
        statuses = {r[0] for r in conn.execute("SELECT DISTINCT case_status FROM public.cases")}
        assert {"PWD", "Recruitment", "ETA 9089 Filed", "I-140 Approved", "Closed"} <= statuses
        stages = conn.execute("""
            SELECT count(*) FILTER (WHERE pwd_determination_date IS NOT NULL),
                   count(*) FILTER (WHERE job_order_start_date IS NOT NULL),
                   count(*) FILTER (WHERE eta9089_certification_date IS NOT NULL),
                   count(*) FILTER (WHERE i140_approval_date IS NOT NULL),
                   count(*) FILTER (WHERE rfi_received_date IS NOT NULL OR rfi_list <> '[]'::jsonb),
                   count(*) FILTER (WHERE rfe_received_date IS NOT NULL OR rfe_list <> '[]'::jsonb)
            FROM public.cases""").fetchone()
        assert all(n > 0 for n in stages), stages
        assert conn.execute("SELECT count(*) FROM public.case_rfi").fetchone()[0] > 0
        ads = conn.execute("SELECT sunday_ad_first_date, sunday_ad_second_date FROM public.cases "
                           "WHERE sunday_ad_first_date IS NOT NULL").fetchall()
        assert ads and all(a.weekday() == 6 and b == a + dt.timedelta(days=7) for a, b in ads)
        for determination, expiration in conn.execute(
                "SELECT pwd_determination_date, pwd_expiration_date FROM public.cases "
                "WHERE pwd_determination_date IS NOT NULL"):
            assert expiration == pwd_expiration(determination)
        happened = ("pwd_filing_date", "pwd_determination_date", "eta9089_filing_date",
                    "eta9089_certification_date", "i140_filing_date", "i140_approval_date")
        latest = conn.execute(sql.SQL("SELECT max(greatest({})) FROM public.cases").format(
            sql.SQL(", ").join(map(sql.Identifier, happened)))).fetchone()[0]
        assert latest <= BASE_DATE
        rfi = conn.execute("SELECT received_date, response_due_date FROM public.case_rfi").fetchall()
        assert all(due == received + dt.timedelta(days=30) for received, due in rfi)
        firm_members = conn.execute("SELECT count(*) FROM public.users m JOIN public.users a ON a.id = m.firm_id "
                                    "WHERE a.user_type = 'firm_admin'").fetchone()[0]
        assert firm_members > 0


def test_constraints_arrive_not_valid_after_the_data(source_database):
    dsn, _ = source_database(seed=1, n_users=3, n_cases=5, dirty=True)
    with psycopg.connect(dsn) as conn:
        kinds = conn.execute("""
            SELECT contype, bool_and(NOT convalidated), count(*) FROM pg_constraint c
            JOIN pg_namespace n ON n.oid = c.connamespace
            WHERE n.nspname IN ('auth', 'public') AND contype IN ('f', 'c') GROUP BY contype""").fetchall()
        assert {k: (not_valid, n) for k, not_valid, n in kinds} == {"f": (True, 8), "c": (True, 5)}
        orphans = conn.execute("SELECT count(*) FROM public.cases c LEFT JOIN public.users u ON u.id = c.user_id "
                               "WHERE u.id IS NULL").fetchone()[0]
        assert orphans > 0  # dirty rows violate the FK, which is only possible because it is NOT VALID


def test_dirty_data_covers_every_source_dq_id_with_existing_rows(dirty_snapshot):
    injected = dirty_snapshot.injected
    assert set(injected) == SOURCE_DATA_DQ_IDS
    with psycopg.connect(dirty_snapshot.source_dsn) as conn:
        for dq, items in injected.items():
            assert items, dq
            for item in items:
                schema, table = item["table"].split(".")
                assert item["field"] in reference_columns()[item["table"]], (dq, item)
                found = conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE id = %s").format(
                    sql.Identifier(schema, table)), [item["v1_id"]]).fetchone()[0]
                assert found == 1, (dq, item)


def test_dirty_scenarios_hold_the_problems_they_claim(dirty_snapshot):
    injected = dirty_snapshot.injected

    def ids(dq, field):
        return [i["v1_id"] for i in injected[dq] if i["field"] == field]

    with psycopg.connect(dirty_snapshot.source_dsn) as conn:
        emails = conn.execute("SELECT email FROM public.users WHERE id = ANY(%s::uuid[])",
                              [ids("DQ-01", "email")]).fetchall()
        assert len({e[0] for e in emails}) == 2 and len({e[0].strip().lower() for e in emails}) == 1
        ad = conn.execute("SELECT sunday_ad_first_date FROM public.cases WHERE id = %s",
                          ids("DQ-17", "sunday_ad_first_date")).fetchone()[0]
        assert ad.weekday() != 6
        notes = conn.execute("SELECT length(notes) FROM public.cases WHERE id = %s", ids("DQ-27", "notes")).fetchone()[0]
        assert 900 * 1024 < notes <= 1024 * 1024
        methods = conn.execute("SELECT jsonb_typeof(additional_recruitment_methods) FROM public.cases WHERE id = ANY(%s::uuid[])",
                               [ids("DQ-22", "additional_recruitment_methods")]).fetchall()
        assert methods == [("string",)]  # double-encoded: a JSON string holding the array
        for form in ("case_rfi", "rfi_list", "legacy_columns", "case_rfe", "rfe_list",
                     "method_shape_a", "method_shape_b", "method_shape_c"):
            assert dirty_snapshot.generation.storage_forms[form], form


def test_perm_users_variant(source_database):
    dsn, result = source_database(seed=2, n_users=4, n_cases=6, app_table="perm_users")
    assert result.counts["public.perm_users"] == 4
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT to_regclass('public.users')").fetchone()[0] is None
        fk = conn.execute("SELECT confrelid::regclass::text FROM pg_constraint WHERE conname = 'cases_user_id_fkey'").fetchone()
        assert fk == ("perm_users",)


def test_cli_writes_injection_report_and_refuses_to_overwrite(fresh_database, tmp_path):
    dsn = fresh_database("cli_demo")
    report = tmp_path / "injected.json"
    cmd = [PERM_MIGRATE, "demo-data", "--users", "3", "--cases", "4", "--dirty",
           "--report", str(report)]
    env = {**os.environ, "SUPABASE_DB_URL": dsn}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert set(json.loads(report.read_text())) == SOURCE_DATA_DQ_IDS
    assert report.stat().st_mode & 0o777 == 0o600
    summary = json.loads(report.with_suffix(".summary.json").read_text())
    assert summary["rows"]["public.cases"] > 4 and "DQ-21" in summary["needs_variant_schema"]
    password = dsn.split(":")[2].split("@")[0]
    assert password not in done.stdout + done.stderr
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and "--replace" in again.stderr and "Traceback" not in again.stderr


@pytest.mark.slow
def test_large_generation_is_feasible(fresh_database):
    """20,000 users / 1,000,000 cases in minutes with constant memory (make test-slow).

    Measured as this process's CPU time, so a busy machine does not make it flaky.
    """
    import resource
    import time

    from perm_rehearsal.demo_data import generate

    start = time.process_time()
    result = generate(fresh_database("large"), n_users=20_000, n_cases=1_000_000, seed=9)
    assert result.counts["public.cases"] == 1_000_000
    assert time.process_time() - start < 600
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 1_000_000  # KiB: under 1 GiB

def test_variant_schema_holds_text_dates_and_text_wages(fresh_database, tmp_path):
    from perm_rehearsal.demo_data import generate
    from loader.extract import extract
    from loader.run_folder import RunFolder

    dsn = fresh_database("variant")
    result = generate(dsn, n_users=3, n_cases=10, seed=4, dirty=True, variants=("text-dates", "text-wage"))
    text_dates = [i for i in result.injected["DQ-16"] if i["detail"].startswith("text date")]
    wages = {i["detail"] for i in result.injected["DQ-21"]}
    assert len(text_dates) == 5 and "3 decimals (text)" in wages
    with psycopg.connect(dsn) as conn:
        types = dict(conn.execute("SELECT column_name, data_type FROM information_schema.columns "
                                  "WHERE table_schema = 'public' AND table_name = 'cases'").fetchall())
    assert types["pwd_filing_date"] == types["pwd_wage_amount"] == "text" and "date" not in types.values()
    folder = RunFolder.create(tmp_path, "variant")
    extracted = extract(folder, dsn, echo=lambda _line: None)
    columns = {c["name"]: c["raw_type"] for c in extracted["tables"]["cases"]["columns"]}
    assert columns["pwd_filing_date"] == columns["pwd_wage_amount"] == "varchar"
    rows = {r["id"]: r for r in map(json.loads, folder.path("raw", "cases.jsonl").read_text().splitlines())}
    assert {rows[i["v1_id"]][i["field"]] for i in text_dates} == {
        "0000-00-00", "2024-02-30", "", "2024-11-10T23:30:00-05:00", "03/15/2025"}
    assert "$85,000" in {r["pwd_wage_amount"] for r in rows.values()}
    with pytest.raises(ConfigError, match="choose one"):
        generate(fresh_database("variant_clash"), n_users=1, n_cases=1, variants=("text-wage", "unscaled-wage"))
