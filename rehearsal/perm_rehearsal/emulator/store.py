"""Durable emulator state in one SQLite file: table catalog, one SQLite table per Convex tablet, system docs.

All access goes through `Store.lock` (re-entrant). `transaction()` makes a group of writes atomic.
Documents are stored as canonical export_json text (keys sorted, `_id`/`_creationTime` included).
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from loader.convex.values import PlainDict, decode_export_json, encode

ACTIVE = "active"
HIDDEN = "hidden"


_DOC_TEXT = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), sort_keys=True)


def doc_text(doc: dict) -> str:
    """Canonical stored text of a document (export_json, sorted keys)."""
    try:  # fast path: plain JSON values already are export_json (ints are int64, floats keep `.0`)
        return _DOC_TEXT.encode(doc)
    except (TypeError, ValueError):  # bytes, NaN/±Inf
        return _DOC_TEXT.encode(encode(doc, "export_json"))


def orjson_doc_text(doc: dict) -> str:
    """`doc_text` of a document holding only strings, booleans, null, arrays, objects, int64s and floats that
    are 0 or within 1e-4 ≤ |x| < 1e16 (where orjson and `json` write every float alike): orjson's sorted text."""
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS).decode("utf-8")


# An integer literal in compact JSON text (after `:`, `[` or `,`, before `,`, `}` or `]`). It may also match
# inside a string: then the text only takes the slower exact path.
_INTEGER_LITERAL = re.compile(r"[:,\[]-?\d+[,}\]]")


def is_plain_text(text: str) -> bool:
    """True when a stored text surely holds no int64, bytes or special float: its JSON is then the same in
    every format (what `doc_from_text` returns as a `PlainDict`)."""
    return '"$' not in text and _INTEGER_LITERAL.search(text) is None


def doc_from_text(text: str) -> dict:
    """The stored document; a `PlainDict` when it holds no int64, bytes or special float (fast to encode)."""
    if is_plain_text(text):
        return PlainDict(json.loads(text))
    if '"$' in text:
        return decode_export_json(json.loads(text))
    ints = []
    doc = json.loads(text, parse_int=lambda literal: ints.append(literal) or int(literal))
    return doc if ints else PlainDict(doc)


