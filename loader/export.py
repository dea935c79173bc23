"""Stream each Convex mart to `export/<table>.jsonl`, validated against the v2 contract.

One line per document, in the mart's `order_by`: Convex JSON (NULL → key omitted, JSON text
columns parsed, numbers float64-safe, no NaN/Inf), keys in contract field order at every level the
contract declares an object, then any other keys (resolution keys, nested `key_member`s) sorted.
The exported lines still carry the resolution keys; `loader/resolve.py` swaps them for real ids
at import. Each document is validated as it will be sent — resolution keys stripped, references
as placeholder ids of the right table — and an invalid one goes to `export/rejects.jsonl`.
Hot path: the line is built in one pass (convert, order, integral floats as integers), planned once per
pattern of NULLs and value types, a nested column's short texts converted once and reused; a boolean
check accepts it. Only a document that fails the check is rebuilt step by step to name its problems.
"""

from __future__ import annotations

import contextlib
import decimal
import hashlib
import json
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from json.encoder import encode_basestring
from operator import call, itemgetter
from pathlib import Path
from typing import Any

import orjson

from loader.convex.ids import encode_id, table_number_of
from loader.convex.schema import Schema
from loader.convex.validator import INVALID_VALUE, DocumentValidator, Issue
from loader.convex.values import decode_convex_json
from loader.dbt_manifest import ConvexMart, load_convex_marts
from loader.errors import ConfigError
from loader.run_folder import RunFolder
from loader.source_config import one_line

MAX_EXPORT_DOCUMENT_BYTES = 921_600  # DQ-27: 900 KiB of compact UTF-8 JSON
MAX_SAFE_INTEGER = 2**53
FETCH_ROWS = 5000
REJECTS_FILE = "rejects.jsonl"
WRITE_BUFFER_BYTES = 1 << 20
WRITE_BATCH_LINES = 256
NESTED_TYPES = {"array", "object", "record", "any"}
REUSED_TEXT_CHARS = 256  # nested JSON texts up to this long are converted once per export (`[]`, tags)
REUSED_TEXTS = 4096  # per column
ROW_PLANS = 4096  # per mart: patterns of NULLs and value types


class BadValue(ValueError):
    """A mart value that cannot be expressed as a Convex value."""

    def __init__(self, expected: str, got: str):
        super().__init__(f"expected {expected}, got {got}")
        self.expected, self.got = expected, got


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def dumps(value: Any) -> str:
    """Compact, deterministic-by-construction JSON (key order is decided by the caller)."""
    return _ENCODER.encode(value)


# A top-level value's JSON text as the encoder writes it, by the value's type before conversion (an int
# stays the same int or fails); `type` marks a text only known after conversion (it is never joined).
_ENCODER_OF = {str: encode_basestring, bool: {True: "true", False: "false"}.__getitem__, int: int.__repr__}
_ENCODED_AFTER_CONVERSION = type


# --------------------------------------------------------------------------- contract helpers


def _unwrap(validator: dict[str, Any] | None) -> dict[str, Any] | None:
    """The object/array validator inside a union (if exactly one member is one), else itself."""
    if validator and validator["type"] == "union":
        members = [m for m in validator["value"] if m["type"] in ("object", "array")]
        return members[0] if len(members) == 1 else None
    return validator


def ordered(value: Any, validator: dict[str, Any] | None) -> Any:
    """Keys in contract order where the contract declares an object, the rest sorted."""
    validator = _unwrap(validator)
    if isinstance(value, list):
        item = validator["value"] if validator and validator["type"] == "array" else None
        return [ordered(x, item) for x in value]
    if isinstance(value, dict):
        fields = validator["value"] if validator and validator["type"] == "object" else {}
        keys = [k for k in fields if k in value] + sorted(k for k in value if k not in fields)
        return {k: ordered(value[k], fields[k]["fieldType"] if k in fields else None) for k in keys}
    return value


