"""Import the exported documents with id resolution (MAPPING_SPEC §5.3–5.6), resumably.

For each Convex mart, in `import_order` (all behaviour comes from `meta.convex` and the contract):

1. read the target table (identity key → `_id`) and the tables the mart references;
2. per exported document: reuse it if the durable mapping table maps one of its v1 rows to a
   document that still exists (`mapping_table`), or if the target holds its identity key
   (`existing_<key>`), or — users — its secondary email (`existing_secondary_email`); otherwise
   resolve its references (`loader/resolve.py`) and validate it with the target's table numbers;
3. write the new documents: snapshot import (`requireEmpty` into an empty table, else `append`)
   with the import id recorded in `import/state.json` before it is confirmed, or, for a mart with
   `write.via: mutation`, the companion module's idempotent insert-or-patch mutation in batches;
   either way the identity keys the target lacks are first synced to `import/<table>.absent.jsonl`,
   so that a document of this run found again later (a retry after a lost response, or a resume
   after the mapping rows were lost) stays `created` (see `SentWhileAbsent`);
4. read the table back, check every written document is there, record the mapping rows.

Every step recomputes "what is missing" from the target, so a resumed or repeated run writes
only what is not there yet. Memory: the id maps (key → `_id`) of the tables involved; documents
are streamed from the export files.
"""

from __future__ import annotations

import json
import os
import queue
import re
import threading
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from tqdm import tqdm

from loader.convex import fastjson
from loader.convex.gateway import BackgroundUpload, ConvexFunctionError, ConvexGateway, ConvexImportError
from loader.convex.ids import encode_id
from loader.convex.schema import Schema
from loader.convex.validator import DocumentValidator
from loader.dbt_manifest import ConvexMart, load_convex_marts
from loader.errors import ConfigError, MigrationError
from loader.export import JsonlWriter, as_convex, dumps, manifest_path
from loader.mapping_table import MappingRow, MappingTable, record_for_run
from loader.resolve import Resolver
from loader.run_folder import RunFolder, file_sha256, write_private
from loader.transform import DBT_VAR_DEFAULTS

STATE_FILE = "state.json"
READ_PAGE = 10_000  # documents asked per tableData page (a deployment caps a page at about 5 MB)
MAPPING_BATCH = 10_000  # mapping rows per transaction


class ImportFailed(MigrationError):
    """The target does not hold what was written, or a write was refused."""


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass
class TargetKeys:
    """The importer's in-memory `field value → _id` maps of the target tables and each table's ids (verify's
    document index is `loader.target_index.TargetIndex`)."""

    by_field: dict[tuple[str, str], dict[Any, str]] = field(default_factory=dict)
    ids: dict[str, set[str]] = field(default_factory=dict)
    case_variants: dict[str, dict[str, str | list[str]]] = field(default_factory=dict)

    def lookup(self, table: str, match_field: str, key: Any) -> str | None:
        return self.by_field.get((table, match_field), {}).get(key)

    def add(self, table: str, fields: set[str], docs: Iterable[dict[str, Any]], identity_key: str | None = None
            ) -> None:
        """Index documents of `table`; each identity key's value also by lowercase (DQ-30 case-only variants).
        The table's maps are looked up once, not per document."""
        ids = self.ids.setdefault(table, set())
        maps = [(name, self.by_field.setdefault((table, name), {})) for name in fields]
        variants = self.case_variants.setdefault(table, {})
        for doc in docs:
            convex_id = doc["_id"]
            ids.add(convex_id)
            for name, by_value in maps:
                value = doc.get(name)
                if value is not None:
                    by_value.setdefault(value, convex_id)
            value = doc.get(identity_key or "")
            if isinstance(value, str):
                _add_variant(variants, value)

    def variants_of(self, table: str, key: str) -> list[str]:
        """The indexed identity keys of `table` equal to `key` case-insensitively (with repeats)."""
        found = self.case_variants.get(table, {}).get(key.lower())
        return [] if found is None else [found] if isinstance(found, str) else found


def _add_variant(variants: dict[str, str | list[str]], value: str) -> None:
    """Record `value` under its lowercase form: one string while it is alone (the key itself when
    already lowercase, so no copy is kept), a list once another value shares the form."""
    lowered = value.lower()
    if lowered == value:
        lowered = value
    known = variants.get(lowered)
    if known is None:
        variants[lowered] = value
    elif isinstance(known, list):
        known.append(value)
    else:
        variants[lowered] = [known, value]


