"""`perm-migrate export` / `import` through the CLI: one-line errors, exit codes, dry run, no secrets."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from convex_marts_fixture import build_duckdb_run
from loader.cli import main
from loader.convex.gateway import ConvexGateway, ConvexTarget
from loader.convex.schema import Schema
from perm_rehearsal.emulator import Emulator, EmulatorConfig
from loader.run_folder import RunFolder


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name in ("CONVEX_URL", "CONVEX_DEPLOY_KEY", "CONVEX_SELF_HOSTED_URL", "CONVEX_SELF_HOSTED_ADMIN_KEY",
                 "CONVEX_DEPLOYMENT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PERM_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("PERM_MAPPING_DB", str(tmp_path / "mapping.sqlite"))
    return tmp_path


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_unknown_run_is_one_line_exit_2(env):
    result = invoke("export", "--run-id", "nope")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "run folder" in result.output and "Traceback" not in result.output


def test_export_without_transform_names_the_missing_manifest(env):
    RunFolder.create(env / "runs", "r0")
    result = invoke("export", "--run-id", "r0")
    assert result.exit_code == 2 and "dbt manifest" in result.output and "perm-migrate transform" in result.output


def test_export_then_dry_run_then_import(env, monkeypatch):
    folder = RunFolder.create(env / "runs", "r1")
    build_duckdb_run(folder, Schema.from_file())
    exported = invoke("export", "--run-id", "r1")
    assert exported.exit_code == 0, exported.output
    assert "export: cases: 4 document(s), 2 rejected" in exported.output

    with Emulator(EmulatorConfig(state_dir=env / "emulator")) as emulator:
        monkeypatch.setenv("CONVEX_SELF_HOSTED_URL", emulator.url)
        monkeypatch.setenv("CONVEX_SELF_HOSTED_ADMIN_KEY", emulator.admin_key)
        dry = invoke("import", "--run-id", "r1", "--dry-run")
        assert dry.exit_code == 0, dry.output
        assert "import: users: to_write 3" in dry.output and "dry run, nothing was written" in dry.output
        with ConvexGateway(ConvexTarget(emulator.url, emulator.admin_key)) as gateway:
            assert gateway.table_size("users") == 0
        real = invoke("import", "--run-id", "r1")
        assert real.exit_code == 0, real.output
        assert "import: cases: created 4" in real.output
        assert emulator.admin_key.split("|")[1] not in real.output + dry.output
        again = invoke("import", "--run-id", "r1")
        assert "import: users: mapping_table 3" in again.output


def test_missing_target_is_a_clear_error(env):
    folder = RunFolder.create(env / "runs", "r2")
    build_duckdb_run(folder, Schema.from_file())
    invoke("export", "--run-id", "r2")
    result = invoke("import", "--run-id", "r2")
    assert result.exit_code == 2 and "no Convex target" in result.output
