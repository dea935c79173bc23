"""Snapshot import (CONVEX_HTTP §2): uploads, the `_snapshot_imports` state machine, parsing, writing.

Parse phase (state `uploaded`): JSON syntax of every row, BOM, blank lines, UTF-8, requireEmpty.
Write phase (after perform_import, state `in_progress`): conversion, `_id`/`_creationTime`, shape and
schema validation, batches (> batch_max_docs documents or > batch_max_bytes), atomic swap at the end.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import secrets
import shutil
import sqlite3
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loader.convex.ids import InvalidId, decode_id, mint_id
from loader.convex.values import InvalidValue, check_document, decode_export_json
from loader.emulator.config import SYSTEM_TABLE_NUMBERS
from loader.emulator.errors import ApiError, bad_request, internal_error, not_found
from loader.emulator.store import ACTIVE, HIDDEN, doc_text
from loader.emulator.worker import Worker

log = logging.getLogger("loader.emulator")

PREFIX = "Hit an error while importing:\n"
FORMATS = {"jsonLines": "jsonl", "jsonArray": "json_array", "csv": "csv", "zip": "zip"}
MODES = {"requireEmpty": "RequireEmpty", "append": "Append", "replace": "Replace", "replaceAll": "ReplaceAll"}
TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
JSON_ARRAY_MAX = 16 << 20
MAX_CREATION_TIME = float(2**53)
TERMINAL = ("completed", "failed")


class ImportFailure(Exception):
    """Ends an import in state `failed` with `PREFIX + message`."""


@dataclass
class TablePlan:
    """One table of an import, learned in the parse phase."""

    name: str
    rows: Callable[[], Iterator[Any]]  # Convex values (decoded), in file order
    count: int = 0
    first_id: Any = None
    zip_number: int | None = None


@dataclass
class ImportJob:
    import_id: str
    object_path: Path
    fmt: str  # jsonLines | jsonArray | csv | zip
    mode: str
    table: str | None
    auto_confirm: bool = False
    confirmed: bool = False
    plans: list[TablePlan] = field(default_factory=list)
    cancel: threading.Event = field(default_factory=threading.Event)


# -- parsing -------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _loads(text: str, uniform: bool, decode: bool = True) -> Any:
    """JSONL rows: every number is float64; "uniform" ZIP rows: export_json (int literals are int64).
    With `decode=False` (parse phase) `$` objects are left for the write phase to convert."""
    if uniform:
        value = json.loads(text, parse_constant=_reject_constant)
        return decode_export_json(value) if decode and '"$' in text else value
    return json.loads(text, parse_int=float, parse_constant=_reject_constant)


def _parse_line(raw: bytes, row: int, uniform: bool = False, decode: bool = True) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportFailure(f"Row {row} wasn't valid UTF-8: {exc}") from None
    try:
        value = _loads(text, uniform, decode)
    except InvalidValue as exc:
        raise ImportFailure(f"Row {row} wasn't a valid Convex value: {exc}") from None
    except ValueError as exc:
        raise ImportFailure(f"Row {row} wasn't valid JSON: {exc}") from None
    if "\\ud" in text or "\\uD" in text:
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ImportFailure(f"Row {row} wasn't valid JSON: lone surrogate in a string escape") from None
    return value


def _jsonl_lines(stream: io.BufferedReader) -> Iterator[tuple[int, bytes]]:
    """(row number, line without newline); a blank line (also a second final newline) is a row too."""
    row = 0
    for line in stream:
        row += 1
        yield row, line[:-1] if line.endswith(b"\n") else line


def _check_bom(head: bytes) -> None:
    if head.startswith(b"\xef\xbb\xbf"):
        raise ImportFailure("Utf8BomNotSupported: the file starts with a UTF-8 byte order mark")


def _jsonl_plan(name: str, open_stream: Callable[[], io.BufferedReader], uniform: bool) -> TablePlan:
    """Check the JSON syntax of every line; count rows; remember the first row's `_id`."""
    plan = TablePlan(name, lambda: _jsonl_values(open_stream, uniform))
    with open_stream() as stream:
        _check_bom(stream.peek(3)[:3])
        for row, raw in _jsonl_lines(stream):
            value = _parse_line(raw, row, uniform, decode=False)
            if row == 1 and isinstance(value, dict):
                plan.first_id = value.get("_id")
            plan.count = row
    return plan


