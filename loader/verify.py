"""Verify a run at 100%: every document it wrote, every reference, conservation, pre-run data.

Checks (MAPPING_SPEC §4.1, §4.5, §5); what goes beyond the generic rules is declared per mart in
the dbt project (`meta.verify`, loader/dbt_manifest.py):
- documents: each exported document is in the target exactly once (found by its identity key,
  and the mapping table agrees on its `_id`), equal field by field to the exported document after
  id resolution (`_id`/`_creationTime` ignored). Documents that existed before the run (backup)
  must be unchanged, except the `fills_absent` fields a mutation-written table may add where
  absent (all exported fields when the mart's `overwrite_var` is set);
- references: every `v.id(...)` value of the contract in a verified document points at an
  existing document of the right table;
- group checks (`group_checks`, one entry of `checks` each): a document's key resolves through a
  dbt model to the same group as the document its reference points at;
- conservation: per source table `extracted = loaded + rejected + excluded`, the source rows
  of loader-rejected documents (each once) moved from loaded to rejected, and `extracted` equal
  to the extract manifest;
- pre-existing: every backed-up document still exists;
- mapping rules (`mapping_rules`, `loader/verify_rules.py`): each loaded document re-derived from
  the v1 snapshot through the spec's rules, so a transform bug that the export carries into the
  target is still caught.

The target is indexed in a temporary SQLite file in the run folder (constant memory). An export is
written in its identity key's order and the v1 snapshot in the v1 key's order, so the identity and
mapping-table look-ups are answered from one scan in that order (`AscendingLookup`; a key out of
order gets a point query), and the few referenced parents' look-ups are cached. The mapping
rules run in a second process (multiprocessing `spawn`) while this one checks the documents: a
script that calls `verify_run` needs an `if __name__ == "__main__":` guard.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loader.backup import iter_backup_documents, load_backup
from loader.convex import fastjson
from loader.convex.fastjson import canonical
from loader.convex.schema import CONTRACT_PATH, Schema
from loader.dbt_manifest import ConvexMart, GroupCheck, load_convex_marts
from loader.errors import ConfigError, VerificationFailed
from loader.export import REJECTS_FILE, manifest_path, quote
from loader.importer import read_ahead
from loader.mapping_table import MappingTable
from loader.resolve import Resolver
from loader.run_folder import RunFolder, iter_jsonl, write_private
from loader.run_state import get_logger
from loader.target_index import AscendingLookup, TargetIndex
from loader.transform import DBT_VAR_DEFAULTS
from loader.verify_rules import check_mapping_rules
from loader.warehouse import Warehouse

VERIFY_FILE = "verify.json"
MAX_REPORTED = 50
READ_PAGE = 2000  # target documents per tableData page, the next one read ahead in a thread (memory: a few pages)
SYSTEM_FIELDS = ("_id", "_creationTime")

log = get_logger("verify")

# (v1_table, v1_uuid, convex_table) -> convex_id | None
MappedIds = Callable[[str, str, str], "str | None"]


@dataclass
class Findings:
    """Mismatches of one check: a total count and the first few, readable."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        self.count += 1
        if len(self.examples) < MAX_REPORTED:
            self.examples.append(message)


# --- comparison ------------------------------------------------------------------------------

def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diff_values(expected: Any, actual: Any, path: str = "") -> Iterator[str]:
    """Readable differences `path: expected X, got Y` (numbers compare as float64)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in list(expected) + [k for k in actual if k not in expected]:
            sub = f"{path}.{key}" if path else key
            if key not in actual:
                yield f"{sub}: expected {_short(expected[key])}, missing"
            elif key not in expected:
                yield f"{sub}: unexpected {_short(actual[key])}"
            else:
                yield from diff_values(expected[key], actual[key], sub)
    elif isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            yield f"{path}: expected {len(expected)} items, got {len(actual)}"
        for index, (exp, act) in enumerate(zip(expected, actual)):
            yield from diff_values(exp, act, f"{path}[{index}]")
    elif isinstance(expected, bool) or isinstance(actual, bool):
        if expected is not actual:
            yield f"{path}: expected {_short(expected)}, got {_short(actual)}"
    elif isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        if float(expected) != float(actual):
            yield f"{path}: expected {_short(expected)}, got {_short(actual)}"
    elif expected != actual or type(expected) is not type(actual):
        yield f"{path}: expected {_short(expected)}, got {_short(actual)}"


def strip_system(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in SYSTEM_FIELDS}


# --- expected documents ----------------------------------------------------------------------

def _single(ids: list[str]) -> str | None:
    return ids[0] if len(ids) == 1 else None


def target_resolver(mart: ConvexMart, schema: Schema, index: TargetIndex) -> Resolver:
    """The loader's own resolution rules (loader/resolve.py), looking ids up in the target as it is now."""

    def lookup(table: str, match_field: str, key: Any) -> str | None:
        return _single(index.referenced_ids(table, match_field, key)) if isinstance(key, str) else None

    return Resolver(mart, schema, lookup)


