"""The v2 schema in `defineSchema(...).export()` JSON shape (CONVEX_HTTP §6.2): load, check, query."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONTRACT_PATH = Path(__file__).resolve().parents[2] / "contract" / "v2_schema.json"

_SIMPLE_TYPES = {"null", "number", "bigint", "boolean", "string", "bytes", "any"}


class SchemaError(ValueError):
    """The schema JSON is not in the expected shape."""


@dataclass(frozen=True)
class TableSchema:
    name: str
    document_type: dict
    indexes: tuple[tuple[str, tuple[str, ...]], ...]

    def index_fields(self, index_name: str) -> tuple[str, ...]:
        for name, fields in self.indexes:
            if name == index_name:
                return fields
        raise KeyError(index_name)

    def field_names(self) -> list[str]:
        """Declared top-level fields (object document types only), in declaration order."""
        if self.document_type.get("type") != "object":
            return []
        return list(self.document_type["value"])


@dataclass(frozen=True)
class Schema:
    tables: dict[str, TableSchema]
    schema_validation: bool = True

    @classmethod
    def from_json(cls, obj: Any) -> Schema:
        if not isinstance(obj, dict) or not isinstance(obj.get("tables"), list):
            raise SchemaError("schema JSON must be an object with a `tables` array")
        tables: dict[str, TableSchema] = {}
        for table in obj["tables"]:
            name = table.get("tableName") if isinstance(table, dict) else None
            if not isinstance(name, str) or not name:
                raise SchemaError(f"schema table without a tableName: {table!r:.80}")
            if name in tables:
                raise SchemaError(f"schema declares table {name!r} twice")
            doc_type = table.get("documentType", {"type": "any"})
            _check_validator(doc_type, name)
            indexes = tuple(
                (ix["indexDescriptor"], tuple(ix["fields"])) for ix in table.get("indexes", [])
            )
            tables[name] = TableSchema(name, doc_type, indexes)
        return cls(tables, bool(obj.get("schemaValidation", True)))

    @classmethod
    def from_file(cls, path: str | Path = CONTRACT_PATH) -> Schema:
        try:
            obj = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise SchemaError(f"cannot read schema {path}: {exc}") from exc
        return cls.from_json(obj)

    def table(self, name: str) -> TableSchema | None:
        return self.tables.get(name)

    def sorted_table_names(self) -> list[str]:
        """Table names in byte-wise order (the order a deploy creates them in, §5.8)."""
        return sorted(self.tables, key=lambda n: n.encode("utf-8"))


def _check_validator(v: Any, where: str) -> None:
    if not isinstance(v, dict) or "type" not in v:
        raise SchemaError(f"{where}: validator must be an object with `type`, got {v!r:.80}")
    kind = v["type"]
    if kind in _SIMPLE_TYPES:
        return
    if kind == "literal":
        if "value" not in v:
            raise SchemaError(f"{where}: literal without value")
    elif kind == "id":
        if not isinstance(v.get("tableName"), str):
            raise SchemaError(f"{where}: id without tableName")
    elif kind == "array":
        _check_validator(v.get("value"), f"{where}[]")
    elif kind == "union":
        if not isinstance(v.get("value"), list):
            raise SchemaError(f"{where}: union value must be a list")
        for member in v["value"]:
            _check_validator(member, where)
    elif kind == "object":
        if not isinstance(v.get("value"), dict):
            raise SchemaError(f"{where}: object value must be a mapping")
        for field, spec in v["value"].items():
            if not isinstance(spec, dict) or "fieldType" not in spec:
                raise SchemaError(f"{where}.{field}: expected {{fieldType, optional}}")
            _check_validator(spec["fieldType"], f"{where}.{field}")
    elif kind == "record":
        _check_validator(v.get("keys"), f"{where}{{keys}}")
        values = v.get("values")
        if not isinstance(values, dict) or "fieldType" not in values:
            raise SchemaError(f"{where}: record values must be {{fieldType, optional}}")
        _check_validator(values["fieldType"], f"{where}{{values}}")
    else:
        raise SchemaError(f"{where}: unknown validator type {kind!r}")
