"""The pipeline core: every command records its step in state.json (the only step ledger), so `status`,
`--max-rejects`, `--run-id` (default: the latest run) and the import refusal work for single-step
commands as they do for `run`. Real DuckDB warehouse, real export, the in-process emulator."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from convex_marts_fixture import SCHEMA, build_duckdb_run
from loader.cli import main
from loader.convex.gateway import ConvexGateway, ConvexTarget
from loader.convex.schema import Schema
from loader.run_folder import RunFolder
from loader.run_state import RunState
from perm_rehearsal.emulator import Emulator, EmulatorConfig


@pytest.fixture
def runs(tmp_path, monkeypatch):
    for name in ("CONVEX_URL", "CONVEX_DEPLOY_KEY", "CONVEX_SELF_HOSTED_URL", "CONVEX_SELF_HOSTED_ADMIN_KEY",
                 "CONVEX_DEPLOYMENT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PERM_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("PERM_MAPPING_DB", str(tmp_path / "mapping.sqlite"))
    return tmp_path / "runs"


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def built_run(runs, run_id: str) -> RunFolder:
    """A run folder with the Convex marts built in its warehouse (4 cases, 2 of them invalid)."""
    folder = RunFolder.create(runs, run_id)
    build_duckdb_run(folder, Schema.from_file())
    return folder


def test_a_single_step_command_records_its_step_in_state_json_only(runs):
    folder = built_run(runs, "r1")
    result = invoke("export", "--run-id", "r1")
    assert result.exit_code == 0, result.output
    step = json.loads(folder.path("state.json").read_text())["steps"]["export"]
    assert step["status"] == "done" and step["attempts"] == 1
    assert step["result"]["rejected_documents"] == 2 and step["result"]["tables"]["cases"] == 4
    assert step["details"]["tables"]["cases"]["rejected"] == 2  # what loader.export recorded
    assert "steps" not in json.loads(folder.path("manifest.json").read_text())  # the manifest holds settings
    assert folder.read_manifest()["steps"]["export"] == step["details"]


def test_status_shows_a_folder_made_by_single_step_commands(runs):
    built_run(runs, "r1")
    invoke("export", "--run-id", "r1")
    result = invoke("status", "--run-id", "r1")
    assert result.exit_code == 0, result.output
    [export_line] = [line for line in result.output.splitlines() if line.strip().startswith("export")]
    assert "done" in export_line and "rejected_documents=2" in export_line
    assert "next step: check" in result.output


def test_run_id_defaults_to_the_latest_run(runs):
    built_run(runs, "20261201T000000Z-aaaaaa")
    latest = built_run(runs, "20261202T000000Z-bbbbbb")
    exported = invoke("export")
    assert exported.exit_code == 0, exported.output
    assert RunState.load(latest).status("export") == "done"
    status = invoke("status")
    assert status.exit_code == 0 and f"run {latest.run_id}" in status.output


def test_export_max_rejects_stops_and_import_is_refused_after_it(runs, tmp_path, monkeypatch):
    import duckdb

    folder = built_run(runs, "r1")
    with duckdb.connect(str(folder.warehouse_path)) as con:  # one row rejected by dbt, two at export
        con.execute(f"create table {SCHEMA}.dq_rejects as select 'DQ-06' as dq_id")
    tripped = invoke("export", "--run-id", "r1", "--max-rejects", "2")
    assert tripped.exit_code == 1, tripped.output
    assert "3 rejected rows of 0 extracted exceed --max-rejects 2" in tripped.output
    assert RunState.load(folder).status("export") == "failed"

    with Emulator(EmulatorConfig(state_dir=tmp_path / "emulator")) as emulator:
        monkeypatch.setenv("CONVEX_SELF_HOSTED_URL", emulator.url)
        monkeypatch.setenv("CONVEX_SELF_HOSTED_ADMIN_KEY", emulator.admin_key)
        refused = invoke("import", "--run-id", "r1")
        assert refused.exit_code == 2, refused.output
        assert "import refused: step export of run r1 failed" in refused.output
        with ConvexGateway(ConvexTarget(emulator.url, emulator.admin_key)) as gateway:
            assert gateway.table_size("cases") == 0
        accepted = invoke("export", "--run-id", "r1", "--max-rejects", "3")
        assert accepted.exit_code == 0, accepted.output
        imported = invoke("import", "--run-id", "r1")
        assert imported.exit_code == 0, imported.output
        assert RunState.load(folder).status("import") == "done"


def test_a_dry_run_import_leaves_the_ledger_as_it_was(runs, tmp_path, monkeypatch):
    folder = built_run(runs, "r1")
    invoke("export", "--run-id", "r1")
    with Emulator(EmulatorConfig(state_dir=tmp_path / "emulator")) as emulator:
        monkeypatch.setenv("CONVEX_SELF_HOSTED_URL", emulator.url)
        monkeypatch.setenv("CONVEX_SELF_HOSTED_ADMIN_KEY", emulator.admin_key)
        dry = invoke("import", "--run-id", "r1", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert RunState.load(folder).status("import") == "pending"


def test_step_details_survive_a_state_held_in_memory(tmp_path):
    """A step module records its details while the pipeline holds the state; saving keeps them."""
    folder = RunFolder.create(tmp_path)
    state = RunState.create(folder, {})
    state.begin("extract")
    folder.record_step("extract", {"status": "complete", "tables": {}})
    state.finish("extract", {"rows": 0})
    entry = json.loads(folder.path("state.json").read_text())["steps"]["extract"]
    assert entry["status"] == "done" and entry["details"] == {"status": "complete", "tables": {}}
    assert RunState.load(folder).step("extract")["details"]["status"] == "complete"


def test_positional_run_ids_are_gone_in_favour_of_run_id(runs):
    built_run(runs, "r1")
    assert invoke("report", "r1").exit_code == 2  # one convention: --run-id on every command
    for command in ("extract", "stage", "transform", "export", "import", "verify", "report", "rollback", "status"):
        assert "--run-id" in invoke(command, "--help").output, command