def expected_for_existing(before: dict[str, Any], exported: dict[str, Any], mart: ConvexMart,
                          dbt_vars: dict[str, Any]) -> dict[str, Any]:
    """A pre-existing document after the run: unchanged, or patched by the insert-or-patch mutation."""
    expected = strip_system(before)
    if not mart.via_mutation:
        return expected
    overwrite = bool(mart.verify.overwrite_var and dbt_vars.get(mart.verify.overwrite_var))
    for key, value in exported.items():
        if key in mart.verify.fills_absent:
            expected.setdefault(key, value)
        elif overwrite:
            expected[key] = value
    return expected


def identity_value(expected: dict[str, Any], mart: ConvexMart) -> str | None:
    value = expected.get(mart.identity_key)
    return value if isinstance(value, str) else None


def describe(mart: ConvexMart, expected: dict[str, Any], doc_id: str | None = None) -> str:
    ident = next((f"{k}={expected[k]}" for k in mart.verify.labels if expected.get(k)),
                 f"{mart.identity_key}={expected.get(mart.identity_key)}")
    return f"{mart.table} {ident}" + (f" (_id {doc_id})" if doc_id else "")


# --- contract id fields ----------------------------------------------------------------------

def id_paths(field_type: dict[str, Any], path: str = "") -> Iterator[tuple[str, str]]:
    """(`path`, table) for every `v.id(table)` in a contract field type; arrays as `[]`."""
    kind = field_type.get("type")
    if kind == "id":
        yield path, field_type["tableName"]
    elif kind == "array":
        yield from id_paths(field_type["value"], f"{path}[]")
    elif kind == "object":
        for name, member in field_type["value"].items():
            yield from id_paths(member["fieldType"], f"{path}.{name}" if path else name)
    elif kind == "union":
        for option in field_type["value"]:
            yield from id_paths(option, path)


def values_at(doc: Any, path: str) -> Iterator[Any]:
    """All values at a `a.b[].c` path."""
    if not path:
        yield doc
        return
    head, _, rest = path.partition(".")
    is_array = head.endswith("[]")
    name = head[:-2] if is_array else head
    value = doc.get(name) if isinstance(doc, dict) and name else doc
    if value is None:
        return
    if is_array:
        for item in value if isinstance(value, list) else ():
            yield from values_at(item, rest)
    else:
        yield from values_at(value, rest)