def _jsonl_values(open_stream, uniform: bool) -> Iterator[Any]:
    with open_stream() as stream:
        for row, raw in _jsonl_lines(stream):
            yield _parse_line(raw, row, uniform)


def parse_upload(job: ImportJob) -> list[TablePlan]:
    if job.fmt == "jsonLines":
        return [_jsonl_plan(job.table, lambda: open(job.object_path, "rb"), uniform=False)]
    if job.fmt == "jsonArray":
        return [_json_array_plan(job)]
    if job.fmt == "zip":
        return _zip_plans(job.object_path)
    raise ImportFailure("CSV imports are not supported by the emulator; use jsonLines")


def _json_array_plan(job: ImportJob) -> TablePlan:
    if job.object_path.stat().st_size > JSON_ARRAY_MAX:
        raise ImportFailure("Import file is too large for JSON array format (limit 16 MiB). Use JSONL instead.")
    data = job.object_path.read_bytes()
    _check_bom(data[:3])
    try:
        values = _loads(data.decode("utf-8"), uniform=False)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImportFailure(f"Import wasn't valid JSON: {exc}") from None
    if not isinstance(values, list):
        raise ImportFailure("Import wasn't a JSON array")
    plan = TablePlan(job.table, lambda: iter(values), count=len(values))
    plan.first_id = values[0].get("_id") if values and isinstance(values[0], dict) else None
    return plan


