"""The official `convex` CLI (npm, 1.48) against the emulator (CONVEX_HTTP §7.5).

The CLI is real client code: whatever it prints must agree with the emulator's state as read
through the gateway. A disagreement means the emulator diverges from Convex.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from loader.convex.gateway import ConvexGateway, ConvexTarget
from perm_rehearsal.emulator import Emulator, EmulatorConfig
from perm_rehearsal.emulator.keys import UNKNOWN_ROUTES

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / "convex" / "node_modules"
CLI = NODE_MODULES / ".bin" / "convex"
CASE_DEFAULTS = {
    "employerName": "Acme Corp", "positionTitle": "Engineer", "caseStatus": "pwd",
    "progressStatus": "working", "additionalRecruitmentMethods": [], "recruitmentApplicantsCount": 0,
    "isProfessionalOccupation": True, "priorityLevel": "normal", "isFavorite": False, "tags": [],
    "calendarSyncEnabled": True, "documents": [], "createdAt": 1700000000000, "updatedAt": 1700000000000,
}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    with Emulator(EmulatorConfig(state_dir=tmp_path_factory.mktemp("cli-emulator"))) as running:
        yield running


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A directory whose package.json lists convex (the CLI checks), using the pinned install."""
    if not CLI.exists():
        pytest.fail(f"{CLI} is missing: run `make npm` (npm ci in convex/)")
    root = tmp_path_factory.mktemp("cli-project")
    (root / "package.json").write_text(json.dumps(
        {"name": "cli-compat", "private": True, "dependencies": {"convex": "1.48.0"}}))
    (root / "node_modules").symlink_to(NODE_MODULES)
    return root


@pytest.fixture(scope="module")
def gateway(emulator):
    with ConvexGateway(ConvexTarget(emulator.url, emulator.admin_key)) as gw:
        yield gw


