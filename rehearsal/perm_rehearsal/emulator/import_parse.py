"""Parse phase of an import (CONVEX_HTTP §2.6): JSON syntax, BOM, blank lines, UTF-8, ZIP layout.

Rows are turned into Convex values here: single-table JSONL/JSON array rows with every number a
float64, "uniform" ZIP rows as export_json (integer literals are int64, `$` objects special).
"""

from __future__ import annotations

import io
import json
import re
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from loader.convex.values import (MAX_ARRAY_LENGTH, MAX_DOCUMENT_SIZE, MAX_NESTING, MAX_OBJECT_FIELDS, InvalidValue,
                                  decode_export_json, is_valid_field_name, known_field_names)

TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
JSON_ARRAY_MAX = 16 << 20


class ImportFailure(Exception):
    """Ends an import in state `failed` with `PREFIX + message`."""


@dataclass
class TablePlan:
    """One table of an import, learned in the parse phase."""

    name: str
    rows: Callable[[], Iterator[tuple[Any, int | None]]]  # (Convex value, its size if `_fast_row` read it), file order
    count: int = 0
    first_id: Any = None
    zip_number: int | None = None


@dataclass
class ImportJob:
    import_id: str
    object_path: Path
    fmt: str  # jsonLines | jsonArray | csv | zip
    mode: str
    table: str | None
    auto_confirm: bool = False
    confirmed: bool = False
    plans: list[TablePlan] = field(default_factory=list)
    cancel: threading.Event = field(default_factory=threading.Event)


# -- parsing -------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# One decoder each, built once (json.loads with keyword arguments builds a new decoder for every call).
_EXPORT_JSON = json.JSONDecoder(parse_constant=_reject_constant)  # "uniform" ZIP rows: integer literals are int64
_FLOAT64_JSON = json.JSONDecoder(parse_int=float, parse_constant=_reject_constant)  # every number a float64


def _decode(decoder: json.JSONDecoder, text: str) -> Any:
    """`json.loads(text)` with `decoder`'s settings (the same BOM error as json.loads)."""
    if text.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return decoder.decode(text)


def _loads(text: str, uniform: bool, decode: bool = True) -> Any:
    """JSONL rows: every number is float64; "uniform" ZIP rows: export_json (int literals are int64).
    With `decode=False` (parse phase) `$` objects are left for the write phase to convert."""
    if uniform:
        value = _decode(_EXPORT_JSON, text)
        return decode_export_json(value) if decode and '"$' in text else value
    return _decode(_FLOAT64_JSON, text)


def _parse_line(raw: bytes, row: int, uniform: bool = False, decode: bool = True) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportFailure(f"Row {row} wasn't valid UTF-8: {exc}") from None
    try:
        value = _loads(text, uniform, decode)
    except InvalidValue as exc:
        raise ImportFailure(f"Row {row} wasn't a valid Convex value: {exc}") from None
    except ValueError as exc:
        raise ImportFailure(f"Row {row} wasn't valid JSON: {exc}") from None
    if "\\ud" in text or "\\uD" in text:
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ImportFailure(f"Row {row} wasn't valid JSON: lone surrogate in a string escape") from None
    return value


def _syntax_checked(raw: bytes, row: int, uniform: bool) -> Any:
    """The parse phase's check of one line (its value, `$` objects left as they are). orjson's strict
    parse, about 2× faster, accepts only lines the exact parse accepts; whatever it refuses, and a line
    with a BOM or a surrogate escape, takes the exact path, which names the problem."""
    if not raw.startswith(b"\xef\xbb\xbf") and b"\\ud" not in raw and b"\\uD" not in raw:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return _parse_line(raw, row, uniform, decode=False)


# A `-0` number (no fraction or exponent follows): float64 -0.0 for the exact parse of a JSONL row, int 0 for
# orjson. A number starts after `:`, `,`, `[` or whitespace, so `-0` inside an id or date ("…-0c66…") is not
# one; `-0` after one of them inside a string ("a:-0") also matches: that row takes the exact path. (The
# look-behind comes after the literal `-0`, which the regex engine then finds by a fast scan.)
_MINUS_ZERO_INTEGER = re.compile(rb"-0(?<=[:,\[\s]-0)(?![\d.eE])")


