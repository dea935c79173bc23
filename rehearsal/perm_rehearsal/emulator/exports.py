"""Snapshot export (CONVEX_HTTP §4.3): `_exports` records and the ZIP in export_json layout."""

from __future__ import annotations

import logging
import os
import threading
import time
import zipfile
from pathlib import Path

from loader.convex.ids import mint_id
from perm_rehearsal.emulator.config import SYSTEM_TABLE_NUMBERS
from perm_rehearsal.emulator.errors import bad_request, not_found
from perm_rehearsal.emulator.worker import Worker

log = logging.getLogger("loader.emulator")
EXPIRY_NS = 14 * 86400 * 10**9
PENDING = ("requested", "in_progress")


class Exports:
    def __init__(self, state):
        self.state = state
        self.dir = state.config.state_dir / "exports"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.worker = Worker("emulator-exports")
        self._closing = threading.Event()
        for doc in state.store.list_sysdocs("_exports", 1 << 30):
            if doc["state"] in PENDING:
                self._update(doc, state="failed")

    def close(self) -> None:
        self._closing.set()
        self.worker.stop()

    def _hold(self, export_id: str) -> None:
        """Keep the state just published visible for `polls_per_state` getLatest polls."""
        self.state.wait_for_polls(export_id, self._closing.is_set)

    def _update(self, doc: dict, **fields) -> dict:
        doc = {**doc, **fields}
        self.state.store.put_sysdoc("_exports", doc)
        self.state.notify()
        return doc

    def request(self) -> None:
        """Create an export (400 ExportInProgress while another is pending) and build it in the background."""
        with self.state.store.transaction():
            latest = self.state.store.list_sysdocs("_exports", 1)
            if latest and latest[0]["state"] in PENDING:
                raise bad_request("ExportInProgress", "There is already an export requested or in progress")
            doc = {
                "_id": mint_id(SYSTEM_TABLE_NUMBERS["_exports"]),
                "_creationTime": self.state.store.next_creation_time(),
                "state": "requested",
                "format": {"format": "zip", "include_storage": False},
                "requestor": "snapshotExport",
            }
            self.state.reset_polls(doc["_id"])
            self.state.store.put_sysdoc("_exports", doc)
        self.state.notify()
        self.worker.submit(lambda: self._build(doc))

    def _build(self, doc: dict) -> None:
        self._hold(doc["_id"])
        with self.state.store.transaction():  # polls run under the store lock: none slips between
            self.state.reset_polls(doc["_id"])
            doc = self._update(doc, state="in_progress", progress_message="Exporting tables")
        self._hold(doc["_id"])
        try:
            start_ts, path = self._write_zip(doc["_id"])
        except Exception as exc:
            log.exception("export failed")
            self._update(doc, state="failed", progress_message=str(exc))
            return
        complete = time.time_ns()
        self._update(
            doc, state="completed", start_ts=start_ts, complete_ts=complete, expiration_ts=complete + EXPIRY_NS,
            zip_object_key=path.name, size=path.stat().st_size,
        )

    def _write_zip(self, export_id: str) -> tuple[int, Path]:
        """All user tables at one point in time (the store lock is held while reading)."""
        store = self.state.store
        tmp = self.dir / f"{export_id}.zip.tmp"
        with store.lock:
            start_ts = time.time_ns()
            mapping = sorted((name, number) for number, name in store.table_mapping().items() if not name.startswith("_"))
            # level 1: ≈ 2.5× less CPU than the default 6 for ≈ 1.4× the size (JSONL compresses well either way)
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
                archive.writestr("README.md", "Snapshot export of the perm-migrate Convex emulator.\n")
                tables_lines = "".join(f'{{"name":"{name}","id":{number}}}\n' for name, number in mapping)
                archive.writestr("_tables/documents.jsonl", tables_lines)
                for name, _number in mapping:
                    tablet = store.active_tablet(name)[0]
                    with archive.open(f"{name}/documents.jsonl", "w") as out:
                        for chunk in store.chunks_by_id(tablet):
                            out.write("".join(f"{text}\n" for _, text in chunk).encode("utf-8"))
                    archive.writestr(f"{name}/generated_schema.jsonl", '"uniform"\n')
        path = self.dir / f"{start_ts}.zip"
        os.replace(tmp, path)
        return start_ts, path

    def find_zip(self, snapshot: str) -> tuple[Path, int]:
        """The ZIP for `<start_ts>` or `<export _id>`."""
        docs = self.state.store.list_sysdocs("_exports", 1 << 30)
        if snapshot.isdigit():
            match = [d for d in docs if str(d.get("start_ts")) == snapshot]
        elif len(snapshot) >= 31 and snapshot.isalnum():
            match = [d for d in docs if d["_id"] == snapshot]
        else:
            raise bad_request("BadSnapshotId", f"Invalid snapshot id {snapshot!r}")
        if not match:
            raise not_found("ExportNotFound", f"Export {snapshot} not found")
        doc = match[0]
        if doc["state"] != "completed":
            raise bad_request("ExportNotComplete", f"Export {snapshot} is {doc['state']}")
        return Path(self.dir / doc["zip_object_key"]), doc["start_ts"]
