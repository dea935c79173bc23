"""Strict operator inputs, checked before any connection and before a run folder exists; the rollback
prompt's per-table plan (real emulator)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from loader.cli import main
from loader.commands._inputs import parse_migration_as_of
from loader.commands.run import failure_advice
from loader.pipeline import MaxRejects
from loader.errors import ConfigError, RejectLimitExceeded, SourceError, VerificationFailed
from loader.run_folder import RunFolder
from loader.transform import TransformFailed
from operator_fixture import migrated_run, pre_existing_v2_user
from resilience_support import clean_env

PERM_MIGRATE = str(Path(sys.executable).with_name("perm-migrate"))
UNREACHABLE_SOURCE = "postgresql://nobody:source-pw@127.0.0.1:1/none"
LOCAL_TARGET = {"CONVEX_SELF_HOSTED_URL": "http://127.0.0.1:9", "CONVEX_SELF_HOSTED_ADMIN_KEY": "local|0123456789abcdef"}


@pytest.mark.parametrize("text", ["150%", "0%", "", " ", "1.5", "-1", "ten", "5%%", "1e3", "100.5%"])
def test_max_rejects_refuses_anything_but_a_count_or_a_percentage_up_to_100(text):
    with pytest.raises(ConfigError, match="whole number of rows .* in \\(0, 100\\]"):
        MaxRejects.parse(text)


@pytest.mark.parametrize("text, expected", [("0", (0, False)), ("25", (25, False)), ("100%", (100, True)),
                                            ("0.5%", (0.5, True)), (" 2 % ", (2, True))])
def test_max_rejects_accepts_counts_and_percentages(text, expected):
    limit = MaxRejects.parse(text)
    assert (limit.value, limit.percent) == expected


@pytest.mark.parametrize("text", ["2026-01-15", "2026-01-15T00:00:00", "2026-01-15T00:00", "15/01/2026 00:00:00Z",
                                  "2026-01-15T00:00:00 UTC", "now"])
def test_migration_as_of_must_be_a_full_timestamp_with_offset(text):
    with pytest.raises(ConfigError, match="full ISO-8601 UTC timestamp .* e.g. 2026-12-01T06:00:00Z"):
        parse_migration_as_of(text)


def test_migration_as_of_far_from_today_needs_yes():
    now = dt.datetime(2026, 12, 7, tzinfo=dt.timezone.utc)
    for text in ("1969-12-31T23:00:00Z", "1999-12-31T23:59:59Z", "2027-12-08T00:00:00Z", "2126-01-01T00:00:00Z"):
        with pytest.raises(ConfigError, match="add --yes"):
            parse_migration_as_of(text, now=now)
        assert parse_migration_as_of(text, yes=True, now=now) == text
    assert parse_migration_as_of("2027-12-06T00:00:00+01:00", now=now) == "2027-12-05T23:00:00Z"
    assert parse_migration_as_of("2000-01-01T00:00:00Z", now=now) == "2000-01-01T00:00:00Z"


def test_transform_refuses_a_date_only_migration_as_of(tmp_path):
    folder = RunFolder.create(tmp_path / "runs")
    result = CliRunner().invoke(main, ["transform", "--run-id", str(folder.root), "--migration-as-of", "2026-01-15"])
    assert result.exit_code == 2 and "e.g. 2026-12-01T06:00:00Z" in result.output, result.output
    assert "migration_as_of" not in folder.read_manifest()  # refused before the run settings were fixed


def _run_in_process(args: list[str], tmp_path: Path, env: dict[str, str]):
    unset = {name: None for name in os.environ.keys() - clean_env().keys()}  # no inherited source or target
    environment = unset | {"PERM_RUNS_DIR": str(tmp_path / "runs")} | env
    return CliRunner().invoke(main, ["run", "--no-progress", *args], env=environment)


def _run_folders(tmp_path: Path) -> list[Path]:
    runs = tmp_path / "runs"
    return list(runs.iterdir()) if runs.is_dir() else []


@pytest.mark.parametrize("args, expected", [
    (["--migration-as-of", "2026-01-15"], "e.g. 2026-12-01T06:00:00Z"),
    (["--migration-as-of", "1969-07-20T20:17:00Z"], "add --yes"),
    (["--max-rejects", "150%"], "in (0, 100]"),
    (["--max-rejects", ""], "whole number of rows"),
    (["--max-rejects", "1.5"], "whole number of rows"),
])
def test_bad_inputs_are_refused_before_a_run_folder_exists(args, expected, tmp_path):
    result = _run_in_process(args, tmp_path, {"SUPABASE_DB_URL": UNREACHABLE_SOURCE, **LOCAL_TARGET})
    assert result.exit_code == 2, result.output
    assert expected in result.output and "--resume" not in result.output
    assert _run_folders(tmp_path) == []


@pytest.mark.parametrize("dsn, expected", [
    ("notadsn", "neither a PostgreSQL URL nor key=value pairs"),
    ("mysql://user:pw-secret@db.example.com/app", "is a mysql:// URL, not a PostgreSQL one"),
    ("host=db.example.com dbname", "malformed"),
])
def test_a_dsn_of_another_form_names_the_accepted_forms(dsn, expected, tmp_path):
    result = _run_in_process([], tmp_path, {"SUPABASE_DB_URL": dsn, **LOCAL_TARGET})
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "postgresql://user@host:5432/dbname" in result.output and "key=value pairs such as" in result.output
    assert "pw-secret" not in result.output
    assert _run_folders(tmp_path) == []


def test_the_convex_url_is_checked_before_the_source_connection(tmp_path):
    """The source is unreachable: the Convex URL's error must come first, without any connection attempt."""
    env = clean_env(PERM_RUNS_DIR=str(tmp_path / "runs"), SUPABASE_DB_URL=UNREACHABLE_SOURCE,
                    CONVEX_URL="http://convex.example.com", CONVEX_DEPLOY_KEY="prod:x|0123456789abcdef")
    result = subprocess.run([PERM_MIGRATE, "run", "--no-progress"], env=env, capture_output=True, text=True,
                            timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "refusing plain http://" in result.stderr and "cannot connect" not in result.stderr
    assert _run_folders(tmp_path) == []


# --------------------------------------------------------------------------- rollback plan


def _cli(args, m):
    env = clean_env(PERM_RUNS_DIR=str(m.folder.root.parent), CONVEX_SELF_HOSTED_URL=m.emulator.url,
                    CONVEX_SELF_HOSTED_ADMIN_KEY=m.emulator.admin_key)
    return subprocess.run([PERM_MIGRATE, *args], env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_rollback_states_per_table_what_it_deletes_keeps_and_restores(tmp_path):
    with migrated_run(tmp_path, before_import=lambda gateway, work: pre_existing_v2_user(gateway, work)) as m:
        [bob] = [u for u in m.gateway.iter_documents("users") if u["email"] == "bob@example.com"]
        m.gateway.mutation("migration:deleteByIds", {"table": "users", "ids": [bob["_id"]]}, idempotent=True)
        refused = _cli(["rollback", "--run-id", m.folder.run_id], m)  # no terminal: the plan is shown, nothing happens
        assert refused.returncode == 2 and "pass --yes" in refused.stderr
        plan = [line.strip() for line in refused.stdout.splitlines()[1:]]
        # users: ann and cy created by the run, bob (from before the run) deleted since; 4 cases, 3 profiles
        assert plan == ["users: delete 2, keep 0, restore 1", "cases: delete 4, keep 0, restore 0",
                        "userProfiles: delete 3, keep 0, restore 0"], refused.stdout
        done = _cli(["rollback", "--run-id", m.folder.run_id, "--yes"], m)
        assert done.returncode == 0, done.stderr
        assert "users: delete 2, keep 0, restore 1" in done.stdout
        assert [u["email"] for u in m.gateway.iter_documents("users")] == ["bob@example.com"]


def test_delete_created_states_per_table_what_it_deletes_and_keeps(tmp_path):
    with migrated_run(tmp_path, before_import=lambda gateway, work: pre_existing_v2_user(gateway, work)) as m:
        done = _cli(["rollback", "--run-id", m.folder.run_id, "--mode", "delete-created", "--yes",
                     "--mapping-db", str(m.mapping_path)], m)
        assert done.returncode == 0, done.stderr
        assert "users: delete 2, keep 1, restore 0" in done.stdout  # bob's v2 account stays
        assert "cases: delete 4, keep 0, restore 0" in done.stdout
        assert "userProfiles: delete 3, keep 0, restore 0" in done.stdout


# --------------------------------------------------------------------------- advice after a failure


@pytest.mark.parametrize("error, configuration, kept, expected, refused", [
    (SourceError("cannot connect"), True, False, "start the same command again", "--resume"),
    (SourceError("cannot connect"), True, True, "`perm-migrate run --resume RUN`", None),
    (RejectLimitExceeded("7 rejected rows", rejected=7), False, True,
     "`perm-migrate run --resume RUN --max-rejects 7`", None),
    (TransformFailed("dbt build failed"), False, True, "PERM_DUCKDB_MEMORY_LIMIT", None),
    (VerificationFailed("verification failed"), False, True, "`perm-migrate rollback --run-id RUN`", None),
    (SourceError("extract failed"), False, True, "`perm-migrate run --resume RUN`: it continues", None),
    (ConfigError("import: deploy key revoked"), False, True, "Fix it, then `perm-migrate run --resume RUN`",
     "nothing was written"),  # a step after `check` may already have written to Convex
])
def test_every_run_failure_ends_with_advice_for_it(error, configuration, kept, expected, refused, tmp_path):
    advice = failure_advice(error, RunFolder(tmp_path / "RUN"), configuration, kept)
    assert expected in advice
    assert refused is None or refused not in advice


def test_a_new_run_stopped_before_its_first_step_keeps_no_folder_and_ends_with_advice(tmp_path, monkeypatch):
    """No PostgreSQL server binaries for the demo (they cannot be removed from this machine, hence the patch)."""
    from perm_rehearsal import throwaway_pg

    def no_server_binaries():
        raise throwaway_pg.ThrowawayPgError("initdb/pg_ctl not found; install the PostgreSQL server")

    monkeypatch.setattr(throwaway_pg, "_pg_bin_dir", no_server_binaries)
    result = _run_in_process(["--demo"], tmp_path, {})
    assert result.exit_code == 2, result.output
    assert "initdb/pg_ctl not found" in result.output
    assert "start the same command again (nothing was written and no run folder was kept)" in result.output
    assert _run_folders(tmp_path) == []


def test_a_resumed_run_refused_before_its_first_step_ends_with_advice(tmp_path):
    from loader.run_state import RunState
    from loader.transform import run_settings

    folder = RunFolder.create(tmp_path / "runs")
    RunState.create(folder, {})
    run_settings(folder, as_of="2026-12-01T06:00:00Z")
    result = _run_in_process(["--resume", folder.run_id, "--migration-as-of", "2026-11-01T06:00:00Z"], tmp_path,
                             {"SUPABASE_DB_URL": UNREACHABLE_SOURCE, **LOCAL_TARGET})
    assert result.exit_code == 2, result.output
    assert "already uses migration_as_of 2026-12-01T06:00:00Z" in result.output
    assert f"Fix it, then `perm-migrate run --resume {folder.run_id}` (nothing was written" in result.output
    assert folder.root.is_dir()


def test_a_discarded_run_folder_is_deleted_while_its_lock_is_still_held(tmp_path, monkeypatch):
    """A `status` or `run --resume` in between would see a half-deleted folder."""
    import shutil

    real_rmtree, holders = shutil.rmtree, []

    def rmtree_noting_the_lock(path, *args, **kwargs):
        holders.append(RunFolder(Path(path)).lock_holder())
        real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", rmtree_noting_the_lock)
    result = _run_in_process([], tmp_path, {"SUPABASE_DB_URL": UNREACHABLE_SOURCE, **LOCAL_TARGET})
    assert result.exit_code == 2, result.output
    assert _run_folders(tmp_path) == []
    assert len(holders) == 1 and holders[0] is not None and holders[0]["pid"] == os.getpid()


def test_ctrl_c_in_a_step_command_says_run_it_again(tmp_path):
    """SIGINT while `check` waits on a source that accepts and never answers: exit 130 and the hint."""
    with socket.socket() as silent_source:
        silent_source.bind(("127.0.0.1", 0))
        silent_source.listen(1)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "CONVEX", "SUPABASE"))}
        env["SUPABASE_DB_URL"] = f"postgresql://u:p@127.0.0.1:{silent_source.getsockname()[1]}/db"
        check = subprocess.Popen([PERM_MIGRATE, "check"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        connection, _ = silent_source.accept()  # the check is connecting, waiting for an answer
        with connection:
            check.send_signal(signal.SIGINT)
            _, stderr = check.communicate(timeout=60)
    assert check.returncode == 130, stderr
    assert stderr.strip().endswith("interrupted; run the same command again"), stderr
