"""The emulator's state: config, schema, store, table numbering, change listeners."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from loader.convex.ids import mint_id
from loader.convex.schema import Schema
from loader.convex.validator import DocumentValidator
from perm_rehearsal.emulator.config import FIRST_USER_TABLE_NUMBER, SYSTEM_TABLE_NUMBERS, EmulatorConfig
from perm_rehearsal.emulator.store import ACTIVE, NoopStore, Store

log = logging.getLogger("loader.emulator")


class EmulatorState:
    """Everything a request handler, the import worker or a project function needs."""

    def __init__(self, config: EmulatorConfig):
        self.config = config
        self.schema = Schema.from_file(config.schema_path) if config.schema_path else Schema({})
        store_cls = NoopStore if config.noop_store else Store
        self.store = store_cls(config.state_dir / "emulator.sqlite3")
        self._listeners: list[Callable[[], None]] = []
        self._listeners_lock = threading.Lock()
        self.poll_counts: dict[str, int] = {}
        self.poll_cond = threading.Condition()
        self.ensure_schema_tables()

    # -- tables and numbers ---------------------------------------------------------------------

    def ensure_schema_tables(self) -> None:
        """Create every schema table that does not exist, in byte-sorted name order (§5.8)."""
        with self.store.transaction():
            for name in self.schema.sorted_table_names():
                if self.store.active_tablet(name) is None:
                    self.store.create_tablet(name, self.fresh_table_number(name))

    def fresh_table_number(self, name: str, taken: set[int] = frozenset()) -> int:
        """The pinned number of `name`, else the smallest unused number ≥ 10001."""
        used = self.store.used_numbers() | set(taken)
        pinned = self.config.pinned_table_numbers.get(name)
        if pinned is not None:
            return pinned
        number = FIRST_USER_TABLE_NUMBER
        while number in used or number in self.config.pinned_table_numbers.values():
            number += 1
        return number

    def full_mapping(self, overrides: dict[int, str] | None = None) -> dict[int, str]:
        """number → name for user and system tables (what `v.id` checks against)."""
        mapping = {n: t for t, n in SYSTEM_TABLE_NUMBERS.items()}
        mapping.update(self.store.table_mapping())
        if overrides:
            mapping = {n: t for n, t in mapping.items() if t not in overrides.values()}
            mapping.update(overrides)
        return mapping

    def validator(self, overrides: dict[int, str] | None = None) -> DocumentValidator:
        return DocumentValidator(self.schema, self.full_mapping(overrides))

    def ensure_table(self, name: str) -> tuple[int, int]:
        """(tablet, number) of active table `name`, creating it if missing (first insert creates a table)."""
        with self.store.transaction():
            found = self.store.active_tablet(name)
            if found is None:
                number = self.fresh_table_number(name)
                found = (self.store.create_tablet(name, number, ACTIVE), number)
            return found

    def mint(self, number: int, tablet: int) -> str:
        """A fresh id for table `number`, never one already in the table (§5.7)."""
        while True:
            doc_id = mint_id(number)
            if not self.store.has_id(tablet, doc_id):
                return doc_id

    # -- change notification ----------------------------------------------------------------

    def add_listener(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback()` (from any thread) after every committed change; returns the remover."""
        with self._listeners_lock:
            self._listeners.append(callback)

        def remove() -> None:
            with self._listeners_lock:
                if callback in self._listeners:
                    self._listeners.remove(callback)

        return remove

    def notify(self) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for callback in listeners:
            try:
                callback()
            except Exception:  # a broken subscriber must not break a write
                log.exception("state-change listener failed")

    # -- import and export state polling (keeps each state visible for N polls) --------------------------

    def count_poll(self, record_id: str) -> None:
        with self.poll_cond:
            self.poll_counts[record_id] = self.poll_counts.get(record_id, 0) + 1
            self.poll_cond.notify_all()

    def reset_polls(self, record_id: str) -> None:
        """Start counting polls of a state about to be published."""
        with self.poll_cond:
            self.poll_counts[record_id] = 0

    def wait_for_polls(self, record_id: str, should_stop: Callable[[], bool]) -> None:
        """Block until the state published after `reset_polls` was polled `polls_per_state` times."""
        with self.poll_cond:
            while self.poll_counts[record_id] < self.config.polls_per_state and not should_stop():
                self.poll_cond.wait(0.05)

    def reset(self) -> None:
        with self.store.transaction():
            self.store.wipe()
            self.ensure_schema_tables()
        self.notify()
