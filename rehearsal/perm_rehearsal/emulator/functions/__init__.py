"""Python mirrors of project (companion) Convex functions, and the transactional `ctx.db` they run with.

Register with `@register_function("<module path>:<export>", kind="mutation"|"query"|"action", internal=True)`.
The handler is called as `handler(ctx, args)`; `args` is already decoded (convex_encoded_json → Python;
plain numbers are floats). It runs as ONE transaction: every write applies, or none (an exception rolls
back). Raise `ConvexError(data)` for an application error (fills `errorData`).
"""

from __future__ import annotations

import base64
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loader.convex.ids import InvalidId, decode_id
from loader.convex.values import InvalidValue, check_document
from perm_rehearsal.emulator.store import doc_from_text, doc_text

KINDS = ("query", "mutation", "action")
# Modules under rehearsal/perm_rehearsal/emulator/functions/ imported when the registry is first used.
MIRROR_MODULES = ("companion",)


class ConvexError(Exception):
    """An application error carrying `data` (returned as `errorData`)."""

    def __init__(self, data: Any):
        super().__init__(data if isinstance(data, str) else json.dumps(data, default=str))
        self.data = data


class FunctionError(Exception):
    """A system error inside a function (Convex's `Uncaught Error: …`)."""


@dataclass(frozen=True)
class RegisteredFunction:
    path: str
    kind: str
    internal: bool
    handler: Callable[[Any, dict], Any]


_REGISTRY: dict[str, RegisteredFunction] = {}
_loaded = False


def canonical_path(path: str) -> str:
    """`mod` → `mod:default`; strips a `.js` module extension."""
    module, _, export = path.partition(":")
    if module.endswith(".js"):
        module = module[:-3]
    return f"{module}:{export or 'default'}"


