"""Security: the key never leaks, plain http:// to a remote host is refused, replacing target tables
needs --yes, raw snapshot files are private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from loader.convex.gateway import resolve_target
from perm_rehearsal.demo_data.generator import generate
from loader.errors import ConfigError
from loader.extract import extract
from loader.run_folder import RunFolder
from resilience_support import (
    ADMIN_KEY, SECRET_PART, EmulatorProcess, assert_migrated, clean_env, pipeline_env, prepared_run, run_cli,
)


@pytest.fixture(scope="module")
def prepared(pg_server, tmp_path_factory):
    return prepared_run(pg_server, tmp_path_factory.mktemp("prepared"))


def _files_containing(root: Path, needle: bytes) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes())


def test_deploy_key_never_appears_in_output_logs_run_folder_or_report(prepared, tmp_path):
    runs_dir = tmp_path / "runs"
    folder = prepared.clone(runs_dir)
    with EmulatorProcess(tmp_path / "emulator") as emulator:
        env = pipeline_env(prepared.source_dsn, emulator, runs_dir)
        done = run_cli(["run", "--resume", prepared.run_id, "--no-progress", "--verbose"], env)
        assert done.returncode == 0, done.stderr
        assert_migrated(folder, emulator)
        status = run_cli(["status", "--run-id", prepared.run_id], env)
    assert (folder / "report").is_dir() and any((folder / "report").iterdir()), "the run wrote no report"
    assert list((folder / "logs").glob("*.log")), "the run wrote no log"
    outputs = {"first run stdout": prepared.stdout, "first run stderr": prepared.stderr,
               "resume stdout": done.stdout, "resume stderr": done.stderr,
               "status stdout": status.stdout, "status stderr": status.stderr}
    for needle in (ADMIN_KEY, SECRET_PART, SECRET_PART[:16]):
        leaked = [name for name, text in outputs.items() if needle in text]
        assert not leaked, f"the admin key appears in {leaked}"
        for root in (folder, runs_dir, prepared.root.parent):
            assert not _files_containing(root, needle.encode()), f"the admin key is written in {root}"
    assert "convex-self-hosted|***" in done.stderr, "the target line should name the key by its prefix only"


def test_a_rejected_key_given_as_flag_does_not_leak(prepared, tmp_path):
    """The target refuses the key (401): the one-line error names the key by its prefix only."""
    wrong_secret = "badbad" + SECRET_PART[6:]
    with EmulatorProcess(tmp_path / "emulator") as emulator:
        env = clean_env(PERM_RUNS_DIR=str(tmp_path / "runs"), SUPABASE_DB_URL=prepared.source_dsn)
        done = run_cli(["run", "--no-progress", "--url", emulator.url, "--admin-key",
                        f"convex-self-hosted|{wrong_secret}"], env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "Traceback" not in done.stderr
    assert wrong_secret not in done.stdout + done.stderr
    assert not _files_containing(tmp_path / "runs", wrong_secret.encode())


@pytest.mark.parametrize("url", ["http://convex.example.com", "http://10.1.2.3:3210", "http://127.0.0.1.nip.io:3210"])
def test_plain_http_to_a_non_local_host_is_refused(url, prepared, tmp_path):
    with pytest.raises(ConfigError, match="refusing plain http://"):
        resolve_target(url, ADMIN_KEY)
    env = clean_env(PERM_RUNS_DIR=str(tmp_path / "runs"), SUPABASE_DB_URL=prepared.source_dsn,
                    CONVEX_URL=url, CONVEX_DEPLOY_KEY=ADMIN_KEY)
    for args in (["run", "--no-progress"], ["cleanup-legacy", "--yes"]):
        refused = run_cli(args, env)
        assert refused.returncode == 2, refused.stderr
        assert "refusing plain http://" in refused.stderr and "use https://" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert SECRET_PART not in refused.stdout + refused.stderr


@pytest.mark.parametrize("url", ["http://localhost:3210", "http://127.0.0.1:3210", "http://[::1]:3210",
                                 "https://happy-otter-123.convex.cloud"])
def test_local_http_and_https_are_accepted(url):
    assert resolve_target(url, ADMIN_KEY).url == url


def test_replacing_non_empty_target_tables_is_refused_without_yes(prepared, tmp_path):
    runs_dir = tmp_path / "runs"
    folder = prepared.clone(runs_dir)
    with EmulatorProcess(tmp_path / "emulator") as emulator:
        env = pipeline_env(prepared.source_dsn, emulator, runs_dir)
        assert run_cli(["run", "--resume", prepared.run_id, "--no-progress"], env).returncode == 0
        before = {t: len(emulator.documents(t)) for t in ("users", "cases", "userProfiles")}
        assert all(before.values()), before

        refused = run_cli(["rollback", "--run-id", str(folder)], env)  # no terminal, no --yes
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "--yes" in refused.stderr and "Traceback" not in refused.stderr
        assert {t: len(emulator.documents(t)) for t in before} == before, "the target changed without --yes"

        restored = run_cli(["rollback", "--run-id", str(folder), "--yes"], env)
        assert restored.returncode == 0, restored.stderr
        assert {t: len(emulator.documents(t)) for t in before} == {t: 0 for t in before}


def test_raw_snapshot_files_are_owner_only_whatever_the_umask(fresh_database, tmp_path):
    source = fresh_database("security_v1")
    generate(source, n_users=3, n_cases=5, seed=2)
    previous = os.umask(0)
    try:
        folder = RunFolder.create(tmp_path / "runs")
        extract(folder, source, echo=lambda _line: None)
    finally:
        os.umask(previous)
    raw_files = sorted(folder.raw_dir.glob("*.jsonl"))
    assert len(raw_files) == 8
    for path in raw_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(folder.raw_dir.stat().st_mode) & 0o077 == 0
    assert stat.S_IMODE(folder.path("manifest.json").stat().st_mode) == 0o600


def test_raw_and_exported_files_of_a_cli_run_are_owner_only(prepared):
    private = [*prepared.root.joinpath("raw").glob("*.jsonl"), *prepared.root.joinpath("export").glob("*.jsonl")]
    assert len(private) >= 8
    loose = [str(p) for p in private if stat.S_IMODE(p.stat().st_mode) != 0o600]
    assert not loose, f"files readable by others: {loose}"
