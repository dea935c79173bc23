"""A whole CLI run under umask 0: a tripped `--max-rejects` says how to proceed and its advice works;
every file of the run folder and of the emulator's state directory is private (0600, folders 0700)."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from perm_rehearsal.demo_data.generator import generate
from resilience_support import CLI, REPO, EmulatorProcess, assert_migrated, pipeline_env

AS_OF = "2026-01-15T00:00:00Z"


@contextlib.contextmanager
def process_umask(mask: int):
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def _cli_umask_0(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=900, umask=0)


@dataclass(frozen=True)
class TrippedRun:
    folder: Path
    emulator_state: Path
    mapping_db: Path
    tripped: subprocess.CompletedProcess
    documents_after_trip: int
    advice: str
    resumed: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def tripped_run(pg_server, tmp_path_factory) -> TrippedRun:
    """`run --max-rejects 0` on dirty data (trips), then the command its message advises."""
    work = tmp_path_factory.mktemp("private")
    source = pg_server.create_database("private_files_v1")
    generate(source, n_users=10, n_cases=40, seed=5, dirty=True)
    runs_dir = work / "runs"
    with process_umask(0), EmulatorProcess(work / "emulator") as emulator:
        env = pipeline_env(source, emulator, runs_dir)
        tripped = _cli_umask_0(["run", "--no-progress", "--migration-as-of", AS_OF, "--max-rejects", "0"], env)
        documents = sum(len(emulator.documents(t)) for t in ("users", "cases", "userProfiles"))
        found = re.search(r"`(perm-migrate run --resume \S+ --max-rejects \d+)`", tripped.stderr)
        advice = found.group(1) if found else ""
        resumed = _cli_umask_0([*shlex.split(advice)[1:], "--no-progress"], env) if advice else tripped
        [folder] = [p.parent for p in runs_dir.glob("*/state.json")]
        if resumed.returncode == 0:
            assert_migrated(folder, emulator)
    return TrippedRun(folder, work / "emulator", runs_dir / "mapping.sqlite", tripped, documents, advice, resumed)


def test_a_tripped_max_rejects_says_how_to_proceed_and_that_advice_works(tripped_run):
    tripped = tripped_run.tripped
    assert tripped.returncode == 1, tripped.stdout + tripped.stderr
    last = tripped.stderr.strip().splitlines()[-1]
    assert re.match(r"error: \d+ rejected rows of \d+ extracted exceed --max-rejects 0; nothing was written", last)
    assert "start a new run" in last and tripped_run.advice in last, last
    assert tripped_run.documents_after_trip == 0
    resumed = tripped_run.resumed
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "verification PASSED" in resumed.stdout
    assert "replaces the run's limit 0" in resumed.stderr


def _loose(root: Path) -> list[str]:
    """Files not 0600 and folders not 0700 under `root` (root included)."""
    loose = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_symlink():
            continue
        wanted = 0o700 if path.is_dir() else 0o600
        if mode != wanted:
            loose.append(f"{path.relative_to(root.parent)} {mode:o}")
    return loose


def test_every_file_of_the_run_folder_is_private_whatever_the_umask(tripped_run):
    folder = tripped_run.folder
    for expected in ("warehouse.duckdb", "logs/dbt.log", "target/manifest.json", "export/cases.jsonl",
                     "backup/pre_run.zip", "raw/cases.jsonl", "verify.json", "report/report.html", "run.lock"):
        assert folder.joinpath(expected).is_file(), f"{expected} missing: the check would not cover it"
    assert _loose(folder) == []
    assert stat.S_IMODE(tripped_run.mapping_db.stat().st_mode) == 0o600


def test_every_file_of_the_emulator_state_is_private_whatever_the_umask(tripped_run):
    state = tripped_run.emulator_state
    assert len([p for p in state.rglob("*") if p.is_file()]) >= 2, "the emulator state holds too little to check"
    assert _loose(state) == []
