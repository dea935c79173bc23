"""Write phase of an import (CONVEX_HTTP §2.3, §2.4, §2.7, §5.10): table numbers, conversion,
`_id`/`_creationTime`, validation, batches, and the atomic swap of hidden tables."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

from loader.convex.ids import InvalidId, decode_id, minted_ids
from loader.convex.values import InvalidValue, check_document
from perm_rehearsal.emulator.import_parse import ImportFailure, ImportJob, TablePlan
from perm_rehearsal.emulator.store import ACTIVE, HIDDEN, doc_text, orjson_doc_text

MAX_CREATION_TIME = float(2**53)
MINT_BATCH = 8192


def fresh_ids(table_number: int) -> Iterator[str]:
    """Fresh ids of `table_number` for documents without `_id`, minted in batches (`minted_ids`) that grow
    from 64 to `MINT_BATCH` (a small import mints few)."""
    count = 64
    while True:
        yield from minted_ids(table_number, count)
        count = min(2 * count, MINT_BATCH)


def check_empty(state, plans: list[TablePlan]) -> None:
    """requireEmpty: every target table is absent or empty."""
    for plan in plans:
        found = state.store.active_tablet(plan.name)
        if found is not None and state.store.count(found[0]) > 0:
            raise ImportFailure(
                f"Table {plan.name} already exists. Please choose a new table name or use replace/append modes."
            )


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
        ids = fresh_ids(number)
        for row, (raw, fast_size) in enumerate(plan.rows(), start=1):
            doc, size, schema_ok = self._convert(plan, row, raw, fast_size, number, batch_ids, ids, validator)
            error = None if schema_ok else validator.first_error(doc, plan.name)
            if error:
                raise ImportFailure(error)
            batch.append((doc["_id"], doc["_creationTime"],
                          orjson_doc_text(doc) if fast_size is not None else doc_text(doc)))
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

    def _convert(self, plan: TablePlan, row: int, doc: Any, fast_size: int | None, number: int,
                 batch_ids: set[str], ids: Iterator[str], validator) -> tuple[dict, int, bool]:
        """The document to insert, its Convex size and whether it matches the schema (checked before the
        system fields are added: no copy without them); `ImportFailure` for the row's first problem other than
        a schema mismatch. `fast_size`: the size `_fast_row` found while reading it (it checked what
        `check_document` checks), else None."""
        if fast_size is not None:
            size = fast_size
        elif not isinstance(doc, dict):
            kind = "array" if isinstance(doc, list) else type(doc).__name__
            raise ImportFailure(f"Row {row} wasn't a valid Convex value: expected object, got {kind}")
        else:
            try:
                size = check_document(doc)
            except InvalidValue as exc:
                raise ImportFailure(f"Row {row} wasn't a valid Convex value: {exc}") from None
        schema_ok = validator.matches_schema(doc, plan.name)
        doc_id = doc.get("_id")
        if doc_id is None and "_id" not in doc:
            # A collision with a stored id is refused by the tablet's primary key (DuplicateId).
            doc["_id"] = next(ids)
            while doc["_id"] in batch_ids:
                doc["_id"] = next(ids)
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
        return doc, size, schema_ok