class Shape:
    """The contract's nesting, precompiled for ordering: an object's fields (name → Shape, in contract
    order) or an array's item Shape. None where the contract declares neither (keys sorted)."""

    __slots__ = ("fields", "item")

    def __init__(self, validator: dict[str, Any] | None):
        validator = _unwrap(validator)
        kind = validator["type"] if validator else None
        self.fields: dict[str, Shape | None] = {}
        self.item: Shape | None = None
        if kind == "object":
            self.fields = {name: Shape.of(spec["fieldType"]) for name, spec in validator["value"].items()}
        elif kind == "array":
            self.item = Shape.of(validator["value"])

    @classmethod
    def of(cls, validator: dict[str, Any] | None) -> Shape | None:
        shape = cls(validator)
        return shape if shape.fields or shape.item else None


def as_convex(value: Any) -> Any:
    """Numbers as float64 (the Convex model the validator checks)."""
    return decode_convex_json(value, specials=False)


def as_wire(value: Any) -> Any:
    """Integral floats written as integers (`5`, not `5.0`): identical text from every warehouse."""
    if isinstance(value, float) and value.is_integer() and abs(value) < MAX_SAFE_INTEGER:
        return int(value)
    if isinstance(value, list):
        return [as_wire(x) for x in value]
    if isinstance(value, dict):
        return {k: as_wire(x) for k, x in value.items()}
    return value


def _scalar(value: Any) -> Any:
    """A warehouse scalar as a JSON scalar (Decimal → int or float; dates → ISO text); `BadValue` if none fits."""
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, decimal.Decimal):
        value = int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise BadValue("an integer within ±2^53 (float64)", str(value))
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadValue("a finite number", str(value))
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise BadValue("a JSON value", f"a warehouse value of type {type(value).__name__}")


def _plain(value: Any) -> Any:
    """A warehouse value (or parsed JSON) as a JSON value, keys as text (`BadValue` if a leaf cannot convert)."""
    if isinstance(value, list):
        return [_plain(x) for x in value]
    if isinstance(value, dict):
        return {str(k): _plain(x) for k, x in value.items()}
    return _scalar(value)


_TEXT = {str}


