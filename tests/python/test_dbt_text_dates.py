"""Dates a v1 source holds in text columns, on a real pipeline (extract → stage → dbt on DuckDB):
an empty string is omitted and reported under DQ-16 like any other text that is no date (MAPPING_SPEC
§3.1 text dates, DQ-16), on the case columns and on case_rfi rows."""

from __future__ import annotations

import duckdb
import psycopg

from loader.extract import extract
from loader.run_folder import RunFolder
from loader.stage import stage
from loader.transform import run_dbt, run_settings
from source_support import loaded_case_ids, quiet

AS_OF = "2024-06-15T00:00:00Z"


def _text_dates(dsn: str) -> dict[str, str]:
    """Turn two case date columns and case_rfi.response_due_date into text; write empty and bad dates."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        cases = loaded_case_ids(conn, 2)
        for table, column in [("cases", "pwd_filing_date"), ("cases", "i140_approval_date"),
                              ("case_rfi", "response_due_date")]:
            conn.execute(f"ALTER TABLE public.{table} ALTER COLUMN {column} TYPE text USING to_char({column}, 'YYYY-MM-DD')")
        conn.execute("UPDATE public.cases SET pwd_filing_date = '', i140_approval_date = '2024-02-30' WHERE id = %s",
                     [cases[0]])
        conn.execute("UPDATE public.cases SET pwd_filing_date = '2024-03-01' WHERE id = %s", [cases[1]])
        rfi_row = str(conn.execute(
            "INSERT INTO public.case_rfi (case_id, title, received_date, response_due_date, created_at) "
            "VALUES (%s, 'Evidence', '2024-02-01', '', '2024-02-01 10:00:00+00') RETURNING id", [cases[1]]).fetchone()[0])
    return {"empty_case": cases[0], "clean_case": cases[1], "rfi_row": rfi_row}


def test_empty_text_dates_are_omitted_with_dq16(source_database, tmp_path):
    source_dsn, _ = source_database(seed=29, n_users=3, n_cases=6)
    ids = _text_dates(source_dsn)
    folder = RunFolder.create(tmp_path, "text-dates")
    extract(folder, source_dsn, echo=quiet)
    stage(folder, "duckdb", echo=quiet)
    settings = run_settings(folder, AS_OF, warehouse="duckdb")
    run_dbt(folder, settings, "seed")
    run_dbt(folder, settings, "run")

    with duckdb.connect(str(folder.warehouse_path), read_only=True) as conn:
        def dq16(v1_id: str) -> set[tuple]:
            return set(conn.execute(
                "select source_table, target_field, original_value, message from dq_warnings "
                "where dq_id = 'DQ-16' and v1_id = ?", [v1_id]).fetchall())

        empty_case, rfi_row = ids["empty_case"], ids["rfi_row"]
        assert dq16(empty_case) == {
            ("public.cases", "pwdFilingDate", "",
             f"public.cases {empty_case}: pwd_filing_date is not a valid date in 1990-2100; omitted"),
            ("public.cases", "i140ApprovalDate", "2024-02-30",
             f"public.cases {empty_case}: i140_approval_date is not a valid date in 1990-2100; omitted"),
        }
        clean_case = ids["clean_case"]
        assert dq16(clean_case) == {  # entry findings are reported on the case, naming the entry
            ("public.cases", "rfiEntries", "",
             f"public.cases {clean_case}: v1-rfi-{rfi_row}: response_due_date is not a valid date in 1990-2100; "
             "treated as missing"),
        }
        filing_dates = dict(conn.execute(
            """select "legacyId", "pwdFilingDate" from convex_cases where "legacyId" in (?, ?)""",
            [empty_case, ids["clean_case"]]).fetchall())
    assert filing_dates == {empty_case: None, ids["clean_case"]: "2024-03-01"}