def _plain_value_size(item: Any, float64: bool, depth: int) -> int | None:
    """Convex size of a container `item` at `depth` (see `_plain_object_size`), or None."""
    if depth > MAX_NESTING:
        return None
    if type(item) is dict:
        return _plain_object_size(item, float64, depth, False)
    return _plain_array_size(item, float64, depth)


def _plain_object_size(obj: dict, float64: bool, depth: int, top_level: bool) -> int | None:
    """`check_document`'s Convex size of the orjson-read object `obj`, its ints turned into floats (`float64`:
    JSONL rows); None when `check_document` would refuse a part of it, or a float in it is one orjson may write
    differently from `json` (outside 1e-4 ≤ |x| < 1e16, not 0; see `orjson_doc_text`), which also holds for
    every float orjson may read differently from the exact parse: an integer literal beyond 64 bits (a float
    for orjson, an int64 for export_json) is ≥ 2^63. One walk for what `check_document` and the int→float
    conversion each walked."""
    if len(obj) > MAX_OBJECT_FIELDS:
        return None
    known = known_field_names(top_level)
    size = 2 + len(obj)
    for name, item in obj.items():
        if name not in known and not is_valid_field_name(name, top_level):
            return None
        size += len(name)
        kind = type(item)
        if kind is str:
            size += 2 + (len(item) if item.isascii() else len(item.encode("utf-8")))
            continue
        if kind is int:
            size += 9
            if float64:
                obj[name] = float(item)
            continue
        if kind is float:
            size += 9
            if item and not 1e-4 <= abs(item) < 1e16:
                return None
            continue
        if kind is dict or kind is list:
            inner = _plain_value_size(item, float64, depth + 1)
            if inner is None:
                return None
            size += inner
            continue
        size += 1  # bool, null
    return size


def _plain_array_size(array: list, float64: bool, depth: int) -> int | None:
    """`_plain_object_size` of an array. The per-item branches repeat the object's on purpose: every
    shared form measured 7–11 % slower on this walk (bench/profiles/import.md)."""
    if len(array) > MAX_ARRAY_LENGTH:
        return None
    size = 2
    for index, item in enumerate(array):
        kind = type(item)
        if kind is str:
            size += 2 + (len(item) if item.isascii() else len(item.encode("utf-8")))
            continue
        if kind is int:
            size += 9
            if float64:
                array[index] = float(item)
            continue
        if kind is float:
            size += 9
            if item and not 1e-4 <= abs(item) < 1e16:
                return None
            continue
        if kind is dict or kind is list:
            inner = _plain_value_size(item, float64, depth + 1)
            if inner is None:
                return None
            size += inner
            continue
        size += 1
    return size


def _fast_row(raw: bytes, uniform: bool) -> tuple[dict, int] | None:
    """(the row as `_parse_line` decodes it, read by orjson; its `check_document` size) when that is surely the
    same value, `check_document` accepts it, and orjson's sorted text of it is its stored text
    (`orjson_doc_text`): an object without `$` objects, BOM, surrogate escapes or `-0` integers, whose floats
    need no exponent (orjson refuses NaN and numbers beyond float64). None for any other line: the exact
    path decides (and names the problem)."""
    if (raw.startswith(b"\xef\xbb\xbf") or b"\\ud" in raw or b"\\uD" in raw or b'"$' in raw
            or _MINUS_ZERO_INTEGER.search(raw)):
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if type(value) is not dict:
        return None
    size = _plain_object_size(value, not uniform, 1, True)
    return None if size is None or size > MAX_DOCUMENT_SIZE else (value, size)


def _jsonl_lines(stream: io.BufferedReader) -> Iterator[tuple[int, bytes]]:
    """(row number, line without newline); a blank line (also a second final newline) is a row too."""
    row = 0
    for line in stream:
        row += 1
        yield row, line[:-1] if line.endswith(b"\n") else line


def _check_bom(head: bytes) -> None:
    if head.startswith(b"\xef\xbb\xbf"):
        raise ImportFailure("Utf8BomNotSupported: the file starts with a UTF-8 byte order mark")