@dataclass(frozen=True)
class PlainTexts:
    """Stored documents that are all plain (`is_plain_text`), as a JSON array to write verbatim into a
    response (see `perm_rehearsal.emulator.api.json_text`): no parse and re-encode of each document."""

    texts: tuple[str, ...]

    def json(self) -> str:
        return "[" + ",".join(self.texts) + "]"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Store:
    """SQLite-backed store."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.lock = threading.RLock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        # Bulk imports: the id index of a large table stays in memory; fewer, larger checkpoints.
        self._db.execute("PRAGMA cache_size=-65536")
        self._db.execute("PRAGMA wal_autocheckpoint=10000")
        self._depth = 0
        self._last_ct = 0.0
        with self.transaction():
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS catalog(tablet INTEGER PRIMARY KEY AUTOINCREMENT,"
                " name TEXT NOT NULL, number INTEGER NOT NULL, state TEXT NOT NULL)"
            )
            self._db.execute("CREATE TABLE IF NOT EXISTS sysdocs(id TEXT PRIMARY KEY, tbl TEXT, ct REAL, doc TEXT)")
            # Hidden tablets of imports interrupted by a crash are garbage.
            for (tablet,) in self._db.execute("SELECT tablet FROM catalog WHERE state = ?", (HIDDEN,)).fetchall():
                self.drop_tablet(tablet)

    def close(self) -> None:
        with self.lock:
            self._db.close()

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Atomic unit of work; nests (inner blocks join the outer transaction)."""
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    def next_creation_time(self) -> float:
        """Current time in ms, strictly increasing across calls."""
        with self.lock:
            now = time.time() * 1000.0
            self._last_ct = now if now > self._last_ct else math.nextafter(self._last_ct, math.inf)
            return self._last_ct

    # -- catalog ------------------------------------------------------------------------------

    def table_mapping(self) -> dict[int, str]:
        """number → name of active tables."""
        with self.lock:
            rows = self._db.execute("SELECT number, name FROM catalog WHERE state = ?", (ACTIVE,)).fetchall()
        return {number: name for number, name in rows}

    def active_tablet(self, name: str) -> tuple[int, int] | None:
        """(tablet, number) of the active table `name`."""
        with self.lock:
            return self._db.execute(
                "SELECT tablet, number FROM catalog WHERE name = ? AND state = ?", (name, ACTIVE)
            ).fetchone()

    def tablet_of_number(self, number: int) -> tuple[int, str] | None:
        with self.lock:
            return self._db.execute(
                "SELECT tablet, name FROM catalog WHERE number = ? AND state = ?", (number, ACTIVE)
            ).fetchone()

    def used_numbers(self) -> set[int]:
        with self.lock:
            return {n for (n,) in self._db.execute("SELECT number FROM catalog WHERE state = ?", (ACTIVE,))}

    def create_tablet(self, name: str, number: int, state: str = ACTIVE) -> int:
        with self.transaction():
            cur = self._db.execute(
                "INSERT INTO catalog(name, number, state) VALUES (?, ?, ?)", (name, number, state)
            )
            tablet = cur.lastrowid
            t = f"d{tablet}"
            self._db.execute(f"CREATE TABLE {t}(id TEXT PRIMARY KEY, ct REAL NOT NULL, doc TEXT NOT NULL)")
            self._db.execute(f"CREATE INDEX {t}_ct ON {t}(ct, id)")
            return tablet

    def _ensure_index(self, tablet: int, fields: tuple[str, ...]) -> None:
        """Schema indexes are built on first use (keeps bulk imports fast), then maintained by SQLite."""
        exprs = ", ".join(f"json_extract(doc, {_quote_json_path(f)})" for f in fields)
        name = f"d{tablet}_ix_" + "__".join(_safe(f) for f in fields)
        self._db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON d{tablet}({exprs}, ct, id)")

    def drop_tablet(self, tablet: int) -> None:
        with self.transaction():
            self._db.execute(f"DROP TABLE IF EXISTS d{tablet}")
            self._db.execute("DELETE FROM catalog WHERE tablet = ?", (tablet,))

    def activate(self, tablet: int, name: str) -> None:
        """Swap hidden `tablet` in as the active table `name` (dropping the old one), atomically."""
        with self.transaction():
            old = self.active_tablet(name)
            if old is not None and old[0] != tablet:
                self.drop_tablet(old[0])
            self._db.execute("UPDATE catalog SET state = ? WHERE tablet = ?", (ACTIVE, tablet))

    def drop_table(self, name: str) -> None:
        found = self.active_tablet(name)
        if found is not None:
            self.drop_tablet(found[0])

    # -- documents ----------------------------------------------------------------------------

    def insert_rows(self, tablet: int, rows: list[tuple[str, float, str]]) -> None:
        """Insert (id, creation time, doc text) rows; raises sqlite3.IntegrityError on a duplicate id."""
        with self.transaction():
            self._db.executemany(f"INSERT INTO d{tablet}(id, ct, doc) VALUES (?, ?, ?)", rows)

    def put_row(self, tablet: int, doc_id: str, ct: float, text: str) -> None:
        with self.transaction():
            self._db.execute(f"INSERT OR REPLACE INTO d{tablet}(id, ct, doc) VALUES (?, ?, ?)", (doc_id, ct, text))

    def delete_row(self, tablet: int, doc_id: str) -> bool:
        with self.transaction():
            return self._db.execute(f"DELETE FROM d{tablet} WHERE id = ?", (doc_id,)).rowcount > 0

    def get_row(self, tablet: int, doc_id: str) -> tuple[float, str] | None:
        with self.lock:
            return self._db.execute(f"SELECT ct, doc FROM d{tablet} WHERE id = ?", (doc_id,)).fetchone()

    def has_id(self, tablet: int, doc_id: str) -> bool:
        return self.get_row(tablet, doc_id) is not None

    def count(self, tablet: int) -> int:
        with self.lock:
            return self._db.execute(f"SELECT count(*) FROM d{tablet}").fetchone()[0]

    def page(self, tablet: int, after: tuple[float, str] | None, limit: int, descending: bool = False,
             max_bytes: int | None = None) -> list[tuple[float, str, str]]:
        """Rows (ct, id, doc text) ordered by (ct, id), strictly after the `after` key, at most `limit` (-1: all);
        with `max_bytes`, read only up to the first row whose text takes the total beyond it (the caller sees
        that more follow)."""
        op, order = ("<", "DESC") if descending else (">", "ASC")
        where, params = ("", ()) if after is None else (f"WHERE (ct, id) {op} (?, ?)", after)
        with self.lock:
            cursor = self._db.execute(
                f"SELECT ct, id, doc FROM d{tablet} {where} ORDER BY ct {order}, id {order} LIMIT ?",
                (*params, limit),
            )
            if max_bytes is None:
                return cursor.fetchall()
            rows, size = [], 0
            for row in cursor:
                rows.append(row)
                size += len(row[2])
                if size > max_bytes:
                    break
            cursor.close()
            return rows

    def chunks_by_id(self, tablet: int, size: int = 1000) -> Iterator[list[tuple[str, str]]]:
        """All (id, doc text) ordered by id, in chunks of `size` rows (for exports)."""
        last = ""
        while True:
            with self.lock:
                chunk = self._db.execute(
                    f"SELECT id, doc FROM d{tablet} WHERE id > ? ORDER BY id LIMIT ?", (last, size)
                ).fetchall()
            if not chunk:
                return
            yield chunk
            last = chunk[-1][0]

    def index_rows(
        self, tablet: int, fields: tuple[str, ...], values: tuple[Any, ...], descending: bool, limit: int = -1
    ) -> list[tuple[float, str, str]]:
        """Rows whose first len(values) index fields equal `values`, in index order (at most `limit`; -1 = all)."""
        order = "DESC" if descending else "ASC"
        exprs = [f"json_extract(doc, {_quote_json_path(f)})" for f in fields]
        conds = [
            f"{expr} IS NULL" if value is None else f"{expr} = ?" for expr, value in zip(exprs, values)
        ]
        params = [_sql_param(v) for v in values if v is not None]
        where = ("WHERE " + " AND ".join(conds)) if conds else ""
        order_by = ", ".join(f"{e} {order}" for e in exprs) + f", ct {order}, id {order}"
        with self.lock:
            self._ensure_index(tablet, fields)
            return self._db.execute(
                f"SELECT ct, id, doc FROM d{tablet} {where} ORDER BY {order_by} LIMIT ?", (*params, limit)
            ).fetchall()

    # -- system documents (_snapshot_imports, _exports) -----------------------------------------

    def put_sysdoc(self, table: str, doc: dict) -> None:
        with self.transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO sysdocs(id, tbl, ct, doc) VALUES (?, ?, ?, ?)",
                (doc["_id"], table, doc["_creationTime"], doc_text(doc)),
            )

    def get_sysdoc(self, doc_id: str) -> dict | None:
        with self.lock:
            row = self._db.execute("SELECT doc FROM sysdocs WHERE id = ?", (doc_id,)).fetchone()
        return doc_from_text(row[0]) if row else None

    def list_sysdocs(self, table: str, limit: int) -> list[dict]:
        """Newest first."""
        with self.lock:
            rows = self._db.execute(
                "SELECT doc FROM sysdocs WHERE tbl = ? ORDER BY ct DESC LIMIT ?", (table, limit)
            ).fetchall()
        return [doc_from_text(r[0]) for r in rows]

    def wipe(self) -> None:
        """Drop everything (for /_emulator/reset)."""
        with self.transaction():
            for (tablet,) in self._db.execute("SELECT tablet FROM catalog").fetchall():
                self.drop_tablet(tablet)
            self._db.execute("DELETE FROM sysdocs")


class NoopStore(Store):
    """Accepts and counts documents but keeps none (benchmark of the upload path)."""

    def __init__(self, path: Path):
        super().__init__(path)
        self.discarded = 0

    def insert_rows(self, tablet: int, rows: list[tuple[str, float, str]]) -> None:
        with self.lock:
            self.discarded += len(rows)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def _quote_json_path(field_name: str) -> str:
    return "'$.\"" + field_name.replace("'", "''").replace('"', '\\"') + "\"'"


def _sql_param(value: Any) -> Any:
    if isinstance(value, bool):
        return 1 if value else 0
    return value
