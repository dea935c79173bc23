"""Convex values in Python, their JSON encodings and limits (CONVEX_HTTP §3.4, §2.6, §6.8, §6.9).

Python model: None, bool, float (float64), int (int64), str, bytes, list, dict.
"""

from __future__ import annotations

import base64
import json
import math
import struct
from typing import Any

MAX_DOCUMENT_SIZE = 1 << 20
MAX_NESTING = 16
MAX_ARGUMENT_NESTING = 64
MAX_ARRAY_LENGTH = 8192
MAX_OBJECT_FIELDS = 1024
MAX_FIELD_NAME_LENGTH = 1024
SYSTEM_FIELDS = ("_id", "_creationTime")

FORMATS = {
    "json": "json",
    "convex_clean_json": "json",
    "convex_encoded_json": "convex_encoded_json",
    "convex_json": "convex_encoded_json",
    "export_json": "export_json",
}


class InvalidValue(ValueError):
    """A JSON value that is not a valid Convex value (message names the problem)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _special(obj: dict) -> Any:
    """Decode `{"$integer"|"$bytes"|"$float": …}`; any other `$` key is an error."""
    if len(obj) != 1:
        raise InvalidValue(f"an object with a `$` key must have exactly one key, got {sorted(obj)}")
    (key, raw), = obj.items()
    if not isinstance(raw, str):
        raise InvalidValue(f"{key} must hold a base64 string")
    try:
        data = base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise InvalidValue(f"{key} holds invalid base64") from exc
    if key == "$bytes":
        return data
    if len(data) != 8:
        raise InvalidValue(f"{key} must encode 8 bytes, got {len(data)}")
    if key == "$integer":
        return struct.unpack("<q", data)[0]
    if key == "$float":
        value = struct.unpack("<d", data)[0]
        if math.isfinite(value) and not (value == 0 and math.copysign(1, value) < 0):
            raise InvalidValue("$float must not be used for a finite float other than -0")
        return value
    raise InvalidValue(f"unknown special key {key!r}; field names must not start with `$`")


def decode_convex_json(obj: Any, specials: bool = True) -> Any:
    """convex_encoded_json (function arguments) → Python. Plain JSON numbers are float64.
    `specials=False`: `$` keys are plain field names (a JSON value in the Convex model the validator checks)."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, (int, float)):
        return float(obj)
    if isinstance(obj, list):
        return [decode_convex_json(x, specials) for x in obj]
    if isinstance(obj, dict):
        if specials and any(k.startswith("$") for k in obj):
            return _special(obj)
        return {k: decode_convex_json(x, specials) for k, x in obj.items()}
    raise InvalidValue(f"unsupported JSON value {obj!r}")


def decode_export_json(obj: Any) -> Any:
    """export_json ("uniform" ZIP rows, parsed by `json.loads`) → Python: integer literals are int64."""
    if isinstance(obj, list):
        return [decode_export_json(x) for x in obj]
    if isinstance(obj, dict):
        if obj and next(iter(obj)).startswith("$"):
            return _special(obj)
        return {k: decode_export_json(x) for k, x in obj.items()}
    return obj


def _float_json(value: float) -> Any:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _float_special(value: float) -> Any:
    if math.isfinite(value) and not (value == 0 and math.copysign(1, value) < 0):
        return value
    return {"$float": _b64(struct.pack("<d", value))}


class PlainDict(dict):
    """A dict known to hold only values whose encoding is the same in every format
    (no int64, bytes or non-finite floats anywhere inside); `encode` returns it unchanged."""


def encode(value: Any, fmt: str) -> Any:
    """Python → JSON-ready structure in `fmt` (json | convex_encoded_json | export_json or their aliases)."""
    kind = FORMATS[fmt]
    if type(value) is PlainDict:
        return value
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        if kind == "json":
            return str(value)
        if kind == "convex_encoded_json":
            return {"$integer": _b64(struct.pack("<q", value))}
        return value
    if isinstance(value, float):
        if kind == "json":
            return _float_json(value)
        if kind == "export_json" and value == 0 and math.copysign(1, value) < 0:
            return value
        return _float_special(value)
    if isinstance(value, bytes):
        return _b64(value) if kind == "json" else {"$bytes": _b64(value)}
    if isinstance(value, list):
        return [encode(x, fmt) for x in value]
    if isinstance(value, dict):
        return {k: encode(x, fmt) for k, x in value.items()}
    raise TypeError(f"not a Convex value: {type(value).__name__}")


_VALID_NAMES: tuple[set[str], set[str]] = (set(), set())  # (nested, top-level) names already checked
_VALID_NAMES_CAP = 100_000


def _check_field_name_once(name: str, top_level: bool) -> None:
    known = _VALID_NAMES[top_level]
    if name in known:
        return
    check_field_name(name, top_level)
    if len(known) < _VALID_NAMES_CAP:
        known.add(name)


def known_field_names(top_level: bool) -> set[str]:
    """Field names already found valid (`top_level`: of a document); a name not in it may still be valid."""
    return _VALID_NAMES[top_level]