class MappingRecorder:
    """Records mapping rows in batches (constant memory); counts inserted / unchanged / replaced."""

    def __init__(self, mapping: MappingTable, run_id: str, enabled: bool, batch: int = MAPPING_BATCH):
        self.mapping, self.run_id, self.enabled, self.batch = mapping, run_id, enabled, batch
        self.buffer: list[MappingRow] = []
        self.counts = {"inserted": 0, "unchanged": 0, "replaced": 0}

    def add(self, rows: list[MappingRow]) -> None:
        if self.enabled:
            self.buffer.extend(rows)
            if len(self.buffer) >= self.batch:
                self.flush()

    def flush(self) -> dict[str, int]:
        if self.buffer:
            for key, value in self.mapping.record(self.buffer, self.run_id).items():
                self.counts[key] += value
            self.buffer = []
        return dict(self.counts)


class SentWhileAbsent:
    """`import/<table>.absent.jsonl` (0600): identity keys the target did not hold when this run sent
    them, appended and synced before each mutation call or snapshot import.

    A later pass of the same run (a retry after a lost response, or a resume after the mapping rows
    were lost) finds the document it wrote already there. A snapshot-imported document matched by a
    key listed here is this run's creation; for a mutation the companion must also report
    `sameAsSent` (the stored document equals the sent one).
    """

    def __init__(self, path: Path):
        self.path = path
        self.keys: set[Any] = set()
        if path.is_file():
            self._load()

    def _load(self) -> None:
        """Read the keys; drop a last line torn by a killed `note` (never synced, so nothing was sent with it)."""
        complete = 0
        with self.path.open("rb") as handle:
            for line in handle:
                if not line.endswith(b"\n"):
                    break
                complete += len(line)
                if line.strip():
                    self.keys.add(json.loads(line))
        if complete < self.path.stat().st_size:
            os.truncate(self.path, complete)

    def note(self, keys: Iterable[Any]) -> None:
        """Append the keys not listed yet and sync the file (call before the write that sends them)."""
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for key in keys:
                if key is not None and key not in self.keys:
                    handle.write(json.dumps(key) + "\n")
                    self.keys.add(key)
            handle.flush()
            os.fsync(handle.fileno())

    def forget(self, keys: Iterable[Any]) -> None:
        """Unlist keys whose documents Convex refused (an atomic import wrote none of them): a document
        that appears under such a key later (a v2 sign-up) is not this run's creation, so rollback
        must not delete it. Rewrites the file (refusals are rare)."""
        dropped = self.keys & set(keys)
        if not dropped:
            return
        self.keys -= dropped
        write_private(self.path, "".join(json.dumps(key) + "\n" for key in sorted(self.keys, key=str)).encode())

    def sent(self, key: Any) -> bool:
        """This run sent `key` while the target did not hold it."""
        return key is not None and key in self.keys

    def created_by_run(self, key: Any, outcome: dict[str, Any]) -> bool:
        return outcome.get("outcome") == "created" or (bool(outcome.get("sameAsSent")) and self.sent(key))


class ImportState:
    """`import/state.json`: per table, the pending import (id, mode, checksum) and the outcome."""

    def __init__(self, folder: RunFolder):
        self.path = folder.path("import", STATE_FILE)
        self.data: dict[str, Any] = json.loads(self.path.read_text()) if self.path.is_file() else {"tables": {}}

    def table(self, name: str) -> dict[str, Any]:
        return self.data["tables"].setdefault(name, {})

    def save(self) -> None:
        write_private(self.path, (json.dumps(self.data, indent=2, sort_keys=True) + "\n").encode())


