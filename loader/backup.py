"""Pre-run backup of the target tables, and rollback to it.

Before the first write, one snapshot export (one consistent timestamp) is taken through the
gateway and reduced to the tables the run writes: `runs/<id>/backup/pre_run.zip` (mode 0600, it
holds personal data) plus `backup.json` (tables, counts, table numbers, sha256). Rollback either
imports that ZIP in `replace` mode (every listed table replaced atomically by its pre-run content,
with the original `_id`s and `_creationTime`s, CONVEX_HTTP §4.3), or deletes exactly the documents
the run created (mapping table ∩ present now ∩ absent from the backup).
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from loader.convex.gateway import ConvexGateway
from loader.errors import ConfigError, MigrationError
from loader.mapping_table import MappingTable
from loader.run_folder import RunFolder, file_sha256, write_private
from loader.run_state import get_logger

BACKUP_DIR = "backup"
BACKUP_ZIP = "pre_run.zip"
BACKUP_INFO = "backup.json"

log = get_logger("backup")


class BackupError(MigrationError):
    """The backup is missing, incomplete or does not match its checksum."""


def backup_paths(folder: RunFolder) -> tuple[Path, Path]:
    return folder.path(BACKUP_DIR, BACKUP_ZIP), folder.path(BACKUP_DIR, BACKUP_INFO)


def _table_lines(archive: zipfile.ZipFile, name: str) -> Iterator[bytes]:
    """Non-empty lines of `<name>` in the ZIP (absent member → nothing)."""
    try:
        member = archive.open(name)
    except KeyError:
        return
    with member:
        for line in member:
            line = line.rstrip(b"\r\n")
            if line:
                yield line


def _reduce_snapshot(full_zip: Path, reduced_zip: Path, tables: list[str],
                     numbers: dict[str, int]) -> dict[str, int]:
    """Copy only `tables` (documents + schema marker) into a new ZIP; return per-table counts."""
    counts: dict[str, int] = {}
    tmp = reduced_zip.with_name(f".{reduced_zip.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(full_zip) as src, \
            zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        listed = {json.loads(line)["name"]: int(json.loads(line)["id"])
                  for line in _table_lines(src, "_tables/documents.jsonl")}
        table_lines = []
        for table in tables:
            number = listed.get(table, numbers.get(table))
            if number is None:
                raise BackupError(f"backup: table {table} has no table number in the target "
                                  "(deploy the v2 schema before migrating)")
            table_lines.append(json.dumps({"name": table, "id": number}))
            count = 0
            with dst.open(f"{table}/documents.jsonl", "w") as out:
                for line in _table_lines(src, f"{table}/documents.jsonl"):
                    out.write(line + b"\n")
                    count += 1
            schema_lines = list(_table_lines(src, f"{table}/generated_schema.jsonl")) or [b'"uniform"']
            dst.writestr(f"{table}/generated_schema.jsonl", b"".join(line + b"\n" for line in schema_lines))
            counts[table] = count
        dst.writestr("_tables/documents.jsonl", "".join(f"{line}\n" for line in table_lines))
    os.replace(tmp, reduced_zip)
    return counts


def take_backup(folder: RunFolder, gateway: ConvexGateway, tables: list[str]) -> dict[str, Any]:
    """Back up `tables` once per run; a completed backup is never overwritten (resume-safe)."""
    zip_path, info_path = backup_paths(folder)
    if info_path.is_file():
        info = json.loads(info_path.read_text())
        if info.get("complete") and zip_path.is_file() and file_sha256(zip_path) == info["sha256"]:
            log.info("backup already taken at %s; keeping it", info["taken_at_ts"])
            return info
    zip_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    full_zip = zip_path.with_name(".snapshot_full.zip")
    log.info("backing up %s from the target (snapshot export)", ", ".join(tables))
    gateway.export_snapshot(full_zip)
    full_zip.chmod(0o600)
    try:
        numbers = gateway.table_numbers()
        taken_at = str((gateway.latest_export() or {}).get("start_ts", ""))
        counts = _reduce_snapshot(full_zip, zip_path, tables, numbers)
    finally:
        full_zip.unlink(missing_ok=True)
    info = {
        "complete": True,
        "tables": tables,
        "counts": counts,
        "table_numbers": {t: numbers[t] for t in tables if t in numbers},
        "taken_at_ts": taken_at,
        "sha256": file_sha256(zip_path),
        "file": f"{BACKUP_DIR}/{BACKUP_ZIP}",
    }
    write_private(info_path, (json.dumps(info, indent=2, sort_keys=True) + "\n").encode())
    log.info("backup: %s", ", ".join(f"{t} {n} documents" for t, n in counts.items()))
    return info


def load_backup(folder: RunFolder) -> dict[str, Any]:
    """The backup record, after checking the ZIP against its checksum."""
    zip_path, info_path = backup_paths(folder)
    if not info_path.is_file():
        raise BackupError(f"run {folder.run_id} has no backup ({BACKUP_DIR}/{BACKUP_INFO}); "
                          "nothing was written by it, or it was run with --dry-run")
    info = json.loads(info_path.read_text())
    if not info.get("complete") or not zip_path.is_file():
        raise BackupError(f"run {folder.run_id}: the backup is incomplete")
    if file_sha256(zip_path) != info["sha256"]:
        raise BackupError(f"run {folder.run_id}: {zip_path} does not match its recorded sha256")
    return info


def iter_backup_documents(folder: RunFolder, table: str) -> Iterator[dict[str, Any]]:
    """The pre-run documents of one table, streamed from the backup ZIP."""
    zip_path, _ = backup_paths(folder)
    with zipfile.ZipFile(zip_path) as archive:
        for line in _table_lines(archive, f"{table}/documents.jsonl"):
            yield json.loads(line)


def restore_backup(folder: RunFolder, gateway: ConvexGateway, backup: dict[str, Any]) -> dict[str, Any]:
    """Replace every backed-up table by its pre-run content (one atomic ZIP import); `backup`: `load_backup`'s."""
    zip_path, _ = backup_paths(folder)
    expected = sum(backup["counts"].values())
    log.info("restoring %s from %s", ", ".join(backup["tables"]), zip_path)
    result = gateway.import_file(zip_path, table=None, mode="replace", format="zip",
                                 allow_deletions=True)
    if result.num_rows_written != expected:
        raise BackupError(f"rollback wrote {result.num_rows_written} documents, "
                          f"expected {expected}: check the target")
    return {"restored": backup["counts"], "import_id": result.import_id}


