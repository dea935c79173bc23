"""System functions (`_system/...`) of CONVEX_HTTP §2.2, §4.2, §4.3. Admin only; each takes decoded args."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from loader.convex.ids import InvalidId, decode_id
from loader.convex.values import PlainDict
from perm_rehearsal.emulator.functions import FunctionError
from perm_rehearsal.emulator.store import PlainTexts, doc_from_text, is_plain_text

TABLE_DATA_MAX_ROWS = 10000
TABLE_DATA_MAX_BYTES = 5_000_000
IMPORTS_TABLE = "_snapshot_imports"
EXPORTS_TABLE = "_exports"


def _arg(args: dict, name: str, kind: type | tuple, path: str) -> Any:
    value = args.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise FunctionError(f"ArgumentValidationError: Value does not match validator.\nPath: .{name}\nValue: {value!r}\nValidator: {path}")
    return value


def query_import(state, args: dict) -> Any:
    import_id = _arg(args, "importId", str, "v.id(\"_snapshot_imports\")")
    try:
        decode_id(import_id)
    except InvalidId:
        raise FunctionError(
            f"ArgumentValidationError: Value does not match validator.\nPath: .importId\nValue: {import_id!r}\n"
            'Validator: v.id("_snapshot_imports")'
        ) from None
    state.count_poll(import_id)
    doc = state.store.get_sysdoc(import_id)
    return doc if doc is not None and "format" in doc else None


def query_import_list(state, args: dict) -> Any:
    return state.store.list_sysdocs(IMPORTS_TABLE, 20)


def _pagination(args: dict) -> tuple[int, str | None]:
    opts = _arg(args, "paginationOpts", dict, "v.object({numItems: v.number(), cursor: v.union(v.string(), v.null())})")
    num = opts.get("numItems")
    cursor = opts.get("cursor")
    if not isinstance(num, float) or num < 0 or (cursor is not None and not isinstance(cursor, str)):
        raise FunctionError("ArgumentValidationError: paginationOpts must be {numItems: number, cursor: string | null}")
    return int(num), cursor


def tables(state, args: dict) -> Any:
    _pagination(args)
    names = sorted(t for t in state.store.table_mapping().values() if not t.startswith("_"))
    return {"page": [{"name": n} for n in names], "isDone": True, "continueCursor": "end"}


def _cursor_out(key: tuple[float, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _cursor_in(cursor: str | None) -> tuple[float, str] | None:
    if cursor is None:
        return None
    try:
        ct, doc_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return float(ct), str(doc_id)
    except (ValueError, TypeError):
        raise FunctionError(f"Uncaught Error: Invalid cursor {cursor!r}") from None


def table_data(state, args: dict) -> Any:
    """A page of documents by (_creationTime, _id); pages may be short; only isDone ends the loop."""
    table = _arg(args, "table", str, "v.string()")
    order = args.get("order", "asc")
    if order not in ("asc", "desc"):
        raise FunctionError(f"ArgumentValidationError: order must be \"asc\" or \"desc\", got {order!r}")
    num, cursor = _pagination(args)
    found = state.store.active_tablet(table)
    if found is None or cursor == "end":
        return {"page": [], "isDone": True, "continueCursor": "end"}
    limit = max(1, min(num, TABLE_DATA_MAX_ROWS))
    rows = state.store.page(found[0], _cursor_in(cursor), limit + 1, descending=order == "desc",
                            max_bytes=TABLE_DATA_MAX_BYTES)
    page, size = [], 0
    for ct, doc_id, text in rows[:limit]:
        if page and size + len(text) > TABLE_DATA_MAX_BYTES:
            break
        page.append((ct, doc_id, text))
        size += len(text)
    done = len(page) == len(rows)
    texts = tuple(text for _, _, text in page)
    result = {"isDone": done, "continueCursor": "end" if done else _cursor_out(page[-1][:2])}
    if all(map(is_plain_text, texts)):  # the stored texts are the response (the common case: fast)
        return PlainDict(page=PlainTexts(texts), **result)
    return {"page": [doc_from_text(text) for text in texts], **result}


def table_size(state, args: dict) -> Any:
    found = state.store.active_tablet(_arg(args, "tableName", str, "v.string()"))
    return float(state.store.count(found[0])) if found else 0.0


def table_mapping(state, args: dict) -> Any:
    return {str(n): name for n, name in sorted(state.full_mapping().items())}


def exports_get_latest(state, args: dict) -> Any:
    latest = state.store.list_sysdocs(EXPORTS_TABLE, 1)
    if not latest:
        return None
    state.count_poll(latest[0]["_id"])
    return latest[0]


def delete_documents(state, args: dict) -> Any:
    """Delete by id, all or nothing; ids of other tables or unknown tables are errors."""
    to_delete = _arg(args, "toDelete", list, "v.array(v.object({id: v.string(), tableName: v.string()}))")
    if len(to_delete) > 4096:
        raise FunctionError("ArgumentValidationError: toDelete holds more than 4096 items")
    targets = []
    for item in to_delete:
        doc_id, table = (item.get("id"), item.get("tableName")) if isinstance(item, dict) else (None, None)
        found = state.store.active_tablet(table) if isinstance(table, str) else None
        try:
            number = decode_id(doc_id)[0]
        except InvalidId:
            return {"success": False, "error": f"Invalid id {doc_id!r}"}
        if found is None or found[1] != number:
            return {"success": False, "error": f"Id {doc_id} is not in table {table!r}"}
        targets.append((found[0], doc_id))
    with state.store.transaction():
        for tablet, doc_id in targets:
            state.store.delete_row(tablet, doc_id)
    return {"success": True}


# canonical path → (kind, implementation)
SYSTEM_FUNCTIONS: dict[str, tuple[str, Callable[[Any, dict], Any]]] = {
    "_system/cli/queryImport:default": ("query", query_import),
    "_system/cli/queryImport:list": ("query", query_import_list),
    "_system/cli/tables:default": ("query", tables),
    "_system/cli/tableData:default": ("query", table_data),
    "_system/cli/tableSize:default": ("query", table_size),
    "_system/frontend/getTableMapping:default": ("query", table_mapping),
    "_system/cli/exports:getLatest": ("query", exports_get_latest),
    "_system/frontend/deleteDocuments:default": ("mutation", delete_documents),
}