def _wire(value: Any, shape: Shape | None, floats: list[float]) -> Any:
    """`as_wire(ordered(_plain(value)))` in one walk; the floats it keeps appended to `floats`."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is float:
        if value.is_integer() and abs(value) < MAX_SAFE_INTEGER:
            return int(value)
        floats.append(_scalar(value))
        return value
    if kind is int and abs(value) <= MAX_SAFE_INTEGER:
        return value
    if isinstance(value, dict):  # text items kept as they are without a call
        fields = shape.fields if shape is not None else {}
        if not set(map(type, value)) <= _TEXT:
            value = {str(k): x for k, x in value.items()}
        keys = [k for k in fields if k in value]
        if len(keys) < len(value):
            keys += sorted(k for k in value if k not in fields)
        wired = {}
        for k in keys:
            x = value[k]
            wired[k] = x if type(x) is str else _wire(x, fields.get(k), floats)
        return wired
    if isinstance(value, list):
        item = shape.item if shape is not None else None
        return [x if type(x) is str else _wire(x, item, floats) for x in value]
    wired = as_wire(_scalar(value))
    if type(wired) is float:
        floats.append(wired)
    return wired


def _wire_text(value: Any, shape: Shape | None) -> tuple[Any, str]:
    """(`_wire(value, shape)`, `dumps` of it): orjson writes it when it holds no float (orjson writes
    some floats differently, `1e-7` for `1e-07`) and only valid Unicode."""
    floats: list[float] = []
    wired = _wire(value, shape, floats)
    if not floats:
        with contextlib.suppress(orjson.JSONEncodeError):
            return wired, orjson.dumps(wired).decode()
    return wired, dumps(wired)


_NINETEEN_DIGITS = re.compile(r"[0-9]{19}")


def json_value(text: str) -> Any:
    """`json.loads(text)`, by orjson when it reads the text the same: not with 19 digits in a row
    (orjson reads an integer beyond 64 bits as a float), nor NaN, Infinity or unpaired surrogates
    (orjson refuses them)."""
    if _NINETEEN_DIGITS.search(text) is None:
        with contextlib.suppress(orjson.JSONDecodeError):
            return orjson.loads(text)
    return json.loads(text)


def _values_getter(indexes: list[int]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """A function returning the values at `indexes` of a row, as a tuple."""
    if len(indexes) > 1:
        return itemgetter(*indexes)
    return lambda values: tuple(values[index] for index in indexes)


@dataclass(frozen=True)
class RowPlan:
    """How rows with one pattern of value types (NULLs, text, numbers…) become exported documents."""

    columns: tuple[str, ...]  # the non-NULL columns, in exported key order
    values: Callable[[tuple[Any, ...]], tuple[Any, ...]]  # their values in a row
    conversions: tuple[tuple[str, int, dict[str, Any] | None, Shape | None], ...]  # values to convert:
    # (column, index of its JSON in the line's pieces, its converted texts if nested JSON text, its Shape);
    # text and booleans are kept as they are
    prefixes: tuple[str, ...]  # `{"<column>":`, then `,"<column>":`: the line is `dumps(row)` in pieces
    encoders: tuple[Callable[[Any], Any], ...]  # each value's JSON text
    end: str  # `}`, or `{}` for a row of NULLs


def placeholder_ids(schema: Schema) -> dict[str, str]:
    """One well-formed id per table, numbered as a fresh deployment would (export-time only)."""
    return {name: encode_id(10001 + i, bytes(16)) for i, name in enumerate(schema.sorted_table_names())}


# --------------------------------------------------------------------------- rows → documents


@dataclass
class MartExporter:
    """Turns mart rows into exported lines and validation issues, for one mart."""

    mart: ConvexMart
    schema: Schema
    validator: DocumentValidator
    placeholders: dict[str, str]

    def __post_init__(self) -> None:
        table = self.schema.table(self.mart.table)
        if table is None or table.document_type.get("type") != "object":
            raise ConfigError(f"mart {self.mart.model}: Convex table {self.mart.table} is not an object table "
                              "of the contract")
        self.fields = table.document_type["value"]
        unknown = [c for c in self.mart.columns if c not in self.fields and c not in self.mart.resolution_keys]
        if unknown:
            raise ConfigError(f"mart {self.mart.model}: columns {unknown} are neither v2 fields of "
                              f"{self.mart.table} nor resolution keys")
        self.nested_columns = {c for c in self.mart.columns if self._is_nested(c)}
        self.shape = Shape(table.document_type)
        line_columns = [c for c in self.fields if c in self.mart.columns] + sorted(
            c for c in self.mart.columns if c not in self.fields)  # exported key order
        self.line_plan = [(c, self.mart.columns.index(c), {} if c in self.nested_columns else None,
                           self.shape.fields.get(c))
                          for c in line_columns]  # (column, its index, its converted texts if nested, its Shape)
        self.row_plans: dict[tuple[type, ...], RowPlan] = {}
        id_pair = max(map(len, self.placeholders.values()), default=0) + 6  # `,"<field>":"<id>"` minus the field
        self.reference_bytes = sum(len(ref.field) + id_pair for ref in self.mart.references)
        self.nested_reference_bytes = [(ref.array_field, len(ref.id_member) + id_pair)
                                       for ref in self.mart.nested_references]

    def _is_nested(self, column: str) -> bool:
        if column in self.fields:
            validator = self.fields[column]["fieldType"]
            members = validator["value"] if validator["type"] == "union" else [validator]
            return any(m["type"] in NESTED_TYPES for m in members)
        return column == self.mart.mapping_rows_column

    def convert(self, raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, BadValue]]:
        """Warehouse values → JSON values (NULL columns omitted), and the columns that cannot convert."""
        row: dict[str, Any] = {}
        bad: dict[str, BadValue] = {}
        for column, value in raw.items():
            if value is None:
                continue
            try:
                row[column] = self._value(column, value)
            except BadValue as problem:
                bad[column] = problem
        return row, bad

    def _value(self, column: str, value: Any) -> Any:
        return _plain(self._parsed(column, value))

    def _parsed(self, column: str, value: Any) -> Any:
        """A nested column's JSON text parsed (`BadValue` if it does not parse); other values as they are."""
        if column in self.nested_columns and isinstance(value, str):
            try:
                return json_value(value)
            except json.JSONDecodeError as exc:
                raise BadValue("JSON text", f"text that does not parse ({exc.msg} at {exc.pos})") from None
        return value

    def wire_line(self, values: tuple[Any, ...]) -> tuple[dict[str, Any], str]:
        """The exported document of a row (values in `mart.columns` order) and its line (`dumps` of it),
        in one walk: convert, order (contract order, rest sorted) and write integral floats as integers,
        NULL columns omitted. Raises `BadValue` (then `convert` names it). Converted nested values are
        shared between rows: never mutate them."""
        kinds = tuple(map(type, values))
        plan = self.row_plans.get(kinds) or self._row_plan(kinds)
        row = dict(zip(plan.columns, plan.values(values)))
        pieces = list(chain.from_iterable(zip(plan.prefixes, map(call, plan.encoders, row.values()))))
        for column, piece, converted_texts, shape in plan.conversions:
            value = row[column]
            if converted_texts is not None or type(value) is not int or not (
                    -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER):
                row[column], pieces[piece] = self._converted(column, value, converted_texts, shape)
        return row, "".join(pieces) + plan.end

    def _converted(self, column: str, value: Any, converted_texts: dict[str, Any] | None,
                   shape: Shape | None) -> tuple[Any, str]:
        """(exported value, its JSON text) of one non-NULL value; a nested column's short texts
        (`converted_texts` given) converted once and reused. Raises `BadValue`."""
        if converted_texts is None:
            return _wire_text(self._parsed(column, value), shape)
        converted = converted_texts.get(value)
        if converted is None:
            converted = _wire_text(self._parsed(column, value), shape)
            if len(value) <= REUSED_TEXT_CHARS and len(converted_texts) < REUSED_TEXTS:
                converted_texts[value] = converted
        return converted

    def _row_plan(self, kinds: tuple[type, ...]) -> RowPlan:
        """The plan for rows with these value types; kept for the next ones."""
        present = [(column, index) for column, index, _, _ in self.line_plan if kinds[index] is not type(None)]
        piece_of = {column: 2 * position + 1 for position, (column, _) in enumerate(present)}
        converting = [(column, index, converted_texts if kinds[index] is str else None, shape)
                      for column, index, converted_texts, shape in self.line_plan
                      if kinds[index] not in (type(None), str, bool)
                      or kinds[index] is str and converted_texts is not None]
        conversions = tuple((column, piece_of[column], texts, shape) for column, _, texts, shape in converting)
        converted = {column for column, index, texts, _ in converting if texts is not None or kinds[index] is not int}
        plan = RowPlan(
            columns=tuple(column for column, _ in present),
            values=_values_getter([index for _, index in present]),
            conversions=conversions,
            prefixes=tuple(("," if position else "{") + encode_basestring(column) + ":"
                           for position, (column, _) in enumerate(present)),
            encoders=tuple(_ENCODED_AFTER_CONVERSION if column in converted else _ENCODER_OF[kinds[index]]
                           for column, index in present),
            end="}" if present else "{}")
        if len(self.row_plans) < ROW_PLANS:
            self.row_plans[kinds] = plan
        return plan

    def as_sent(self, row: dict[str, Any]) -> dict[str, Any]:
        """The document as it will be sent, with placeholder ids where references go."""
        doc = dict(row)
        for key in self.mart.resolution_keys:
            doc.pop(key, None)
        for ref in self.mart.references:
            if row.get(ref.key_column) is not None:
                doc[ref.field] = self.placeholders[ref.table]
        for ref in self.mart.nested_references:
            items = doc.get(ref.array_field)
            if isinstance(items, list):
                doc[ref.array_field] = [self._placeholder_item(item, ref) for item in items]
        return doc

    def _placeholder_item(self, item: Any, ref: Any) -> Any:
        if not isinstance(item, dict) or ref.key_member not in item:
            return item
        swapped = {k: v for k, v in item.items() if k != ref.key_member}
        swapped[ref.id_member] = self.placeholders[ref.table]
        return swapped

    def document(self, values: tuple[Any, ...]) -> tuple[str, list[dict[str, Any]]]:
        """(exported line, reject records) for one mart row (values in `mart.columns` order): a boolean
        check of the one-walk document first; only a document that fails it is rebuilt the detailed way
        to name its problems."""
        try:
            row, line = self.wire_line(values)
        except BadValue:
            return "", self.problems(values)
        return self._checked(line, row, lambda: values)

    def _checked(self, line: str, row: dict[str, Any],
                 values: Callable[[], tuple[Any, ...]]) -> tuple[str, list[dict[str, Any]]]:
        """(line, []) when the boolean check accepts `row` (the document of `line`), else the detailed
        problems of the row's `values`."""
        size = self._sent_size_bound(line, row)
        # DQ-27 surely met when the float64 form is at most 1/8 longer (`9007199254740992` → `….0`);
        # otherwise `problems` measures it exactly
        if size is not None and size * 9 <= MAX_EXPORT_DOCUMENT_BYTES * 8 and self.validator.is_valid(
                self.as_sent(row), self.mart.table, json_numbers=True, json_size=size):
            return line, []
        problems = self.problems(values())
        return ("" if problems else line), problems

    def _sent_size_bound(self, line: str, row: dict[str, Any]) -> int | None:
        """At least the UTF-8 size of the sent document's JSON: the line plus the ids its references add
        (None when the line holds an unpaired surrogate)."""
        if line.isascii():
            size = len(line)
        else:
            try:
                size = len(line.encode("utf-8"))
            except UnicodeEncodeError:
                return None
        size += self.reference_bytes
        for field, item_bytes in self.nested_reference_bytes:
            items = row.get(field)
            if isinstance(items, list):
                size += item_bytes * len(items)
        return size

    def problems(self, values: tuple[Any, ...]) -> list[dict[str, Any]]:
        """Every reject record of one mart row (unconvertible values, contract issues, DQ-27 size)."""
        row, bad = self.convert(dict(zip(self.mart.columns, values)))
        if bad:
            return [{"table": self.mart.table, "legacy_id": self.mart.legacy_id(row), "dq_id": "CONTRACT",
                     "field": f".{column}", "expected": problem.expected, "got": problem.got,
                     "message": f".{column}: {problem}"} for column, problem in sorted(bad.items())]
        sent = as_convex(self.as_sent(row))
        issues = self.validator.errors(sent, self.mart.table)
        rejects = [self._reject(row, issue) for issue in issues]
        size = len(dumps(as_wire(sent)).encode("utf-8", "surrogatepass"))
        if size > MAX_EXPORT_DOCUMENT_BYTES:
            rejects.append(self._limit_reject(row, "", f"≤ {MAX_EXPORT_DOCUMENT_BYTES} bytes",
                                              f"{size} bytes", "document larger than 900 KiB"))
        return rejects

    def _reject(self, row: dict[str, Any], issue: Issue) -> dict[str, Any]:
        limit = issue.kind == INVALID_VALUE  # size, array length, nesting, field names (DQ-27)
        return {"table": self.mart.table, "legacy_id": self.mart.legacy_id(row),
                "dq_id": "DQ-27" if limit else "CONTRACT", "field": issue.path,
                "expected": issue.expected, "got": issue.got, "message": issue.one_line()}

    def _limit_reject(self, row: dict[str, Any], field: str, expected: str, got: str, what: str) -> dict[str, Any]:
        return {"table": self.mart.table, "legacy_id": self.mart.legacy_id(row), "dq_id": "DQ-27", "field": field,
                "expected": expected, "got": got, "message": f"{what}: quarantined"}