def run_cli(emulator: Emulator, project: Path, *args: str, expect_ok: bool = True,
            ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEX_")}
    env.update({
        "CONVEX_SELF_HOSTED_URL": emulator.url,
        "CONVEX_SELF_HOSTED_ADMIN_KEY": emulator.admin_key,
        "HOME": str(project),  # no global ~/.convex config, no cached login or version-check cache
        "NO_COLOR": "1",
    })
    done = subprocess.run([str(CLI), *args], cwd=project, env=env, capture_output=True, text=True,
                          timeout=120)
    if expect_ok:
        assert done.returncode == 0, f"convex {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def documents(gateway: ConvexGateway, table: str) -> list[dict]:
    return list(gateway.iter_documents(table))


@pytest.fixture(scope="module")
def imported(emulator, project, gateway):
    """Users then cases imported with the CLI; returns the case lines sent."""
    (project / "users.jsonl").write_text('{"email":"ann@example.com"}\n{"email":"bob@example.com"}\n')
    done = run_cli(emulator, project, "import", "--table", "users", "-y", "users.jsonl")
    assert 'Added 2 documents to table "users".' in done.stdout + done.stderr
    user_ids = [doc["_id"] for doc in documents(gateway, "users")]
    cases = [{**CASE_DEFAULTS, "userId": user_ids[i % 2], "legacyId": f"L{i}",
              "employerName": f"Employer {i}"} for i in range(5)]
    cases[4].pop("legacyId")
    (project / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    done = run_cli(emulator, project, "import", "--table", "cases", "--append", "-y", "cases.jsonl")
    assert 'Added 5 documents to table "cases".' in done.stdout + done.stderr
    return cases


def test_import_writes_exactly_the_file(imported, gateway):
    stored = [{k: v for k, v in doc.items() if not k.startswith("_")} for doc in documents(gateway, "cases")]
    assert stored == imported
    assert gateway.table_size("cases") == 5


def test_import_of_an_invalid_document_fails_and_writes_nothing(emulator, project, gateway, imported):
    (project / "bad.jsonl").write_text(json.dumps({**CASE_DEFAULTS, "userId": "not-an-id"}) + "\n")
    done = run_cli(emulator, project, "import", "--table", "cases", "--append", "-y", "bad.jsonl",
                   expect_ok=False)
    assert done.returncode != 0
    assert "does not match the schema" in done.stdout + done.stderr
    assert gateway.table_size("cases") == len(imported)


def test_data_prints_the_emulator_documents(emulator, project, gateway, imported):
    done = run_cli(emulator, project, "data", "cases", "--format", "jsonl", "--limit", "100")
    printed = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    stored = documents(gateway, "cases")
    assert printed == sorted(stored, key=lambda d: (d["_creationTime"], d["_id"]), reverse=True)


def test_data_without_a_table_lists_the_tables(emulator, project, gateway, imported):
    done = run_cli(emulator, project, "data")
    assert sorted(done.stdout.split()) == gateway.list_tables()


def test_run_calls_the_companion_functions(emulator, project, gateway, imported):
    args = json.dumps({"table": "cases", "cursor": None, "numItems": 100})
    counted = json.loads(run_cli(emulator, project, "run", "migration:countLegacyFields", args).stdout)
    assert counted["remaining"] == sum(1 for doc in documents(gateway, "cases") if "legacyId" in doc) == 4
    assert counted["isDone"] is True
    cleared = json.loads(run_cli(emulator, project, "run", "migration:clearLegacyFields", args).stdout)
    assert cleared["cleared"] == 4
    assert not any("legacyId" in doc for doc in documents(gateway, "cases"))
    again = json.loads(run_cli(emulator, project, "run", "migration:clearLegacyFields", args).stdout)
    assert again["cleared"] == 0


def test_export_zip_matches_the_emulator_state(emulator, project, gateway, imported):
    done = run_cli(emulator, project, "export", "--path", "backup.zip")
    assert re.search(r"Downloaded snapshot export to backup\.zip", done.stdout + done.stderr)
    with zipfile.ZipFile(project / "backup.zip") as archive:
        names = set(archive.namelist())
        tables = [json.loads(line) for line in archive.read("_tables/documents.jsonl").splitlines()]
        exported = {table: [json.loads(line) for line in archive.read(f"{table}/documents.jsonl").splitlines()]
                    for table in ("users", "cases")}
    assert {"README.md", "cases/generated_schema.jsonl"} <= names
    user_tables = {name: number for name, number in gateway.table_numbers().items() if not name.startswith("_")}
    assert {t["name"]: t["id"] for t in tables} == user_tables
    for table, docs in exported.items():
        assert sorted(docs, key=lambda d: d["_id"]) == sorted(documents(gateway, table), key=lambda d: d["_id"])


def test_data_limit_prints_the_newest_documents(emulator, project, gateway, imported):
    done = run_cli(emulator, project, "data", "cases", "--format", "jsonl", "--limit", "2")
    printed = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    newest = sorted(documents(gateway, "cases"), key=lambda d: (d["_creationTime"], d["_id"]), reverse=True)
    assert printed == newest[:2]


def test_zip_import_restores_the_export_with_the_same_ids(emulator, project, gateway, imported):
    run_cli(emulator, project, "export", "--path", "restore.zip")
    before = {table: documents(gateway, table) for table in ("users", "cases")}
    (project / "extra.jsonl").write_text(json.dumps({"email": "extra@example.com"}) + "\n")
    run_cli(emulator, project, "import", "--table", "users", "--append", "-y", "extra.jsonl")
    done = run_cli(emulator, project, "import", "--replace", "-y", "restore.zip")
    users = len(before["users"])
    assert f"Added {users + len(before['cases'])} documents." in done.stdout + done.stderr
    assert f"users | {users} | {users + 1} of {users + 1} |" in done.stdout + done.stderr
    assert {table: documents(gateway, table) for table in ("users", "cases")} == before


def test_the_cli_used_no_route_the_emulator_lacks(emulator, imported):
    """An unimplemented route makes the CLI retry for ~40 s; the emulator records each one."""
    assert emulator.app[UNKNOWN_ROUTES] == []
