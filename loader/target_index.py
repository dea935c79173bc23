"""The target's documents, indexed for verify in a temporary SQLite file (constant memory)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from loader.convex import fastjson
from loader.convex.fastjson import canonical

LOAD_BATCH = 1000
FIELD_CACHE = 65536


class TargetIndex:
    """The target's documents (and the pre-run backup) in a temporary SQLite file.

    Each document is stored as its canonical JSON without `_id`/`_creationTime` (`fastjson.canonical`),
    so an expected document is checked by comparing bytes; it is decoded only when they differ.
    `groups` holds the declared group checks' key → group tables (`meta.verify.group_checks`)."""

    def __init__(self, path: Path, *, create: bool = True):
        """A new index at `path`, or (`create=False`) a read-only view of one another process built:
        after `finish_loading` the builder writes only to its private `scratch` database, so the file
        can be read concurrently."""
        self.path, self.owner = path, create
        self._seen: list[tuple[str]] = []
        self._fields: dict[tuple[str, str], Any] = {}
        if not create:
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            self.has_before = self.db.execute("SELECT 1 FROM before LIMIT 1").fetchone() is not None
            return
        path.unlink(missing_ok=True)
        self.db = sqlite3.connect(path)
        path.chmod(0o600)
        self.db.executescript(
            """
            PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
            CREATE TABLE docs (tbl TEXT, id TEXT PRIMARY KEY, doc BLOB);
            CREATE TABLE keys (tbl TEXT, field TEXT, value TEXT, id TEXT);
            CREATE TABLE before (tbl TEXT, id TEXT PRIMARY KEY, doc TEXT);
            CREATE TABLE groups (check_name TEXT, key TEXT, grp TEXT, PRIMARY KEY (check_name, key));
            ATTACH DATABASE '' AS scratch;
            CREATE TABLE scratch.seen (id TEXT PRIMARY KEY);
            """
        )
        self.has_before = False  # any backed-up document (else `before` needs no query)

    def close(self) -> None:
        self.db.close()
        if self.owner:
            self.path.unlink(missing_ok=True)

    def load_table(self, table: str, documents: Iterator[dict[str, Any]], key_fields: set[str]) -> int:
        count = 0
        rows: list[tuple[str, str, bytes]] = []
        keys: list[tuple[str, str, str, str]] = []
        for doc in documents:
            doc_id = doc.pop("_id")
            doc.pop("_creationTime", None)
            rows.append((table, doc_id, canonical(doc)))
            keys.extend((table, name, doc[name], doc_id) for name in key_fields if isinstance(doc.get(name), str))
            count += 1
            if len(rows) >= LOAD_BATCH:
                self._insert(rows, keys)
        self._insert(rows, keys)
        return count

    def _insert(self, rows: list[tuple[str, str, bytes]], keys: list[tuple[str, str, str, str]]) -> None:
        self.db.executemany("INSERT INTO docs (tbl, id, doc) VALUES (?, ?, ?)", rows)
        self.db.executemany("INSERT INTO keys VALUES (?, ?, ?, ?)", keys)
        rows.clear()
        keys.clear()

    def load_before(self, table: str, documents: Iterator[dict[str, Any]]) -> int:
        count = 0
        for doc in documents:
            self.db.execute("INSERT INTO before VALUES (?, ?, ?)", (table, doc["_id"], json.dumps(doc)))
            count += 1
        self.has_before = self.has_before or count > 0
        return count

    def load_groups(self, check: str, pairs: Iterator[tuple[str, str | None]]) -> None:
        """One group check's key → group pairs (keys compared lowercase)."""
        self.db.executemany("INSERT OR REPLACE INTO groups VALUES (?, ?, ?)",
                            ((check, key.lower(), group) for key, group in pairs))

    def group(self, check: str, key: str) -> str | None:
        row = self.db.execute("SELECT grp FROM groups WHERE check_name = ? AND key = ?",
                              (check, key.lower())).fetchone()
        return row[0] if row else None

    def finish_loading(self) -> None:
        self.db.execute("CREATE INDEX keys_lookup ON keys (tbl, field, value)")
        self.db.commit()

    def ids_by_key(self, table: str, name: str, value: str) -> list[str]:
        rows = self.db.execute("SELECT id FROM keys WHERE tbl = ? AND field = ? AND value = ? ORDER BY id",
                               (table, name, value))
        return [row[0] for row in rows]

    def stored(self, doc_id: str) -> tuple[str, bytes] | None:
        """(table, canonical JSON) of a document, without decoding it."""
        return self.db.execute("SELECT tbl, doc FROM docs WHERE id = ?", (doc_id,)).fetchone()

    def table_of(self, doc_id: str) -> str | None:
        row = self.db.execute("SELECT tbl FROM docs WHERE id = ?", (doc_id,)).fetchone()
        return row[0] if row else None

    def get(self, doc_id: str) -> tuple[str, dict[str, Any]] | None:
        """(table, document without `_id`/`_creationTime`)."""
        row = self.stored(doc_id)
        return (row[0], fastjson.loads(row[1])) if row else None

    def field_of(self, doc_id: str, name: str) -> Any:
        """One field of a document (None when absent), cached: many documents point at the same one."""
        key = (doc_id, name)
        if key not in self._fields:
            if len(self._fields) >= FIELD_CACHE:
                self._fields.clear()
            found = self.get(doc_id)
            self._fields[key] = found[1].get(name) if found else None
        return self._fields[key]

    def before(self, doc_id: str) -> dict[str, Any] | None:
        if not self.has_before:
            return None
        row = self.db.execute("SELECT doc FROM before WHERE id = ?", (doc_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def mark_seen(self, doc_id: str) -> None:
        self._seen.append((doc_id,))
        if len(self._seen) >= LOAD_BATCH:
            self._flush_seen()

    def _flush_seen(self) -> None:
        self.db.executemany("INSERT OR IGNORE INTO scratch.seen VALUES (?)", self._seen)
        self._seen.clear()

    def unseen_before(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Backed-up documents not matched to any exported document."""
        self._flush_seen()
        rows = self.db.execute(
            "SELECT b.tbl, b.id, b.doc FROM before b LEFT JOIN docs d ON d.id = b.id "
            "LEFT JOIN scratch.seen s ON s.id = b.id WHERE d.id IS NULL OR s.id IS NULL ORDER BY b.tbl, b.id")
        for tbl, doc_id, doc in rows:
            yield tbl, doc_id, json.loads(doc)