class Importer:
    """One run's import into one Convex deployment."""

    def __init__(self, folder: RunFolder, gateway: ConvexGateway, mapping: MappingTable, *,
                 schema: Schema | None = None, dry_run: bool = False, show_progress: bool | None = None):
        self.folder = folder
        self.gateway = gateway
        self.mapping = mapping
        self.schema = schema or Schema.from_file()
        self.dry_run = dry_run
        self.show_progress = show_progress
        self.marts = load_convex_marts(manifest_path(folder))
        config = folder.read_manifest().get("config", {})
        self.dbt_vars = {**DBT_VAR_DEFAULTS, **config.get("dbt_vars", {})}  # as fixed by transform
        self.server_rejected: dict[str, set[str]] = {}
        self.recorder = MappingRecorder(mapping, folder.run_id, enabled=not dry_run)
        self.state = ImportState(folder)
        self.index = TargetKeys()
        self.import_dir = folder.path("import")
        self.mapped_tables: set[str] = set()  # tables the mapping table held rows for when their plan began

    # ------------------------------------------------------------------ target reads

    def _indexed_fields(self, table: str) -> set[str]:
        """Fields of `table` other marts match against, plus its own identity key."""
        wanted = set()
        for mart in self.marts:
            if mart.table == table and mart.identity_key in self.schema.table(table).field_names():
                wanted.add(mart.identity_key)
            for ref in (*mart.references, *mart.nested_references):
                if ref.table == table:
                    wanted.add(ref.match_field)
        return wanted

    def read_target(self, table: str) -> None:
        """(Re)read every document of `table` into the index (`_system/cli/tableData`)."""
        fields = self._indexed_fields(table)
        for key in [k for k in self.index.by_field if k[0] == table]:
            del self.index.by_field[key]
        self.index.ids[table] = set()
        self.index.case_variants.pop(table, None)
        identity_key = next((m.identity_key for m in self.marts if m.table == table), None)
        self.index.add(table, fields, read_ahead(self.gateway.iter_documents(table, page_size=READ_PAGE), READ_PAGE),
                       identity_key)

    # ------------------------------------------------------------------ per document

    def _mapped_id(self, mart: ConvexMart, exported: dict[str, Any]) -> str | None:
        """A still-existing document the mapping table maps one of the v1 rows to."""
        if mart.table not in self.mapped_tables:
            return None
        for row in mart.v1_rows(exported):
            known = self.mapping.lookup(row["v1_table"], row["v1_uuid"], mart.table)
            if known is not None and known.convex_id in self.index.ids.get(mart.table, set()):
                return known.convex_id
        return None

    def _existing(self, mart: ConvexMart, exported: dict[str, Any], absent: SentWhileAbsent
                  ) -> tuple[str, str] | None:
        """(match rule, _id) when the target already holds this document (§5.5 steps 1–3, §5.6).

        A mart written by mutation checks existence itself at write time; here it is only
        skipped when the mapping table already maps it to a document that still exists.
        A document found by an identity key this run sent while absent is its own: `created`.
        """
        mapped = self._mapped_id(mart, exported)
        if mapped is not None:
            return "mapping_table", mapped
        if mart.via_mutation:
            return None
        key = exported.get(mart.identity_key)
        found = None if key is None else self.index.lookup(mart.table, mart.identity_key, key)
        if found is not None:
            return ("created" if absent.sent(key) else f"existing_{snake(mart.identity_key)}"), found
        secondary = exported.get(mart.secondary_match_column or "")
        found = None if secondary is None else self.index.lookup(mart.table, mart.identity_key, secondary)
        if found is not None:
            return "existing_secondary_email", found
        return None

    def _case_variant_finding(self, mart: ConvexMart, exported: dict[str, Any]) -> dict[str, Any] | None:
        """DQ-30: target documents whose identity key equals this one only case-insensitively."""
        key = exported.get(mart.identity_key)
        if not isinstance(key, str):
            return None
        variants = [v for v in self.index.variants_of(mart.table, key) if v != key]
        if not variants:
            return None
        return {"table": mart.table, "legacy_id": key, "dq_id": "DQ-30", "field": mart.identity_key,
                "message": f"target {mart.table} with {mart.identity_key} {sorted(variants)} differ only by case "
                           f"from {key!r}: not matched (v2 sign-in linking is case-sensitive)"}

    @staticmethod
    def _mapping_rows(mart: ConvexMart, v1_rows: list[dict[str, Any]], email: str | None, convex_id: str,
                      rule: str) -> list[MappingRow]:
        """One mapping row per v1 row of the document (`merged_email` for merged losers)."""
        return [MappingRow(row["v1_table"], row["v1_uuid"], email, mart.table, convex_id,
                           "merged_email" if row.get("merged") else rule) for row in v1_rows]

    # ------------------------------------------------------------------ per table

    def _progress(self, mart: ConvexMart, total: int | None = None) -> tqdm:
        disable = None if self.show_progress is None else not self.show_progress
        return tqdm(desc=f"import {mart.table}", unit="doc", total=total, disable=disable)

    def _validator(self) -> DocumentValidator:
        numbers = self.gateway.table_numbers()
        return DocumentValidator(self.schema, {number: name for name, number in numbers.items()})

    def _files(self, mart: ConvexMart) -> dict[str, Path]:
        return {kind: self.import_dir / f"{mart.table}.{kind}.jsonl"
                for kind in ("send", "pending", "rejects", "findings")}

    def _absent_keys(self, mart: ConvexMart, keys: Iterable[Any]) -> Iterator[Any]:
        """The identity keys the target (as last read) does not hold."""
        return (key for key in keys if self.index.lookup(mart.table, mart.identity_key, key) is None)

    def plan_table(self, mart: ConvexMart, validator: DocumentValidator, absent: SentWhileAbsent) -> dict[str, Any]:
        """Split the export into reuse / write / reject.

        Writes `import/<table>.send.jsonl` (the resolved documents to write), `.pending.jsonl`
        (their identity and v1 rows, line for line), `.rejects.jsonl` and `.findings.jsonl`.
        """
        export_file = self.folder.export_dir / f"{mart.table}.jsonl"
        if not export_file.is_file():
            raise ImportFailed(f"{export_file} not found; run `perm-migrate export` first")
        files = self._files(mart)
        resolver = Resolver(mart, self.schema, self.index.lookup)
        if self.mapping.has_rows(mart.table):
            self.mapped_tables.add(mart.table)
        writers = {kind: JsonlWriter(path) for kind, path in files.items()}
        upload = self._early_upload(mart, writers["send"], export_file)
        counts: dict[str, int] = {}
        try:
            with self._progress(mart) as bar:
                for exported in fastjson.iter_documents(export_file):
                    bar.update()
                    existing = self._existing(mart, exported, absent)
                    if existing is not None:
                        rule, convex_id = existing
                        counts[rule] = counts.get(rule, 0) + 1
                        self.recorder.add(self._mapping_rows(mart, mart.v1_rows(exported),
                                                         exported.get(mart.mapping_email_column or ""), convex_id, rule))
                        if rule == "existing_secondary_email":
                            writers["findings"].write(dumps({
                                "table": mart.table, "legacy_id": exported.get(mart.identity_key), "dq_id": "DQ-30",
                                "field": mart.identity_key, "message": "reused the target document holding the "
                                f"secondary key {exported.get(mart.secondary_match_column)!r}"}))
                        continue
                    resolved = resolver.resolve(exported)
                    variant = self._case_variant_finding(mart, exported)
                    for finding in resolved.findings + ([variant] if variant else []):
                        writers["findings"].write(dumps(finding))
                    line = fastjson.dumps(resolved.document) if resolved.document is not None else b""
                    problems = resolved.rejects or self._contract_problems(mart, validator, exported,
                                                                           resolved.document, line)
                    if problems:
                        counts["rejected"] = counts.get("rejected", 0) + 1
                        for problem in problems:
                            writers["rejects"].write(dumps({"run_id": self.folder.run_id, **problem}))
                        continue
                    writers["send"].write(line.decode("utf-8"))
                    writers["pending"].write(fastjson.dumps({
                        "identity": exported.get(mart.identity_key), "legacy_id": mart.legacy_id(exported),
                        "v1_rows": mart.v1_rows(exported), "email": exported.get(mart.mapping_email_column or "")
                    }).decode("utf-8"))  # values read by orjson: orjson writes them (only `fastjson` reads them back)
            info = {kind: writer.commit() for kind, writer in writers.items()}
        except BaseException:
            if upload is not None:
                upload.abort()
            for writer in writers.values():
                writer.abort()
            raise
        if upload is not None:
            upload.finish()
        return {"counts": counts, "send": info["send"], "findings": info["findings"]["lines"], "upload": upload}

    def _early_upload(self, mart: ConvexMart, send: JsonlWriter, export_file: Path) -> BackgroundUpload | None:
        """A snapshot-imported mart's send file is uploaded while the plan writes it (part size from the
        export's size, about the send file's); nothing is imported before `write_snapshot`."""
        if self.dry_run or mart.via_mutation:
            return None
        return BackgroundUpload(self.gateway, send.tmp, self.gateway.part_size(export_file.stat().st_size))

    @staticmethod
    def _contract_problems(mart: ConvexMart, validator: DocumentValidator, exported: dict[str, Any],
                           document: dict[str, Any], line: bytes) -> list[dict[str, Any]]:
        """Contract problems of a resolved document with the target's table numbers: the boolean check
        on its JSON numbers first (`line` is its compact JSON, so its size is known); only a document
        that fails it is walked the detailed way to name its issues."""
        if validator.is_valid(document, mart.table, json_numbers=True, json_size=len(line)):
            return []
        return [{"table": mart.table, "legacy_id": mart.legacy_id(exported), "dq_id": "CONTRACT",
                 "field": issue.path, "expected": issue.expected, "got": issue.got, "message": issue.one_line()}
                for issue in validator.errors(as_convex(document), mart.table)]

    def finish_pending(self, mart: ConvexMart) -> bool:
        """A resumed run first waits for the import it had started, and maps what it created.

        True if there was one. A failed import is not an error here: what is missing is
        recomputed from the target and sent again.
        """
        entry = self.state.table(mart.table)
        if entry.get("status") != "importing":
            return False
        try:
            self.gateway.finish_import(entry["import_id"], expected_rows=entry.get("lines"))
        except ConvexImportError as exc:
            entry["previous_failure"] = exc.message
        self.read_target(mart.table)
        sent_file = self.import_dir / entry.get("file", self._files(mart)["send"].name)
        if sent_file.is_file() and file_sha256(sent_file) == entry.get("checksum"):
            self._landed(mart)
            self.recorder.flush()  # the plan below must see these mappings
        entry["status"] = "reconcile"
        self.state.save()
        return True

    def _landed(self, mart: ConvexMart) -> list[str]:
        """Record the mapping rows (`created`) of the sent documents now in the target; return the missing ones."""
        missing = []
        for pending in fastjson.iter_documents(self._files(mart)["pending"]):
            convex_id = self.index.lookup(mart.table, mart.identity_key, pending["identity"])
            if convex_id is None:
                missing.append(str(pending["legacy_id"]))
            else:
                self.recorder.add(self._mapping_rows(mart, pending["v1_rows"], pending["email"], convex_id, "created"))
        return missing

    def _server_reject(self, mart: ConvexMart, legacy_id: Any, message: str) -> None:
        """A document Convex still refused: to the rejects with the server's message (§5.8)."""
        self.server_rejected.setdefault(mart.table, set()).add(str(legacy_id))
        with self._files(mart)["rejects"].open("a", encoding="utf-8") as handle:
            handle.write(dumps({"run_id": self.folder.run_id, "table": mart.table, "legacy_id": legacy_id,
                                "dq_id": "SERVER", "field": "", "message": message}) + "\n")

    def _import_isolating(self, mart: ConvexMart, path: Path, written: dict[str, Any], bar: tqdm,
                          imports: list[dict[str, Any]], uploaded: BackgroundUpload | None = None) -> None:
        """Snapshot-import `path` (`written`: its `JsonlWriter.commit` lines and sha256; `uploaded`: its parts,
        sent while it was planned); if Convex fails the import, send what is still missing in halves until
        the refused document is alone, and reject it (the others proceed)."""
        entry = self.state.table(mart.table)
        lines = written["lines"]
        mode = "requireEmpty" if not self.index.ids.get(mart.table) and not imports else "append"

        def remember(import_id: str) -> None:
            entry.update(import_id=import_id, mode=mode, checksum=written["sha256"], lines=lines, file=path.name,
                         status="importing")
            self.state.save()

        try:
            result = self.gateway.import_file(path, table=mart.table, mode=mode, expected_rows=lines,
                                              on_created=remember, uploaded=uploaded,
                                              progress=lambda state: bar.set_postfix_str(state.get("state", "")))
        except ConvexImportError as exc:
            if exc.code != "ImportFailed":
                raise
            self.read_target(mart.table)
            missing = [doc for doc in fastjson.iter_documents(path)
                       if self.index.lookup(mart.table, mart.identity_key, doc.get(mart.identity_key)) is None]
            if len(missing) == 1 and lines == 1:
                self._server_reject(mart, missing[0].get(mart.identity_key), exc.message)
                return
            half = (len(missing) + 1) // 2
            for part, documents in (("a", missing[:half]), ("b", missing[half:])):
                if documents:
                    part_path = path.with_name(f"{path.stem}.{part}.jsonl")
                    writer = JsonlWriter(part_path)
                    for document in documents:
                        writer.write(dumps(document))
                    self._import_isolating(mart, part_path, writer.commit(), bar, imports)
            return
        bar.update(lines)
        imports.append({"import_id": result.import_id, "mode": mode, "written": result.num_rows_written})

    def write_snapshot(self, mart: ConvexMart, plan: dict[str, Any], absent: SentWhileAbsent) -> list[dict[str, Any]]:
        """Note the absent keys, snapshot-import the send file (each import id recorded before it is
        confirmed), then check it landed."""
        imports: list[dict[str, Any]] = []
        sent_keys = (pending["identity"] for pending in fastjson.iter_documents(self._files(mart)["pending"]))
        absent.note(self._absent_keys(mart, sent_keys))
        with self._progress(mart, plan["send"]["lines"]) as bar:
            self._import_isolating(mart, self._files(mart)["send"], plan["send"], bar, imports, plan["upload"])
        absent.forget(self.server_rejected.get(mart.table, ()))
        self.read_target(mart.table)
        missing = [m for m in self._landed(mart) if m not in self.server_rejected.get(mart.table, set())]
        if missing:
            raise ImportFailed(f"{mart.table}: {len(missing)} imported document(s) not found in the target "
                               f"(first: {missing[0]}); resume the run to send the missing ones")
        return imports

    def _mutation_args(self, mart: ConvexMart, documents: list[dict[str, Any]]) -> dict[str, Any]:
        args: dict[str, Any] = {mart.write_documents_arg: documents}
        for arg, variable in mart.write_var_args:
            if variable not in self.dbt_vars:
                raise ConfigError(f"{mart.model}: meta.convex.write.var_args names unknown variable {variable!r}")
            args[arg] = self.dbt_vars[variable]
        return args

    def _call_isolating(self, mart: ConvexMart, batch: list[tuple[dict[str, Any], dict[str, Any]]]
                        ) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
        """(document, pending, result) per document written; a refused batch is halved until the refused one is alone."""
        try:
            results = self.gateway.mutation(mart.write_function, self._mutation_args(
                mart, [document for document, _ in batch]), idempotent=True)
        except ConvexFunctionError as exc:
            if len(batch) == 1:
                self._server_reject(mart, batch[0][1]["legacy_id"], exc.message)
                return []
            half = len(batch) // 2
            return self._call_isolating(mart, batch[:half]) + self._call_isolating(mart, batch[half:])
        return [(document, pending, result) for (document, pending), result in zip(batch, results, strict=True)]

    def write_mutation(self, mart: ConvexMart, plan: dict[str, Any], absent: SentWhileAbsent) -> dict[str, int]:
        """Insert-or-patch through the companion mutation, in idempotent batches."""
        files = self._files(mart)
        counts: dict[str, int] = {}
        conflicts = JsonlWriter(self.import_dir / f"{mart.table}.conflicts.jsonl")
        batch: list[tuple[dict[str, Any], dict[str, Any]]] = []

        def flush() -> None:
            absent.note(self._absent_keys(mart, (document.get(mart.identity_key) for document, _ in batch)))
            for document, pending, outcome in self._call_isolating(mart, batch):
                rule = "created" if absent.created_by_run(document.get(mart.identity_key), outcome) else outcome["outcome"]
                counts[rule] = counts.get(rule, 0) + 1
                self.recorder.add(self._mapping_rows(mart, pending["v1_rows"], pending["email"],
                                               outcome[mart.write_result_id], rule))
                for conflict in outcome.get("conflicts") or []:
                    conflicts.write(dumps({
                        "table": mart.table, "legacy_id": pending["legacy_id"], "dq_id": "DQ-30",
                        "field": conflict["field"], "message": f"existing value {conflict['existingValue']!r} kept; "
                        f"migrated value {conflict['incomingValue']!r} not written"}))
            bar.update(len(batch))
            batch.clear()

        with self._progress(mart, plan["send"]["lines"]) as bar:
            for item in zip(fastjson.iter_documents(files["send"]), fastjson.iter_documents(files["pending"]),
                            strict=True):
                batch.append(item)
                if len(batch) >= mart.write_batch_size:
                    flush()
            if batch:
                flush()
        conflicts.commit()
        return counts

    def import_table(self, mart: ConvexMart) -> dict[str, Any]:
        """Reconcile a pending import, plan, write, read back and map one mart's documents."""
        self.recorder = MappingRecorder(self.mapping, self.folder.run_id, enabled=not self.dry_run)
        if not self.dry_run and self.finish_pending(mart):
            self.read_target(mart.table)
        absent = SentWhileAbsent(self.import_dir / f"{mart.table}.absent.jsonl")
        plan = self.plan_table(mart, self._validator(), absent)
        counts = plan["counts"]
        to_write = plan["send"]["lines"]
        if plan["upload"] is not None and not to_write:
            plan["upload"].abort()  # nothing to import: the early upload is left unused
        result: dict[str, Any] = {"counts": counts, "findings": plan["findings"]}
        if self.dry_run:
            counts["to_write"] = to_write
            self._pretend_written(mart)
            return result
        if to_write and mart.via_mutation:
            for rule, n in self.write_mutation(mart, plan, absent).items():
                counts[rule] = counts.get(rule, 0) + n
            self.read_target(mart.table)
        elif to_write:
            result["imports"] = self.write_snapshot(mart, plan, absent)
            counts["created"] = counts.get("created", 0) + to_write - len(self.server_rejected.get(mart.table, ()))
        refused = len(self.server_rejected.get(mart.table, ()))
        if refused:
            counts["rejected"] = counts.get("rejected", 0) + refused
        result["mapping"] = self.recorder.flush()
        entry = self.state.table(mart.table)
        entry.pop("import_id", None)
        entry.update(status="done", counts=counts)
        self.state.save()
        return result

    def _pretend_written(self, mart: ConvexMart) -> None:
        """Dry run: documents that would be created resolve to a placeholder id of their table."""
        numbers = self.gateway.table_numbers()
        placeholder = encode_id(numbers.get(mart.table, max(numbers.values(), default=10000) + 1), bytes(16))
        fields = self._indexed_fields(mart.table)
        self.index.add(mart.table, fields, ({**document, "_id": placeholder}
                                            for document in fastjson.iter_documents(self._files(mart)["send"])))

    def run(self) -> dict[str, Any]:
        """Pre-flight read of every table involved, then each mart in import order."""
        self.import_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        involved = {m.table for m in self.marts} | {r.table for m in self.marts
                                                    for r in (*m.references, *m.nested_references)}
        for table in sorted(involved):
            self.read_target(table)
        tables = {mart.table: self.import_table(mart) for mart in self.marts}
        return {"dry_run": self.dry_run, "tables": tables,
                "rejected": sum(t["counts"].get("rejected", 0) for t in tables.values())}


