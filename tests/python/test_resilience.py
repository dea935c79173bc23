"""Resilience against a real emulator process: injected HTTP faults, kill -9 of the loader at random
points, the emulator killed and restarted mid-import. Every scenario must end with a run whose
verification passed, every exported document in the target exactly once.

Fast variants run in `make test`; the `slow` ones (`make test-slow`) repeat them with more trials.
"""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from loader.convex.gateway import RetryPolicy
from resilience_support import (
    EmulatorProcess, assert_migrated, pipeline_env, prepared_run, run_cli, start_cli, step_status, wait_for_step,
)

FAULT_RATE = 0.10
# One rule per kind; together they hit FAULT_RATE of all requests.
FAULT_KINDS = [
    {"action": "status", "status": 429},
    {"action": "status", "status": 500},
    {"action": "status", "status": 502},
    {"action": "status", "status": 503},
    {"action": "status", "status": 408},  # the server timed the request out
    {"action": "delay", "latency_ms": 1500},  # a slow answer
    {"action": "drop"},  # connection closed before the request ran
    {"action": "commit_then_drop"},  # the request ran, its answer is lost
]
# Wall-clock timeouts of the client (the gateway waits 60 s): only in the slow variant.
CLIENT_TIMEOUT = {"action": "delay", "latency_ms": 61_000, "times": 2}
SLOW_EVERY_REQUEST = [{"endpoint": "*", "action": "delay", "latency_ms": 40, "times": None}]


def fault_rules(seed: int, kinds: list[dict] = FAULT_KINDS, rate: float = FAULT_RATE) -> list[dict]:
    """Random faults: every request fails with probability `rate`, the kind drawn from `kinds`."""
    per_kind = 1 - (1 - rate) ** (1 / len(kinds))
    return [{"endpoint": "*", "times": None, "probability": per_kind, "seed": seed * 100 + i, **kind}
            for i, kind in enumerate(kinds)]


def one_of_each(kinds: list[dict] = FAULT_KINDS, every: int = 3) -> list[dict]:
    """Each kind once, spread out: kind i hits about the (every·(i+1))-th request."""
    return [{"endpoint": "*", "times": 1, "skip": every * (i + 1) - 1, **kind} for i, kind in enumerate(kinds)]


@pytest.fixture(scope="module")
def prepared(pg_server, tmp_path_factory):
    return prepared_run(pg_server, tmp_path_factory.mktemp("prepared"))


def _resume(prepared, env, timeout: float = 900):
    return run_cli(["run", "--resume", prepared.run_id, "--no-progress"], env, timeout=timeout)


def _faulted_run(prepared, tmp_path, rules: list[dict]) -> tuple[dict[str, int], int]:
    """Resume the prepared run against an emulator with `rules`; (faults fired per rule, requests)."""
    runs_dir = tmp_path / "runs"
    folder = prepared.clone(runs_dir)
    with EmulatorProcess(tmp_path / "emulator", faults=rules) as emulator:
        done = _resume(prepared, pipeline_env(prepared.source_dsn, emulator, runs_dir))
        report = emulator.fault_report()
        fired = {f"{r['action']} {r['status'] if r['action'] == 'status' else r['latency_ms']}": r["fired"]
                 for r in report["rules"]}
        assert done.returncode == 0, f"faults fired {fired}\n{done.stderr[-3000:]}"
        assert "verification PASSED" in done.stdout
        assert_migrated(folder, emulator)
    return fired, sum(report["calls"].values())


def test_run_completes_and_verifies_with_every_kind_of_fault(prepared, tmp_path):
    fired, requests = _faulted_run(prepared, tmp_path, one_of_each())
    assert all(fired.values()), f"not every fault fired in {requests} requests: {fired}"


def test_run_completes_and_verifies_with_faults_on_10_percent_of_requests(prepared, tmp_path):
    fired, requests = _faulted_run(prepared, tmp_path, fault_rules(seed=3))
    assert sum(fired.values()) >= 1, f"no fault fired in {requests} requests"


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4, 9))
def test_slow_faults_with_client_timeouts_over_several_seeds(prepared, tmp_path, seed):
    rules = fault_rules(seed) + [{"endpoint": "*", "probability": 0.05, "seed": seed, **CLIENT_TIMEOUT}]
    _faulted_run(prepared, tmp_path, rules)


