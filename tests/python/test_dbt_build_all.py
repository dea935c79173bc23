"""`dbt build` of the whole project — seeds, models, contracts, every unit test and data test —
on an empty raw layer, on DuckDB and on PostgreSQL.

The pipeline's transform step skips dbt unit tests (they do not depend on the run's data), so
this is where every mapping-rule unit test runs, on both warehouses."""

from __future__ import annotations

import json

import pytest

from loader.run_folder import RunFolder
from loader.transform import run_dbt, run_settings, target_dir

AS_OF = "2024-06-15T00:00:00Z"


def _results_by_type(folder: RunFolder) -> dict[str, dict[str, int]]:
    """Statuses per resource type from dbt's run_results.json."""
    results = json.loads((target_dir(folder) / "run_results.json").read_text())["results"]
    counts: dict[str, dict[str, int]] = {}
    for result in results:
        kind = result["unique_id"].split(".", 1)[0]
        counts.setdefault(kind, {}).setdefault(result["status"], 0)
        counts[kind][result["status"]] += 1
    return counts


def _declared_unit_tests(folder: RunFolder) -> int:
    manifest = json.loads((target_dir(folder) / "manifest.json").read_text())
    return len(manifest.get("unit_tests", {}))


@pytest.mark.parametrize("warehouse", ["duckdb", "postgres"])
def test_full_dbt_build_passes_every_unit_and_data_test(warehouse, fresh_database, tmp_path):
    folder = RunFolder.create(tmp_path / "runs")
    dsn = fresh_database("dbt_all") if warehouse == "postgres" else None
    settings = run_settings(folder, AS_OF, warehouse=warehouse)

    run_dbt(folder, settings, "run-operation", warehouse_dsn=dsn, extra=("create_empty_raw_schema",))
    run_dbt(folder, settings, "build", warehouse_dsn=dsn)

    counts = _results_by_type(folder)
    declared = _declared_unit_tests(folder)
    assert declared > 50, f"expected the project's unit tests in the manifest, found {declared}"
    assert counts["unit_test"] == {"pass": declared}
    assert set(counts["test"]) == {"pass"}
    assert set(counts["model"]) == {"success"}