DELETE_FUNCTION = "migration:deleteByIds"
DELETE_BATCH = 1000


def _ids_in_backup(folder: RunFolder, table: str) -> set[str]:
    return {doc["_id"] for doc in iter_backup_documents(folder, table)}


def _ids_in_target(gateway: ConvexGateway, table: str) -> Iterator[str]:
    """`_id`s of one table in the target now, streamed (never held all at once)."""
    return (doc["_id"] for doc in gateway.iter_documents(table))


def created_by_run(folder: RunFolder, gateway: ConvexGateway, mapping: MappingTable,
                   backup: dict[str, Any]) -> dict[str, list[str]]:
    """Per table (backup order), the documents this run created: mapped as `created`, present now, absent
    from the backup."""
    created: dict[str, list[str]] = {}
    for table in backup["tables"]:
        before = _ids_in_backup(folder, table)
        mapped = {row.convex_id for row in mapping.rows(table) if row.match_rule == "created"}
        created[table] = sorted(i for i in _ids_in_target(gateway, table) if i in mapped and i not in before)
    return created


def restore_plan(folder: RunFolder, gateway: ConvexGateway, backup: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Per table, what `restore_backup` does to the target as it is now (by `_id`).

    delete: documents written since the backup; keep: documents the backup also holds (set back
    to their backed-up content); restore: backed-up documents deleted since, written back.
    """
    plan = {}
    for table in backup["tables"]:
        before = _ids_in_backup(folder, table)
        delete = keep = 0
        for doc_id in _ids_in_target(gateway, table):
            keep += doc_id in before
            delete += doc_id not in before
        plan[table] = {"delete": delete, "keep": keep, "restore": len(before) - keep}
    return plan


def delete_created_plan(gateway: ConvexGateway, created: dict[str, list[str]]) -> dict[str, dict[str, int]]:
    """Per table, what `delete_created` does with `created_by_run`'s ids: delete them, keep all others."""
    return {table: {"delete": len(ids), "keep": gateway.table_size(table) - len(ids), "restore": 0}
            for table, ids in created.items()}


def delete_created(folder: RunFolder, gateway: ConvexGateway, created: dict[str, list[str]]) -> dict[str, int]:
    """Delete exactly `created` (`created_by_run`'s ids) through the companion `deleteByIds`,
    referencing tables first.

    Documents written by others since the backup (v2 sign-ups) stay; legacy ids patched onto
    pre-existing profiles stay too (cleanup-legacy removes them).
    """
    deleted: dict[str, int] = {}
    for table in reversed(list(created)):
        ids = created[table]
        deleted[table] = 0
        for start in range(0, len(ids), DELETE_BATCH):
            result = gateway.mutation(DELETE_FUNCTION, {"table": table, "ids": ids[start:start + DELETE_BATCH]},
                                      idempotent=True)
            deleted[table] += int(result["deleted"])
        log.info("rollback: deleted %d %s documents created by run %s", deleted[table], table, folder.run_id)
    return deleted


def tables_written(marts: Iterable[Any]) -> list[str]:
    """Convex tables the run writes, in import order (from the dbt meta)."""
    tables = [m.table for m in marts]
    if not tables:
        raise ConfigError("no Convex tables to back up")
    return tables
