"""Issue 13 item 2: a made-up Convex mart added to a copy of the dbt project (and its table to a copy
of the v2 contract) is exported, imported, verified (its declared group check included) and reported
with no Python change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from loader.backup import take_backup
from loader.convex.gateway import ConvexGateway, ConvexTarget
from loader.convex.schema import CONTRACT_PATH, Schema
from perm_rehearsal.demo_data.generator import generate
from perm_rehearsal.emulator import Emulator, EmulatorConfig
from loader.export import export
from loader.extract import extract
from loader.importer import import_tables
from loader.mapping_table import MappingTable
from loader.report import write_report
from loader.run_folder import RunFolder, iter_jsonl
from loader.stage import stage
from loader.transform import project_dir, transform
from loader.verify import build_inputs, verify_run

AS_OF = "2026-01-15T00:00:00Z"
TABLE = "caseBadges"
LIST_TITLE = "Case badges (made-up list)"
GROUP_CHECK = "badge_case_groups"

# each badge key → the legacyId of the case it belongs to (the declared group check's model)
BADGE_GROUPS_SQL = """
select c."legacyId" as badge_ref, c."legacyId" as case_ref
from {{ ref('convex_cases') }} as c
"""

BADGES_SQL = """
select
    c."legacyId" as "legacyId",
    case when c."isFavorite" then 'favourite' else 'plain' end as "label",
    c."legacyId" as resolve_case_legacy_id
from {{ ref('convex_cases') }} as c
"""

BADGES_YML = f"""
version: 2

models:
  - name: convex_case_badges
    description: One row per loaded case, its made-up badge (a second Convex table for the generic-loader test).
    config:
      contract: {{enforced: true}}
      meta:
        convex:
          table: {TABLE}
          import_order: 4
          identity_key: legacyId
          order_by: legacyId
          resolution_keys: [resolve_case_legacy_id]
          references:
            - {{field: caseId, key_column: resolve_case_legacy_id, table: cases, match_field: legacyId}}
          mapping: {{v1_table: cases, v1_key_column: legacyId}}
        report: {{role: follow_up_list, order: 7, title: "{LIST_TITLE}"}}
        verify:
          labels: [legacyId]
          group_checks:
            - check: {GROUP_CHECK}
              model: int_badge_groups
              keys: {{field: legacyId, column: badge_ref}}
              group: {{column: case_ref, reference: caseId, field: legacyId}}
              labels: {{group: badge case}}
    columns:
      - name: legacyId
        quote: true
        data_type: text
        description: v1 case uuid (identity key).
        constraints:
          - type: not_null
        data_tests: [unique]
      - name: label
        quote: true
        data_type: text
        description: favourite or plain.
        constraints:
          - type: not_null
      - name: resolve_case_legacy_id
        data_type: text
        description: Resolution key of caseId.
        constraints:
          - type: not_null