# --------------------------------------------------------------------------- warehouses


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def select_sql(mart: ConvexMart, warehouse: str, items: list[str] | None = None) -> str:
    """Every mart column (or these select `items`), ordered by `order_by` (text columns; byte order on
    both warehouses)."""
    collate = ' COLLATE "C"' if warehouse == "postgres" else ""
    columns = ", ".join(items or [quote(c) for c in mart.columns])
    keys = list(mart.order_by) + ([mart.identity_key] if mart.identity_key in mart.columns
                                  and mart.identity_key not in mart.order_by else [])
    order = ", ".join(f"{quote(k)}{collate}" for k in keys)
    return f"select {columns} from {mart.relation} order by {order}"


# DuckDB types whose `to_json` text is what `dumps` writes for the value Python fetches (integers
# within ±2^53; text without the control characters DuckDB escapes in upper case, `\u001F`)
RENDERED_TEXT_TYPES = {"VARCHAR", "BOOLEAN"}
RENDERED_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER",
                          "UBIGINT", "HUGEINT", "UHUGEINT"}
UPPER_CASE_ESCAPE = "\\u00"  # how a line holding one of those control characters (or a `\\u00` text) begins it


@dataclass(frozen=True)
class RenderedPart:
    """One item of a DuckDB-rendered export row: the `"<column>":<json>` pairs of a run of columns
    DuckDB writes (`prefix` None, `columns` their names), or one column Python converts."""

    columns: tuple[str, ...]
    prefix: str | None = None  # `"<column>":` of a Python-converted column
    converted_texts: dict[str, Any] | None = None
    shape: Shape | None = None