def contract_id_paths(schema: Schema, tables: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Per table, every id path of the v2 contract and the table it must point into."""
    return {name: sorted(id_paths(schema.table(name).document_type)) for name in tables if schema.table(name)}


# --- conservation ----------------------------------------------------------------------------

def check_conservation(reconciliation: list[dict[str, Any]], loader_rejects: Counter,
                       extracted_rows: dict[str, int], findings: Findings) -> list[dict[str, Any]]:
    """Per source table: extracted = loaded + rejected + excluded, with loader rejects moved over."""
    rows = []
    for row in sorted(reconciliation, key=lambda r: r["source_table"]):
        table = row["source_table"]
        moved = loader_rejects.get(table, 0)
        loaded, rejected = int(row["loaded"]) - moved, int(row["rejected"]) + moved
        extracted, excluded = int(row["extracted"]), int(row["excluded"])
        balanced = extracted == loaded + rejected + excluded and loaded >= 0
        if not balanced:
            findings.add(f"{table}: extracted {extracted} != loaded {loaded} + rejected {rejected} "
                         f"+ excluded {excluded}")
        raw_name = table.split(".", 1)[-1]
        manifest_rows = extracted_rows.get(table, extracted_rows.get(raw_name))
        if manifest_rows is not None and manifest_rows != extracted:
            findings.add(f"{table}: the extract manifest has {manifest_rows} rows, reconciliation {extracted}")
        rows.append({"source_table": table, "extracted": extracted, "loaded": loaded,
                     "rejected": rejected, "excluded": excluded, "balanced": balanced})
    if not reconciliation:
        findings.add("dq_reconciliation is empty: nothing to reconcile")
    return rows


# --- the run ---------------------------------------------------------------------------------

@dataclass
class VerifyInputs:
    """Everything verify reads besides the target (kept apart so tests can point at any run)."""

    folder: RunFolder
    marts: list[ConvexMart]
    contract_path: Path
    mapped_ids: MappedIds
    v1_rows: Callable[[dict[str, Any], ConvexMart], list[tuple[str, str]]]
    reconciliation: list[dict[str, Any]]
    groups: Callable[[GroupCheck], Iterator[tuple[str, str | None]]]  # a group check's key -> group pairs
    rejected_documents: set[tuple[str, str]]  # (convex table, legacy id) the loader did not write
    loader_rejects_by_source: Counter         # source rows behind those documents, per source table
    extracted_rows: dict[str, int]
    dbt_vars: dict[str, Any] = field(default_factory=dict)  # the run's dbt vars, defaults included


def _export_lines(path: Path) -> Iterator[dict[str, Any]]:
    if not path.is_file():
        return
    yield from iter_jsonl(path)


_FLOAT_NUMBERS = json.JSONDecoder(parse_int=float)


def _export_documents(path: Path) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """(line, document) of an export file, every number read as a float64 as Convex stores it: the
    canonical JSON of an unchanged document is then byte for byte that of its target copy."""
    if not path.is_file():
        return
    with path.open("rb", buffering=fastjson.LINE_BUFFER_BYTES) as handle:
        for line in handle:
            if line.strip():
                yield line, _FLOAT_NUMBERS.decode(line.decode("utf-8"))


def verify_run(inputs: VerifyInputs, gateway: Any, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Run every check; write `verify.json`; return it (`passed` false on any mismatch)."""
    folder, marts = inputs.folder, inputs.marts
    tables = [m.table for m in marts]
    key_fields: dict[str, set[str]] = {m.table: {m.identity_key} for m in marts}
    for mart in marts:
        for ref in (*mart.references, *mart.nested_references):
            key_fields.setdefault(ref.table, set()).add(ref.match_field)
    backup = load_backup(folder)
    index = TargetIndex(folder.path(".verify_index.sqlite"))
    group_checks = [check for mart in marts for check in mart.verify.group_checks]
    checks = {name: Findings() for name in ("documents", "references", *(c.check for c in group_checks),
                                            "conservation", "pre_existing", "mapping", "mapping_rules")}
    per_table: dict[str, dict[str, int]] = {}
    rule_marts = [m for m in marts if m.verify.mapping_rules]
    try:
        target_counts = {t: index.load_table(t, read_ahead(gateway.iter_documents(t, page_size=READ_PAGE), READ_PAGE),
                                             key_fields.get(t, set()))
                         for t in sorted(set(tables) | set(key_fields))}
        before_counts = {t: index.load_before(t, iter_backup_documents(folder, t)) for t in backup["tables"]}
        for check in group_checks:
            index.load_groups(check.check, inputs.groups(check))
        index.finish_loading()
        with contextlib.ExitStack() as stack:
            rules = None
            if rule_marts:  # CPU-bound and independent: a second process, reading the index file meanwhile
                pool = stack.enter_context(ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")))
                rules = pool.submit(check_rules, folder, index.path, rule_marts)
            schema = Schema.from_file(inputs.contract_path)
            id_fields = contract_id_paths(schema, tables)
            for mart in marts:
                per_table[mart.table] = _verify_table(mart, inputs, schema, index, checks,
                                                      id_fields.get(mart.table, []), progress)
            for tbl, doc_id, before in index.unseen_before():
                current = index.get(doc_id)
                if current is None:
                    checks["pre_existing"].add(f"{tbl} _id {doc_id}: existed before the run and is gone")
                    continue
                for line in diff_values(strip_system(before), strip_system(current[1])):
                    checks["pre_existing"].add(f"{tbl} _id {doc_id} (pre-existing): {line}")
            conservation = check_conservation(inputs.reconciliation, inputs.loader_rejects_by_source,
                                              inputs.extracted_rows, checks["conservation"])
            rules_checked, checks["mapping_rules"] = rules.result() if rules else (0, Findings())
    finally:
        index.close()
    passed = all(f.count == 0 for f in checks.values())
    result = {
        "run_id": folder.run_id,
        "passed": passed,
        "target_counts": target_counts,
        "backup_counts": before_counts,
        "tables": per_table,
        "conservation": conservation,
        "mapping_rules_cases": rules_checked,
        "checks": {name: {"mismatches": f.count, "examples": f.examples} for name, f in checks.items()},
    }
    write_private(folder.path(VERIFY_FILE), (json.dumps(result, indent=2, ensure_ascii=False) + "\n").encode())
    return result


def check_rules(folder: RunFolder, index_path: Path, marts: list[ConvexMart]) -> tuple[int, Findings]:
    """The mapping-rules check of `marts` over a built index (read-only); verify runs it in a second
    process. Returns the number of documents checked and the findings."""
    findings = Findings()
    index = TargetIndex(index_path, create=False)
    scratch = sqlite3.connect("")  # a private temporary database for the rules' own tables
    try:
        checked = sum(check_mapping_rules(folder, scratch, _run_documents(index, mart), diff_values, findings.add)
                      for mart in marts)
    finally:
        scratch.close()
        index.close()
    return checked, findings


def _verify_table(mart: ConvexMart, inputs: VerifyInputs, schema: Schema, index: TargetIndex,
                  checks: dict[str, Findings], id_fields: list[tuple[str, str]], progress) -> dict[str, int]:
    counts = Counter()
    resolver = target_resolver(mart, schema, index)
    scan = index.by_key_in_order(mart.table, mart.identity_key)
    top_level_ids = [(path, table) for path, table in id_fields if "." not in path and "[]" not in path]
    nested_ids = [(path, table) for path, table in id_fields if (path, table) not in top_level_ids]
    for line, exported in _export_documents(inputs.folder.export_dir / f"{mart.table}.jsonl"):
        counts["exported"] += 1
        expected = resolver.resolve(exported).document
        resolved = expected

        def label() -> str:
            return describe(mart, resolved or exported)

        identity = identity_value(expected or {}, mart)
        found = scan.find(identity) if identity else []
        ids = [doc_id for doc_id, _ in found]
        if not ids:
            ids = _ids_from_mapping(exported, mart, inputs, index)
        stored = found[0][1] if found else index.stored(ids[0])[1] if ids else None
        if not ids:
            if (mart.table, mart.legacy_id(exported)) in inputs.rejected_documents:
                counts["rejected_at_load"] += 1
            else:
                checks["documents"].add(f"{label()}: not found in the target")
            continue
        if expected is None:
            checks["documents"].add(f"{label()}: a required reference does not resolve to a target document")
            continue
        if len(ids) > 1:
            checks["documents"].add(f"{label()}: {len(ids)} documents in the target (duplicates {', '.join(ids)})")
        doc_id = ids[0]
        _check_mapping(exported, mart, inputs, doc_id, label, checks["mapping"])
        index.mark_seen(doc_id)
        before = index.before(doc_id)
        if before is None and canonical(expected) == stored:
            actual = expected  # byte for byte the same document
            counts["created"] += 1
        else:
            actual = fastjson.loads(stored)
            expected = resolver.resolve(fastjson.loads(line)).document  # the export's numbers, for the messages
            if before is not None:
                counts["pre_existing"] += 1
                expected = expected_for_existing(before, expected, mart, inputs.dbt_vars)
            else:
                counts["created"] += 1
            for difference in diff_values(expected, actual):
                checks["documents"].add(f"{describe(mart, expected, doc_id)}: {difference}")
        for path, table in top_level_ids:  # the common case, without walking paths
            value = actual.get(path)
            if value is not None and (not isinstance(value, str) or index.table_of(value) != table):
                checks["references"].add(
                    f"{describe(mart, expected, doc_id)}: {path} = {value} is not a document of {table}")
        for path, table in nested_ids:
            for value in values_at(actual, path):
                if not isinstance(value, str) or index.table_of(value) != table:
                    checks["references"].add(
                        f"{describe(mart, expected, doc_id)}: {path} = {value} is not a document of {table}")
        for check in mart.verify.group_checks:
            _check_group(check, actual, index, lambda: describe(mart, expected, doc_id), checks[check.check])
        counts["verified"] += 1
        if progress is not None:
            progress(1)
    return dict(counts)


def _run_documents(index: TargetIndex, mart: ConvexMart) -> Callable[[str], tuple[str, dict[str, Any]] | None]:
    """The look-up of the document this run wrote for a v1 row: the single target document with that
    identity key, not pre-existing (the v1 rows come in key order: one scan of the index answers them)."""
    scan = index.by_key_in_order(mart.table, mart.identity_key)

    def find(key: str) -> tuple[str, dict[str, Any]] | None:
        found = scan.find(key)
        if len(found) != 1 or index.before(found[0][0]) is not None:
            return None
        return found[0][0], fastjson.loads(found[0][1])

    return find


def _ids_from_mapping(exported: dict[str, Any], mart: ConvexMart, inputs: VerifyInputs,
                      index: TargetIndex) -> list[str]:
    """A document matched another way (e.g. a secondary email, §5.5): the id the mapping table holds."""
    mapped = {inputs.mapped_ids(v1_table, v1_uuid, mart.table) for v1_table, v1_uuid in inputs.v1_rows(exported, mart)}
    mapped.discard(None)
    return sorted(i for i in mapped if index.table_of(i) is not None and index.before(i) is not None)


def _check_mapping(exported: dict[str, Any], mart: ConvexMart, inputs: VerifyInputs, doc_id: str,
                   label: Callable[[], str], findings: Findings) -> None:
    """Every v1 row the document stands for maps to this document in the durable mapping table."""
    for v1_table, v1_uuid in inputs.v1_rows(exported, mart):
        mapped = inputs.mapped_ids(v1_table, v1_uuid, mart.table)
        if mapped != doc_id:
            findings.add(f"{label()}: mapping table has {v1_table} {v1_uuid} -> {mapped}, target has {doc_id}")


def _check_group(check: GroupCheck, actual: dict[str, Any], index: TargetIndex, label: Callable[[], str],
                 findings: Findings) -> None:
    """A declared group check: the document's key and the document its reference points at belong to
    the same group."""
    key = actual.get(check.key_field)
    if not isinstance(key, str):
        return
    group = index.group(check.check, key)
    referenced = actual.get(check.reference)
    expected = index.field_of(referenced, check.group_field) if isinstance(referenced, str) else None
    if group is None:
        findings.add(f"{label()}: {check.key_field} {key} does not resolve to a {check.group_label}")
    elif group != expected:
        findings.add(f"{label()}: {check.key_field} {key} resolves to group {group}, {check.reference} is {expected}")


def failure_summary(result: dict[str, Any], limit: int = 20) -> list[str]:
    """The first mismatches of every failing check, for the terminal."""
    lines = []
    for name, check in result["checks"].items():
        if check["mismatches"]:
            lines.append(f"{name}: {check['mismatches']} mismatch(es)")
            lines.extend(f"  - {example}" for example in check["examples"][:limit])
    return lines


def raise_if_failed(result: dict[str, Any]) -> None:
    if not result["passed"]:
        failing = ", ".join(f"{n} {c['mismatches']}" for n, c in result["checks"].items() if c["mismatches"])
        raise VerificationFailed(f"verification failed ({failing}); details in {VERIFY_FILE}")


# --- inputs from the run folder ----------------------------------------------------------------

def v1_rows_of(doc: dict[str, Any], mart: ConvexMart) -> list[tuple[str, str]]:
    """(v1_table, v1_uuid) of every v1 row an exported document stands for (merged losers included)."""
    return [(r["v1_table"], str(r["v1_uuid"]).lower()) for r in mart.v1_rows(doc) if isinstance(r, dict)]


def sql_text(value: str) -> str:
    """A SQL string literal (quotes doubled), for values the warehouse itself produced."""
    return "'" + value.replace("'", "''") + "'"


def iter_loader_rejects(folder: RunFolder) -> Iterator[dict[str, Any]]:
    """Reject records of the loader: export (contract, limits) then import (load-time resolution)."""
    yield from _export_lines(folder.export_dir / REJECTS_FILE)
    for path in sorted(folder.path("import").glob("*.rejects.jsonl")):
        yield from _export_lines(path)


def first_loader_rejects(folder: RunFolder) -> dict[tuple[str, str], dict[str, Any]]:
    """(Convex table, legacy id) of each document the loader did not write → its first reject record."""
    first: dict[tuple[str, str], dict[str, Any]] = {}
    for record in iter_loader_rejects(folder):
        first.setdefault((record["table"], str(record.get("legacy_id"))), record)
    return first


def run_dbt_vars(folder: RunFolder) -> dict[str, Any]:
    """The dbt vars of a run as transform fixed them, the project's defaults (dbt_project.yml) included."""
    return {**DBT_VAR_DEFAULTS, **folder.read_manifest().get("config", {}).get("dbt_vars", {})}


def iter_rejected_source_rows(warehouse: Warehouse, marts: list[ConvexMart], dbt_vars: dict[str, Any],
                              rejected: dict[tuple[str, str], dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Each source row behind a loader-rejected document, once (MAPPING_SPEC §4.1, §4.2 Q).

    The rows are the document's `mapping` rows (merged losers excluded: they stay `merged`),
    so every row that fed it — a profile's settings and preferences rows too, when the mart
    lists them — is rejected with the document's DQ id, pointing at that document.
    """
    seen: set[tuple[str, str]] = set()
    for mart in marts:
        keys = sorted(k for t, k in rejected if t == mart.table)
        if not keys:
            continue
        column = mart.mapping_rows_column or mart.mapping_v1_key_column
        columns = [column]
        if mart.identity_key in mart.columns:
            columns.append(mart.identity_key)
            where = f"{quote(mart.identity_key)} in ({', '.join(sql_text(k) for k in keys)})"
        else:  # the legacy id is the first v1 row's uuid
            where = " or ".join(f"{quote(column)} like {sql_text('%' + k + '%')}" for k in keys)
        sql = f"select {', '.join(quote(c) for c in dict.fromkeys(columns))} from {{rel}} where {where}"
        for row in warehouse.rows(mart.model, sql):
            if mart.mapping_rows_column and isinstance(row[column], str):
                row[column] = json.loads(row[column])
            legacy_id = str(mart.legacy_id(row))
            record = rejected.get((mart.table, legacy_id))
            if record is None:  # a `like` match on another document's rows
                continue
            for item in mart.v1_rows(row):
                source_row = (mart.source_table(item["v1_table"], dbt_vars), str(item["v1_uuid"]).lower())
                if item.get("merged") or source_row in seen:
                    continue
                seen.add(source_row)
                yield {"source_table": source_row[0], "v1_id": source_row[1], "table": mart.table,
                       "legacy_id": legacy_id, "dq_id": record.get("dq_id"),
                       "message": f"rejected with {mart.table} {legacy_id}: {record.get('message', '')}"}


def build_inputs(folder: RunFolder, mapping: MappingTable, contract_path: Path = CONTRACT_PATH,
                 warehouse_dsn: str | None = None) -> VerifyInputs:
    """Collect the verify inputs of a run from its folder, warehouse and the mapping table."""
    warehouse = Warehouse(folder, warehouse_dsn)
    manifest = folder.read_manifest()
    marts = load_convex_marts(manifest_path(folder))
    dbt_vars = run_dbt_vars(folder)
    reconciliation = warehouse.query("dq_reconciliation", "select * from {rel} order by source_table")
    if reconciliation is None:
        raise ConfigError(f"run {folder.run_id}: dq_reconciliation is missing; run transform first")
    rejected = first_loader_rejects(folder)
    by_source = Counter(row["source_table"] for row in iter_rejected_source_rows(warehouse, marts, dbt_vars, rejected))
    extract = manifest.get("steps", {}).get("extract", {}).get("tables", {})

    scans: dict[tuple[str, str], AscendingLookup] = {}  # the documents come in v1 key order, mostly

    def mapped_ids(v1_table: str, v1_uuid: str, convex_table: str) -> str | None:
        if (v1_table, convex_table) not in scans:
            scans[v1_table, convex_table] = AscendingLookup(
                mapping.convex_ids_in_order(v1_table, convex_table), lambda uuid: [
                    row.convex_id for row in [mapping.lookup(v1_table, uuid, convex_table)] if row])
        found = scans[v1_table, convex_table].find(v1_uuid.lower())
        return found[0] if found else None

    def groups(check: GroupCheck) -> Iterator[tuple[str, str | None]]:
        sql = f"select {quote(check.key_column)} as k, {quote(check.group_column)} as g from {{rel}}"
        for row in warehouse.rows(check.model, sql):
            yield row["k"], row["g"]

    return VerifyInputs(
        folder=folder, marts=marts, contract_path=contract_path, mapped_ids=mapped_ids, v1_rows=v1_rows_of,
        reconciliation=reconciliation, groups=groups, rejected_documents=set(rejected),
        loader_rejects_by_source=by_source,
        extracted_rows={name: int(info["rows"]) for name, info in extract.items() if "rows" in info},
        dbt_vars=dbt_vars,
    )
