"""The durable v1 → Convex id mapping table (MAPPING_SPEC §5.7), a SQLite file that outlives runs.

Default location `<runs dir>/mapping.sqlite` (outside every run folder, in the runs dir that holds
the run); `PERM_MAPPING_DB` or an explicit path overrides it. The run manifest records the file a
run's import wrote to (`mapping_table`), so that verify and rollback later open the same one. Unique on (v1_table, v1_uuid, convex_table). A re-run that confirms
a mapping leaves the row untouched; a row whose Convex id changes is replaced and the change is
kept in `id_mapping_changes`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from loader.errors import ConfigError
from loader.run_folder import RunFolder, default_runs_dir

log = logging.getLogger("loader.mapping_table")

MANIFEST_KEY = "mapping_table"

MATCH_RULES = frozenset({
    "created", "existing_email", "existing_secondary_email", "merged_email", "existing_profile",
    "existing_legacy_id", "mapping_table",
})

_DDL = """
create table if not exists id_mapping (
    v1_table     text not null,
    v1_uuid      text not null,
    email_norm   text,
    convex_table text not null,
    convex_id    text not null,
    run_id       text not null,
    match_rule   text not null,
    primary key (v1_table, v1_uuid, convex_table)
);
create index if not exists id_mapping_by_email on id_mapping (convex_table, email_norm);
create table if not exists id_mapping_changes (
    v1_table      text not null,
    v1_uuid       text not null,
    convex_table  text not null,
    old_convex_id text not null,
    new_convex_id text not null,
    run_id        text not null,
    match_rule    text not null
);
"""


@dataclass(frozen=True)
class MappingRow:
    v1_table: str
    v1_uuid: str
    email_norm: str | None
    convex_table: str
    convex_id: str
    match_rule: str


def default_path(runs_dir: Path | None = None) -> Path:
    """`PERM_MAPPING_DB`, else `<runs_dir>/mapping.sqlite` (runs_dir default: `PERM_RUNS_DIR` or ./runs)."""
    return Path(os.environ.get("PERM_MAPPING_DB") or (runs_dir or default_runs_dir()) / "mapping.sqlite")


def path_for_run(folder: RunFolder, explicit: Path | None = None) -> Path:
    """The mapping table of a run: `explicit`, else the one its manifest records, else the default
    next to the run folder (`PERM_MAPPING_DB` or `<the run's runs dir>/mapping.sqlite`)."""
    recorded = folder.read_manifest().get(MANIFEST_KEY)
    if explicit is not None:
        if recorded and Path(recorded) != explicit.absolute():
            log.warning("run %s recorded the mapping table %s; using %s as asked", folder.run_id, recorded, explicit)
        return explicit
    return Path(recorded) if recorded else default_path(folder.root.parent)


def record_for_run(folder: RunFolder, path: Path) -> None:
    """Note in the run manifest the mapping table the run writes to (the first one is kept)."""
    manifest = folder.read_manifest()
    recorded = manifest.get(MANIFEST_KEY)
    if recorded is None:
        manifest[MANIFEST_KEY] = str(path.absolute())
        folder.write_manifest(manifest)
    elif Path(recorded) != path.absolute():
        log.warning("run %s recorded the mapping table %s; this import writes to %s (keep both files)",
                    folder.run_id, recorded, path)


class MappingTable:
    """Open (creating if needed) the mapping database. Use as a context manager."""

    def __init__(self, path: Path | None = None):
        self.path = path or default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.path)
            self.db.executescript(_DDL)
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"mapping table {self.path} cannot be opened: {exc}") from None
        os.chmod(self.path, 0o600)

    @classmethod
    def for_run(cls, folder: RunFolder, explicit: Path | None = None) -> "MappingTable":
        """Open the mapping table of a run (`path_for_run`)."""
        return cls(path_for_run(folder, explicit))

    def __enter__(self) -> "MappingTable":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def convex_id_for_email(self, convex_table: str, email_norm: str) -> str | None:
        """The Convex document a user group was mapped to (deterministic if several: smallest id)."""
        row = self.db.execute(
            "select min(convex_id) from id_mapping where convex_table = ? and email_norm = ?",
            (convex_table, email_norm)).fetchone()
        return row[0]

    def lookup(self, v1_table: str, v1_uuid: str, convex_table: str) -> MappingRow | None:
        row = self.db.execute(
            "select v1_table, v1_uuid, email_norm, convex_table, convex_id, match_rule from id_mapping "
            "where v1_table = ? and v1_uuid = ? and convex_table = ?",
            (v1_table, v1_uuid.lower(), convex_table)).fetchone()
        return MappingRow(*row) if row else None

    def convex_ids_in_order(self, v1_table: str, convex_table: str) -> Iterator[tuple[str, str]]:
        """(v1_uuid, convex_id) of every row mapping `v1_table` into `convex_table`, by v1_uuid."""
        yield from self.db.execute("select v1_uuid, convex_id from id_mapping where v1_table = ? and convex_table = ? "
                                   "order by v1_uuid", (v1_table, convex_table))

    def has_rows(self, convex_table: str) -> bool:
        """True when any v1 row is mapped into `convex_table` (a first migration's lookups can be skipped)."""
        return self.db.execute("select 1 from id_mapping where convex_table = ? limit 1",
                               (convex_table,)).fetchone() is not None

    def record(self, rows: Iterable[MappingRow], run_id: str) -> dict[str, int]:
        """Insert new rows, keep confirmed ones unchanged, replace (and log) changed ids. One transaction.

        Rows apply in order (a later row for the same key sees an earlier one); the stored rows of the
        batch's keys are read in one join, and the writes go out in two `executemany`."""
        rows = list(rows)
        for row in rows:
            if row.match_rule not in MATCH_RULES:
                raise ValueError(f"unknown match rule {row.match_rule!r}")
        counts = {"inserted": 0, "unchanged": 0, "replaced": 0}
        changes: list[tuple[str, ...]] = []
        upserts: list[tuple[str | None, ...]] = []
        with self.db:
            current = self._stored_ids({(row.v1_table, row.v1_uuid.lower(), row.convex_table) for row in rows})
            for row in rows:
                v1_uuid = row.v1_uuid.lower()
                key = (row.v1_table, v1_uuid, row.convex_table)
                stored = current.get(key)
                if stored == row.convex_id:
                    counts["unchanged"] += 1
                    continue
                if stored is not None:
                    changes.append((row.v1_table, v1_uuid, row.convex_table, stored, row.convex_id, run_id,
                                    row.match_rule))
                    counts["replaced"] += 1
                else:
                    counts["inserted"] += 1
                current[key] = row.convex_id
                upserts.append((row.v1_table, v1_uuid, row.email_norm, row.convex_table, row.convex_id, run_id,
                                row.match_rule))
            self.db.executemany("insert into id_mapping_changes values (?, ?, ?, ?, ?, ?, ?)", changes)
            self.db.executemany("insert or replace into id_mapping values (?, ?, ?, ?, ?, ?, ?)", upserts)
        return counts

    def _stored_ids(self, keys: set[tuple[str, str, str]]) -> dict[tuple[str, str, str], str]:
        """(v1_table, v1_uuid, convex_table) → convex_id of the stored rows among `keys`."""
        self.db.execute("create temp table if not exists wanted_keys (v1_table text, v1_uuid text, convex_table text)")
        self.db.execute("delete from wanted_keys")
        self.db.executemany("insert into wanted_keys values (?, ?, ?)", keys)
        found = self.db.execute(
            "select m.v1_table, m.v1_uuid, m.convex_table, m.convex_id from wanted_keys w join id_mapping m "
            "on m.v1_table = w.v1_table and m.v1_uuid = w.v1_uuid and m.convex_table = w.convex_table")
        return {(table, uuid, convex_table): convex_id for table, uuid, convex_table, convex_id in found}

    def rows(self, convex_table: str | None = None) -> Iterator[MappingRow]:
        """Every row (optionally of one Convex table), in key order."""
        sql = "select v1_table, v1_uuid, email_norm, convex_table, convex_id, match_rule from id_mapping"
        params: tuple[str, ...] = ()
        if convex_table is not None:
            sql += " where convex_table = ?"
            params = (convex_table,)
        for values in self.db.execute(sql + " order by v1_table, v1_uuid, convex_table", params):
            yield MappingRow(*values)

    def changes(self) -> list[tuple[str, ...]]:
        return list(self.db.execute("select * from id_mapping_changes order by rowid"))
