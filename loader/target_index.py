"""The target's documents, indexed for verify in a temporary SQLite file (constant memory)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from loader.convex import fastjson
from loader.convex.fastjson import canonical

LOAD_BATCH = 1000
CACHE_ENTRIES = 65536  # per look-up cache: the referenced parents (users) of a whole table, at L


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
        self._cache: dict[tuple, Any] = {}
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
            CREATE TABLE docs (tbl TEXT, id TEXT, doc BLOB);  -- unique on id: indexed once loaded
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

    def _cached(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """`compute()`, remembered under `key` (the index does not change once loaded): many documents
        point at the same few parents. Bounded: the cache is emptied when full."""
        if key not in self._cache:
            if len(self._cache) >= CACHE_ENTRIES:
                self._cache.clear()
            self._cache[key] = compute()
        return self._cache[key]

    def group(self, check: str, key: str) -> str | None:
        def query() -> str | None:
            row = self.db.execute("SELECT grp FROM groups WHERE check_name = ? AND key = ?",
                                  (check, key.lower())).fetchone()
            return row[0] if row else None

        return self._cached(("group", check, key), query)

    def finish_loading(self) -> None:
        self.db.execute("CREATE UNIQUE INDEX docs_id ON docs (id)")  # one sort: cheaper than inserting in id order
        self.db.execute("CREATE INDEX keys_lookup ON keys (tbl, field, value, id)")
        self.db.commit()

    def ids_by_key(self, table: str, name: str, value: str) -> list[str]:
        rows = self.db.execute("SELECT id FROM keys WHERE tbl = ? AND field = ? AND value = ? ORDER BY id",
                               (table, name, value))
        return [row[0] for row in rows]

    def referenced_ids(self, table: str, name: str, value: str) -> list[str]:
        """`ids_by_key`, cached: for the look-ups of references (a few parents, asked again and again)."""
        return self._cached(("ids", table, name, value), lambda: self.ids_by_key(table, name, value))

    def by_key_in_order(self, table: str, name: str) -> "AscendingLookup":
        """(id, canonical JSON) of `table`'s documents by their `name` field, ids in order as `ids_by_key`
        gives them; fast for keys asked in ascending order (`AscendingLookup`)."""
        rows = self.db.execute("SELECT k.value, k.id, d.doc FROM keys k JOIN docs d ON d.id = k.id "
                               "WHERE k.tbl = ? AND k.field = ? ORDER BY k.value, k.id", (table, name))
        return AscendingLookup(((value, (doc_id, doc)) for value, doc_id, doc in rows),
                               lambda key: [(i, self.stored(i)[1]) for i in self.ids_by_key(table, name, key)])

    def stored(self, doc_id: str) -> tuple[str, bytes] | None:
        """(table, canonical JSON) of a document, without decoding it."""
        return self.db.execute("SELECT tbl, doc FROM docs WHERE id = ?", (doc_id,)).fetchone()

    def table_of(self, doc_id: str) -> str | None:
        def query() -> str | None:
            row = self.db.execute("SELECT tbl FROM docs WHERE id = ?", (doc_id,)).fetchone()
            return row[0] if row else None

        return self._cached(("table", doc_id), query)

    def get(self, doc_id: str) -> tuple[str, dict[str, Any]] | None:
        """(table, document without `_id`/`_creationTime`)."""
        row = self.stored(doc_id)
        return (row[0], fastjson.loads(row[1])) if row else None

    def field_of(self, doc_id: str, name: str) -> Any:
        """One field of a document (None when absent), cached: many documents point at the same one."""
        def query() -> Any:
            found = self.get(doc_id)
            return found[1].get(name) if found else None

        return self._cached(("field", doc_id, name), query)

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



class AscendingLookup:
    """Look-ups by key answered from one scan of `(key, item)` rows sorted by key, for a caller that
    asks for keys in ascending order (an export written in that key's order): a few comparisons per
    key instead of a query. A key asked out of order goes to `point(key)`. `find` gives the items of
    the rows with that key, in row order (none: an empty list)."""

    def __init__(self, rows: Iterator[tuple[str, Any]], point: Callable[[str], list[Any]]):
        self._rows, self._point = rows, point
        self._next = next(self._rows, None)
        self._last: tuple[str, list[Any]] | None = None  # the last key scanned and its items

    def find(self, key: str) -> list[Any]:
        if self._last is not None and key <= self._last[0]:
            return self._last[1] if key == self._last[0] else self._point(key)
        while self._next is not None and self._next[0] < key:
            self._next = next(self._rows, None)
        items = []
        while self._next is not None and self._next[0] == key:
            items.append(self._next[1])
            self._next = next(self._rows, None)
        self._last = (key, items)
        return items
