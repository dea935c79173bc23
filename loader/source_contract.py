"""The source contract `models/staging/_supabase__sources.yml`: extracted tables, columns, types.

It is the single list of what the extract reads from v1 and what the raw layer holds
(docs/INTERFACES.md §1). This module only reads it; nothing else hard-codes table or column lists.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from loader.errors import ConfigError

CONTRACT_PATH = Path(__file__).resolve().parents[1] / "models" / "staging" / "_supabase__sources.yml"
SOURCE_NAME = "supabase"
RAW_SCHEMA = "raw"
RAW_TYPES = ("varchar", "date", "timestamp", "boolean", "bigint")


def type_family(pg_type: str) -> str:
    """Family of a PostgreSQL type name (`varchar(255)`, `timestamp with time zone`, `_int4`, `integer[]`)."""
    name = pg_type.strip().lower().split("(")[0].strip()
    if name.endswith("[]") or name.startswith("_") or name == "array":
        return "array"
    families = {
        "uuid": "uuid",
        "text": "text", "varchar": "text", "character varying": "text", "character": "text",
        "char": "text", "bpchar": "text", "name": "text", "citext": "text",
        "date": "date",
        "timestamptz": "timestamp", "timestamp with time zone": "timestamp",
        "timestamp": "timestamp", "timestamp without time zone": "timestamp",
        "boolean": "boolean", "bool": "boolean",
        "integer": "integer", "int": "integer", "int2": "integer", "int4": "integer", "int8": "integer",
        "smallint": "integer", "bigint": "integer",
        "numeric": "numeric", "decimal": "numeric", "real": "numeric", "double precision": "numeric",
        "float4": "numeric", "float8": "numeric", "money": "numeric",
        "json": "json", "jsonb": "json",
        "time": "time", "time without time zone": "time", "timetz": "time", "time with time zone": "time",
    }
    return families.get(name, "other")


_RAW_TYPE_OF_FAMILY = {"date": "date", "timestamp": "timestamp", "boolean": "boolean", "integer": "bigint"}


def raw_type_of(pg_type: str) -> str:
    """The raw warehouse type a source column of this PostgreSQL type is staged as."""
    return _RAW_TYPE_OF_FAMILY.get(type_family(pg_type), "varchar")


@dataclass(frozen=True)
class ContractColumn:
    name: str
    raw_type: str
    v1_type: str
    presence: str
    aliases: tuple[str, ...]
    description: str

    @property
    def core(self) -> bool:
        return self.presence == "core"


@dataclass(frozen=True)
class ContractTable:
    name: str
    v1_schema: str
    v1_table: str | None
    v1_table_var: str | None
    optional: bool
    columns: tuple[ContractColumn, ...]

    def v1_table_name(self, app_table: str) -> str:
        """The v1 table name; the app user table takes the configured `v1_user_table`."""
        return app_table if self.v1_table_var else str(self.v1_table)

    def v1_qualified(self, app_table: str) -> str:
        return f"{self.v1_schema}.{self.v1_table_name(app_table)}"


def _column(table: str, spec: dict) -> ContractColumn:
    meta = spec.get("meta") or {}
    raw_type = spec.get("data_type")
    if raw_type not in RAW_TYPES or meta.get("presence") not in ("core", "opt") or not meta.get("v1_type"):
        raise ConfigError(
            f"source contract: column {table}.{spec.get('name')} needs data_type in {RAW_TYPES}, "
            "meta.presence core|opt and meta.v1_type"
        )
    return ContractColumn(
        name=spec["name"], raw_type=raw_type, v1_type=meta["v1_type"], presence=meta["presence"],
        aliases=tuple(meta.get("aliases") or ()), description=spec.get("description", ""),
    )


@functools.lru_cache(maxsize=4)
def load_contract(path: Path = CONTRACT_PATH) -> tuple[ContractTable, ...]:
    """All contract tables in file order."""
    try:
        doc = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)  # libyaml: ~10x faster
        source = next(s for s in doc["sources"] if s["name"] == SOURCE_NAME)
    except (OSError, yaml.YAMLError, KeyError, StopIteration, TypeError) as exc:
        raise ConfigError(f"cannot read source contract {path}: {exc}") from exc
    tables = []
    for spec in source["tables"]:
        meta = spec.get("meta") or {}
        tables.append(ContractTable(
            name=spec["name"], v1_schema=meta["v1_schema"], v1_table=meta.get("v1_table"),
            v1_table_var=meta.get("v1_table_var"), optional=bool(meta.get("optional")),
            columns=tuple(_column(spec["name"], c) for c in spec["columns"]),
        ))
    return tuple(tables)

