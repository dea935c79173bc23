"""User side of the dbt transform (MAPPING_SPEC §3.2, §3.3, §4): the shipped IANA list equals Python's,
and on the staged dirty snapshot every injected user-side problem is reported under its DQ id while
every source table reconciles."""

from __future__ import annotations

import csv
import zoneinfo
from pathlib import Path

import duckdb

from loader.transform import run_dbt, run_settings

REPO = Path(__file__).resolve().parents[2]
AS_OF = "2024-06-15T00:00:00Z"
USER_TABLES = ("auth.users", "public.users", "public.user_settings", "public.user_preferences", "auth.identities")
DQ03_REASON_BY_FIELD = {"deleted_at": "soft_deleted", "banned_until": "banned", "is_anonymous": "anonymous"}


def test_iana_seed_is_pythons_zoneinfo_list():
    with open(REPO / "seeds" / "users" / "users_iana_timezones.csv", newline="") as handle:
        shipped = [row["timezone_name"] for row in csv.DictReader(handle)]
    assert shipped == sorted(zoneinfo.available_timezones())


def test_dirty_snapshot_user_problems_reported_and_reconciled(staged_duckdb_run, dirty_snapshot):
    folder = staged_duckdb_run
    run_dbt(folder, run_settings(folder, AS_OF, warehouse="duckdb"), "build")

    with duckdb.connect(str(folder.warehouse_path), read_only=True) as conn:
        reconciliation = conn.execute(
            "select source_table, extracted, loaded + rejected + excluded, balanced from dq_reconciliation").fetchall()
        rejects = set(conn.execute("select dq_id, v1_id from dq_rejects").fetchall())
        warnings = set(conn.execute("select dq_id, v1_id from dq_warnings").fetchall())
        exclusions = dict(conn.execute("select v1_id, reason from dq_exclusions").fetchall())

    assert len(reconciliation) == 7
    for source_table, extracted, accounted, balanced in reconciliation:
        assert balanced and extracted == accounted, source_table

    missing = []
    checked = 0
    for dq_id, items in dirty_snapshot.injected.items():
        for item in items:
            if item["table"] not in USER_TABLES:
                continue
            checked += 1
            key = (dq_id, item["v1_id"])
            if dq_id == "DQ-03":
                found = exclusions.get(item["v1_id"]) == DQ03_REASON_BY_FIELD[item["field"]]
            else:
                found = key in rejects or key in warnings
            if not found:
                missing.append(f"{dq_id} {item['table']} {item['v1_id']} {item['field']}: {item['detail']}")
    assert checked > 20
    assert not missing, "\n".join(missing)
