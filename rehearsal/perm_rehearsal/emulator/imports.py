"""Snapshot import (CONVEX_HTTP §2): uploads, the `_snapshot_imports` state machine and the import worker.

Parse phase (state `uploaded`, `import_parse`): JSON syntax of every row, BOM, blank lines, UTF-8,
requireEmpty. Write phase (after perform_import, state `in_progress`, `import_write`): conversion,
`_id`/`_creationTime`, shape and schema validation, batches, atomic swap at the end.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from loader.convex.ids import InvalidId, decode_id, mint_id
from perm_rehearsal.emulator.config import SYSTEM_TABLE_NUMBERS
from perm_rehearsal.emulator.errors import ApiError, bad_request, internal_error, not_found
from perm_rehearsal.emulator.import_parse import TABLE_NAME, ImportFailure, ImportJob, parse_upload
from perm_rehearsal.emulator.import_write import Writer, check_empty
from perm_rehearsal.emulator.worker import Worker

log = logging.getLogger("loader.emulator")

PREFIX = "Hit an error while importing:\n"
FORMATS = {"jsonLines": "jsonl", "jsonArray": "json_array", "csv": "csv", "zip": "zip"}
MODES = {"requireEmpty": "RequireEmpty", "append": "Append", "replace": "Replace", "replaceAll": "ReplaceAll"}
TERMINAL = ("completed", "failed")


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
            job = self.jobs.pop(import_id, None)
        if job is not None:
            job.object_path.unlink(missing_ok=True)  # a failed import never reads its file again

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


def _confirm_message(checkpoints: list[dict]) -> str:
    lines = ["Import change summary:", "table | create | delete |", "-" * 40]
    for cp in checkpoints:
        lines.append(f"{cp['display_table_name']} | {cp['total_num_rows_to_write']} | "
                     f"{cp['existing_rows_to_delete']} of {cp['existing_rows_in_table']} |")
    lines.append("Once the import has started, it will run in the background.\n"
                 "Interrupting `npx convex import` will not cancel it.")
    return "\n".join(lines)
