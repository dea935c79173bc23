"""Schema validation with Convex semantics (CONVEX_HTTP §6.3–6.9).

`DocumentValidator.errors()` returns every problem of a document (the loader's pre-flight);
`DocumentValidator.first_error()` returns the one Convex would report, with Convex's text (the emulator);
`DocumentValidator.is_valid()` answers yes/no without building any message. Each validator is compiled
once into boolean matchers; messages are only built for documents that fail them. For a schema that
bounds the value shapes it admits, a small document's shape walk (`check_document`) is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from math import inf
from typing import Any

from loader.convex.ids import InvalidId, decode_id
from loader.convex.schema import Schema
from loader.convex.values import (
    MAX_NESTING,
    MAX_OBJECT_FIELDS,
    SYSTEM_FIELDS,
    InvalidValue,
    check_document,
    decode_convex_json,
    display,
    is_valid_field_name,
    json_size_within_limits,
    type_name,
)

NO_MATCH = "no_match"
MISSING_FIELD = "missing_field"
EXTRA_FIELD = "extra_field"
WRONG_ID_TABLE = "wrong_id_table"
INVALID_VALUE = "invalid_value"
OBJECT_PATTERNS = 4096  # per object validator: (field names, value types) patterns remembered


@dataclass(frozen=True)
class Issue:
    """One validation problem: where, what the validator expects, what the document holds."""

    kind: str
    path: str  # ".rfiEntries[2].receivedDate"; "" for the document itself
    expected: str  # validator text, e.g. v.string()
    got: str  # short display of the offending value, or "absent"
    message: str  # Convex's message text

    def one_line(self) -> str:
        """`<path>: expected <validator>, got <value>` (for the loader's reject lines)."""
        if self.kind == INVALID_VALUE:
            return self.message
        field = self.path or "document"
        if self.kind == MISSING_FIELD:
            return f"{field}: required field is missing (expected {self.expected})"
        if self.kind == EXTRA_FIELD:
            return f"{field}: field is not in the v2 schema"
        return f"{field}: expected {self.expected}, got {self.got}"


def render(v: dict) -> str:
    """Validator JSON → its TypeScript spelling, e.g. `v.optional(v.array(v.string()))`."""
    kind = v["type"]
    if kind == "number":
        return "v.float64()"
    if kind == "bigint":
        return "v.int64()"
    if kind in ("null", "boolean", "string", "bytes", "any"):
        return f"v.{kind}()"
    if kind == "literal":
        lit = v["value"]
        if isinstance(lit, dict):
            return "v.literal(<int64>)"
        return f"v.literal({display(float(lit) if isinstance(lit, int) and not isinstance(lit, bool) else lit)})"
    if kind == "id":
        return f'v.id("{v["tableName"]}")'
    if kind == "array":
        return f"v.array({render(v['value'])})"
    if kind == "union":
        return "v.union(" + ", ".join(render(m) for m in v["value"]) + ")"
    if kind == "record":
        return f"v.record({render(v['keys'])}, {render(v['values']['fieldType'])})"
    fields = ", ".join(f"{name}: {_render_field(spec)}" for name, spec in v["value"].items())
    return "v.object({" + fields + "})"


def _render_field(spec: dict) -> str:
    inner = render(spec["fieldType"])
    return f"v.optional({inner})" if spec.get("optional") else inner


def _path_line(path: str) -> str:
    return f"Path: {path}\n" if path else ""


def _is_json_number(x: Any) -> bool:
    return isinstance(x, (float, int)) and not isinstance(x, bool)


def _literal_matches(value: Any, lit: Any, json_numbers: bool = False) -> bool:
    """`json_numbers`: an int value is a plain JSON number (float64), never an int64."""
    if isinstance(lit, dict):  # {"$integer": …}
        return (not json_numbers and isinstance(value, int) and not isinstance(value, bool)
                and value == decode_convex_json(lit))
    if isinstance(lit, bool) or isinstance(value, bool):
        return isinstance(lit, bool) and isinstance(value, bool) and lit == value
    if isinstance(lit, (int, float)):
        number = _is_json_number(value) if json_numbers else isinstance(value, float)
        return number and value == float(lit)
    return isinstance(value, str) and value == lit


@lru_cache(maxsize=1 << 16)
def _table_number(text: str) -> int | None:
    """Table number of an id string, None if it is not an id (cached: documents repeat their references)."""
    try:
        return decode_id(text)[0]
    except InvalidId:
        return None


_SIMPLE_CHECKS = {
    "null": lambda x: x is None,
    "boolean": lambda x: isinstance(x, bool),
    "number": lambda x: isinstance(x, float),
    "bigint": lambda x: isinstance(x, int) and not isinstance(x, bool),
    "string": lambda x: isinstance(x, str),
    "bytes": lambda x: isinstance(x, bytes),
    "any": lambda x: True,
}
_JSON_NUMBER_CHECKS = {**_SIMPLE_CHECKS, "number": _is_json_number, "bigint": lambda x: False}
_SURE_TYPES = {"null": {type(None)}, "boolean": {bool}, "number": {float}, "bigint": {int}, "string": {str},
               "bytes": {bytes}}
_JSON_NUMBER_SURE_TYPES = {**_SURE_TYPES, "number": {float, int}, "bigint": set()}


def _sure_types(v: dict, json_numbers: bool) -> frozenset[type]:
    """Exact types whose every value matches `v` (a shortcut before calling its matcher)."""
    if v["type"] == "union":
        return frozenset().union(*(_sure_types(m, json_numbers) for m in v["value"]))
    return frozenset((_JSON_NUMBER_SURE_TYPES if json_numbers else _SURE_TYPES).get(v["type"], ()))


def _container_depth(v: dict, top_level: bool = True) -> float:
    """Deepest container nesting of the values `v` admits (a container counts 1); infinite when not
    bounded (`any`, `record`, `bytes` inside) or when an object admits too many or invalid field names."""
    kind = v["type"]
    if kind in ("any", "record", "bytes"):
        return inf
    if kind == "array":
        return 1 + _container_depth(v["value"], False)
    if kind == "union":
        return max((_container_depth(m, top_level) for m in v["value"]), default=0)
    if kind == "object":
        fields = v["value"]
        if len(fields) > MAX_OBJECT_FIELDS or not all(is_valid_field_name(name, top_level) for name in fields):
            return inf
        return 1 + max((_container_depth(spec["fieldType"], False) for spec in fields.values()), default=0)
    return 0


class DocumentValidator:
    """Validates documents of a schema. `table_names` maps table number → name for `v.id` checks;
    without it, ids are checked for format only (the loader before it knows the target's numbers)."""

    def __init__(self, schema: Schema, table_names: Mapping[int, str] | None = None):
        self.schema = schema
        self.table_names = table_names
        self._field_cache: dict[int, list] = {}
        self._matchers: dict[tuple[int, bool], tuple[dict, Callable[[Any], bool]]] = {}
        self._shapes_bounded: dict[str, bool] = {}

    def errors(self, doc: Any, table: str) -> list[Issue]:
        """All problems of `doc` for `table` (value-shape problem first, then schema problems)."""
        try:
            check_document(doc)
        except InvalidValue as exc:
            return [Issue(INVALID_VALUE, "", "a valid Convex document", type_name(doc), str(exc))]
        if self.matches_schema(doc, table):
            return []
        return list(self._schema_issues(doc, table))

    def is_valid(self, doc: Any, table: str, *, json_numbers: bool = False, json_size: int | None = None) -> bool:
        """True exactly when `errors(doc, table)` is empty, without building any message.
        `json_numbers`: ints are plain JSON numbers (float64), as in an exported line.
        `json_size`: at least the UTF-8 size of `doc`'s compact JSON, if known and `doc` holds no unpaired
        surrogate; a document that small, without system fields, of a table whose schema bounds nesting,
        field counts and names needs no shape walk: matching the schema implies the limits."""
        if not (json_size is not None and json_size_within_limits(json_size) and isinstance(doc, dict)
                and self._bounds_shapes(table) and doc.keys().isdisjoint(SYSTEM_FIELDS)):
            try:
                check_document(doc)
            except InvalidValue:
                return False
        return self.matches_schema(doc, table, json_numbers=json_numbers)

    def _bounds_shapes(self, table: str) -> bool:
        """True when every document matching `table`'s schema is within the nesting, field-count and
        field-name limits (cached per table)."""
        bounded = self._shapes_bounded.get(table)
        if bounded is None:
            table_schema = self.schema.table(table)
            bounded = (table_schema is not None and self.schema.schema_validation
                       and _container_depth(table_schema.document_type) <= MAX_NESTING)
            self._shapes_bounded[table] = bounded
        return bounded

    def matches_schema(self, doc: dict, table: str, *, json_numbers: bool = False) -> bool:
        """True when the shape-checked `doc` has no schema issue (the boolean fast check)."""
        table_schema = self.schema.table(table)
        if table_schema is None or not self.schema.schema_validation:
            return True
        body = {k: x for k, x in doc.items() if k not in SYSTEM_FIELDS} if "_id" in doc or "_creationTime" in doc \
            else doc
        return self._matcher(table_schema.document_type, json_numbers)(body)

    def first_error(self, doc: dict, table: str) -> str | None:
        """Convex's message for the first schema mismatch of an already shape-checked document, or None."""
        if self.matches_schema(doc, table):
            return None
        issue = next(self._schema_issues(doc, table), None)
        if issue is None:
            return None
        return (
            f'Failed to insert or update a document in table "{table}" because it does not match the schema: '
            f"{issue.message}"
        )

    def _schema_issues(self, doc: dict, table: str) -> Iterator[Issue]:
        table_schema = self.schema.table(table)
        if table_schema is None or not self.schema.schema_validation:
            return
        body = {k: x for k, x in doc.items() if k not in SYSTEM_FIELDS}
        doc_type = table_schema.document_type
        if doc_type["type"] == "union":
            if not any(self._matches(body, member) for member in doc_type["value"]):
                yield self._no_match(body, doc_type, "")
            return
        yield from self._check(body, doc_type, "")

    def _matches(self, value: Any, v: dict) -> bool:
        return self._matcher(v, False)(value)

    def _matcher(self, v: dict, json_numbers: bool) -> Callable[[Any], bool]:
        """`value -> bool` for validator `v`: True exactly when `_check` yields nothing (cached per validator)."""
        cached = self._matchers.get((id(v), json_numbers))
        if cached is None:
            cached = (v, self._compile(v, json_numbers))  # keeps `v` alive, so its id stays unique
            self._matchers[(id(v), json_numbers)] = cached
        return cached[1]

    def _compile(self, v: dict, json_numbers: bool) -> Callable[[Any], bool]:
        kind = v["type"]
        simple = (_JSON_NUMBER_CHECKS if json_numbers else _SIMPLE_CHECKS).get(kind)
        if simple is not None:
            return simple
        if kind == "literal":
            lit = v["value"]
            return lambda x: _literal_matches(x, lit, json_numbers)
        if kind == "id":
            return self._id_matcher(v["tableName"])
        if kind == "array":
            item, sure_types = self._matcher(v["value"], json_numbers), _sure_types(v["value"], json_numbers)
            return lambda x: isinstance(x, list) and (set(map(type, x)) <= sure_types or all(map(item, x)))
        if kind == "union":
            if all(m["type"] == "literal" and isinstance(m["value"], str) for m in v["value"]):
                texts = frozenset(m["value"] for m in v["value"])
                return lambda x: isinstance(x, str) and x in texts
            members = [self._matcher(m, json_numbers) for m in v["value"]]
            return lambda x: any(member(x) for member in members)
        if kind == "object":
            return self._object_matcher(v, json_numbers)
        keys, values = self._matcher(v["keys"], json_numbers), self._matcher(v["values"]["fieldType"], json_numbers)
        return lambda x: isinstance(x, dict) and all(keys(k) and values(item) for k, item in x.items())

    def _id_matcher(self, table: str) -> Callable[[Any], bool]:
        table_names = self.table_names

        def matches(x: Any) -> bool:
            number = _table_number(x) if isinstance(x, str) else None
            if number is None:
                return False
            return table_names is None or table_names.get(number) == table

        return matches

    def _object_matcher(self, v: dict, json_numbers: bool) -> Callable[[Any], bool]:
        """Objects are matched by their pattern (field names, value types): which fields it leaves to check
        by value (literals, ids, nested values) is decided once per pattern, or that it cannot match."""
        fields = {name: (_sure_types(spec["fieldType"], json_numbers), self._matcher(spec["fieldType"], json_numbers))
                  for name, spec in v["value"].items()}
        required = frozenset(name for name, spec in v["value"].items() if not spec.get("optional"))
        checks_of: dict[tuple[tuple, tuple], tuple | None] = {}

        def value_checks(names: tuple, kinds: tuple) -> tuple | None:
            if not fields.keys() >= set(names) or not required <= set(names):
                return None  # an extra field or a missing one
            return tuple((name, fields[name][1]) for name, kind in zip(names, kinds) if kind not in fields[name][0])

        def matches(x: Any) -> bool:
            if not isinstance(x, dict):
                return False
            pattern = (tuple(x), tuple(map(type, x.values())))
            checks = checks_of.get(pattern, False)
            if checks is False:
                checks = value_checks(*pattern)
                if len(checks_of) < OBJECT_PATTERNS:
                    checks_of[pattern] = checks
            if checks is None:
                return False
            for name, field_matches in checks:
                if not field_matches(x[name]):
                    return False
            return True

        return matches

    def _no_match(self, value: Any, v: dict, path: str) -> Issue:
        expected = render(v)
        got = display(value)
        message = f"Value does not match validator.\n{_path_line(path)}Value: {got}\nValidator: {expected}"
        return Issue(NO_MATCH, path, expected, got, message)

    def _check(self, value: Any, v: dict, path: str) -> Iterator[Issue]:
        kind = v["type"]
        simple = _SIMPLE_CHECKS.get(kind)
        if simple is not None:
            if not simple(value):
                yield self._no_match(value, v, path)
        elif kind == "literal":
            if not _literal_matches(value, v["value"]):
                yield self._no_match(value, v, path)
        elif kind == "id":
            yield from self._check_id(value, v["tableName"], v, path)
        elif kind == "array":
            if not isinstance(value, list):
                yield self._no_match(value, v, path)
                return
            for i, item in enumerate(value):
                yield from self._check(item, v["value"], f"{path}[{i}]")
        elif kind == "union":
            if not any(self._matches(value, member) for member in v["value"]):
                yield self._no_match(value, v, path)
        elif kind == "object":
            yield from self._check_object(value, v, path)
        elif kind == "record":
            yield from self._check_record(value, v, path)

    def _check_id(self, value: Any, table: str, v: dict, path: str) -> Iterator[Issue]:
        number = _table_number(value) if isinstance(value, str) else None
        if number is None:
            yield self._no_match(value, v, path)
            return
        if self.table_names is None:
            return
        found = self.table_names.get(number)
        if found is None:
            yield self._no_match(value, v, path)
        elif found != table:
            message = (
                f'Found ID "{value}" from table `{found}`, which does not match the table name in validator '
                f'`v.id("{table}")`.' + (f"\nPath: {path}" if path else "")
            )
            yield Issue(WRONG_ID_TABLE, path, render(v), f'id of table "{found}"', message)

    def _sorted_fields(self, v: dict) -> list[tuple[str, dict, dict, Any]]:
        """(name, spec, field validator, simple check or None) in name order, cached per validator."""
        cached = self._field_cache.get(id(v))
        if cached is None:
            cached = [
                (name, spec, spec["fieldType"], _SIMPLE_CHECKS.get(spec["fieldType"]["type"]))
                for name, spec in sorted(v["value"].items())
            ]
            self._field_cache[id(v)] = cached
        return cached

    def _check_object(self, value: Any, v: dict, path: str) -> Iterator[Issue]:
        if not isinstance(value, dict):
            yield self._no_match(value, v, path)
            return
        for name, spec, field_type, simple in self._sorted_fields(v):
            if name not in value:
                if not spec.get("optional"):
                    yield self._object_issue(MISSING_FIELD, name, value, v, path, f"{path}.{name}", spec)
                continue
            item = value[name]
            if simple is not None:
                if not simple(item):
                    yield self._no_match(item, field_type, f"{path}.{name}")
                continue
            yield from self._check(item, field_type, f"{path}.{name}")
        fields = v["value"]
        if len(value) > len(fields) or any(name not in fields for name in value):
            for name in sorted(n for n in value if n not in fields):
                yield self._object_issue(EXTRA_FIELD, name, value, v, path, f"{path}.{name}", None)

    def _object_issue(
        self, kind: str, name: str, obj: dict, v: dict, path: str, field_path: str, spec: dict | None
    ) -> Issue:
        if kind == MISSING_FIELD:
            head = (
                f"Object is missing the required field `{name}`. Consider wrapping the field validator in "
                "`v.optional(...)` if this is expected."
            )
            expected, got = _render_field(spec), "absent"
        else:
            head = f"Object contains extra field `{name}` that is not in the validator."
            expected, got = "no such field", display(obj[name])
        message = f"{head}\n\n{_path_line(path)}Object: {display(obj)}\nValidator: {render(v)}"
        return Issue(kind, field_path, expected, got, message)

    def _check_record(self, value: Any, v: dict, path: str) -> Iterator[Issue]:
        if not isinstance(value, dict):
            yield self._no_match(value, v, path)
            return
        for key in sorted(value):
            if not self._matches(key, v["keys"]):
                yield self._no_match(key, v["keys"], f"{path}.{key}")
            yield from self._check(value[key], v["values"]["fieldType"], f"{path}.{key}")