def is_valid_field_name(name: str, top_level: bool) -> bool:
    """True when `name` may name a field (remembered, as `check_document` remembers it)."""
    try:
        _check_field_name_once(name, top_level)
    except InvalidValue:
        return False
    return True


def check_field_name(name: str, top_level: bool) -> None:
    """Raise `InvalidValue` when `name` may not name a field (`top_level`: of a document)."""
    if top_level and name.startswith("_") and name not in SYSTEM_FIELDS:
        raise InvalidValue(
            f"Field '{name}' starts with an underscore, which is only allowed for system fields like '_id'"
        )
    if name == "":
        raise InvalidValue("Empty field names are not allowed")
    if name.startswith("$"):
        raise InvalidValue(f"Field name {name} starts with a '$', which is reserved.")
    if len(name) > MAX_FIELD_NAME_LENGTH:
        raise InvalidValue(f"Field name {name[:40]}… is longer than {MAX_FIELD_NAME_LENGTH} characters")
    if not (name.isascii() and name.isprintable()):
        raise InvalidValue(f"Field name {name!r} has invalid character(s): only printable ASCII is allowed")


def _string_size(text: str) -> int:
    if text.isascii():
        return 2 + len(text)
    try:
        return 2 + len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidValue("String contains an unpaired surrogate (not valid Unicode)") from exc


def _checked_size(value: Any, depth: int, top_level: bool, max_nesting: int = MAX_NESTING) -> int:
    """Convex size of `value`, raising `InvalidValue` for names, nesting, limits, invalid strings.
    Exact-type scalar items of arrays and objects are sized inline (no call per leaf), same order of checks."""
    if isinstance(value, str):
        return _string_size(value)
    if isinstance(value, (float, bool, int)) or value is None:
        return 9 if isinstance(value, (float, int)) and not isinstance(value, bool) else 1
    if isinstance(value, bytes):
        return 2 + len(value)
    if depth > max_nesting:
        raise InvalidValue(f"Value is too nested (nested {depth} levels deep, limit {max_nesting})")
    if isinstance(value, list):
        if len(value) > MAX_ARRAY_LENGTH:
            raise InvalidValue(f"Array length is too long ({len(value)} > maximum length {MAX_ARRAY_LENGTH})")
        size = 2
        for item in value:
            kind = type(item)
            if kind is str and item.isascii():
                size += 2 + len(item)
            elif kind is float or kind is int:
                size += 9
            elif kind is bool or item is None:
                size += 1
            else:
                size += _checked_size(item, depth + 1, False, max_nesting)
        return size
    if len(value) > MAX_OBJECT_FIELDS:
        raise InvalidValue(f"Object has too many fields ({len(value)} > maximum number {MAX_OBJECT_FIELDS})")
    known = _VALID_NAMES[top_level]
    size = 2 + len(value)  # + 1 per field, then each name and value
    for name, item in value.items():
        if name not in known:
            _check_field_name_once(name, top_level)
        kind = type(item)
        if kind is str and item.isascii():
            size += len(name) + 2 + len(item)
        elif kind is float or kind is int:
            size += len(name) + 9
        elif kind is bool or item is None:
            size += len(name) + 1
        else:
            size += len(name) + _checked_size(item, depth + 1, False, max_nesting)
    return size


def json_size_within_limits(json_size: int) -> bool:
    """True when any value whose compact JSON has at most `json_size` UTF-8 bytes is within the size and
    array-length limits: a Convex size unit costs at least 1/9 JSON byte (a number: 9 units, at least 1
    byte) and an array of n items at least 2n + 1 bytes."""
    return json_size * 9 <= MAX_DOCUMENT_SIZE and json_size <= 2 * MAX_ARRAY_LENGTH + 2


def check_arguments(args: dict) -> None:
    """Function-argument limits (§3.6): 8192 elements per array, 1024 fields, 64 levels, valid names."""
    _checked_size(args, 1, False, MAX_ARGUMENT_NESTING)


def check_document(doc: Any) -> int:
    """Shape checks (§6.8, §6.9) and the 1 MiB limit for a top-level document; returns its Convex size."""
    if not isinstance(doc, dict):
        raise InvalidValue(f"expected object, got {type_name(doc)}")
    size = _checked_size(doc, 1, True)
    if size > MAX_DOCUMENT_SIZE:
        raise InvalidValue(f"Document is too large ({size} bytes > maximum size {MAX_DOCUMENT_SIZE} bytes)")
    return size


def type_name(value: Any) -> str:
    """Convex type name of a Python value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes):
        return "bytes"
    if isinstance(value, list):
        return "array"
    return "object"


def display(value: Any, limit: int = 200) -> str:
    """Short JS-like text of a value for error messages (`{a: "x", n: 1}`)."""
    text = _display(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _display(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}n"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bytes):
        return f"ArrayBuffer({len(value)})"
    if isinstance(value, list):
        return "[" + ", ".join(_display(x) for x in value) + "]"
    return "{" + ", ".join(f"{k}: {_display(x)}" for k, x in value.items()) + "}"
