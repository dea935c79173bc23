"""Where a run's mapping table lives: `--runs-dir X` puts it in X, and later commands find it again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loader.convex.gateway import ConvexGateway, ConvexTarget
from perm_rehearsal.demo_data import generate
from perm_rehearsal.emulator import running_emulator
from loader.mapping_table import MANIFEST_KEY, path_for_run, record_for_run
from loader.run_folder import RunFolder

AS_OF = "2026-01-15T00:00:00Z"
PERM_MIGRATE = str(Path(sys.executable).with_name("perm-migrate"))
TABLES = ("users", "cases", "userProfiles")


def test_path_for_run_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("PERM_MAPPING_DB", raising=False)
    monkeypatch.setenv("PERM_RUNS_DIR", str(tmp_path / "elsewhere"))
    folder = RunFolder.create(tmp_path / "x")
    assert path_for_run(folder) == tmp_path / "x" / "mapping.sqlite"  # the run's runs dir, not PERM_RUNS_DIR
    monkeypatch.setenv("PERM_MAPPING_DB", str(tmp_path / "env.sqlite"))
    assert path_for_run(folder) == tmp_path / "env.sqlite"
    record_for_run(folder, tmp_path / "used.sqlite")
    monkeypatch.delenv("PERM_MAPPING_DB")
    assert path_for_run(folder) == tmp_path / "used.sqlite"  # what the run used wins over the defaults
    assert path_for_run(folder, tmp_path / "moved.sqlite") == tmp_path / "moved.sqlite"
    record_for_run(folder, tmp_path / "other.sqlite")  # the first recorded file is kept
    assert folder.read_manifest()[MANIFEST_KEY] == str(tmp_path / "used.sqlite")


@pytest.fixture(scope="module")
def source_dsn(pg_server):
    dsn = pg_server.create_database("mapping_location_source")
    generate(dsn, n_users=12, n_cases=30, seed=5, dirty=False)
    return dsn


def _cli(args, env, cwd):
    return subprocess.run([PERM_MIGRATE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)


def _documents(emulator):
    with ConvexGateway(ConvexTarget(emulator.url, emulator.admin_key)) as gateway:
        return {t: list(gateway.iter_documents(t)) for t in TABLES}


def test_runs_dir_holds_the_mapping_table_for_run_verify_and_rollback(source_dsn, tmp_path):
    work, runs_dir = tmp_path / "cwd", tmp_path / "x"
    work.mkdir()
    with running_emulator(tmp_path / "emulator") as emulator:
        env = {k: v for k, v in os.environ.items()
               if k not in ("PERM_RUNS_DIR", "PERM_MAPPING_DB", "CONVEX_DEPLOY_KEY", "CONVEX_URL", "PGHOST",
                            "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")}
        env.update(SUPABASE_DB_URL=source_dsn, CONVEX_SELF_HOSTED_URL=emulator.url,
                   CONVEX_SELF_HOSTED_ADMIN_KEY=emulator.admin_key)
        done = _cli(["run", "--no-progress", "--runs-dir", str(runs_dir), "--migration-as-of", AS_OF], env, work)
        assert done.returncode == 0, done.stderr[-3000:]
        run_id = done.stdout.split("run id: ")[1].split()[0]
        mapping = runs_dir / "mapping.sqlite"
        assert mapping.is_file() and not (work / "runs").exists()
        manifest = json.loads((runs_dir / run_id / "manifest.json").read_text())
        assert manifest[MANIFEST_KEY] == str(mapping)

        checked = _cli(["verify", "--run-id", run_id, "--runs-dir", str(runs_dir)], env, work)
        assert checked.returncode == 0, checked.stderr[-3000:]
        assert _documents(emulator)["userProfiles"]
        rolled_back = _cli(["rollback", "--run-id", run_id, "--runs-dir", str(runs_dir), "--mode", "delete-created", "--yes"],
                           env, work)
        assert rolled_back.returncode == 0, rolled_back.stderr[-3000:]
        assert _documents(emulator) == {t: [] for t in TABLES}  # every created document was found in X's table
        assert not (work / "runs").exists()
