"""`perm-migrate run` end to end as a subprocess: real PostgreSQL source, real dbt, the emulator.

Includes the issue's "Done when": SIGKILL during import, `--resume`, verify passes, no duplicates.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loader.convex.gateway import ConvexGateway, ConvexTarget
from perm_rehearsal.demo_data import generate
from perm_rehearsal.emulator import running_emulator

AS_OF = "2026-01-15T00:00:00Z"
PERM_MIGRATE = str(Path(sys.executable).with_name("perm-migrate"))


@pytest.fixture(scope="module")
def source_dsn(pg_server):
    dsn = pg_server.create_database("run_source")
    generate(dsn, n_users=25, n_cases=80, seed=11, dirty=True)
    return dsn


def _env(source_dsn, emulator, tmp_path):
    env = {**os.environ, "SUPABASE_DB_URL": source_dsn, "PERM_RUNS_DIR": str(tmp_path / "runs"),
           "PERM_MAPPING_DB": str(tmp_path / "mapping.sqlite"),
           "CONVEX_SELF_HOSTED_URL": emulator.url, "CONVEX_SELF_HOSTED_ADMIN_KEY": emulator.admin_key}
    for name in ("CONVEX_DEPLOY_KEY", "CONVEX_URL", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"):
        env.pop(name, None)
    return env


def _run(args, env, timeout=600):
    return subprocess.run([PERM_MIGRATE, "run", *args], env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def _only_run(tmp_path) -> Path:
    [folder] = [p for p in (tmp_path / "runs").iterdir() if (p / "state.json").is_file()]
    return folder


def _json(path: Path):
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _documents(emulator):
    with ConvexGateway(ConvexTarget(emulator.url, emulator.admin_key)) as gateway:
        return {t: list(gateway.iter_documents(t)) for t in ("users", "cases", "userProfiles")}


def _assert_no_duplicates(docs, folder: Path):
    exported = {t: len((folder / "export" / f"{t}.jsonl").read_text().splitlines()) for t in docs}
    assert len({u["email"] for u in docs["users"]}) == len(docs["users"]) == exported["users"]
    assert len({c["legacyId"] for c in docs["cases"]}) == len(docs["cases"]) == exported["cases"]
    assert len({p["userId"] for p in docs["userProfiles"]}) == len(docs["userProfiles"]) == exported["userProfiles"]


def test_sigkill_during_import_then_resume_loses_and_duplicates_nothing(source_dsn, tmp_path):
    # Each import state stays visible for several polls, so the kill lands inside the cases import.
    with running_emulator(tmp_path / "emulator", polls_per_state=4) as emulator:
        env = _env(source_dsn, emulator, tmp_path)
        log = (tmp_path / "first.log").open("w")
        process = subprocess.Popen([PERM_MIGRATE, "run", "--migration-as-of", AS_OF, "--json"], env=env,
                                   stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 600
        killed_in = None
        while time.monotonic() < deadline and process.poll() is None:
            runs = list((tmp_path / "runs").glob("*/import/state.json"))
            tables = (_json(runs[0]) or {}).get("tables", {}) if runs else {}
            if tables.get("users", {}).get("status") == "done" and tables.get("cases", {}).get("status") == "importing":
                os.kill(process.pid, signal.SIGKILL)
                killed_in = "cases import"
                break
            time.sleep(0.02)
        process.wait(30)
        log.close()
        assert killed_in, (tmp_path / "first.log").read_text()[-3000:]
        folder = _only_run(tmp_path)
        state = _json(folder / "state.json")
        assert state["steps"]["import"]["status"] == "running"  # write-ahead: the kill left it running
        assert state["steps"]["backup"]["status"] == "done"

        resumed = _run(["--resume", folder.name], env)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert "verification PASSED" in resumed.stdout
        assert "was interrupted; resuming it" in resumed.stderr
        docs = _documents(emulator)
        _assert_no_duplicates(docs, folder)
        verify = _json(folder / "verify.json")
        assert verify["passed"] is True
        assert sum(t["verified"] for t in verify["tables"].values()) == sum(len(d) for d in docs.values())
        report = Path(resumed.stdout.split("report: ")[1].splitlines()[0])
        assert report.is_file() and "Verification PASSED" in report.read_text()
        assert len(list((folder / "logs").glob("run-*.log"))) == 2  # one log file per invocation



@pytest.mark.slow
def test_rerun_on_the_same_target_writes_nothing_new(source_dsn, tmp_path):
    with running_emulator(tmp_path / "emulator") as emulator:
        env = _env(source_dsn, emulator, tmp_path)
        first = _run(["--migration-as-of", AS_OF], env)
        assert first.returncode == 0, first.stderr[-3000:]
        docs = _documents(emulator)
        again = _run(["--migration-as-of", AS_OF], env)
        assert again.returncode == 0, again.stderr[-3000:]
        assert "verification PASSED" in again.stdout  # everything is pre-existing now, and unchanged
        assert _documents(emulator) == docs


@pytest.mark.slow
def test_postgres_warehouse_run_verifies(source_dsn, pg_server, tmp_path):
    warehouse_dsn = pg_server.create_database("run_warehouse")
    with running_emulator(tmp_path / "emulator") as emulator:
        result = _run(["--warehouse", "postgres", "--warehouse-url", warehouse_dsn, "--migration-as-of", AS_OF],
                      _env(source_dsn, emulator, tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "verification PASSED" in result.stdout
    assert pg_server.password not in result.stderr + result.stdout


def test_dry_run_writes_nothing_to_convex(source_dsn, tmp_path):
    with running_emulator(tmp_path / "emulator") as emulator:
        result = _run(["--dry-run", "--migration-as-of", AS_OF, "--json"], _env(source_dsn, emulator, tmp_path))
        assert result.returncode == 0, result.stderr[-3000:]
        assert "dry run: nothing was written to Convex" in result.stdout
        assert _documents(emulator) == {"users": [], "cases": [], "userProfiles": []}
    state = _json(_only_run(tmp_path) / "state.json")
    assert [state["steps"][s]["status"] for s in ("backup", "import", "verify", "report")] == \
        ["skipped", "done", "skipped", "done"]
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert events and all({"ts", "level", "logger", "msg"} <= set(e) for e in events)
    assert len(events) == len(result.stderr.splitlines())  # --json: every stderr line is a JSON object


def test_bad_source_is_a_one_line_usage_error(tmp_path):
    with running_emulator(tmp_path / "emulator") as emulator:
        env = _env("postgresql://nobody:secret-pw@127.0.0.1:1/none", emulator, tmp_path)
        result = _run(["--migration-as-of", AS_OF], env, timeout=120)
    assert result.returncode == 2
    assert "secret-pw" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")


def test_json_logs_stay_json_on_failure(tmp_path):
    with running_emulator(tmp_path / "emulator") as emulator:
        env = _env("postgresql://nobody:secret-pw@127.0.0.1:1/none", emulator, tmp_path)
        result = _run(["--migration-as-of", AS_OF, "--json"], env, timeout=120)
    assert result.returncode == 2
    events = [json.loads(line) for line in result.stderr.splitlines()]
    stopped = [e for e in events if e["level"] == "error" and "stopped" in e["msg"]]
    assert len(stopped) == 1 and "secret-pw" not in result.stderr


def test_check_requires_the_companion_module(source_dsn, tmp_path, monkeypatch):
    from loader.pipeline import Pipeline, step_check
    from loader.errors import ConfigError
    from loader.run_folder import RunFolder
    from loader.run_state import RunState

    with running_emulator(tmp_path / "emulator") as emulator:
        folder = RunFolder.create(tmp_path / "runs")
        ctx = Pipeline(folder=folder, state=RunState.create(folder, {"url": emulator.url}), as_of=AS_OF,
                       source_url=source_dsn, url=emulator.url, admin_key=emulator.admin_key)
        with ctx.resources:
            assert step_check(ctx).target_tables >= 3
            monkeypatch.setattr("loader.legacy_cleanup.COUNT_FUNCTION", "migration:notDeployed")
            with pytest.raises(ConfigError, match="companion module .* is not usable on the target"):
                step_check(ctx)
