"""Hostile v1 data (hypothesis): random unicode and control characters, invalid and impossible dates,
notes near 1 MiB, garbage in JSON columns, NULL wherever the source allows it. The whole pipeline
must finish, verify at 100%, and account for every source row (loaded, rejected or excluded).

All generated rows go into ONE source database and the pipeline runs once per example (a dbt build
costs tens of seconds). A source connection dropped mid-extract must give a clean one-line error and
leave no snapshot that looks complete.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from decimal import Decimal

import duckdb
import psycopg
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from psycopg import sql

from perm_rehearsal.demo_data.generator import generate
from loader.reference_schema import reference_ddl
from loader.errors import SourceError
from loader.extract import extract
from loader.run_folder import RunFolder
from resilience_support import EmulatorProcess, pipeline_env, run_cli, step_status

AS_OF = "2026-01-15T00:00:00Z"
MIB = 1 << 20
# Date columns held as text in this source (MAPPING_SPEC §3.1 text dates), so that invalid dates exist.
TEXT_DATE_COLUMNS = ("pwd_filing_date", "job_order_start_date", "eta9089_filing_date")
# A jsonb column held as text, so that unparseable JSON exists.
TEXT_JSON_COLUMNS = ("rfi_list",)

# --------------------------------------------------------------------------- strategies

# Any Unicode scalar PostgreSQL text can hold (everything but NUL; UTF-8 has no surrogates).
hostile_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30)
control_text = st.text(st.sampled_from(["\t", "\n", "\r", "\x0b", "\x0c", "\x1b", "\x7f", "\u200b", "\ufeff",
                                        "\u2028", " ", "a", "é", "😀", "\u0301"]), max_size=12)
text_value = st.one_of(st.none(), hostile_text, control_text)
email_value = st.one_of(
    hostile_text,
    st.builds(lambda local, pad, dom: f"{pad}{local}@{dom}.com{pad}", st.text("abcXYZ.+_'", min_size=1, max_size=8),
              st.sampled_from(["", " ", "\t", "\n"]), st.sampled_from(["Example", "exAMPle", "e", "münchen"])),
)
# PostgreSQL dates with no YYYY-MM-DD form: staged as text (test below). Kept out of the property test:
# the models' handling of text-held timestamps is still open (see the slow variant).
NON_ISO_DATES = ("infinity", "-infinity", "0044-03-15 BC")
special_dates = st.sampled_from(["0001-01-01", "9999-12-31", "1989-12-31", "2100-12-31", "2101-01-01", "2024-02-29"])
date_value = st.one_of(st.none(), st.dates().map(dt.date.isoformat), special_dates)
text_date_value = st.one_of(date_value, hostile_text, st.sampled_from(
    ["2023-02-30", "2023-13-01", "02/30/2023", "13/45/2020", "31/12/2023", "12/31/2023", "2023-1-5",
     "20230105", "yesterday", "", "  2023-01-05  ", "2023-01-05T10:00:00Z", "0000-00-00"]))
timestamp_value = st.one_of(
    st.none(), st.datetimes(timezones=st.just(dt.timezone.utc)).map(lambda d: d.isoformat()),
    st.sampled_from(["infinity", "-infinity", "1900-01-01 00:00:00+00", "2262-04-12 00:00:00+00"]))
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                        st.floats(allow_nan=False, allow_infinity=False), hostile_text)
json_any = st.recursive(json_scalar, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                            st.dictionaries(hostile_text, kids, max_size=4)),
                        max_leaves=12)
json_value = st.one_of(
    st.none(),
    json_any.map(json.dumps),
    json_any.map(lambda v: json.dumps(json.dumps(v))),  # double-encoded
    st.just(json.dumps([{"title": "RFI", "receivedDate": "2023-02-30", "responseDueDate": 7}])),
)
garbage_json_text = st.one_of(json_value, hostile_text, st.sampled_from(["{", "[1,", "nul", "{'a': 1}", "NaN"]))
int_value = st.integers(-2**31, 2**31 - 1)
big_note = st.integers(MIB - 4096, MIB + 4096).map(lambda n: ("Nöte ✓ " * (n // 10 + 1))[:n])
note_value = st.one_of(text_value, st.just("x" * 70_000))
ids = st.uuids().map(str)


class SourceRows(dict):
    """`schema.table` -> rows, with a short repr (Hypothesis prints failing examples)."""

    def __repr__(self) -> str:
        return f"SourceRows({ {table: len(rows) for table, rows in self.items()} })"


@st.composite
def v1_dataset(draw, users: int, cases: int) -> SourceRows:
    """Rows per `schema.table`; references mostly point at generated rows, some dangle.

    Field values are drawn from small pools of hostile values drawn first, so that an example stays
    within Hypothesis's size budget however many rows it has.
    """
    def pool(strategy, size: int):
        return st.sampled_from(draw(st.lists(strategy, min_size=size, max_size=size)))

    text_v = st.one_of(st.none(), pool(st.one_of(hostile_text, control_text), 16))
    hostile_v, date_v, text_date_v = pool(hostile_text, 10), pool(date_value, 10), pool(text_date_value, 10)
    ts_v, json_v, garbage_v, int_v = (pool(timestamp_value, 10), pool(json_value, 10), pool(garbage_json_text, 8),
                                      pool(int_value, 8))
    rarely_set = st.one_of(st.none(), st.none(), st.none(), ts_v)  # deleted_at, banned_until: most rows stay in
    auth_ids = [draw(ids) for _ in range(users)]
    app_ids = [draw(ids) for _ in range(users)]
    any_user = st.one_of(st.sampled_from(app_ids), st.sampled_from(auth_ids), ids)
    emails = draw(st.lists(email_value, min_size=users, max_size=users, unique=True))
    rows = SourceRows({t: [] for t in ("auth.users", "auth.identities", "public.users",
                                                   "public.user_settings", "public.user_preferences",
                                                   "public.cases", "public.case_rfi", "public.case_rfe")})
    for i in range(users):
        rows["auth.users"].append({
            "id": auth_ids[i], "email": draw(st.one_of(st.none(), st.just(emails[i]))),
            "email_confirmed_at": draw(ts_v), "last_sign_in_at": draw(ts_v),
            "raw_app_meta_data": draw(json_v), "raw_user_meta_data": draw(json_v),
            "created_at": draw(ts_v), "updated_at": draw(ts_v),
            "banned_until": draw(rarely_set), "deleted_at": draw(rarely_set),
            "is_anonymous": draw(st.booleans()), "is_sso_user": draw(st.booleans()),
        })
        rows["auth.identities"].append({
            "user_id": draw(st.one_of(st.just(auth_ids[i]), ids)), "provider": draw(st.sampled_from(["google", "email", "x"])),
            "provider_id": f"p{i}", "identity_data": json.dumps({"email": draw(text_v)}),
            "created_at": draw(ts_v),
        })
        if draw(st.integers(0, 5)) == 5:
            continue  # an auth user without an app row
        rows["public.users"].append({
            "id": app_ids[i], "auth_user_id": auth_ids[i] if draw(st.booleans()) else draw(ids),
            "email": emails[i], "full_name": draw(text_v), "phone": draw(text_v), "job_title": draw(text_v),
            "company": draw(text_v), "user_type": draw(st.one_of(st.sampled_from(["individual", "firm_admin",
                                                                                       "firm_member"]),
                                                                      hostile_v.map(lambda s: s[:20]))),
            "firm_id": draw(st.one_of(st.none(), st.sampled_from(app_ids), ids)), "firm_name": draw(text_v),
            "notification_preferences": draw(json_v), "notification_email": draw(text_v),
            "notification_sms": draw(st.booleans()), "notification_push": draw(st.booleans()),
            "urgent_deadline_days": draw(int_v), "privacy_mode_enabled": draw(st.booleans()),
            "calendar_sync_enabled": draw(st.booleans()), "calendar_sync_preferences": draw(json_v),
            "google_email": draw(text_v), "google_scopes": draw(st.one_of(st.none(), st.lists(text_v, max_size=3))),
            "google_calendar_connected": draw(st.one_of(st.none(), st.booleans())),
            "created_at": draw(ts_v), "updated_at": draw(ts_v),
            "deleted_at": draw(rarely_set),
        })
        for table in ("public.user_settings", "public.user_preferences"):
            for _ in range(draw(st.integers(0, 2))):
                row = {"user_id": draw(any_user), "dismissed_deadlines": draw(json_v),
                       "created_at": draw(ts_v), "updated_at": draw(ts_v)}
                if table == "public.user_settings":
                    row |= {"email_notifications_enabled": draw(st.booleans()),
                            "reminder_days_before": draw(st.one_of(st.none(), st.lists(
                                st.one_of(st.none(), int_v), max_size=6))),
                            "quiet_hours_start": draw(st.one_of(st.none(), st.times().map(str))),
                            "timezone": draw(st.one_of(st.just("America/New_York"), hostile_v)),
                            "preferred_notification_email": draw(st.one_of(st.none(), st.sampled_from(
                                ["signup", "google", "both"]), hostile_v))}
                else:
                    row |= {"cases_sort_by": draw(st.one_of(st.sampled_from(["created_at", "pwdFilingDate"]),
                                                            hostile_v)),
                            "cases_sort_order": draw(text_v), "cases_per_page": draw(st.one_of(st.none(), int_v))}
                rows[table].append(row)
    case_ids = [draw(ids) for _ in range(cases)]
    for i, case_id in enumerate(case_ids):
        row = {
            "id": case_id, "user_id": draw(any_user), "case_number": draw(text_v),
            "employer_name": draw(hostile_v), "position_title": draw(hostile_v),
            "beneficiary_identifier": draw(st.one_of(st.none(), hostile_v)),
            "job_order_state": draw(st.one_of(st.none(), st.text(max_size=2).filter(lambda s: "\x00" not in s))),
            "case_status": draw(st.one_of(st.sampled_from(["PWD", "Recruitment", "ETA 9089 Filed", "I-140 Approved",
                                                           "Closed"]), hostile_v.map(lambda s: s[:30]))),
            "progress_status": draw(text_v), "priority_level": draw(text_v),
            "is_favorite": draw(st.booleans()),
            "pwd_determination_date": draw(date_v), "pwd_expiration_date": draw(date_v),
            "pwd_wage_amount": draw(st.one_of(st.none(), st.decimals(Decimal("-99999999.99"), Decimal("99999999.99"),
                                                                     places=2, allow_nan=False))),
            "job_order_end_date": draw(date_v), "sunday_ad_first_date": draw(date_v),
            "notice_of_filing_start_date": draw(date_v), "eta9089_certification_date": draw(date_v),
            "rfe_received_date": draw(date_v), "rfe_response_submitted_date": draw(date_v),
            "additional_recruitment_methods": draw(json_v), "recruitment_applicants_count": draw(int_v),
            "rfe_list": draw(json_v), "documents": draw(json_v), "calendar_event_ids": draw(json_v),
            "notes": draw(big_note) if i == 0 else draw(note_value),
            "tags": draw(st.one_of(st.none(), st.lists(text_v, max_size=4))),
            "created_at": draw(ts_v), "updated_at": draw(ts_v),
            "deleted_at": draw(rarely_set),
            **{c: draw(text_date_v) for c in TEXT_DATE_COLUMNS},
            **{c: draw(garbage_v) for c in TEXT_JSON_COLUMNS},
        }
        rows["public.cases"].append(row)
        for table in ("public.case_rfi", "public.case_rfe"):
            for _ in range(draw(st.integers(0, 1))):
                rows[table].append({"case_id": draw(st.one_of(st.just(case_id), ids)), "title": draw(text_v),
                                    "received_date": draw(date_v), "response_due_date": draw(date_v),
                                    "response_submitted_date": draw(date_v), "notes": draw(text_v)})
    return rows


# --------------------------------------------------------------------------- source database


def load_source(dsn: str, rows: dict[str, list[dict]]) -> dict[str, int]:
    """The reference schema (some columns as text), the rows by COPY, then the NOT VALID constraints."""
    tables_ddl, constraints_ddl = reference_ddl()
    with psycopg.connect(dsn) as conn:
        conn.execute(tables_ddl)
        for column in (*TEXT_DATE_COLUMNS, *TEXT_JSON_COLUMNS):
            conn.execute(sql.SQL("ALTER TABLE public.cases ALTER COLUMN {} TYPE text").format(sql.Identifier(column)))
        for table, table_rows in rows.items():
            columns = sorted({c for row in table_rows for c in row})
            if not columns:
                continue
            schema, name = table.split(".")
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(schema, name), sql.SQL(", ").join(map(sql.Identifier, columns)))
            with conn.cursor().copy(statement) as copy:
                for row in table_rows:
                    copy.write_row([row.get(c) for c in columns])
        conn.execute(constraints_ddl)
    return {table: len(table_rows) for table, table_rows in rows.items()}


def reconciliation(folder) -> dict[str, tuple[int, bool]]:
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        relation = con.execute("select table_schema from information_schema.tables "
                               "where table_name = 'dq_reconciliation'").fetchone()[0]
        return {table: (extracted, balanced) for table, extracted, balanced in con.execute(
            f'select source_table, extracted, balanced from "{relation}".dq_reconciliation').fetchall()}


def run_pipeline_on(rows: dict[str, list[dict]], dsn: str, work) -> None:
    counts = load_source(dsn, rows)
    runs_dir = work / "runs"
    with EmulatorProcess(work / "emulator") as emulator:
        done = run_cli(["run", "--no-progress", "--migration-as-of", AS_OF], pipeline_env(dsn, emulator, runs_dir))
    assert "Traceback" not in done.stderr and "unexpected" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 0, done.stderr[-3000:]
    assert "verification PASSED" in done.stdout
    folder = next(p.parent for p in runs_dir.glob("*/state.json"))
    balance = reconciliation(folder)
    for table, count in counts.items():
        if table == "auth.identities":
            continue  # read only for DQ-08 (MAPPING_SPEC §4.1)
        assert balance.get(table) == (count, True), f"{table}: {count} source rows, reconciliation {balance.get(table)}"


def hostile_enough(rows: dict[str, list[dict]]) -> bool:
    """Hypothesis tries the simplest example first (empty strings, NULLs); a fast test with one example
    must not spend its only pipeline run on that: require app users, control characters, bad dates
    and bad JSON to be present."""
    values = [v for table in rows.values() for row in table for v in row.values() if isinstance(v, str)]
    cases = rows["public.cases"]
    return (len(rows["public.users"]) * 2 >= len(rows["auth.users"])
            and any(ch in v for v in values for ch in "\t\n\x1b\u200b")
            and sum(c[TEXT_DATE_COLUMNS[0]] not in (None, "") for c in cases) * 2 >= len(cases)
            and any(c[TEXT_JSON_COLUMNS[0]] not in (None, "", "null") for c in cases))


# No shrinking: every step of it would be another whole pipeline run.
HOSTILE = settings(max_examples=1, derandomize=True, database=None, deadline=None, phases=(Phase.generate,),
                   suppress_health_check=list(HealthCheck))


@HOSTILE
@given(rows=v1_dataset(users=8, cases=20))
def test_hostile_rows_are_all_accounted_for_and_the_run_verifies(rows, fresh_database, tmp_path_factory):
    assume(hostile_enough(rows))
    run_pipeline_on(rows, fresh_database("hostile"), tmp_path_factory.mktemp("hostile"))


@pytest.mark.slow
@settings(HOSTILE, max_examples=4, derandomize=False)
@given(rows=v1_dataset(users=12, cases=40))
def test_slow_hostile_rows_over_several_random_examples(rows, fresh_database, tmp_path_factory):
    assume(hostile_enough(rows))
    run_pipeline_on(rows, fresh_database("hostile_slow"), tmp_path_factory.mktemp("hostile"))


@pytest.mark.parametrize("value", NON_ISO_DATES)
def test_infinite_and_bc_dates_are_staged_as_they_are(value, fresh_database, tmp_path):
    """They once stopped the DuckDB stage (unlocated JSON transform error) or became 1900-01-01."""
    from loader.stage import stage

    dsn = fresh_database("dates")
    generate(dsn, n_users=2, n_cases=3, seed=5)
    with psycopg.connect(dsn) as conn:
        case_id = conn.execute("UPDATE public.cases SET sunday_ad_first_date = %s::date "
                               "WHERE id = (SELECT id FROM public.cases ORDER BY id LIMIT 1) RETURNING id::text", [value]).fetchone()[0]
    folder = RunFolder.create(tmp_path / "runs")
    extract(folder, dsn, echo=lambda _line: None)
    stage(folder, echo=lambda _line: None)
    with duckdb.connect(str(folder.warehouse_path), read_only=True) as con:
        staged = con.execute("select sunday_ad_first_date::varchar from raw.cases where id = ?", [case_id]).fetchone()
    assert staged[0] == value, f"{value!r} staged as {staged[0]!r}"


# --------------------------------------------------------------------------- dropped source connection


def _terminate_extract_backend(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                      "AND backend_type = 'client backend'")


def _assert_no_complete_snapshot(folder: RunFolder) -> None:
    assert not list(folder.raw_dir.glob("*.jsonl")), "a raw file was left that looks complete"
    assert not list(folder.raw_dir.glob(".*.part")), "a partial file was left behind"
    assert folder.read_manifest()["steps"]["extract"]["status"] == "failed"


def test_source_connection_dropped_between_tables_gives_a_clean_error_and_no_snapshot(fresh_database, tmp_path):
    dsn = fresh_database("dropped")
    generate(dsn, n_users=5, n_cases=20, seed=3)
    folder = RunFolder.create(tmp_path / "runs")

    def drop_after_cases(table: str) -> None:
        if table == "cases":
            _terminate_extract_backend(dsn)

    with pytest.raises(SourceError) as failure:
        extract(folder, dsn, echo=lambda _line: None, after_table=drop_after_cases)
    message = str(failure.value)
    assert "\n" not in message and "extract failed while reading" in message
    assert "connection" in message
    _assert_no_complete_snapshot(folder)


def test_source_connection_dropped_mid_copy_through_the_cli(fresh_database, tmp_path):
    """A large table, the extract's backend terminated while it streams: exit 2, one line, no snapshot."""
    dsn = fresh_database("dropped_cli")
    generate(dsn, n_users=200, n_cases=20_000, seed=4)
    runs_dir = tmp_path / "runs"
    with EmulatorProcess(tmp_path / "emulator") as emulator:
        env = pipeline_env(dsn, emulator, runs_dir)
        killer_done = threading.Event()

        def terminate_when_copying() -> None:
            deadline = time.monotonic() + 120
            with psycopg.connect(dsn, autocommit=True) as admin:
                while time.monotonic() < deadline:
                    # the query text is cut at track_activity_query_size: match the start of the cases COPY
                    row = admin.execute("SELECT pid FROM pg_stat_activity WHERE state = 'active' "
                                        "AND query LIKE 'COPY (SELECT row_to_json(r)%' "
                                        "AND query LIKE '%\"case_number\"%'").fetchone()
                    if row:
                        admin.execute("SELECT pg_terminate_backend(%s)", row)
                        killer_done.set()
                        return
                    time.sleep(0.005)

        killer = threading.Thread(target=terminate_when_copying)
        killer.start()
        done = run_cli(["run", "--no-progress", "--migration-as-of", AS_OF], env)
        killer.join()
    assert killer_done.is_set(), "the extract finished before its backend could be terminated"
    assert done.returncode == 2, done.stdout + done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: extract failed while reading public.cases"), last
    assert "Traceback" not in done.stderr
    folder = RunFolder(next(p.parent for p in runs_dir.glob("*/state.json")))
    assert step_status(folder.root, "extract") == "failed"
    _assert_no_complete_snapshot(folder)