def register_function(path: str, kind: str, internal: bool = True) -> Callable:
    """Decorator registering `handler(ctx, args)` under the Convex function path."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")

    def decorate(handler: Callable) -> Callable:
        _REGISTRY[canonical_path(path)] = RegisteredFunction(canonical_path(path), kind, internal, handler)
        return handler

    return decorate


def lookup(path: str) -> RegisteredFunction | None:
    global _loaded
    if not _loaded:
        _loaded = True
        for name in MIRROR_MODULES:
            try:
                importlib.import_module(f"{__name__}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{__name__}.{name}":
                    raise
    return _REGISTRY.get(canonical_path(path))


def _encode_cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def _decode_cursor(cursor: str | None) -> Any:
    if cursor is None:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as exc:
        raise FunctionError(f"Invalid cursor {cursor!r}") from exc


class Query:
    """`ctx.db.query(table)[.index(name, *eq_values)][.order("desc")]` then collect/first/unique/take/paginate."""

    def __init__(self, db: Database, table: str):
        self._db = db
        self._table = table
        self._index: tuple[str, tuple[str, ...]] | None = None
        self._values: tuple[Any, ...] = ()
        self._desc = False

    def index(self, name: str, *eq_values: Any) -> Query:
        table_schema = self._db.state.schema.table(self._table)
        try:
            fields = table_schema.index_fields(name) if table_schema else ()
        except KeyError:
            fields = ()
        if not fields:
            raise FunctionError(f"Index {self._table}.{name} not found.")
        if len(eq_values) > len(fields):
            raise FunctionError(f"Index {self._table}.{name} has {len(fields)} fields, got {len(eq_values)} values")
        self._index, self._values = (name, fields), eq_values
        return self

    with_index = index

    def order(self, direction: str) -> Query:
        if direction not in ("asc", "desc"):
            raise FunctionError(f"order must be 'asc' or 'desc', got {direction!r}")
        self._desc = direction == "desc"
        return self

    def _rows(self, after: Any = None, limit: int | None = None):
        found = self._db.state.store.active_tablet(self._table)
        if found is None:
            return []
        tablet = found[0]
        store = self._db.state.store
        if self._index is None:
            return store.page(tablet, (after[0], after[1]) if after else None, -1 if limit is None else limit, self._desc)
        if after is None:
            return store.index_rows(tablet, self._index[1], self._values, self._desc, -1 if limit is None else limit)
        # Index order is not (ct, id): resume after the cursor's document (or its position if it is gone).
        rows = store.index_rows(tablet, self._index[1], self._values, self._desc)
        ids = [r[1] for r in rows]
        rows = rows[ids.index(after[1]) + 1 :] if after[1] in ids else rows[after[2] :]
        return rows if limit is None else rows[:limit]

    def _docs(self, rows) -> list[dict]:
        self._db._reads += len(rows)
        return [doc_from_text(r[2]) for r in rows]

    def collect(self) -> list[dict]:
        return self._docs(self._rows())

    def take(self, n: int) -> list[dict]:
        return self._docs(self._rows(limit=int(n)))

    def first(self) -> dict | None:
        docs = self.take(1)
        return docs[0] if docs else None

    def unique(self) -> dict | None:
        docs = self.take(2)
        if len(docs) > 1:
            raise FunctionError(f"unique() query returned more than one result from table {self._table}")
        return docs[0] if docs else None

    def paginate(self, cursor: str | None, num_items: int) -> dict:
        """{"page", "isDone", "continueCursor"}; the cursor is opaque; "end"-style when done."""
        after = _decode_cursor(cursor)
        if after == "end":
            return {"page": [], "isDone": True, "continueCursor": cursor}
        num = max(int(num_items), 0)
        rows = self._rows(after, num + 1)
        page, more = rows[:num], len(rows) > num
        if not more or not page:
            return {"page": self._docs(page), "isDone": True, "continueCursor": _encode_cursor("end")}
        # cursor = [creation time, id, position]: position resumes an index scan if that document is gone
        position = (after[2] if after else 0) + len(page)
        key = [page[-1][0], page[-1][1], position]
        return {"page": self._docs(page), "isDone": False, "continueCursor": _encode_cursor(key)}


class Database:
    """Reads and writes of one function call. Writes are validated against the schema."""

    def __init__(self, state, read_only: bool):
        self.state = state
        self.read_only = read_only
        self.writes = 0
        self._reads = 0
        self._validator = None  # built on the first write; rebuilt when a write creates a table

    def _locate(self, doc_id: Any) -> tuple[int, str] | None:
        try:
            number = decode_id(doc_id)[0]
        except InvalidId:
            raise FunctionError(f"Invalid argument `id` for `db.get`: Unable to decode ID: {doc_id!r}") from None
        return self.state.store.tablet_of_number(number)

    def get(self, doc_id: str) -> dict | None:
        located = self._locate(doc_id)
        if located is None:
            return None
        row = self.state.store.get_row(located[0], doc_id)
        self._reads += 1
        return doc_from_text(row[1]) if row else None

    def query(self, table: str) -> Query:
        return Query(self, table)

    def _count_write(self) -> None:
        if self.read_only:
            raise FunctionError("Write operations are not allowed in a query")
        self.writes += 1
        limit = self.state.config.max_writes_per_function
        if self.writes > limit:
            raise FunctionError(f"Too many writes in a single function execution (limit: {limit})")

    def _validated(self, table: str, doc: dict) -> str:
        try:
            check_document(doc)
        except InvalidValue as exc:
            raise FunctionError(str(exc)) from None
        if self._validator is None:
            self._validator = self.state.validator()
        error = self._validator.first_error(doc, table)
        if error:
            raise FunctionError(error)
        return doc_text(doc)

    def insert(self, table: str, value: dict) -> str:
        self._count_write()
        if any(k.startswith("_") for k in value):
            raise FunctionError(f"System fields like `_id` cannot be set on insert into table {table}")
        if self.state.store.active_tablet(table) is None:
            self._validator = None  # the table mapping is about to change
        tablet, number = self.state.ensure_table(table)
        doc_id = self.state.mint(number, tablet)
        ct = self.state.store.next_creation_time()
        doc = {"_id": doc_id, "_creationTime": ct, **value}
        self.state.store.put_row(tablet, doc_id, ct, self._validated(table, doc))
        return doc_id

    def _existing(self, doc_id: str) -> tuple[int, str, dict]:
        located = self._locate(doc_id)
        row = self.state.store.get_row(located[0], doc_id) if located else None
        if row is None:
            raise FunctionError(f"Document with ID {doc_id!r} does not exist")
        return located[0], located[1], doc_from_text(row[1])

    def patch(self, doc_id: str, fields: dict) -> None:
        """Shallow merge; a field set to None-as-undefined is not expressible: use `unset` to remove."""
        self._write(doc_id, fields, replace=False)

    def unset(self, doc_id: str, *names: str) -> None:
        """Remove top-level fields (what `patch(id, {f: undefined})` does in TypeScript)."""
        self._count_write()
        tablet, table, doc = self._existing(doc_id)
        for name in names:
            doc.pop(name, None)
        self.state.store.put_row(tablet, doc_id, doc["_creationTime"], self._validated(table, doc))

    def replace(self, doc_id: str, value: dict) -> None:
        self._write(doc_id, value, replace=True)

    def _write(self, doc_id: str, fields: dict, replace: bool) -> None:
        self._count_write()
        tablet, table, doc = self._existing(doc_id)
        for name in fields:
            if name.startswith("_") and fields[name] != doc.get(name):
                raise FunctionError(f"System field `{name}` cannot be modified")
        system = {"_id": doc["_id"], "_creationTime": doc["_creationTime"]}
        new = {**system, **{k: v for k, v in fields.items() if not k.startswith("_")}} if replace else {**doc, **fields}
        self.state.store.put_row(tablet, doc_id, doc["_creationTime"], self._validated(table, new))

    def delete(self, doc_id: str) -> None:
        self._count_write()
        tablet, _, _ = self._existing(doc_id)
        self.state.store.delete_row(tablet, doc_id)


class Context:
    """`ctx` passed to a mirror: `ctx.db`."""

    def __init__(self, state, kind: str):
        self.db = Database(state, read_only=(kind == "query"))