@pytest.mark.parametrize("action", ["drop", "commit_then_drop"])
def test_snapshot_export_survives_a_dropped_request(action, tmp_path):
    """Found by the slow fault mix: a dropped export request (run or not) stopped the backup step."""
    rule = {"endpoint": "/api/export/request/zip", "action": action, "times": 1}
    with EmulatorProcess(tmp_path / "emulator", faults=[rule]) as emulator, emulator.gateway() as gateway:
        gateway.retry = RetryPolicy(base_delay=0.05, max_delay=0.1)
        gateway.poll_interval = 0.02
        path = gateway.export_snapshot(tmp_path / "backup.zip")
        assert path.is_file() and path.stat().st_size > 0
        report = emulator.fault_report()
    assert report["rules"][0]["fired"] == 1
    expected_requests = 2 if action == "drop" else 1  # a request that ran is adopted, not repeated
    assert report["calls"]["POST /api/export/request/zip"] == expected_requests


def _kill_trial(prepared, tmp_path, rng: random.Random) -> tuple[str, float, bool]:
    """Start the Convex-writing part of a run, SIGKILL it at a random point, then resume it."""
    runs_dir = tmp_path / "runs"
    folder = prepared.clone(runs_dir)
    step, delay = rng.choice(["backup", "import", "import", "import", "verify"]), rng.uniform(0.0, 2.0)
    with EmulatorProcess(tmp_path / "emulator", faults=SLOW_EVERY_REQUEST) as emulator:
        env = pipeline_env(prepared.source_dsn, emulator, runs_dir)
        process = start_cli(["run", "--resume", prepared.run_id, "--no-progress"], env, tmp_path / "killed.log")
        try:
            if wait_for_step(folder, step, process):
                time.sleep(delay)
            killed = process.poll() is None
            if killed:
                os.killpg(process.pid, signal.SIGKILL)
        finally:
            process.wait(timeout=60)
        emulator.clear_faults()
        done = _resume(prepared, env)
        assert done.returncode == 0, f"killed in {step} after {delay:.2f}s:\n{done.stderr[-3000:]}"
        assert_migrated(folder, emulator)
    return step, delay, killed


def _kill_trials(prepared, tmp_path, trials: int, seed: int) -> None:
    rng = random.Random(seed)
    outcomes = [_kill_trial(prepared, tmp_path / f"trial{i}", rng) for i in range(trials)]
    assert any(killed for _, _, killed in outcomes), f"no trial was killed mid-run: {outcomes}"


def test_kill_9_of_the_loader_then_resume_loses_and_duplicates_nothing(prepared, tmp_path):
    _kill_trials(prepared, tmp_path, trials=3, seed=20261124)


@pytest.mark.slow
def test_slow_kill_9_at_random_points_in_twelve_trials(prepared, tmp_path):
    _kill_trials(prepared, tmp_path, trials=12, seed=int(time.time()))


def _emulator_restart_trial(prepared, tmp_path, rng: random.Random) -> None:
    """SIGKILL the emulator while the loader imports, restart it on the same port and state."""
    runs_dir = tmp_path / "runs"
    folder = prepared.clone(runs_dir)
    with EmulatorProcess(tmp_path / "emulator", faults=SLOW_EVERY_REQUEST) as emulator:
        env = pipeline_env(prepared.source_dsn, emulator, runs_dir)
        process = start_cli(["run", "--resume", prepared.run_id, "--no-progress"], env, tmp_path / "first.log")
        try:
            assert wait_for_step(folder, "import", process), (tmp_path / "first.log").read_text()[-3000:]
            time.sleep(rng.uniform(0.0, 1.5))
            emulator.kill()
            time.sleep(rng.uniform(0.5, 2.0))
            emulator.start()
        finally:
            process.wait(timeout=600)
        if step_status(folder, "report") != "done":
            done = _resume(prepared, env)
            assert done.returncode == 0, done.stderr[-3000:]
        assert_migrated(folder, emulator)


def test_emulator_restarted_mid_import_then_resume_loses_and_duplicates_nothing(prepared, tmp_path):
    _emulator_restart_trial(prepared, tmp_path, random.Random(7))


@pytest.mark.slow
def test_slow_emulator_restarted_mid_import_five_times(prepared, tmp_path):
    rng = random.Random(int(time.time()))
    for trial in range(5):
        _emulator_restart_trial(prepared, tmp_path / f"trial{trial}", rng)
