"""Conservation of the rows behind loader-rejected documents: each source row is moved once."""

from __future__ import annotations

import json

from convex_marts_fixture import uuid
from loader.convex.schema import Schema
from loader.dbt_manifest import load_convex_marts
from loader.export import manifest_path
from loader.verify import build_inputs, first_loader_rejects, iter_rejected_source_rows, run_dbt_vars, verify_run
from loader.warehouse import Warehouse
from operator_fixture import consistent_rows, migrated_run


def test_a_row_behind_two_rejected_documents_is_rejected_once(tmp_path):
    """Bob's user document is too large (DQ-27 at export), so his profile cannot resolve its owner
    (DQ-06 at import): both stand for app_users row 3, which is one rejected row, not two."""
    rows = consistent_rows(Schema.from_file())
    bob = next(u for u in rows["convex_users"] if u["email"] == "bob@example.com")
    bob["name"] = "y" * 950_000
    with migrated_run(tmp_path, rows=rows) as m:
        rejected = first_loader_rejects(m.folder)
        assert {(t, rejected[(t, k)]["dq_id"]) for t, k in rejected if k in ("bob@example.com", uuid(3))} == \
            {("users", "DQ-27"), ("userProfiles", "DQ-06")}
        moved = list(iter_rejected_source_rows(Warehouse(m.folder), load_convex_marts(manifest_path(m.folder)),
                                               run_dbt_vars(m.folder), rejected))
        result = verify_run(build_inputs(m.folder, m.mapping), m.gateway)
    assert [(r["source_table"], r["table"]) for r in moved if r["v1_id"] == uuid(3)] == [("public.users", "users")]
    assert result["passed"], json.dumps(result["checks"], indent=1)
    users = {r["source_table"]: r for r in result["conservation"]}["public.users"]
    assert (users["extracted"], users["loaded"], users["rejected"], users["excluded"]) == (3, 1, 1, 1)
