"""Every problem the dirty generator injects shows up under its DQ id after the transform.

The generator's `injected` report is the checklist: each item must appear in `dq_warnings`,
`dq_rejects` or the export rejects (documents over the size limits) under its DQ id (by its own
v1 id, or by its case for RFI/RFE entry rows), or, for policy exclusions, as an excluded row
with the matching reason.
"""

from __future__ import annotations

import json

import duckdb

from loader.export import REJECTS_FILE, export
from loader.transform import transform

AS_OF = "2026-01-01T00:00:00Z"  # after the generated data's BASE_DATE, before its DQ-32 future dates
EXCLUSION_REASONS = {"DQ-01": {"merged"}, "DQ-03": {"soft_deleted", "banned", "anonymous"},
                     "DQ-04": {"soft_deleted"}, "DQ-11": {"superseded"}}


def test_every_injected_problem_is_reported_under_its_dq_id(staged_duckdb_run, dirty_snapshot):
    transform(staged_duckdb_run, as_of=AS_OF)
    export(staged_duckdb_run)
    export_rejects = staged_duckdb_run.export_dir / REJECTS_FILE
    with duckdb.connect(str(staged_duckdb_run.warehouse_path), read_only=True) as con:
        reported = {(dq, str(ref)) for dq, v1_id, case_id in con.execute(
            "SELECT dq_id, v1_id, case_legacy_id FROM dq_warnings "
            "UNION ALL SELECT dq_id, v1_id, NULL FROM dq_rejects").fetchall() for ref in (v1_id, case_id) if ref}
        excluded = {str(v1_id): reason for v1_id, reason in con.execute(
            "SELECT v1_id, reason FROM dq_row_outcomes WHERE outcome = 'excluded'").fetchall()}
    reported |= {(r["dq_id"], r["legacy_id"]) for r in map(json.loads, export_rejects.read_text().splitlines())}
    missing = [
        f"{dq} {item['table']} {item['v1_id']} {item['field']}: {item['detail']}"
        for dq, items in dirty_snapshot.injected.items() for item in items
        if (dq, item["v1_id"]) not in reported
        and (dq, item.get("case_legacy_id")) not in reported
        and excluded.get(item["v1_id"]) not in EXCLUSION_REASONS.get(dq, set())
    ]
    assert missing == []
