"""Import with id resolution into the in-process emulator: create, reuse (DQ-30), re-run, dry run, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from convex_marts_fixture import build_duckdb_run, sample_rows, uuid
from loader.convex.gateway import ConvexGateway, ConvexTarget
from loader.convex.ids import table_number_of
from loader.convex.schema import CONTRACT_PATH, Schema
from perm_rehearsal.emulator import Emulator, EmulatorConfig
from loader.export import export
from loader.importer import ImportState, SentWhileAbsent, TargetKeys, import_tables
from loader.mapping_table import MappingTable
from loader.run_folder import RunFolder


@pytest.fixture(scope="module")
def schema():
    return Schema.from_file()


@pytest.fixture
def emulator(tmp_path):
    with Emulator(EmulatorConfig(state_dir=tmp_path / "emulator")) as running:
        yield running


@pytest.fixture
def gateway(emulator):
    with ConvexGateway(ConvexTarget(emulator.url, emulator.admin_key), poll_interval=0.01,
                       max_poll_interval=0.05) as gw:
        yield gw


@pytest.fixture
def run(tmp_path, schema):
    folder = RunFolder.create(tmp_path / "runs", "imp1")
    build_duckdb_run(folder, schema)
    export(folder)
    return folder


def docs(gateway, table):
    return list(gateway.iter_documents(table))


def by(field, documents):
    return {d[field]: d for d in documents if field in d}


def run_import(folder, gateway, tmp_path, **kwargs):
    return import_tables(folder, gateway, mapping_path=tmp_path / "mapping.sqlite", progress=False, **kwargs)


def test_import_into_empty_target_resolves_every_reference(run, gateway, tmp_path):
    result = run_import(run, gateway, tmp_path)
    users, cases, profiles = docs(gateway, "users"), docs(gateway, "cases"), docs(gateway, "userProfiles")
    exported = {t: [json.loads(x) for x in (run.export_dir / f"{t}.jsonl").read_text().splitlines()]
                for t in ("users", "cases", "userProfiles")}
    assert (len(users), len(cases), len(profiles)) == tuple(len(exported[t]) for t in ("users", "cases", "userProfiles"))
    user_ids = {u["_id"]: u["email"] for u in users}
    case_ids = {c["_id"] for c in cases}
    for case, source in zip(sorted(cases, key=lambda c: c["legacyId"]), exported["cases"], strict=True):
        assert user_ids[case["userId"]] == source["resolve_owner_email"]
        assert not any(k.startswith("resolve_") for k in case)
    profiles_by_user = {user_ids[p["userId"]]: p for p in profiles}
    ann = profiles_by_user["ann@example.com"]
    assert user_ids[ann["firmId"]] == "cy@example.com"
    assert [d["caseId"] in case_ids for d in ann["dismissedDeadlines"]] == [True]  # uuid(99) dropped (DQ-24)
    assert by("legacyId", cases)[uuid(11)]["_id"] == ann["dismissedDeadlines"][0]["caseId"]
    assert "firmId" not in profiles_by_user["bob@example.com"]  # unresolved optional ref omitted
    for doc in profiles:
        for hidden in doc.get("calendarHiddenCases", []):
            assert hidden in case_ids
    assert result["tables"]["users"]["counts"] == {"created": 3}
    assert result["tables"]["cases"]["counts"] == {"created": 4}
    assert result["tables"]["userProfiles"]["counts"] == {"created": 3}
    findings = [json.loads(x) for x in (run.path("import") / "userProfiles.findings.jsonl").read_text().splitlines()]
    assert sorted((f["dq_id"], f["field"]) for f in findings) == [("DQ-06", "firmId"),
                                                                  ("DQ-24", "dismissedDeadlines[1].caseId")]
    with MappingTable(tmp_path / "mapping.sqlite") as mapping:
        cy_rows = [r for r in mapping.rows("users") if r.email_norm == "cy@example.com"]
        assert {(r.v1_table, r.match_rule) for r in cy_rows} == {("auth.users", "created"), ("app_users", "merged_email")}
        assert mapping.lookup("cases", uuid(14), "cases").convex_id == by("legacyId", cases)[uuid(14)]["_id"]
        assert mapping.lookup("app_users", uuid(1), "userProfiles").convex_id == ann["_id"]
    assert run.read_manifest()["steps"]["import"]["tables"]["cases"]["counts"] == {"created": 4}


def test_second_run_writes_nothing_new(run, gateway, tmp_path):
    run_import(run, gateway, tmp_path)
    before = {t: docs(gateway, t) for t in ("users", "cases", "userProfiles")}
    imports_before = len(gateway.list_imports())
    again = run_import(run, gateway, tmp_path)
    assert {t: docs(gateway, t) for t in before} == before  # same documents, same ids, no patch
    assert len(gateway.list_imports()) == imports_before
    assert again["tables"]["users"]["counts"] == {"mapping_table": 3}
    assert again["tables"]["cases"]["counts"] == {"mapping_table": 4}
    assert again["tables"]["userProfiles"]["counts"] == {"mapping_table": 3}


def test_without_mapping_table_the_run_s_documents_are_matched_by_key_as_its_creations(run, gateway, tmp_path):
    run_import(run, gateway, tmp_path)
    (tmp_path / "mapping.sqlite").unlink()
    again = run_import(run, gateway, tmp_path)
    # the same run sent them while absent (import/<table>.absent.jsonl) and finds them by key:
    # still its creations (rollback deletes them); nothing is written twice
    assert again["tables"]["users"]["counts"] == {"created": 3}
    assert again["tables"]["cases"]["counts"] == {"created": 4}
    assert again["tables"]["userProfiles"]["counts"] == {"created": 3}
    assert [len(docs(gateway, t)) for t in ("users", "cases", "userProfiles")] == [3, 4, 3]


def seed(gateway, tmp_path, table, documents):
    path = tmp_path / f"seed-{table}.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in documents))
    gateway.import_file(path, table=table, mode="append")


def test_existing_v2_user_is_reused_and_profile_patched_not_overwritten(run, gateway, tmp_path, schema):
    from convex_marts_fixture import required_fields

    seed(gateway, tmp_path, "users", [{"email": "bob@example.com", "name": "Bob in v2"},
                                      {"email": "Ann@Example.com"}])
    bob_id = by("email", docs(gateway, "users"))["bob@example.com"]["_id"]
    seed(gateway, tmp_path, "userProfiles", [{**required_fields(schema, "userProfiles"), "userId": bob_id,
                                              "timezone": "Asia/Tokyo"}])
    result = run_import(run, gateway, tmp_path)
    users = by("email", docs(gateway, "users"))
    assert set(users) == {"bob@example.com", "Ann@Example.com", "ann@example.com", "cy@example.com"}
    assert users["bob@example.com"]["_id"] == bob_id and users["bob@example.com"]["name"] == "Bob in v2"
    assert result["tables"]["users"]["counts"] == {"existing_email": 1, "created": 2}
    assert [i["mode"] for i in result["tables"]["users"]["imports"]] == ["append"]
    [bob_profile] = [p for p in docs(gateway, "userProfiles") if p["userId"] == bob_id]
    assert bob_profile["timezone"] == "Asia/Tokyo"  # the user's v2 setting is kept
    assert bob_profile["legacyId"] == uuid(3)  # legacy id patched on
    assert result["tables"]["userProfiles"]["counts"] == {"existing_profile": 1, "created": 2}
    ann_cases = [c for c in docs(gateway, "cases") if c["legacyId"] in {uuid(11), uuid(12)}]
    assert {c["userId"] for c in ann_cases} == {users["ann@example.com"]["_id"]}  # not the case variant
    findings = [json.loads(x) for x in (run.path("import") / "users.findings.jsonl").read_text().splitlines()]
    assert [(f["dq_id"], f["legacy_id"]) for f in findings] == [("DQ-30", "ann@example.com")]
    with MappingTable(tmp_path / "mapping.sqlite") as mapping:
        assert mapping.lookup("app_users", uuid(3), "users").match_rule == "existing_email"
        assert mapping.lookup("app_users", uuid(3), "userProfiles").match_rule == "existing_profile"


def test_dry_run_writes_nothing_and_counts_what_would_be_written(run, gateway, tmp_path):
    seed(gateway, tmp_path, "users", [{"email": "bob@example.com"}])
    result = run_import(run, gateway, tmp_path, dry_run=True)
    assert [u["email"] for u in docs(gateway, "users")] == ["bob@example.com"]
    assert docs(gateway, "cases") == [] and docs(gateway, "userProfiles") == []
    assert result["tables"]["users"]["counts"] == {"existing_email": 1, "to_write": 2}
    assert result["tables"]["cases"]["counts"] == {"to_write": 4}
    assert result["tables"]["userProfiles"]["counts"] == {"to_write": 3}
    assert "import" not in run.read_manifest()["steps"]
    with MappingTable(tmp_path / "mapping.sqlite") as mapping:
        assert list(mapping.rows()) == []


class CrashAfterImportCreated(ConvexGateway):
    """A real gateway whose process 'dies' right after the import id was recorded."""

    def finish_import(self, import_id, **kwargs):
        raise KeyboardInterrupt


def test_resume_polls_the_recorded_import_instead_of_starting_a_new_one(run, emulator, gateway, tmp_path):
    with CrashAfterImportCreated(ConvexTarget(emulator.url, emulator.admin_key), poll_interval=0.01) as crashing:
        with pytest.raises(KeyboardInterrupt):
            run_import(run, crashing, tmp_path)
    pending = ImportState(run).table("users")
    assert pending["status"] == "importing" and pending["mode"] == "requireEmpty" and pending["lines"] == 3
    imports_before = len(gateway.list_imports())
    result = run_import(run, gateway, tmp_path)
    assert gateway.import_status(pending["import_id"])["state"]["state"] == "completed"
    assert len(docs(gateway, "users")) == 3  # the recorded import landed once; nothing re-sent
    assert result["tables"]["users"]["counts"] == {"mapping_table": 3}
    with MappingTable(tmp_path / "mapping.sqlite") as mapping:  # the resumed import's documents count as created
        assert {r.match_rule for r in mapping.rows("users")} == {"created", "merged_email"}
    assert len(gateway.list_imports()) == imports_before + 1  # only the cases import is new
    assert len(docs(gateway, "cases")) == 4 and len(docs(gateway, "userProfiles")) == 3
    assert table_number_of(docs(gateway, "cases")[0]["userId"]) == table_number_of(docs(gateway, "users")[0]["_id"])


def test_documents_convex_still_refuses_are_rejected_and_the_rest_proceed(tmp_path, schema):
    """The target's schema is stricter than the contract: Convex refuses what the loader validated."""
    contract = json.loads(Path(CONTRACT_PATH).read_text())
    for table in contract["tables"]:
        fields = table["documentType"].get("value", {})
        if table["tableName"] == "cases":
            fields["caseNumber"]["fieldType"] = {"type": "number"}
        if table["tableName"] == "userProfiles":
            fields["jobTitle"]["fieldType"] = {"type": "number"}
    strict = tmp_path / "strict_schema.json"
    strict.write_text(json.dumps(contract))
    rows = sample_rows(schema)
    for table, column, index, value in (("convex_cases", "caseNumber", 1, "C-12"),
                                        ("convex_user_profiles", "jobTitle", 1, "Developer")):
        for row in rows[table]:
            row[column] = value if row is rows[table][index] else None
    folder = RunFolder.create(tmp_path / "runs", "strict")
    build_duckdb_run(folder, schema, rows)
    export(folder)
    with Emulator(EmulatorConfig(state_dir=tmp_path / "emulator", schema_path=strict)) as emulator, ConvexGateway(
            ConvexTarget(emulator.url, emulator.admin_key), poll_interval=0.01, max_poll_interval=0.05) as gateway:
        result = run_import(folder, gateway, tmp_path)
        cases = by("legacyId", docs(gateway, "cases"))
        assert set(cases) == {uuid(11), uuid(14), uuid(16)}
        assert len(docs(gateway, "userProfiles")) == 2
    assert result["tables"]["cases"]["counts"] == {"created": 3, "rejected": 1}
    assert result["tables"]["userProfiles"]["counts"] == {"created": 2, "rejected": 1}
    case_rejects = [json.loads(x) for x in (folder.path("import") / "cases.rejects.jsonl").read_text().splitlines()]
    assert [(r["legacy_id"], r["dq_id"]) for r in case_rejects] == [(uuid(12), "SERVER")]
    assert "caseNumber" in case_rejects[0]["message"]
    [profile_reject] = [json.loads(x) for x in (folder.path("import") / "userProfiles.rejects.jsonl").read_text().splitlines()]
    assert profile_reject["legacy_id"] == uuid(3) and "jobTitle" in profile_reject["message"]
    with MappingTable(tmp_path / "mapping.sqlite") as mapping:
        assert mapping.lookup("cases", uuid(12), "cases") is None
        assert mapping.lookup("cases", uuid(11), "cases").convex_id == cases[uuid(11)]["_id"]
    # The refused key is unlisted: a document appearing under it later is not the run's to roll back.
    absent = SentWhileAbsent(folder.path("import") / "cases.absent.jsonl")
    assert absent.sent(uuid(11)) and not absent.sent(uuid(12))