"""


def _project_with_badges(root: Path) -> Path:
    """A copy of the repo's dbt project with the made-up mart added (SQL and yml only)."""
    project = root / "project"
    project.mkdir()
    source = project_dir()
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(source / name, project / name)
    for name in ("models", "macros", "seeds", "tests/dbt"):
        shutil.copytree(source / name, project / name, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    badges = project / "models" / "marts" / "badges"
    badges.mkdir()
    (badges / "convex_case_badges.sql").write_text(BADGES_SQL)
    (badges / "_badges_marts__models.yml").write_text(BADGES_YML)
    (badges / "int_badge_groups.sql").write_text(BADGE_GROUPS_SQL)
    return project


def _contract_with_badges(root: Path) -> Path:
    """A copy of the v2 contract with the made-up table (JSON only)."""
    contract = json.loads(CONTRACT_PATH.read_text())
    contract["tables"].append({
        "tableName": TABLE, "indexes": [{"indexDescriptor": "by_case", "fields": ["caseId"]}],
        "stagedDbIndexes": [], "searchIndexes": [], "stagedSearchIndexes": [], "vectorIndexes": [],
        "stagedVectorIndexes": [],
        "documentType": {"type": "object", "value": {
            "legacyId": {"fieldType": {"type": "string"}, "optional": False},
            "caseId": {"fieldType": {"type": "id", "tableName": "cases"}, "optional": False},
            "label": {"fieldType": {"type": "string"}, "optional": False},
        }},
    })
    path = root / "v2_schema_with_badges.json"
    path.write_text(json.dumps(contract))
    return path


@pytest.fixture
def badges_run(tmp_path, pg_server) -> RunFolder:
    dsn = pg_server.create_database("generic_mart_source")
    generate(dsn, n_users=12, n_cases=30, seed=5, dirty=False)
    folder = RunFolder.create(tmp_path / "runs", "badges")
    extract(folder, dsn, echo=lambda _line: None)
    stage(folder, "duckdb", echo=lambda _line: None)
    transform(folder, as_of=AS_OF, project=_project_with_badges(tmp_path))
    return folder


def test_a_made_up_mart_is_exported_imported_verified_and_reported(badges_run: RunFolder, tmp_path: Path):
    folder = badges_run
    contract = _contract_with_badges(tmp_path)
    exported = export(folder, schema_path=contract)
    badges = list(iter_jsonl(folder.export_dir / f"{TABLE}.jsonl"))
    cases = {doc["legacyId"] for doc in iter_jsonl(folder.export_dir / "cases.jsonl")}
    assert exported["tables"][TABLE]["documents"] == len(badges) == len(cases) > 0
    assert {doc["legacyId"] for doc in badges} == {doc["resolve_case_legacy_id"] for doc in badges} == cases

    with Emulator(EmulatorConfig(state_dir=tmp_path / "emulator", schema_path=contract)) as emulator, \
            ConvexGateway(ConvexTarget(emulator.url, emulator.admin_key), poll_interval=0.01,
                          max_poll_interval=0.05) as gateway, \
            MappingTable(tmp_path / "mapping.sqlite") as mapping:
        take_backup(folder, gateway, ["users", "cases", "userProfiles", TABLE])
        imported = import_tables(folder, gateway, mapping=mapping, schema=Schema.from_file(contract), progress=False)
        assert imported["rejected"] == 0
        case_ids = {doc["legacyId"]: doc["_id"] for doc in gateway.iter_documents("cases")}
        in_target = list(gateway.iter_documents(TABLE))
        assert sorted((doc["legacyId"], doc["caseId"]) for doc in in_target) == sorted(case_ids.items())
        assert all(mapping.lookup("cases", doc["legacyId"], TABLE).convex_id == doc["_id"] for doc in in_target)

        verified = verify_run(build_inputs(folder, mapping, contract_path=contract), gateway)
        assert verified["passed"], verified["checks"]
        assert verified["tables"][TABLE]["verified"] == len(badges)
        assert verified["checks"][GROUP_CHECK] == {"mismatches": 0, "examples": []}

        md = Path(write_report(folder)["markdown"]).read_text()
        documents = md.split("## Documents per Convex table")[1].split("\n## ")[0]
        assert f"| {TABLE} | {len(badges)} | 0 | {len(badges)} |  | {len(badges)} | {len(badges)} |" in documents
        assert f"### {LIST_TITLE} ({len(badges)})" in md.split("## Lists for follow-up")[1]

        # the declared group check is a real check: a badge whose group is not its case's is caught
        wrong = sorted(cases)[0]
        badge_id = next(doc["_id"] for doc in in_target if doc["legacyId"] == wrong)
        with duckdb.connect(str(folder.warehouse_path)) as con:
            [relation] = con.execute("select table_schema || '.' || table_name from information_schema.tables "
                                     "where table_name = 'int_badge_groups'").fetchone()
            con.execute(f"update {relation} set case_ref = 'another case' where badge_ref = ?", [wrong])
        tampered = verify_run(build_inputs(folder, mapping, contract_path=contract), gateway)
    assert not tampered["passed"]
    assert tampered["checks"][GROUP_CHECK]["examples"] == [
        f"{TABLE} legacyId={wrong} (_id {badge_id}): legacyId {wrong} resolves to group another case, caseId is {wrong}"]