def _jsonl_plan(name: str, open_stream: Callable[[], io.BufferedReader], uniform: bool) -> TablePlan:
    """Check the JSON syntax of every line; count rows; remember the first row's `_id`."""
    plan = TablePlan(name, lambda: _jsonl_values(open_stream, uniform))
    with open_stream() as stream:
        _check_bom(stream.peek(3)[:3])
        for row, raw in _jsonl_lines(stream):
            value = _syntax_checked(raw, row, uniform)
            if row == 1 and isinstance(value, dict):
                plan.first_id = value.get("_id")
            plan.count = row
    return plan


def _jsonl_values(open_stream, uniform: bool) -> Iterator[tuple[Any, int | None]]:
    """(value, its Convex size) of every row `_fast_row` reads, else (the exact `_parse_line`'s value, None)."""
    with open_stream() as stream:
        for row, raw in _jsonl_lines(stream):
            fast = _fast_row(raw, uniform)
            yield fast if fast is not None else (_parse_line(raw, row, uniform), None)


def parse_upload(job: ImportJob) -> list[TablePlan]:
    if job.fmt == "jsonLines":
        return [_jsonl_plan(job.table, lambda: open(job.object_path, "rb"), uniform=False)]
    if job.fmt == "jsonArray":
        return [_json_array_plan(job)]
    if job.fmt == "zip":
        return _zip_plans(job.object_path)
    raise ImportFailure("CSV imports are not supported by the emulator; use jsonLines")


def _json_array_plan(job: ImportJob) -> TablePlan:
    if job.object_path.stat().st_size > JSON_ARRAY_MAX:
        raise ImportFailure("Import file is too large for JSON array format (limit 16 MiB). Use JSONL instead.")
    data = job.object_path.read_bytes()
    _check_bom(data[:3])
    try:
        values = _loads(data.decode("utf-8"), uniform=False)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImportFailure(f"Import wasn't valid JSON: {exc}") from None
    if not isinstance(values, list):
        raise ImportFailure("Import wasn't a JSON array")
    plan = TablePlan(job.table, lambda: ((value, None) for value in values), count=len(values))
    plan.first_id = values[0].get("_id") if values and isinstance(values[0], dict) else None
    return plan


def _zip_plans(path: Path) -> list[TablePlan]:
    """§4.3 layout: `_tables/documents.jsonl` numbers; `<table>/documents.jsonl`; "uniform" → export_json."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ImportFailure(f"Invalid zip file: {exc}") from None
    with archive:
        names = set(archive.namelist())
        numbers: dict[str, int] = {}
        if "_tables/documents.jsonl" in names:
            for row, raw in _jsonl_lines(io.BufferedReader(archive.open("_tables/documents.jsonl"))):
                entry = _parse_line(raw, row, uniform=True)
                if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not isinstance(entry.get("id"), int):
                    raise ImportFailure(f"_tables/documents.jsonl row {row} is not {{name, id}}")
                numbers[entry["name"]] = entry["id"]
        tables = set(numbers) | {
            n.split("/")[0] for n in names if n.endswith("/documents.jsonl") and n.count("/") == 1
        }
        tables.discard("_tables")
        plans = []
        for table in sorted(tables):
            if table.startswith("_"):
                continue  # _storage and other system folders are not imported
            if not TABLE_NAME.match(table):
                raise ImportFailure(f"Invalid table name {table!r} in zip")
            uniform = False
            if f"{table}/generated_schema.jsonl" in names:
                uniform = archive.read(f"{table}/generated_schema.jsonl").strip() == b'"uniform"'
            member = f"{table}/documents.jsonl"
            if member in names:
                opener = _zip_member_opener(path, member)
                plan = _jsonl_plan(table, opener, uniform)
            else:
                plan = TablePlan(table, lambda: iter(()))
            plan.zip_number = numbers.get(table)
            plans.append(plan)
    return plans


def _zip_member_opener(path: Path, member: str) -> Callable[[], io.BufferedReader]:
    class _Member(io.BufferedReader):
        def __init__(self):
            self._zip = zipfile.ZipFile(path)
            super().__init__(self._zip.open(member))

        def close(self):
            super().close()
            self._zip.close()

    return _Member


# -- the import manager --------------------------------------------------------------------------
