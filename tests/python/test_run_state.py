"""Run state (write-ahead, resume point), run logging, --max-rejects and the status command."""

from __future__ import annotations

import json
import logging

import pytest
from click.testing import CliRunner

from loader.cli import main
from loader.pipeline import MaxRejects
from loader.errors import ConfigError
from loader.run_folder import RunFolder
from loader.run_state import DONE, PENDING, RUNNING, STEPS, RunState, get_logger, setup_run_logging


def test_state_is_written_ahead_and_survives_a_crash(tmp_path):
    folder = RunFolder.create(tmp_path)
    state = RunState.create(folder, {"demo": True})
    assert state.first_incomplete() == "check"
    for step in STEPS[:4]:
        state.begin(step)
        state.finish(step, {"rows": 3})
    state.begin("export")
    # A SIGKILL now: only what is on disk counts.
    reloaded = RunState.load(RunFolder.open(folder.run_id, tmp_path))
    assert reloaded.status("transform") == DONE
    assert reloaded.status("export") == RUNNING
    assert reloaded.status("backup") == PENDING
    assert reloaded.first_incomplete() == "export"
    assert reloaded.step("export")["attempts"] == 1
    assert reloaded.options == {"demo": True}
    assert (folder.root / "state.json").stat().st_mode & 0o777 == 0o600
    assert not list(folder.root.glob(".*.tmp"))


def test_failed_step_is_redone_and_counts_attempts(tmp_path):
    state = RunState.create(RunFolder.create(tmp_path), {})
    state.begin("check")
    state.fail("check", "connection refused to postgresql://u:hunter22@db/x")
    assert state.first_incomplete() == "check"
    assert "hunter22" not in state.step("check")["error"]
    state.begin("check")
    state.finish("check", {})
    assert state.step("check")["attempts"] == 2
    assert state.first_incomplete() == "extract"


def test_unreadable_state_is_a_clear_error(tmp_path):
    folder = RunFolder.create(tmp_path)
    folder.path("state.json").write_text("{truncated")
    with pytest.raises(ConfigError, match="state.json is unreadable"):
        RunState.load(folder)


@pytest.mark.parametrize("text, rejected, extracted, exceeded", [
    ("10", 10, 1000, False), ("10", 11, 1000, True),
    ("2%", 20, 1000, False), ("2%", 21, 1000, True), ("0.5 %", 6, 1000, True), ("0", 0, 5, False),
])
def test_max_rejects(text, rejected, extracted, exceeded):
    assert MaxRejects.parse(text).exceeded(rejected, extracted) is exceeded


@pytest.mark.parametrize("text", ["ten", "-1", "5%%", "1e3"])
def test_max_rejects_rejects_garbage(text):
    with pytest.raises(ConfigError, match="--max-rejects"):
        MaxRejects.parse(text)


def test_json_logs_and_log_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CONVEX_SELF_HOSTED_ADMIN_KEY", "convex-self-hosted|0123456789abcdef")
    folder = RunFolder.create(tmp_path)
    log_path = setup_run_logging(folder, json_logs=True)
    try:
        get_logger("test").info("target key convex-self-hosted|0123456789abcdef, %d docs", 5)
    finally:
        setup_run_logging(None, json_logs=False)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert "0123456789abcdef" not in lines[-1]["msg"]
    assert lines[-1]["msg"].endswith("***, 5 docs")
    assert lines[-1]["level"] == "info" and lines[-1]["logger"] == "loader.test"
    file_lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert file_lines[-1]["msg"] == lines[-1]["msg"]
    assert log_path.stat().st_mode & 0o777 == 0o600
    assert logging.getLogger("loader").handlers  # console handler kept for the next command


def test_status_command(tmp_path, monkeypatch):
    monkeypatch.setenv("PERM_RUNS_DIR", str(tmp_path))
    folder = RunFolder.create(tmp_path)
    state = RunState.create(folder, {})
    state.begin("check")
    state.finish("check", {"target_tables": 3})
    state.begin("extract")
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 0, result.output
    assert folder.run_id in result.output
    assert "check" in result.output and "target_tables=3" in result.output
    assert f"next step: extract (perm-migrate run --resume {folder.run_id})" in result.output


