"""verify: 100% read-back against the exported files, on a real emulator after a real import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


from convex_marts_fixture import PROFILE_FUNCTION, required_fields, uuid
from loader.convex.schema import Schema
from loader.verify import VERIFY_FILE, build_inputs, diff_values, verify_run
from operator_fixture import USER_REFERENCES, add_verify_models, migrated_run, pre_existing_v2_user


def run_verify(m):
    return verify_run(build_inputs(m.folder, m.mapping), m.gateway)


def mismatches(result, check):
    return result["checks"][check]["examples"]


def test_diff_values_is_readable():
    lines = list(diff_values({"a": 1, "b": [1, 2], "c": {"d": "x"}, "e": True},
                             {"a": 1.0, "b": [1], "c": {"d": "y"}, "e": 1, "f": 0}))
    assert lines == ["b: expected 2 items, got 1", 'c.d: expected "x", got "y"', "e: expected true, got 1",
                     "f: unexpected 0"]


def test_clean_run_passes_with_every_document_checked(tmp_path):
    with migrated_run(tmp_path) as m:
        result = run_verify(m)
    assert result["passed"], json.dumps(result["checks"], indent=1)
    assert result["tables"]["users"] == {"exported": 3, "created": 3, "verified": 3}
    assert result["tables"]["cases"] == {"exported": 4, "created": 4, "verified": 4}
    assert result["tables"]["userProfiles"] == {"exported": 3, "created": 3, "verified": 3}
    cases = {r["source_table"]: r for r in result["conservation"]}["public.cases"]
    assert (cases["loaded"], cases["rejected"], cases["balanced"]) == (4, 2, True)  # 2 export rejects moved
    saved = json.loads(m.folder.path(VERIFY_FILE).read_text())
    assert saved["passed"] is True
    assert m.folder.path(VERIFY_FILE).stat().st_mode & 0o777 == 0o600


def test_pre_existing_user_and_patched_profile_pass(tmp_path):
    with migrated_run(tmp_path, before_import=pre_existing_v2_user) as m:
        result = run_verify(m)
    assert result["passed"], json.dumps(result["checks"], indent=1)
    assert result["tables"]["users"]["pre_existing"] == 1
    assert result["backup_counts"]["users"] == 1


def test_pre_existing_profile_gains_only_its_legacy_ids(tmp_path):
    def signup_with_profile(gateway, work_dir):
        pre_existing_v2_user(gateway, work_dir)
        [bob] = list(gateway.iter_documents("users"))
        profile = {**required_fields(Schema.from_file(), "userProfiles"), "userId": bob["_id"],
                   "timezone": "Pacific/Auckland", "dismissedDeadlines": []}
        path = work_dir / "v2_profile.jsonl"
        path.write_text(json.dumps(profile) + "\n")
        gateway.import_file(path, table="userProfiles", mode="append")

    with migrated_run(tmp_path, before_import=signup_with_profile) as m:
        result = run_verify(m)
        bob_profile = next(p for p in m.gateway.iter_documents("userProfiles") if p.get("legacyId") == uuid(3))
    assert result["passed"], json.dumps(result["checks"], indent=1)
    assert result["tables"]["userProfiles"]["pre_existing"] == 1
    assert bob_profile["timezone"] == "Pacific/Auckland"  # the v2 setting is kept, the legacy id added


def test_tampered_document_is_caught_with_a_readable_diff(tmp_path):
    with migrated_run(tmp_path) as m:
        profile = next(p for p in m.gateway.iter_documents("userProfiles") if p.get("legacyId") == uuid(3))
        changed = {k: v for k, v in profile.items() if not k.startswith("_")}
        changed["timezone"] = "Asia/Tokyo"
        m.gateway.mutation(PROFILE_FUNCTION, {"profiles": [changed], "overwriteExistingProfiles": True},
                           idempotent=True)
        result = run_verify(m)
    assert not result["passed"]
    assert result["checks"]["documents"]["mismatches"] == 1
    assert mismatches(result, "documents") == [
        f'userProfiles legacyId={uuid(3)} (_id {profile["_id"]}): timezone: expected "Europe/Paris", got "Asia/Tokyo"']


def test_dangling_reference_and_missing_document_are_caught(tmp_path):
    with migrated_run(tmp_path) as m:
        case = next(c for c in m.gateway.iter_documents("cases") if c["legacyId"] == uuid(11))
        m.gateway.delete_documents("cases", [case["_id"]])
        result = run_verify(m)
    assert not result["passed"]
    assert f"cases legacyId={uuid(11)}: not found in the target" in mismatches(result, "documents")
    dangling = mismatches(result, "references")
    assert len(dangling) == 1
    assert f"dismissedDeadlines[].caseId = {case['_id']} is not a document of cases" in dangling[0]
    assert dangling[0].startswith(f"userProfiles legacyId={uuid(1)}")


def test_changed_pre_existing_document_is_caught(tmp_path):
    with migrated_run(tmp_path, before_import=pre_existing_v2_user) as m:
        bob = next(u for u in m.gateway.iter_documents("users") if u["email"] == "bob@example.com")
        m.gateway.delete_documents("users", [bob["_id"]])
        result = run_verify(m)
    assert not result["passed"]
    assert f"users _id {bob['_id']}: existed before the run and is gone" in mismatches(result, "pre_existing")


def test_legacy_user_group_mismatch_is_caught(tmp_path):
    with migrated_run(tmp_path) as m:
        wrong = [(ref, "ann@example.com" if ref == uuid(4) else email) for ref, email in USER_REFERENCES]
        add_verify_models(m.folder, user_references=wrong)
        result = run_verify(m)
    assert not result["passed"]
    examples = mismatches(result, "legacy_user_groups")
    assert len(examples) == 2  # cy's two cases
    for legacy_id, line in zip((uuid(14), uuid(16)), examples):
        assert line.startswith(f"cases legacyId={legacy_id}")
        assert line.endswith(f"legacyUserId {uuid(4)} resolves to group ann@example.com, userId is cy@example.com")


def test_unbalanced_conservation_is_caught(tmp_path):
    with migrated_run(tmp_path) as m:
        add_verify_models(m.folder, reconciliation=[("public.cases", 7, 6, 0, 0)])
        result = run_verify(m)
    assert not result["passed"]
    assert mismatches(result, "conservation") == [
        "public.cases: extracted 7 != loaded 4 + rejected 2 + excluded 0",
        "public.cases: the extract manifest has 6 rows, reconciliation 7"]


def test_duplicate_document_is_caught(tmp_path):
    with migrated_run(tmp_path) as m:
        case = next(c for c in m.gateway.iter_documents("cases") if c["legacyId"] == uuid(12))
        copy = tmp_path / "dup.jsonl"
        copy.write_text(json.dumps({k: v for k, v in case.items() if not k.startswith("_")}) + "\n")
        m.gateway.import_file(copy, table="cases", mode="append")
        result = run_verify(m)
    assert not result["passed"]
    assert any(f"cases legacyId={uuid(12)}: 2 documents in the target" in e for e in mismatches(result, "documents"))


def test_verify_command_exit_codes(tmp_path):
    with migrated_run(tmp_path) as m:
        env = {**os.environ, "PERM_RUNS_DIR": str(m.folder.root.parent), "PERM_MAPPING_DB": str(m.mapping_path),
               "CONVEX_SELF_HOSTED_URL": m.emulator.url, "CONVEX_SELF_HOSTED_ADMIN_KEY": m.emulator.admin_key}
        env.pop("CONVEX_DEPLOY_KEY", None)
        command = [str(Path(sys.executable).with_name("perm-migrate")), "verify", "--run-id", m.folder.run_id]
        ok = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert ok.returncode == 0, ok.stderr
        assert "verification PASSED: 10 documents" in ok.stdout
        case = next(c for c in m.gateway.iter_documents("cases") if c["legacyId"] == uuid(11))
        m.gateway.delete_documents("cases", [case["_id"]])
        failed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1
    assert f"cases legacyId={uuid(11)}: not found in the target" in failed.stderr
    assert "verification failed (documents 2, references 1)" in failed.stderr  # the case, and the profile pointing at it
    assert "Traceback" not in failed.stderr
    assert m.emulator.admin_key.split("|")[1] not in failed.stderr + failed.stdout