def _zip_plans(path: Path) -> list[TablePlan]:
    """§4.3 layout: `_tables/documents.jsonl` numbers; `<table>/documents.jsonl`; "uniform" → export_json."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ImportFailure(f"Invalid zip file: {exc}") from None
    with archive:
        names = set(archive.namelist())
        numbers: dict[str, int] = {}
        if "_tables/documents.jsonl" in names:
            for row, raw in _jsonl_lines(io.BufferedReader(archive.open("_tables/documents.jsonl"))):
                entry = _parse_line(raw, row, uniform=True)
                if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not isinstance(entry.get("id"), int):
                    raise ImportFailure(f"_tables/documents.jsonl row {row} is not {{name, id}}")
                numbers[entry["name"]] = entry["id"]
        tables = set(numbers) | {
            n.split("/")[0] for n in names if n.endswith("/documents.jsonl") and n.count("/") == 1
        }
        tables.discard("_tables")
        plans = []
        for table in sorted(tables):
            if table.startswith("_"):
                continue  # _storage and other system folders are not imported
            if not TABLE_NAME.match(table):
                raise ImportFailure(f"Invalid table name {table!r} in zip")
            uniform = False
            if f"{table}/generated_schema.jsonl" in names:
                uniform = archive.read(f"{table}/generated_schema.jsonl").strip() == b'"uniform"'
            member = f"{table}/documents.jsonl"
            if member in names:
                opener = _zip_member_opener(path, member)
                plan = _jsonl_plan(table, opener, uniform)
            else:
                plan = TablePlan(table, lambda: iter(()))
            plan.zip_number = numbers.get(table)
            plans.append(plan)
    return plans


def _zip_member_opener(path: Path, member: str) -> Callable[[], io.BufferedReader]:
    class _Member(io.BufferedReader):
        def __init__(self):
            self._zip = zipfile.ZipFile(path)
            super().__init__(self._zip.open(member))

        def close(self):
            super().close()
            self._zip.close()

    return _Member


# -- the import manager --------------------------------------------------------------------------


class Imports:
    """Uploads, import records and the import worker."""

    def __init__(self, state):
        self.state = state
        self.uploads_dir = state.config.state_dir / "uploads"
        self.objects_dir = state.config.state_dir / "objects"
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        self.objects_dir.mkdir(parents=True, exist_ok=True)
        self.worker = Worker("emulator-imports")
        self.jobs: dict[str, ImportJob] = {}
        self._lock = threading.RLock()
        self._fail_interrupted()

    def close(self) -> None:
        for job in list(self.jobs.values()):
            job.cancel.set()
        self.worker.stop()

    def _fail_interrupted(self) -> None:
        """Imports that were running when the emulator stopped cannot resume: fail them."""
        for doc in self.state.store.list_sysdocs("_snapshot_imports", 1 << 30):
            if doc["state"]["state"] not in TERMINAL:
                self._set_state(doc, {"state": "failed", "error_message": PREFIX + "The emulator restarted during the import"})

    # -- records --------------------------------------------------------------------------------

    def _set_state(self, doc: dict, new_state: dict, **fields: Any) -> dict:
        doc = {**doc, **fields, "state": new_state}
        self.state.store.put_sysdoc("_snapshot_imports", doc)
        self.state.notify()
        return doc

    def _doc(self, import_id: str) -> dict:
        doc = self.state.store.get_sysdoc(import_id)
        if doc is None:
            raise ImportFailure("import record vanished")
        return doc

    def _publish(self, job: ImportJob, new_state: dict, **fields: Any) -> None:
        """Publish a non-terminal state unless the import was already ended (canceled)."""
        with self._lock, self.state.store.transaction():  # polls run under the store lock: none slips between
            doc = self._doc(job.import_id)
            if doc["state"]["state"] in TERMINAL:
                raise ImportFailure("Import canceled")
            self.state.reset_polls(job.import_id)
            self._set_state(doc, new_state, **fields)

    def hold(self, job: ImportJob) -> None:
        """Keep the current state visible for `polls_per_state` queryImport polls (not for one-shot imports)."""
        if not job.auto_confirm:
            self.state.wait_for_polls(job.import_id, job.cancel.is_set)
        if job.cancel.is_set():
            raise ImportFailure("Import canceled")

    # -- HTTP-facing operations -----------------------------------------------------------------

    def start_upload(self) -> str:
        token = secrets.token_urlsafe(24)
        (self.uploads_dir / token).mkdir()
        return token

    def upload_dir(self, token: str) -> Path:
        path = self.uploads_dir / token
        if not token or "/" in token or token.startswith(".") or not path.is_dir():
            raise bad_request("InvalidUploadToken", "Unknown or malformed uploadToken")
        return path

    def finish_upload(self, body: dict) -> str:
        spec = body.get("import")
        token = body.get("uploadToken")
        part_tokens = body.get("partTokens")
        if not isinstance(spec, dict) or not isinstance(token, str) or not isinstance(part_tokens, list):
            raise bad_request("BadJsonBody", "Expected {import: {...}, uploadToken, partTokens}")
        fmt, mode, table = self.check_spec(spec.get("format"), spec.get("mode"), spec.get("tableName"), spec.get("componentPath"))
        upload = self.upload_dir(token)
        parts = sorted(upload.glob("part-*"), key=lambda p: int(p.name.split("-")[1]))
        numbers = [int(p.name.split("-")[1]) for p in parts]
        expected_tokens = [p.read_text() for p in sorted(upload.glob("token-*"), key=lambda p: int(p.name.split("-")[1]))]
        cfg = self.state.config
        arrival = (upload / "order").read_text().split() if (upload / "order").exists() else []
        ok = (
            numbers == list(range(1, len(parts) + 1))
            and arrival == [str(n) for n in numbers]
            and part_tokens == expected_tokens
            and len(parts) <= cfg.max_parts
            and all(p.stat().st_size >= cfg.min_part_size for p in parts[:-1])
        )
        if not ok:
            log.warning("finish_upload rejected: parts %s, sizes %s", numbers, [p.stat().st_size for p in parts])
            raise internal_error()
        object_path = self.objects_dir / token
        with open(object_path, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        shutil.rmtree(upload)
        return self.create_import(object_path, fmt, mode, table)

    def check_spec(self, fmt: Any, mode: Any, table: Any, component: Any) -> tuple[str, str, str | None]:
        if fmt not in FORMATS:
            raise bad_request("InvalidImportFormat", f"Unknown import format {fmt!r}")
        mode = mode or "requireEmpty"
        if mode not in MODES:
            raise bad_request("InvalidImportMode", f"Unknown import mode {mode!r}")
        if component not in (None, ""):
            raise bad_request("InvalidComponent", "Only the root component exists in the emulator")
        if (fmt == "zip") == (table is not None):
            raise bad_request("InvalidName", "A zip import takes no tableName; other formats require one")
        if table is not None and (not isinstance(table, str) or not TABLE_NAME.match(table)):
            raise bad_request("ImportInvalidName", f"Invalid table name {table!r}")
        return fmt, mode, table

    def create_import(self, object_path: Path, fmt: str, mode: str, table: str | None, auto_confirm: bool = False) -> str:
        import_id = mint_id(SYSTEM_TABLE_NUMBERS["_snapshot_imports"])
        doc = {
            "_id": import_id,
            "_creationTime": self.state.store.next_creation_time(),
            "state": {"state": "uploaded"},
            "format": {"format": FORMATS[fmt], "table": table} if table else {"format": FORMATS[fmt]},
            "mode": MODES[mode],
            "component_path": None,
            "fq_object_key": object_path.name,
            "member_id": None,
            "checkpoints": [],
            "requestor": {"type": "snapshotImport"},
        }
        job = ImportJob(import_id, object_path, fmt, mode, table, auto_confirm)
        with self._lock:
            self.jobs[import_id] = job
        self.state.reset_polls(import_id)
        self.state.store.put_sysdoc("_snapshot_imports", doc)
        self.state.notify()
        self.worker.submit(lambda: self._run_parse(job))
        return import_id

    def lookup(self, raw_id: Any) -> dict:
        if not isinstance(raw_id, str):
            raise bad_request("InvalidImport", "importId must be a string")
        try:
            decode_id(raw_id)
        except InvalidId:
            raise bad_request("InvalidImport", f"Invalid import id {raw_id!r}") from None
        doc = self.state.store.get_sysdoc(raw_id)
        if doc is None or "format" not in doc:
            raise not_found("ImportNotFound", f"Import {raw_id} not found")
        return doc

    def perform(self, raw_id: Any) -> None:
        doc = self.lookup(raw_id)
        with self._lock:
            job = self.jobs.get(raw_id)
            if doc["state"]["state"] != "waiting_for_confirmation" or job is None or job.confirmed:
                return  # no-op unless waiting (safe to retry)
            job.confirmed = True
        self.worker.submit(lambda: self._run_write(job))

    def cancel(self, raw_id: Any) -> None:
        doc = self.lookup(raw_id)
        if doc["state"]["state"] in TERMINAL:
            raise bad_request("CannotCancelImport", f"Import is already {doc['state']['state']}")
        with self._lock:
            job = self.jobs.get(raw_id)
            if job is not None:
                job.cancel.set()
            if job is None or not job.confirmed:  # nothing written yet: fail now
                self._fail(raw_id, "Import canceled")

    def wait_terminal(self, import_id: str, timeout: float | None = None) -> dict:
        """Block until the import is completed or failed (used by the one-shot import)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            doc = self.state.store.get_sysdoc(import_id)
            if doc["state"]["state"] in TERMINAL:
                return doc
            if deadline is not None and time.monotonic() > deadline:
                raise ApiError(408, "ClientDisconnect", "Timed out waiting for the import")
            time.sleep(0.02)

    # -- worker jobs ----------------------------------------------------------------------------

    def _fail(self, import_id: str, message: str) -> None:
        doc = self.state.store.get_sysdoc(import_id)
        if doc is not None and doc["state"]["state"] not in TERMINAL:
            self._set_state(doc, {"state": "failed", "error_message": PREFIX + message})
        with self._lock:
            self.jobs.pop(import_id, None)

    def _run_parse(self, job: ImportJob) -> None:
        try:
            if job.cancel.is_set():
                raise ImportFailure("Import canceled")
            job.plans = parse_upload(job)
            if job.mode == "requireEmpty":
                check_empty(self.state, job.plans)
            self.hold(job)
            checkpoints, deleting = self._checkpoints(job)
            self._publish(
                job,
                {
                    "state": "waiting_for_confirmation",
                    "message_to_confirm": _confirm_message(checkpoints),
                    "require_manual_confirmation": deleting,
                },
                checkpoints=checkpoints,
            )
        except ImportFailure as exc:
            self._fail(job.import_id, str(exc))
            return
        except Exception as exc:  # a bug must still end the import
            log.exception("import parse failed")
            self._fail(job.import_id, f"Internal error: {exc}")
            return
        if job.auto_confirm:
            job.confirmed = True
            self._run_write(job)

    def _existing_count(self, name: str) -> int:
        found = self.state.store.active_tablet(name)
        return self.state.store.count(found[0]) if found else 0

    def _checkpoints(self, job: ImportJob) -> tuple[list[dict], bool]:
        checkpoints, deleting = [], False
        for plan in job.plans:
            existing = self._existing_count(plan.name)
            to_delete = existing if job.mode in ("replace", "replaceAll") else 0
            deleting = deleting or to_delete > 0
            checkpoints.append({
                "component_path": None, "display_table_name": plan.name, "tablet_id": None,
                "total_num_rows_to_write": plan.count, "num_rows_written": 0,
                "existing_rows_in_table": existing, "existing_rows_to_delete": to_delete,
                "is_missing_id_field": not isinstance(plan.first_id, str),
            })
        if job.mode == "replaceAll":
            imported = {p.name for p in job.plans}
            for name in sorted(set(self.state.store.table_mapping().values()) - imported):
                if not name.startswith("_") and self._existing_count(name):
                    deleting = True
        return checkpoints, deleting

    def _run_write(self, job: ImportJob) -> None:
        try:
            if job.cancel.is_set():
                raise ImportFailure("Import canceled")
            self._publish(job, {"state": "in_progress", "progress_message": "Importing", "checkpoint_messages": []})

            def complete(written: int) -> None:
                done = {"state": "completed", "timestamp": time.time_ns(), "num_rows_written": written}
                self._set_state(self._doc(job.import_id), done)

            Writer(self.state, job, self.hold).run(complete)
        except ImportFailure as exc:
            self._fail(job.import_id, str(exc))
        except Exception as exc:
            log.exception("import write failed")
            self._fail(job.import_id, f"Internal error: {exc}")
        finally:
            with self._lock:
                self.jobs.pop(job.import_id, None)
            job.object_path.unlink(missing_ok=True)