def test_transient_faults_and_lost_responses_create_no_duplicates(run, tmp_path, caplog):
    from loader.convex.gateway import RetryPolicy

    caplog.set_level("WARNING", logger="loader.convex.gateway")
    faults = [
        {"endpoint": "/api/query", "action": "status", "status": 503, "times": 2, "skip": 3},
        {"endpoint": "/api/query", "action": "status", "status": 429, "times": 1, "skip": 9},
        {"endpoint": "/api/import/finish_upload", "action": "commit_then_status", "status": 500, "times": 1},
        {"endpoint": "/api/mutation", "action": "commit_then_drop", "times": 1},
    ]
    with Emulator(EmulatorConfig(state_dir=tmp_path / "emulator"), faults=faults) as emulator, ConvexGateway(
            ConvexTarget(emulator.url, emulator.admin_key), poll_interval=0.01, max_poll_interval=0.05,
            retry=RetryPolicy(base_delay=0.01, max_delay=0.05)) as gateway:
        result = run_import(run, gateway, tmp_path)
        users, cases, profiles = docs(gateway, "users"), docs(gateway, "cases"), docs(gateway, "userProfiles")
        assert len(users) == 3 and len({u["email"] for u in users}) == 3
        assert len(cases) == 4 and len({c["legacyId"] for c in cases}) == 4
        assert len(profiles) == 3 and len({p["userId"] for p in profiles}) == 3
        assert {c["userId"] for c in cases} <= {u["_id"] for u in users}
    assert sum(result["tables"]["userProfiles"]["counts"].values()) == 3
    seen = caplog.text  # every injected fault really happened (and was survived)
    assert "Overloaded" in seen and "RateLimited" in seen and "adopting it" in seen
    assert "POST /api/mutation failed" in seen


def test_case_variants_keep_every_identity_key_under_its_lowercase_form():
    """DQ-30's index: each indexed key comes back under its lowercase form, repeats included."""
    keys = TargetKeys()
    emails = ["a@x.org", "A@x.org", "b@x.org", "a@X.ORG", "a@x.org", "C@x.org"]
    keys.add("users", {"email"}, ({"_id": f"id{n}", "email": e} for n, e in enumerate(emails)), "email")
    assert keys.variants_of("users", "A@X.org") == ["a@x.org", "A@x.org", "a@X.ORG", "a@x.org"]
    assert keys.variants_of("users", "b@x.org") == ["b@x.org"]
    assert keys.variants_of("users", "c@x.org") == ["C@x.org"]
    assert keys.variants_of("users", "d@x.org") == []
    assert keys.lookup("users", "email", "a@X.ORG") == "id3"