class RenderedSelect:
    """The export of one mart from DuckDB with the JSON of text, boolean and integer columns written by
    DuckDB (`to_json`, runs of columns joined by `concat_ws`, which skips NULLs); nested JSON text and
    other types are converted by Python as in `MartExporter.wire_line`. A row DuckDB cannot write as
    Python would (an integer beyond ±2^53, an upper-case escape) or that does not pass the boolean
    check takes `MartExporter.document` with its values read back from the texts (lossless for
    these types)."""

    def __init__(self, exporter: MartExporter, types: dict[str, str]):
        self.exporter = exporter
        parts: list[RenderedPart] = []
        run: list[str] = []
        for column, _, converted_texts, shape in exporter.line_plan:
            if converted_texts is None and types[column] in RENDERED_TEXT_TYPES | RENDERED_INTEGER_TYPES:
                run.append(column)
                continue
            if run:
                parts.append(RenderedPart(tuple(run)))
                run = []
            parts.append(RenderedPart((column,), encode_basestring(column) + ":", converted_texts, shape))
        if run:
            parts.append(RenderedPart(tuple(run)))
        self.parts = parts
        self.integers = [c for c in exporter.mart.columns if types[c] in RENDERED_INTEGER_TYPES]

    def sql(self) -> str:
        """The query: one item per part, then whether the row holds an integer beyond ±2^53."""
        items = []
        for part in self.parts:
            if part.prefix is not None:
                items.append(quote(part.columns[0]))
            else:
                pairs = ", ".join(f"{_sql_text(encode_basestring(c) + ':')} || to_json({quote(c)})"
                                  for c in part.columns)
                items.append(f"concat_ws(',', {pairs})")
        beyond = " or ".join(f"coalesce({quote(c)} not between {-MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}, false)"
                             for c in self.integers) or "false"
        return select_sql(self.exporter.mart, "duckdb", [*items, beyond])

    def document(self, fetched: tuple[Any, ...]) -> tuple[str, list[dict[str, Any]]]:
        """(exported line, reject records) for one fetched row, exactly as `MartExporter.document`."""
        exporter = self.exporter
        if fetched[-1]:
            return exporter.document(self.values(fetched))
        pieces = []
        try:
            for part, item in zip(self.parts, fetched):
                if part.prefix is None:
                    if item:
                        pieces.append(item)
                elif item is not None:
                    texts = part.converted_texts if type(item) is str else None
                    pieces.append(part.prefix + exporter._converted(part.columns[0], item, texts, part.shape)[1])
        except BadValue:
            return exporter.document(self.values(fetched))
        line = "{" + ",".join(pieces) + "}"
        if UPPER_CASE_ESCAPE in line:
            return exporter.document(self.values(fetched))
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:  # an unpaired surrogate in a converted nested value
            return exporter.document(self.values(fetched))
        return exporter._checked(line, row, lambda: self.values(fetched))

    def values(self, fetched: tuple[Any, ...]) -> tuple[Any, ...]:
        """The row's values in `mart.columns` order, as `select_sql` fetches them."""
        by_column: dict[str, Any] = {}
        for part, item in zip(self.parts, fetched):
            if part.prefix is not None:
                by_column[part.columns[0]] = item
            elif item:
                by_column |= json.loads("{" + item + "}")
        return tuple(by_column.get(c) for c in self.exporter.mart.columns)


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _duckdb_connection(folder: RunFolder) -> Any:
    """A read-only connection to the run's DuckDB warehouse, one thread (one Python reader: more only add CPU time)."""
    import duckdb

    from loader.duckdb_settings import connect_duckdb

    if not folder.warehouse_path.is_file():
        raise ConfigError(f"warehouse {folder.warehouse_path} not found; run stage and transform first")
    try:
        connection = connect_duckdb(folder.warehouse_path, read_only=True)
        connection.execute("SET threads = 1")
    except duckdb.Error as exc:
        raise ConfigError(f"DuckDB warehouse {folder.warehouse_path}: {str(exc).splitlines()[0]}") from None
    return connection


