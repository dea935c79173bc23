"""Data-quality findings on a real pipeline (extract → stage → dbt build), on DuckDB and on PostgreSQL:
timestamps PostgreSQL holds but no finite instant can express (`infinity`, `-infinity`, BC years; staged
as text) are DQ-16 findings that name table, legacy id, field and the original text (MAPPING_SPEC §3.1,
DQ-16/DQ-28); text the TEXT rule cleaned inside JSON items is DQ-27 info like text columns; JSON null
array elements dropped are DQ-22 info (DQ-22: a normalisation; only unknown shapes warn)."""

from __future__ import annotations

import duckdb
import psycopg
import pytest

from loader.extract import extract
from loader.run_folder import RunFolder
from loader.stage import stage
from loader.transform import run_dbt, run_settings
from source_support import loaded_case_ids, quiet

AS_OF = "2024-06-15T00:00:00Z"
COLUMNS = "dq_id, level, source_table, v1_id, target_field, original_value, message"


def _make_odd_rows(dsn: str) -> dict[str, str]:
    """Put non-finite timestamps, dirty JSON item text and null items into loaded rows; return their ids."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        cases = loaded_case_ids(conn, 3)
        app_user = str(conn.execute(
            "SELECT u.id FROM public.users u JOIN public.cases c ON c.user_id = u.id WHERE c.id = %s",
            [cases[0]]).fetchone()[0])
        conn.execute("ALTER TABLE public.cases DROP CONSTRAINT IF EXISTS cases_case_status_check")
        conn.execute("UPDATE public.cases SET created_at = 'infinity', updated_at = '-infinity' WHERE id = %s",
                     [cases[0]])
        conn.execute("UPDATE public.cases SET deleted_at = '0044-03-15 BC' WHERE id = %s", [cases[1]])
        conn.execute(
            "UPDATE public.cases SET notes = %s, rfi_list = %s::jsonb, additional_recruitment_methods = %s::jsonb "
            "WHERE id = %s",
            ['[{"content": " padded\\u0007 "}, {"content": "clean"}]',
             '[null, {"title": " T ", "received_date": "2024-01-10"}, 7]',
             '[null, {"method": "radio_ad", "date": "2024-01-01", "description": "KQED\\t "}]', cases[2]])
        rfi_row = str(conn.execute(
            "INSERT INTO public.case_rfi (case_id, title, received_date, created_at) "
            "VALUES (%s, %s, '2024-02-01', 'infinity') RETURNING id", [cases[2], "Row\x01 title"]).fetchone()[0])
        conn.execute("UPDATE public.users SET created_at = '-infinity' WHERE id = %s", [app_user])
        # Two accounts of one email (DQ-01): the greatest updated_at wins (§3.2 step 5). A BC value is no
        # instant (DQ-16, treated as missing), though as staged text '4000-01-01 ... BC' sorts above 2023.
        bc_user, dated_user = [str(r[0]) for r in conn.execute(
            "SELECT id FROM public.users WHERE deleted_at IS NULL AND id <> %s ORDER BY id LIMIT 2", [app_user])]
        email = conn.execute("SELECT email FROM public.users WHERE id = %s", [dated_user]).fetchone()[0]
        conn.execute("UPDATE public.users SET email = upper(%s), updated_at = '4000-01-01 BC' WHERE id = %s",
                     [email, bc_user])
        conn.execute("UPDATE auth.users SET email = upper(%s) "
                     "WHERE id = (SELECT auth_user_id FROM public.users WHERE id = %s)", [email, bc_user])
        conn.execute("UPDATE public.users SET updated_at = '2023-05-01' WHERE id = %s", [dated_user])
    return {"odd_times": cases[0], "deleted_bc": cases[1], "dirty_json": cases[2], "rfi_row": rfi_row,
            "app_user": app_user, "bc_user": bc_user, "dated_user": dated_user}


def _rows(warehouse: str, folder: RunFolder, dsn: str | None, sql: str) -> list[tuple]:
    if warehouse == "duckdb":
        with duckdb.connect(str(folder.warehouse_path), read_only=True) as conn:
            return conn.execute(sql).fetchall()
    with psycopg.connect(dsn) as conn:
        conn.execute("SET search_path TO perm")
        return conn.execute(sql).fetchall()


@pytest.mark.parametrize("warehouse", ["duckdb", "postgres"])
def test_odd_timestamps_json_item_text_and_null_items_are_reported(warehouse, source_database, fresh_database,
                                                                    tmp_path):
    source_dsn, _ = source_database(seed=17, n_users=3, n_cases=8)
    ids = _make_odd_rows(source_dsn)
    folder = RunFolder.create(tmp_path, f"dq-{warehouse}")
    extract(folder, source_dsn, echo=quiet)
    warehouse_dsn = fresh_database("wh_dq") if warehouse == "postgres" else None
    stage(folder, warehouse, warehouse_dsn=warehouse_dsn, echo=quiet)
    run_dbt(folder, run_settings(folder, AS_OF, warehouse=warehouse), "build", warehouse_dsn=warehouse_dsn)

    def findings(v1_id: str) -> set[tuple]:
        return set(_rows(warehouse, folder, warehouse_dsn,
                         f"select {COLUMNS} from dq_warnings where v1_id = '{v1_id}'"))

    odd, dirty = ids["odd_times"], ids["dirty_json"]
    assert {
        ("DQ-16", "warning", "public.cases", odd, "createdAt", "infinity",
         f"public.cases {odd}: created_at is not a finite timestamp; treated as missing, migration_as_of used (DQ-28)"),
        ("DQ-16", "warning", "public.cases", odd, "updatedAt", "-infinity",
         f"public.cases {odd}: updated_at is not a finite timestamp; treated as missing, createdAt used (DQ-28)"),
    } <= findings(odd)
    app = ids["app_user"]
    assert ("DQ-16", "warning", "public.users", app, "createdAt", "-infinity",
            f"public.users {app}: created_at -infinity is not a finite timestamp; treated as missing") in findings(app)
    row = ids["rfi_row"]
    assert findings(row) == {
        ("DQ-16", "warning", "public.case_rfi", row, "rfiEntries", "infinity",
         f"public.case_rfi {row}: v1-rfi-{row}: created_at is not a finite timestamp; the case createdAt used"),
        ("DQ-27", "info", "public.case_rfi", row, "title", None,
         f"public.case_rfi {row}: control characters or surrounding whitespace removed from title"),
    }
    prefix = f"public.cases {dirty}: "
    assert {
        ("DQ-27", "info", "public.cases", dirty, "notes", None,
         prefix + "control characters or surrounding whitespace removed from notes item 1 content"),
        ("DQ-27", "info", "public.cases", dirty, "rfiEntries", None,
         prefix + "control characters or surrounding whitespace removed from rfi_list item 2 title"),
        ("DQ-27", "info", "public.cases", dirty, "additionalRecruitmentMethods", None,
         prefix + "control characters or surrounding whitespace removed from additional_recruitment_methods item 2 "
                  "description"),
        ("DQ-22", "info", "public.cases", dirty, "rfiEntries", f"v1-rfi-{dirty}-1",
         prefix + f"v1-rfi-{dirty}-1: list item is null; dropped"),
        ("DQ-22", "warning", "public.cases", dirty, "rfiEntries", f"v1-rfi-{dirty}-3",
         prefix + f"v1-rfi-{dirty}-3: list item is not an object; dropped"),
        ("DQ-22", "info", "public.cases", dirty, "additionalRecruitmentMethods", "1",
         prefix + "method item 1 is null; dropped"),
    } <= findings(dirty)

    notes, methods = _rows(warehouse, folder, warehouse_dsn,
                           f"""select "notes", "additionalRecruitmentMethods" from convex_cases where "legacyId" = '{dirty}'""")[0]
    assert '"content":"padded"' in notes.replace(" ", "") and '"description":"KQED"' in methods.replace(" ", "")
    assert _rows(warehouse, folder, warehouse_dsn,
                 f"select outcome, reason from dq_row_outcomes where v1_id = '{ids['deleted_bc']}'") == [
        ("excluded", "soft_deleted")]
    assert all(balanced for (balanced,) in _rows(warehouse, folder, warehouse_dsn,
                                                 "select balanced from dq_reconciliation"))
    assert _rows(warehouse, folder, warehouse_dsn,
                 f"select app_user_id, is_winner from int_users__identity_groups "
                 f"where app_user_id in ('{ids['bc_user']}', '{ids['dated_user']}') order by is_winner") == [
        (ids["bc_user"], False), (ids["dated_user"], True)]