def test_resume_refuses_to_change_run_options(tmp_path, monkeypatch):
    monkeypatch.setenv("PERM_RUNS_DIR", str(tmp_path))
    folder = RunFolder.create(tmp_path)
    RunState.create(folder, {})
    result = CliRunner().invoke(main, ["run", "--resume", folder.run_id, "--dry-run"])
    assert result.exit_code == 2
    assert "--resume cannot change it" in result.output
    assert "Traceback" not in result.output


def test_resume_of_unknown_run_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PERM_RUNS_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["run", "--resume", "20990101T000000Z-abcdef"])
    assert result.exit_code == 2
    assert "not found" in result.output


def _context(tmp_path, options):
    from loader.pipeline import Pipeline

    folder = RunFolder.create(tmp_path)
    return Pipeline(folder=folder, state=RunState.create(folder, options))


def test_reject_threshold_reads_the_warehouse_and_the_export(tmp_path):
    import duckdb

    from loader.pipeline import ExportInfo, check_reject_threshold
    from loader.errors import VerificationFailed

    ctx = _context(tmp_path, {"max_rejects": "1%"})
    with duckdb.connect(str(ctx.folder.warehouse_path)) as con:
        con.execute("create table dq_rejects as select 'DQ-06' as dq_id from range(3)")
    ctx.folder.path("target").mkdir()
    ctx.folder.path("target", "manifest.json").write_text(json.dumps({"nodes": {"model.p.dq_rejects": {
        "resource_type": "model", "name": "dq_rejects", "relation_name": "main.dq_rejects"}}}))
    manifest = ctx.folder.read_manifest()
    manifest["config"] = {"warehouse": "duckdb"}
    manifest["steps"] = {"extract": {"tables": {"cases": {"rows": 400}, "users": {"rows": 100}}}}
    ctx.folder.write_manifest(manifest)
    check_reject_threshold(ctx, ExportInfo(documents=0, rejected_documents=2, tables={}))  # 5 of 500 = 1%: allowed
    with pytest.raises(VerificationFailed, match="6 rejected rows of 500 extracted exceed --max-rejects 1%"):
        check_reject_threshold(ctx, ExportInfo(documents=0, rejected_documents=3, tables={}))


def test_execute_marks_steps_and_writes_the_report_after_a_failed_verification(tmp_path, monkeypatch):
    from loader import pipeline as run_module
    from loader.errors import VerificationFailed
    from loader.pipeline import StageInfo

    calls = []

    def step(name):
        def run_step(ctx):
            calls.append(name)
            if name == "verify":
                raise VerificationFailed("verification failed (documents 1)")
            return StageInfo(rows=1, warehouse="duckdb")
        return run_step

    monkeypatch.setattr(run_module, "STEP_FUNCTIONS", {name: step(name) for name in STEPS})
    reports = []
    monkeypatch.setattr("loader.report.write_report", lambda folder, dsn=None: reports.append(folder) or {"html": "r.html"})
    ctx = _context(tmp_path, {})
    with pytest.raises(VerificationFailed):
        ctx.run()
    assert calls == list(STEPS[:STEPS.index("verify") + 1])
    assert ctx.state.status("verify") == "failed" and ctx.state.status("report") == PENDING
    assert reports == [ctx.folder]  # the failure still gets its report
    calls.clear()
    with pytest.raises(VerificationFailed):
        ctx.run()  # a resume starts again at verify
    assert calls == ["verify"]


def test_dry_run_skips_backup_and_verify(tmp_path, monkeypatch):
    from loader import pipeline as run_module
    from loader.pipeline import SkippedInfo

    calls = []
    monkeypatch.setattr(run_module, "STEP_FUNCTIONS",
                        {name: (lambda ctx, name=name: calls.append(name) or SkippedInfo("stub")) for name in STEPS})
    ctx = _context(tmp_path, {"dry_run": True})
    ctx.run()
    assert "backup" not in calls and "verify" not in calls and "import" in calls
    assert ctx.state.status("backup") == "skipped" and ctx.state.first_incomplete() is None