@contextlib.contextmanager
def duckdb_cursor(connection: Any, folder: RunFolder, sql: str) -> Iterator[Any]:
    """`sql` executed on a cursor of `connection` (closed afterwards); a DuckDB error as one line."""
    import duckdb

    cursor = connection.cursor()
    try:
        try:
            cursor.execute(sql)
        except duckdb.Error as exc:
            raise ConfigError(f"DuckDB warehouse {folder.warehouse_path}: {str(exc).splitlines()[0]}") from None
        yield cursor
    finally:
        cursor.close()


@contextlib.contextmanager
def warehouse_rows(folder: RunFolder, warehouse: str, sql: str, dsn: str | None = None, *,
                   as_tuples: bool = False) -> Iterator[Iterator[dict[str, Any]] | Iterator[tuple[Any, ...]]]:
    """Rows of `sql` as dicts (tuples in select order if `as_tuples`), fetched in batches (constant
    memory). Postgres: `dsn`, else the PG* variables."""
    if warehouse == "duckdb":
        connection = _duckdb_connection(folder)
        try:
            with duckdb_cursor(connection, folder, sql) as cursor:
                yield _batched(cursor, [d[0] for d in cursor.description], as_tuples)
        finally:
            connection.close()
    else:
        import psycopg

        try:
            connection = psycopg.connect(dsn or "", autocommit=False)
        except psycopg.Error as exc:
            raise ConfigError(f"Postgres warehouse: {one_line(exc, dsn or '')}") from None
        with connection, connection.cursor(name="perm_export") as cursor:
            cursor.itersize = FETCH_ROWS
            try:
                cursor.execute(sql)
            except psycopg.Error as exc:
                raise ConfigError(f"Postgres warehouse: {one_line(exc, dsn or '')}") from None
            yield _batched(cursor, None, as_tuples)


