"""One process per run: a second `perm-migrate` on the same run id is refused at once, naming the holder;
`status` tells a live run from a dead one; kill -9 releases the lock. Real processes only."""

from __future__ import annotations

import json
import os
import signal
import socket

import pytest

from resilience_support import (
    EmulatorProcess, assert_migrated, pipeline_env, prepared_run, run_cli, start_cli, wait_for_step,
)

# Every request slowed down: the first process stays inside the Convex steps long enough.
SLOW_EVERY_REQUEST = [{"endpoint": "*", "action": "delay", "latency_ms": 300, "times": None}]


@pytest.fixture(scope="module")
def prepared(pg_server, tmp_path_factory):
    return prepared_run(pg_server, tmp_path_factory.mktemp("prepared"))


def test_a_second_process_on_a_live_run_is_refused_and_status_tells_live_from_dead(prepared, tmp_path):
    runs_dir = tmp_path / "runs"
    folder = prepared.clone(runs_dir)
    with EmulatorProcess(tmp_path / "emulator", faults=SLOW_EVERY_REQUEST) as emulator:
        env = pipeline_env(prepared.source_dsn, emulator, runs_dir)
        first = start_cli(["run", "--resume", prepared.run_id, "--no-progress"], env, tmp_path / "first.log")
        try:
            assert wait_for_step(folder, "backup", first), (tmp_path / "first.log").read_text()[-3000:]
            state_before = (folder / "state.json").read_text()

            second = run_cli(["run", "--resume", prepared.run_id, "--no-progress"], env, timeout=60)
            assert first.poll() is None, "the first process ended before the second one was tried"
            assert second.returncode == 2, second.stdout + second.stderr
            last = second.stderr.strip().splitlines()[-1]
            assert f"run {prepared.run_id} is in use by pid {first.pid} on host {socket.gethostname()}" in last
            assert "(started 20" in last and "Traceback" not in second.stderr
            assert "was interrupted" not in second.stderr  # refused before touching the state
            status = json.loads((folder / "state.json").read_text())
            assert status["steps"]["backup"]["status"] in ("running", "done"), "the refused process changed the state"
            assert json.loads(state_before)["steps"]["backup"]["attempts"] == status["steps"]["backup"]["attempts"]

            live = run_cli(["status", "--run-id", prepared.run_id], env, timeout=60)
            assert live.returncode == 0, live.stderr
            assert f"in progress: pid {first.pid} on host {socket.gethostname()}" in live.stdout
            assert "interrupted" not in live.stdout
        finally:
            if first.poll() is None:
                os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=60)
        assert first.returncode == -signal.SIGKILL, "the first run ended before it could be killed"

        dead = run_cli(["status", "--run-id", prepared.run_id], env, timeout=60)
        assert dead.returncode == 0, dead.stderr
        assert "in progress" not in dead.stdout
        assert "interrupted: no process runs it" in dead.stdout, dead.stdout
        assert "next step: " in dead.stdout and f"perm-migrate run --resume {prepared.run_id}" in dead.stdout

        emulator.clear_faults()
        resumed = run_cli(["run", "--resume", prepared.run_id, "--no-progress"], env)  # kill -9 freed the lock
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert_migrated(folder, emulator)
