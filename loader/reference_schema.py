"""The reference v1 DDL (`sql/v1_reference_schema.sql`): tables first, NOT VALID constraints after the data."""

from __future__ import annotations

import re
from pathlib import Path

REFERENCE_DDL = Path(__file__).resolve().parents[1] / "sql" / "v1_reference_schema.sql"
CONSTRAINTS_MARKER = "-- ==== constraints ===="
DEFAULT_APP_TABLE = "users"
_APP_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def reference_ddl(app_table: str = DEFAULT_APP_TABLE) -> tuple[str, str]:
    """(tables DDL, constraints DDL) with the app user table named `public.<app_table>`."""
    if not _APP_TABLE_NAME.match(app_table):
        raise ValueError(f"invalid app user table name {app_table!r}")
    text = REFERENCE_DDL.read_text()
    if app_table != DEFAULT_APP_TABLE:
        text = re.sub(r"\bpublic\.users\b", f"public.{app_table}", text)
        text = re.sub(r"\busers_(?=\w)", f"{app_table}_", text)
    tables, _, constraints = text.partition(CONSTRAINTS_MARKER)
    return tables, constraints


def reference_columns(app_table: str = DEFAULT_APP_TABLE) -> dict[str, tuple[str, ...]]:
    """`schema.table` -> column names declared by the reference DDL."""
    tables, _ = reference_ddl(app_table)
    columns: dict[str, tuple[str, ...]] = {}
    for name, body in re.findall(r"CREATE TABLE (\w+\.\w+) \((.*?)\n\);", tables, flags=re.S):
        columns[name] = tuple(
            m.group(1) for m in re.finditer(r"^\s{4}(\w+)\s", body, flags=re.M) if m.group(1) != "CONSTRAINT"
        )
    return columns
