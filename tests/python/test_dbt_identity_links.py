"""Identity links on a real pipeline (extract → stage → dbt build on DuckDB, data tests included) when
the source breaks the UNIQUE(app_users.auth_user_id) constraint: the auth row links to one app_users
row only, the other is an app-only identity with a DQ-05 that says why, and every source row still
has exactly one outcome (MAPPING_SPEC §3.2 step 1, §1.1: never rely on a constraint holding)."""

from __future__ import annotations

import duckdb
import psycopg

from loader.extract import extract
from loader.run_folder import RunFolder
from loader.stage import stage
from loader.transform import run_dbt, run_settings
from source_support import quiet

AS_OF = "2024-06-15T00:00:00Z"


def _share_auth_user_id(dsn: str) -> tuple[str, str, str]:
    """Point a second app_users row (other email) at the first one's auth row; return (winner, loser, auth id)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE public.users DROP CONSTRAINT users_auth_user_id_key")
        rows = conn.execute(
            "SELECT u.id::text, u.auth_user_id::text FROM public.users u JOIN auth.users a ON a.id = u.auth_user_id "
            "WHERE u.deleted_at IS NULL AND a.deleted_at IS NULL AND NOT coalesce(a.is_anonymous, false) "
            "AND (a.banned_until IS NULL OR a.banned_until < '2024-06-15') ORDER BY u.id LIMIT 2").fetchall()
        (winner, auth_id), (loser, loser_auth_id) = rows
        conn.execute("UPDATE public.users SET auth_user_id = %s WHERE id = %s", [auth_id, loser])
        # its former auth row would link again by email (L3): give it another email, it stays auth-only
        conn.execute("UPDATE auth.users SET email = 'orphan@example.com' WHERE id = %s", [loser_auth_id])
    return winner, loser, auth_id


def test_app_users_sharing_an_auth_user_id(source_database, tmp_path):
    source_dsn, _ = source_database(seed=31, n_users=4, n_cases=6)
    winner, loser, auth_id = _share_auth_user_id(source_dsn)
    folder = RunFolder.create(tmp_path, "identity-links")
    extract(folder, source_dsn, echo=quiet)
    stage(folder, "duckdb", echo=quiet)
    run_dbt(folder, run_settings(folder, AS_OF, warehouse="duckdb"), "build")  # raises on any failing data test

    with duckdb.connect(str(folder.warehouse_path), read_only=True) as conn:
        links = conn.execute(
            "select app_user_id, auth_user_id, legacy_auth_id from int_users__identities "
            "where app_user_id in (?, ?) order by app_user_id = ?", [winner, loser, loser]).fetchall()
        dq05 = conn.execute("select message from dq_warnings where dq_id = 'DQ-05' and v1_id = ?", [loser]).fetchall()
        outcomes = conn.execute(
            "select source_table, v1_id, count(*) from dq_row_outcomes where v1_id in (?, ?, ?) "
            "group by source_table, v1_id order by 1, 2", [winner, loser, auth_id]).fetchall()
        balanced = conn.execute("select bool_and(balanced) from dq_reconciliation").fetchone()[0]
    assert links == [(winner, auth_id, auth_id), (loser, None, None)]
    assert dq05 == [(f"public.users {loser}: auth_user_id {auth_id} names an auth.users row linked to another "
                     "public.users row",)]
    assert outcomes == sorted([("auth.users", auth_id, 1), ("public.users", winner, 1), ("public.users", loser, 1)])
    assert balanced