def _batched(cursor: Any, names: list[str] | None, as_tuples: bool) -> Iterator[Any]:
    while True:
        batch = cursor.fetchmany(FETCH_ROWS)
        if not batch:
            return
        if as_tuples:
            yield from batch
            continue
        columns = names or [d.name for d in cursor.description]
        for values in batch:
            yield dict(zip(columns, values))


# --------------------------------------------------------------------------- files


class JsonlWriter:
    """Writes lines to `<path>` atomically (temp file, then rename), mode 0600, with a sha256; lines are
    encoded, written and hashed `WRITE_BATCH_LINES` at a time."""

    def __init__(self, path: Path):
        self.path = path
        self.tmp = path.with_name(f".{path.name}.tmp")
        self.sha = hashlib.sha256()
        self.lines = 0
        self.bytes = 0
        fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self.handle = os.fdopen(fd, "wb", buffering=WRITE_BUFFER_BYTES)
        self.batch: list[str] = []

    def write(self, line: str) -> None:
        self.batch.append(line)
        if len(self.batch) >= WRITE_BATCH_LINES:
            self._write_batch()

    def _write_batch(self) -> None:
        if self.batch:
            data = ("\n".join(self.batch) + "\n").encode("utf-8")
            self.handle.write(data)
            self.sha.update(data)
            self.lines += len(self.batch)
            self.bytes += len(data)
            self.batch.clear()

    def commit(self) -> dict[str, Any]:
        self._write_batch()
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.replace(self.tmp, self.path)
        return {"file": self.path.name, "lines": self.lines, "bytes": self.bytes, "sha256": self.sha.hexdigest()}

    def abort(self) -> None:
        self.handle.close()
        self.tmp.unlink(missing_ok=True)