def check_empty(state, plans: list[TablePlan]) -> None:
    """requireEmpty: every target table is absent or empty."""
    for plan in plans:
        found = state.store.active_tablet(plan.name)
        if found is not None and state.store.count(found[0]) > 0:
            raise ImportFailure(
                f"Table {plan.name} already exists. Please choose a new table name or use replace/append modes."
            )


def _confirm_message(checkpoints: list[dict]) -> str:
    lines = ["Import change summary:", "table | create | delete |", "-" * 40]
    for cp in checkpoints:
        lines.append(f"{cp['display_table_name']} | {cp['total_num_rows_to_write']} | "
                     f"{cp['existing_rows_to_delete']} of {cp['existing_rows_in_table']} |")
    lines.append("Once the import has started, it will run in the background.\n"
                 "Interrupting `npx convex import` will not cancel it.")
    return "\n".join(lines)


class Writer:
    """The write phase of one import: numbering, conversion, validation, batches, atomic swap."""

    def __init__(self, state, job: ImportJob, hold: Callable[[ImportJob], None]):
        self.state = state
        self.hold = hold
        self.job = job
        self.store = state.store
        self.cfg = state.config

    def run(self, on_commit: Callable[[int], None]) -> None:
        """Write every table; in one transaction activate hidden tables and call `on_commit(rows written)`."""
        job = self.job
        if job.mode == "requireEmpty":
            check_empty(self.state, job.plans)  # checked again before writing
        numbers = self._assign_numbers()
        live = {p.name: self.store.active_tablet(p.name) for p in job.plans}
        targets: dict[str, tuple[int, bool]] = {}  # name → (tablet, is_hidden)
        hidden: list[tuple[int, str]] = []
        try:
            for plan in job.plans:
                existing = live[plan.name]
                if job.mode == "append" and existing is not None:
                    targets[plan.name] = (existing[0], False)
                else:
                    tablet = self.store.create_tablet(plan.name, numbers[plan.name], HIDDEN)
                    hidden.append((tablet, plan.name))
                    targets[plan.name] = (tablet, True)
            mapping = {numbers[p.name]: p.name for p in job.plans}
            validator = self.state.validator(mapping)
            total = 0
            for plan in job.plans:
                total += self._write_table(plan, numbers[plan.name], targets[plan.name], validator)
            self.hold(job)
            with self.store.transaction():
                if job.mode == "requireEmpty":
                    check_empty(self.state, job.plans)
                for tablet, name in hidden:
                    self.store.activate(tablet, name)
                if job.mode == "replaceAll":
                    self._clear_other_tables({p.name for p in job.plans})
                on_commit(total)
            hidden = []
        finally:
            for tablet, _ in hidden:
                self.store.drop_tablet(tablet)
            self.state.notify()

    def _assign_numbers(self) -> dict[str, int]:
        """§2.4: zip `_tables` number, else first row's `_id`, else existing table, else fresh."""
        numbers: dict[str, int] = {}
        imported = {p.name for p in self.job.plans}
        for plan in self.job.plans:
            number = plan.zip_number
            if number is None and isinstance(plan.first_id, str):
                try:
                    number = decode_id(plan.first_id)[0]
                except InvalidId:
                    number = None
            existing = self.store.active_tablet(plan.name)
            if number is None:
                number = existing[1] if existing else self.state.fresh_table_number(plan.name, set(numbers.values()))
            if number in numbers.values():
                raise ImportFailure(f"TableNumberConflict: two imported tables ask for table number {number}")
            if self.job.mode == "append" and existing is not None and existing[1] != number:
                raise ImportFailure(
                    f"TableNumberConflict: table {plan.name} has number {existing[1]}, the import asks for {number}"
                )
            holder = self.store.tablet_of_number(number)
            if holder is not None and holder[1] != plan.name and holder[1] not in imported and self.job.mode != "replaceAll":
                raise ImportFailure(f"TableConflict: table number {number} is held by table {holder[1]}")
            numbers[plan.name] = number
        return numbers

    def _clear_other_tables(self, imported: set[str]) -> None:
        for number, name in list(self.store.table_mapping().items()):
            if name in imported or name.startswith("_"):
                continue
            self.store.drop_table(name)
            if self.state.schema.table(name) is not None:
                self.store.create_tablet(name, number, ACTIVE)

    def _write_table(self, plan: TablePlan, number: int, target: tuple[int, bool], validator) -> int:
        tablet, is_hidden = target
        batch: list[tuple[str, float, str]] = []
        batch_ids: set[str] = set()
        batch_bytes = 0
        written = 0
        for row, raw in enumerate(plan.rows(), start=1):
            doc, size = self._convert(plan, row, raw, number, batch_ids)
            error = validator.first_error(doc, plan.name)
            if error:
                raise ImportFailure(error)
            batch.append((doc["_id"], doc["_creationTime"], doc_text(doc)))
            batch_ids.add(doc["_id"])
            batch_bytes += size
            if len(batch) > self.cfg.batch_max_docs or batch_bytes > self.cfg.batch_max_bytes:
                written += self._flush(plan.name, tablet, batch, is_hidden)
                batch, batch_ids, batch_bytes = [], set(), 0
        if batch:
            written += self._flush(plan.name, tablet, batch, is_hidden)
        return written

    def _flush(self, table: str, tablet: int, batch: list, is_hidden: bool) -> int:
        if self.job.cancel.is_set():
            raise ImportFailure("Import canceled")
        try:
            self.store.insert_rows(tablet, batch)
        except sqlite3.IntegrityError:
            raise ImportFailure(f"DuplicateId: a document in this batch has an _id already in table {table}") from None
        if not is_hidden:
            self.state.notify()
        return len(batch)

    def _convert(self, plan: TablePlan, row: int, doc: Any, number: int, batch_ids: set[str]) -> tuple[dict, int]:
        """The document to insert and its Convex size; `ImportFailure` for the row's first problem."""
        if not isinstance(doc, dict):
            kind = "array" if isinstance(doc, list) else type(doc).__name__
            raise ImportFailure(f"Row {row} wasn't a valid Convex value: expected object, got {kind}")
        try:
            size = check_document(doc)
        except InvalidValue as exc:
            raise ImportFailure(f"Row {row} wasn't a valid Convex value: {exc}") from None
        doc_id = doc.get("_id")
        if doc_id is None and "_id" not in doc:
            # A collision with a stored id is refused by the tablet's primary key (DuplicateId).
            doc["_id"] = mint_id(number)
            while doc["_id"] in batch_ids:
                doc["_id"] = mint_id(number)
            size += len("_id") + 1 + 2 + len(doc["_id"])
        elif not isinstance(doc_id, str):
            raise ImportFailure(f"InvalidIdError: _id must be a string, got {doc_id!r}")
        else:
            try:
                id_number = decode_id(doc_id)[0]
            except InvalidId:
                raise ImportFailure(f"InvalidId: invalid _id '{doc_id}'") from None
            if id_number != number:
                raise ImportFailure(
                    f"ImportConflict: _id '{doc_id}' has table number {id_number}, but table {plan.name} has number "
                    f"{number}. The document came from a different deployment or table."
                )
            if doc_id in batch_ids:
                raise ImportFailure(f"DuplicateId: _id '{doc_id}' appears twice in table {plan.name}")
        ct = doc.get("_creationTime")
        if "_creationTime" not in doc:
            doc["_creationTime"] = self.store.next_creation_time()
            size += len("_creationTime") + 1 + 9
        elif not isinstance(ct, float) or not (0 < ct < MAX_CREATION_TIME) or math.isnan(ct):
            raise ImportFailure(
                f"InvalidCreationTimeError: _creationTime must be a float64 of milliseconds in (0, 2^53), got {ct!r}"
            )
        return doc, size
