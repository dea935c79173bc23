"""`make demo` = `perm-migrate run --demo`: no setup at all, ends with a passing verification + the report."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

PERM_MIGRATE = str(Path(sys.executable).with_name("perm-migrate"))
TARGET_ENV = ("SUPABASE_DB_URL", "CONVEX_URL", "CONVEX_DEPLOY_KEY", "CONVEX_SELF_HOSTED_URL",
              "CONVEX_SELF_HOSTED_ADMIN_KEY", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE",
              "PERM_MAPPING_DB")


def test_demo_runs_the_whole_migration_and_verifies(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in TARGET_ENV}
    env["PERM_RUNS_DIR"] = str(tmp_path / "runs")
    result = subprocess.run([PERM_MIGRATE, "run", "--demo"], env=env, capture_output=True, text=True,
                            timeout=900, stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("verification PASSED (") and "documents checked" in lines[0]
    report = Path(lines[1].removeprefix("report: "))
    assert report.is_file() and report.is_relative_to(tmp_path / "runs")
    html = report.read_text()
    assert "Verification PASSED" in html and "DQ-" in html
    assert "[import] done" in result.stderr and "[verify] done" in result.stderr
    run_id = lines[-1].removeprefix("run id: ")

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([PERM_MIGRATE, *args], env=env, capture_output=True, text=True, timeout=600,
                              stdin=subprocess.DEVNULL, cwd=tmp_path)

    # After the demo its emulator is gone: verify, report and rollback start it again on runs/<id>/emulator.
    verified = cli("verify", "--run-id", run_id)
    assert verified.returncode == 0, verified.stderr[-3000:]
    assert "verification PASSED" in verified.stdout and "demo run: target is its emulator" in verified.stderr
    # While `emulator serve` holds the run's emulator state, verify must not start a second emulator on it.
    serving = subprocess.Popen([PERM_MIGRATE, "emulator", "serve", "--port", "0", "--state-dir",
                                str(tmp_path / "runs" / run_id / "emulator")],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        _wait_for_lock_holder(tmp_path / "runs" / run_id / "emulator" / "emulator.lock", serving)
        refused = cli("verify", "--run-id", run_id)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert f"is in use by another emulator, pid {serving.pid}" in refused.stderr
        assert "stop that emulator or use another --state-dir" in refused.stderr and "Traceback" not in refused.stderr
    finally:
        serving.terminate()
        serving.communicate(timeout=30)
    reported = cli("report", "--run-id", run_id)
    assert reported.returncode == 0, reported.stderr[-3000:]
    assert reported.stdout.startswith("report: ")
    rolled_back = cli("rollback", "--run-id", run_id, "--yes")
    assert rolled_back.returncode == 0, rolled_back.stderr[-3000:]
    exported = len((tmp_path / "runs" / run_id / "export" / "cases.jsonl").read_text().splitlines())
    assert f"cases: delete {exported}, keep 0, restore 0" in rolled_back.stdout
    again = cli("verify", "--run-id", run_id)  # the rollback emptied the demo target
    assert again.returncode == 1 and "verification failed" in again.stderr, again.stdout + again.stderr


def _wait_for_lock_holder(lock_file: Path, process: subprocess.Popen) -> None:
    """Until `process` has written itself as the holder of `lock_file`."""
    deadline = time.monotonic() + 30
    while f'"pid": {process.pid}' not in (lock_file.read_text() if lock_file.exists() else ""):
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read() if process.poll() else ""
        time.sleep(0.05)