def read_ahead(items: Iterator[Any], chunk: int) -> Iterator[Any]:
    """`items`, read by a thread up to one `chunk` ahead of the caller (the next page is fetched and
    decoded while the caller handles this one); the thread's exception is raised here. Closing the
    iterator early (also Ctrl-C) waits at most a second: a thread still inside a request finishes it
    on its own (daemon) and stops before its next item."""
    ahead: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(entry: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                ahead.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            batch: list[Any] = []
            for item in items:
                batch.append(item)
                if len(batch) >= chunk:
                    if not put(("items", batch)):
                        return
                    batch = []
            if put(("items", batch)):
                put(("done", None))
        except BaseException as exc:  # noqa: BLE001 (handed to the caller)
            put(("error", exc))

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = ahead.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield from value
    finally:
        stop.set()
        thread.join(timeout=1.0)


def import_tables(folder: RunFolder, gateway: ConvexGateway, *, mapping: MappingTable | None = None,
                  mapping_path: Path | None = None, resume: bool = True, dry_run: bool = False,
                  schema: Schema | None = None, progress: bool | None = None) -> dict[str, Any]:
    """Import the run's export into the target; safe to call again at any point (resume).

    `mapping`: an open mapping table (else `mapping_path`, else the run's: `path_for_run`); the run
    manifest records the file written to, so that verify and rollback open the same one.
    `resume=False` forgets a pending import recorded by an earlier attempt (it is not polled).
    `dry_run` reads the target and plans; it writes nothing to Convex nor to the mapping table.
    `progress`: show bars (None = only on a terminal).
    """
    if not resume and not dry_run:
        ImportState(folder).path.unlink(missing_ok=True)
    with nullcontext(mapping) if mapping is not None else MappingTable.for_run(folder, mapping_path) as table:
        if not dry_run:
            record_for_run(folder, table.path)
        result = Importer(folder, gateway, table, schema=schema, dry_run=dry_run, show_progress=progress).run()
    if not dry_run:
        folder.record_step("import", result)
    return result