def manifest_path(folder: RunFolder) -> Path:
    return folder.path("target", "manifest.json")


def export_marts(folder: RunFolder, marts: list[ConvexMart], warehouse: str, schema: Schema,
                 progress: Any = None, warehouse_dsn: str | None = None) -> dict[str, Any]:
    """Export every mart; return per-table counts (documents, rejected, sha256)."""
    placeholders = placeholder_ids(schema)
    validator = DocumentValidator(schema, {table_number_of(i): n for n, i in placeholders.items()})
    folder.export_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    rejects = JsonlWriter(folder.export_dir / REJECTS_FILE)
    tables: dict[str, Any] = {}
    connection = _duckdb_connection(folder) if warehouse == "duckdb" else None
    try:
        for mart in marts:
            exporter = MartExporter(mart, schema, validator, placeholders)
            out = JsonlWriter(folder.export_dir / f"{mart.table}.jsonl")
            rejected = 0
            try:
                with _documents(folder, connection, exporter, warehouse_dsn) as documents:
                    for line, problems in documents:
                        if problems:
                            rejected += 1
                            for problem in problems:
                                rejects.write(dumps({"run_id": folder.run_id, **problem}))
                        else:
                            out.write(line)
                        if progress is not None:
                            progress(mart.table)
            except BaseException:
                out.abort()
                raise
            written = out.commit()
            tables[mart.table] = {"model": mart.model, "documents": written["lines"], "rejected": rejected,
                                  "bytes": written["bytes"], "sha256": written["sha256"]}
    except BaseException:
        rejects.abort()
        raise
    finally:
        if connection is not None:
            connection.close()
    rejects_info = rejects.commit()
    return {"warehouse": warehouse, "tables": tables, "reject_lines": rejects_info["lines"],
            "rejected_documents": sum(t["rejected"] for t in tables.values())}


@contextlib.contextmanager
def _documents(folder: RunFolder, connection: Any, exporter: MartExporter,
               warehouse_dsn: str | None) -> Iterator[Iterator[tuple[str, list[dict[str, Any]]]]]:
    """(line, reject records) of every mart row in export order: from the DuckDB `connection` with
    DuckDB writing what it writes like Python (`RenderedSelect`), else from the Postgres warehouse."""
    mart = exporter.mart
    if connection is None:
        with warehouse_rows(folder, "postgres", select_sql(mart, "postgres"), warehouse_dsn, as_tuples=True) as rows:
            yield map(exporter.document, rows)
        return
    with duckdb_cursor(connection, folder, f"describe {select_sql(mart, 'duckdb')}") as cursor:
        types = {name: kind for name, kind, *_ in cursor.fetchall()}
    rendered = RenderedSelect(exporter, types)
    with duckdb_cursor(connection, folder, rendered.sql()) as cursor:
        yield map(rendered.document, _batched(cursor, None, as_tuples=True))


def export(folder: RunFolder, schema_path: Path | None = None, progress: Any = None,
           warehouse_dsn: str | None = None) -> dict[str, Any]:
    """Export the run's Convex marts (warehouse and manifest from the run) and record the step."""
    manifest = folder.read_manifest()
    warehouse = manifest.get("config", {}).get("warehouse", "duckdb")
    marts = load_convex_marts(manifest_path(folder))
    schema = Schema.from_file(schema_path) if schema_path else Schema.from_file()
    result = export_marts(folder, marts, warehouse, schema, progress, warehouse_dsn)
    folder.record_step("export", result)
    return result
