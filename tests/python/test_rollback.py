"""Backup before the first write and rollback to the exact pre-run state, on a real emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from loader.backup import backup_paths, created_by_run, delete_created, load_backup, restore_backup, take_backup
from loader.errors import MigrationError
from loader.importer import import_tables
from operator_fixture import TABLES, add_faults, clear_faults, migrated_run, pre_existing_v2_user, snapshot


def _signup_then_record(states: list):
    def before_import(gateway, work_dir):
        pre_existing_v2_user(gateway, work_dir)
        states.append(snapshot(gateway))
    return before_import


def _import_users_only(m) -> None:
    """A partial run: the users import goes through, the cases import fails permanently."""
    add_faults(m.emulator, [{"endpoint": "/api/import/finish_upload", "action": "status", "status": 400,
                             "code": "ImportFailed", "skip": 1, "times": None}])
    with pytest.raises(MigrationError):
        import_tables(m.folder, m.gateway, mapping=m.mapping, progress=False)
    clear_faults(m.emulator)


def test_backup_is_private_complete_and_taken_once(tmp_path):
    states: list = []
    with migrated_run(tmp_path, before_import=_signup_then_record(states)) as m:
        zip_path, info_path = backup_paths(m.folder)
        info = load_backup(m.folder)
        assert info["counts"] == {"users": 1, "cases": 0, "userProfiles": 0}
        assert zip_path.stat().st_mode & 0o777 == 0o600 and info_path.stat().st_mode & 0o777 == 0o600
        sha = info["sha256"]
        again = take_backup(m.folder, m.gateway, list(TABLES))  # a resumed run keeps the pre-run backup
        assert again["sha256"] == sha and again["counts"]["users"] == 1


def test_rollback_after_a_full_run_restores_the_pre_run_state_exactly(tmp_path):
    states: list = []
    with migrated_run(tmp_path, before_import=_signup_then_record(states)) as m:
        assert snapshot(m.gateway) != states[0]
        assert len(list(m.gateway.iter_documents("cases"))) == 4
        restore_backup(m.folder, m.gateway, load_backup(m.folder))
        assert snapshot(m.gateway) == states[0]  # same documents, same _id and _creationTime


def test_rollback_after_a_partial_run(tmp_path):
    states: list = []
    with migrated_run(tmp_path, before_import=_signup_then_record(states), import_it=False) as m:
        _import_users_only(m)
        partial = snapshot(m.gateway)
        assert len(partial["users"]) == 3 and partial["cases"] == []  # bob reused, ann + cy created
        restore_backup(m.folder, m.gateway, load_backup(m.folder))
        assert snapshot(m.gateway) == states[0]


def _cli(args, m, **kwargs):
    env = {**os.environ, "PERM_RUNS_DIR": str(m.folder.root.parent),
           "CONVEX_SELF_HOSTED_URL": m.emulator.url, "CONVEX_SELF_HOSTED_ADMIN_KEY": m.emulator.admin_key}
    env.pop("CONVEX_DEPLOY_KEY", None)
    return subprocess.run([str(Path(sys.executable).with_name("perm-migrate")), *args], env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, **kwargs)


def test_rollback_command_needs_yes_without_a_terminal(tmp_path):
    states: list = []
    with migrated_run(tmp_path, before_import=_signup_then_record(states)) as m:
        refused = _cli(["rollback", "--run-id", m.folder.run_id], m)
        assert refused.returncode == 2
        assert "pass --yes" in refused.stderr and "Traceback" not in refused.stderr
        assert len(snapshot(m.gateway)["cases"]) == 4  # nothing happened
        done = _cli(["rollback", "--run-id", m.folder.run_id, "--yes"], m)
        assert done.returncode == 0, done.stderr
        assert "rollback done" in done.stdout
        assert snapshot(m.gateway) == states[0]
        assert m.folder.read_manifest()["steps"]["rollback"]["restored"]["users"] == 1


def test_rollback_of_a_run_without_backup_is_a_clear_error(tmp_path):
    with migrated_run(tmp_path) as m:
        for path in backup_paths(m.folder):
            path.unlink()
        result = _cli(["rollback", "--run-id", m.folder.run_id, "--yes"], m)
    assert result.returncode == 2
    assert "has no backup" in result.stderr and "Traceback" not in result.stderr


def test_delete_created_removes_exactly_the_run_s_documents(tmp_path):
    states: list = []
    with migrated_run(tmp_path, before_import=_signup_then_record(states)) as m:
        late = tmp_path / "late_signup.jsonl"  # a v2 sign-up during the window must survive
        late.write_text('{"email": "dora@example.com"}\n')
        m.gateway.import_file(late, table="users", mode="append")
        [dora] = [u for u in m.gateway.iter_documents("users") if u["email"] == "dora@example.com"]
        created = created_by_run(m.folder, m.gateway, m.mapping, load_backup(m.folder))
        assert {t: len(ids) for t, ids in created.items()} == {"users": 2, "cases": 4, "userProfiles": 3}
        assert dora["_id"] not in created["users"]
        assert delete_created(m.folder, m.gateway, created) == {"userProfiles": 3, "cases": 4, "users": 2}
        after = snapshot(m.gateway)
        assert after == {**states[0], "users": sorted(states[0]["users"] + [dora], key=lambda d: d["_id"])}
        again = created_by_run(m.folder, m.gateway, m.mapping, load_backup(m.folder))
        assert delete_created(m.folder, m.gateway, again) == {"userProfiles": 0, "cases": 0, "users": 0}


def test_delete_created_after_a_partial_run(tmp_path):
    states: list = []
    with migrated_run(tmp_path, before_import=_signup_then_record(states), import_it=False) as m:
        _import_users_only(m)
        result = _cli(["rollback", "--run-id", m.folder.run_id, "--mode", "delete-created", "--yes",
                       "--mapping-db", str(m.mapping_path)], m)
        assert result.returncode == 0, result.stderr
        assert "deleted userProfiles 0, cases 0, users 2" in result.stdout
        assert snapshot(m.gateway) == states[0]
