"""A migrated run without dbt: the shared Convex marts fixture + the models verify reads, exported,
backed up and imported into a real in-process emulator (used by the verify/rollback/cleanup tests)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import httpx

from convex_marts_fixture import SCHEMA, build_duckdb_run, sample_rows, uuid
from loader.backup import take_backup
from loader.convex.gateway import ConvexGateway, ConvexTarget
from loader.convex.schema import Schema
from perm_rehearsal.emulator import Emulator, EmulatorConfig
from loader.export import export
from loader.importer import import_tables
from loader.mapping_table import MappingTable
from loader.run_folder import RunFolder

TABLES = ("users", "cases", "userProfiles")
OWNER_REF = {"ann@example.com": uuid(1), "bob@example.com": uuid(3), "cy@example.com": uuid(4)}
USER_REFERENCES = [(uuid(1), "ann@example.com"), (uuid(2), "ann@example.com"), (uuid(3), "bob@example.com"),
                   (uuid(4), "cy@example.com"), (uuid(5), "cy@example.com")]
# 6 case rows: 4 exported, 2 rejected by the export (contract, DQ-27); users/profiles all loaded.
RECONCILIATION = [("public.cases", 6, 6, 0, 0), ("public.users", 3, 2, 0, 1), ("auth.users", 2, 2, 0, 0)]


def consistent_rows(schema: Schema) -> dict[str, list[dict]]:
    """The shared sample rows, with each case's legacyUserId in its owner's user group."""
    rows = sample_rows(schema)
    for case in rows["convex_cases"]:
        case["legacyUserId"] = OWNER_REF[case["resolve_owner_email"]]
        case["resolve_v1_rows"] = json.dumps([{"v1_table": "cases", "v1_uuid": case["legacyId"], "merged": False}])
    return rows


def add_verify_models(folder: RunFolder, user_references=USER_REFERENCES, reconciliation=RECONCILIATION) -> None:
    """`int_users__references` and `dq_reconciliation` in the warehouse and the dbt manifest."""
    with duckdb.connect(str(folder.warehouse_path)) as con:
        con.execute(f"create or replace table {SCHEMA}.int_users__references (user_ref varchar, group_email varchar)")
        con.executemany(f"insert into {SCHEMA}.int_users__references values (?, ?)", user_references)
        con.execute(f"create or replace table {SCHEMA}.dq_reconciliation (source_table varchar, extracted bigint, "
                    "loaded bigint, rejected bigint, excluded bigint, balanced boolean)")
        con.executemany(f"insert into {SCHEMA}.dq_reconciliation values (?, ?, ?, ?, ?, true)", reconciliation)
        con.execute(f"create table if not exists {SCHEMA}.dq_rejects (dq_id varchar, source_table varchar)")
    manifest_path = folder.path("target", "manifest.json")
    manifest = json.loads(manifest_path.read_text())
    cases = manifest["nodes"]["model.perm_migration.convex_cases"]
    if "resolve_v1_rows" in cases["columns"]:  # the case row each case document stands for (INTERFACES §5)
        meta = cases["config"]["meta"]["convex"]
        meta["resolution_keys"] = sorted(set(meta["resolution_keys"]) | {"resolve_v1_rows"})
        meta["mapping"] = {"rows_column": "resolve_v1_rows", "email_column": "resolve_owner_email"}
    for model in ("int_users__references", "dq_reconciliation"):
        manifest["nodes"][f"model.perm_migration.{model}"] = {
            "resource_type": "model", "name": model, "relation_name": f"{SCHEMA}.{model}", "config": {"meta": {}},
            "columns": {}}
    manifest_path.write_text(json.dumps(manifest))
    run_manifest = folder.read_manifest()
    run_manifest.setdefault("config", {}).update(warehouse="duckdb", dbt_vars={"v1_user_table": "users"})
    run_manifest.setdefault("steps", {})["extract"] = {
        "tables": {"cases": {"rows": 6}, "app_users": {"rows": 3}, "auth_users": {"rows": 2}}}
    folder.write_manifest(run_manifest)


def gateway_for(emulator: Emulator) -> ConvexGateway:
    return ConvexGateway(ConvexTarget(emulator.url, emulator.admin_key), poll_interval=0.01, max_poll_interval=0.05)


def snapshot(gateway: ConvexGateway) -> dict[str, list[dict]]:
    """Every document of the migrated tables, `_id` and `_creationTime` included, sorted by `_id`."""
    return {t: sorted(gateway.iter_documents(t), key=lambda d: d["_id"]) for t in TABLES}


def add_faults(emulator: Emulator, rules: list[dict]) -> None:
    response = httpx.post(f"{emulator.url}/_emulator/faults", json=rules,
                          headers={"Authorization": f"Convex {emulator.admin_key}"})
    response.raise_for_status()


def clear_faults(emulator: Emulator) -> None:
    httpx.delete(f"{emulator.url}/_emulator/faults",
                 headers={"Authorization": f"Convex {emulator.admin_key}"}).raise_for_status()


@dataclass
class Migrated:
    folder: RunFolder
    emulator: Emulator
    gateway: ConvexGateway
    mapping: MappingTable
    mapping_path: Path


def pre_existing_v2_user(gateway: ConvexGateway, work_dir: Path, email: str = "bob@example.com") -> None:
    """A v2 sign-up before the migration (DQ-30): a user document with the same email."""
    users = work_dir / "v2_signup.jsonl"
    users.write_text(json.dumps({"email": email, "name": "Bob (v2)"}) + "\n")
    gateway.import_file(users, table="users", mode="append")


@contextlib.contextmanager
def migrated_run(tmp_path: Path, *, before_import=None, import_it: bool = True, rows=None) -> Iterator[Migrated]:
    """Build, export, back up and (optionally) import a run into a fresh emulator."""
    schema = Schema.from_file()
    folder = RunFolder.create(tmp_path / "runs", "op1")
    build_duckdb_run(folder, schema, rows or consistent_rows(schema))
    add_verify_models(folder)
    export(folder)
    mapping_path = tmp_path / "mapping.sqlite"
    with Emulator(EmulatorConfig(state_dir=tmp_path / "emulator")) as emulator, gateway_for(emulator) as gateway, \
            MappingTable(mapping_path) as mapping:
        if before_import is not None:
            before_import(gateway, tmp_path)
        take_backup(folder, gateway, list(TABLES))
        if import_it:
            import_tables(folder, gateway, mapping=mapping, progress=False)
        yield Migrated(folder, emulator, gateway, mapping, mapping_path)
