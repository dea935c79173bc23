"""Small Convex marts (users, cases, userProfiles) built in a real warehouse, plus a dbt-shaped manifest.

Used by the export / resolve / import tests, independently of the real dbt models: the tables
have the shape docs/INTERFACES.md §5 prescribes (v2 fields in camelCase, NULL = omit, nested
values as JSON text, `resolve_*` columns) and the manifest carries the same `meta.convex`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loader.convex.schema import Schema

SCHEMA = "mart"
PROFILE_FUNCTION = "migration:upsertProfiles"

USERS_META = {
    "table": "users", "import_order": 1, "identity_key": "email", "order_by": "email",
    "resolution_keys": ["resolve_secondary_email", "resolve_v1_rows"],
    "secondary_match": {"key_column": "resolve_secondary_email"},
    "mapping": {"rows_column": "resolve_v1_rows", "email_column": "email",
                "source_tables": {"app_users": "public.{v1_user_table}"}},
}
CASES_META = {
    "table": "cases", "import_order": 2, "identity_key": "legacyId", "order_by": "legacyId",
    "resolution_keys": ["resolve_owner_email"],
    "references": [{"field": "userId", "key_column": "resolve_owner_email", "table": "users",
                    "match_field": "email"}],
    "mapping": {"v1_table": "cases", "v1_key_column": "legacyId", "email_column": "resolve_owner_email"},
}
PROFILES_META = {
    "table": "userProfiles", "import_order": 3, "identity_key": "userId", "order_by": "resolve_owner_email",
    "resolution_keys": ["resolve_owner_email", "resolve_firm_email", "resolve_v1_rows"],
    "references": [
        {"field": "userId", "key_column": "resolve_owner_email", "table": "users", "match_field": "email"},
        {"field": "firmId", "key_column": "resolve_firm_email", "table": "users", "match_field": "email"},
    ],
    "nested_references": [{"path": "dismissedDeadlines[].caseId", "key_member": "caseLegacyId",
                           "table": "cases", "match_field": "legacyId"}],
    "mapping": {"rows_column": "resolve_v1_rows", "email_column": "resolve_owner_email",
                "source_tables": {"app_users": "public.{v1_user_table}"}},
    "write": {"via": "mutation", "function": PROFILE_FUNCTION, "batch_size": 2, "documents_arg": "profiles",
              "result_id": "profileId",
              "var_args": {"overwriteExistingProfiles": "overwrite_existing_profiles"}},
}

# `meta.verify` (as in the real marts' yml)
CASES_VERIFY = {
    "group_checks": [{"check": "legacy_user_groups", "model": "int_users__references",
                      "keys": {"field": "legacyUserId", "column": "user_ref"},
                      "group": {"column": "group_email", "reference": "userId", "field": "email"},
                      "labels": {"group": "user group"}}],
    "mapping_rules": True,
}
PROFILES_VERIFY = {"labels": ["legacyId", "legacyAuthId"], "fills_absent": ["legacyId", "legacyAuthId"],
                   "overwrite_var": "overwrite_existing_profiles"}


def uuid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def v1_rows(*rows: tuple[str, int, bool]) -> str:
    return json.dumps([{"v1_table": t, "v1_uuid": uuid(n), "merged": merged} for t, n, merged in rows])


def _default(validator: dict[str, Any]) -> Any:
    kind = validator["type"]
    if kind == "union":
        return _default(validator["value"][0])
    return {"string": "x", "number": 1, "boolean": False, "array": [], "literal": validator.get("value")}[kind]


def required_fields(schema: Schema, table: str, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """A value for every required field of `table` (ids excluded: those come from references)."""
    fields = schema.table(table).document_type["value"]
    return {name: _default(spec["fieldType"]) for name, spec in fields.items()
            if not spec["optional"] and spec["fieldType"]["type"] != "id" and name not in skip}


def sample_rows(schema: Schema) -> dict[str, list[dict[str, Any]]]:
    """Dirty-enough rows: NULLs, JSON text, floats, an invalid case and an oversized case."""
    users = [
        {"email": "ann@example.com", "name": "Ann Ä", "phone": None, "emailVerificationTime": 1700000000000,
         "resolve_secondary_email": None, "resolve_v1_rows": v1_rows(("app_users", 1, False), ("auth.users", 2, False))},
        {"email": "bob@example.com", "name": None, "phone": "+1 555", "emailVerificationTime": None,
         "resolve_secondary_email": "bob.old@example.com", "resolve_v1_rows": v1_rows(("app_users", 3, False))},
        {"email": "cy@example.com", "name": "Cy", "phone": None, "emailVerificationTime": None,
         "resolve_secondary_email": None,
         "resolve_v1_rows": v1_rows(("auth.users", 4, False), ("app_users", 5, True))},
    ]
    case_base = required_fields(schema, "cases")
    cases = []
    for n, owner in ((11, "ann@example.com"), (12, "ann@example.com"), (13, "bob@example.com"),
                     (14, "cy@example.com"), (15, "bob@example.com"), (16, "cy@example.com")):
        row = {**case_base, "legacyId": uuid(n), "legacyUserId": uuid(1), "employerName": f"Employer {n}",
               "caseStatus": "pwd", "progressStatus": "working", "pwdWageAmount": None,
               "jobDescription": None, "tags": ["b", "a"], "createdAt": 1600000000000 + n,
               "updatedAt": 1650000000000.5,
               "notes": None, "resolve_owner_email": owner}
        cases.append(row)
    cases[0]["pwdWageAmount"] = 8500000
    cases[0]["notes"] = [{"status": "pending", "createdAt": 1600000000000, "content": "call", "id": "n1"}]
    cases[2]["caseStatus"] = "bogus"  # contract violation → reject
    cases[4]["jobDescription"] = "y" * 950_000  # > 900 KiB → DQ-27
    profile_base = required_fields(schema, "userProfiles")
    profiles = [
        {**profile_base, "legacyId": uuid(1), "legacyAuthId": uuid(2), "timezone": "America/New_York",
         "dismissedDeadlines": [{"caseLegacyId": uuid(11), "deadlineType": "pwd_expiration", "dismissedAt": 1700000000000},
                                {"caseLegacyId": uuid(99), "deadlineType": "rfi_due", "dismissedAt": 1700000000001}],
         "resolve_owner_email": "ann@example.com", "resolve_firm_email": "cy@example.com",
         "resolve_v1_rows": v1_rows(("app_users", 1, False))},
        {**profile_base, "legacyId": uuid(3), "legacyAuthId": None, "timezone": "Europe/Paris",
         "resolve_owner_email": "bob@example.com", "resolve_firm_email": "nobody@example.com",
         "resolve_v1_rows": v1_rows(("app_users", 3, False))},
        {**profile_base, "legacyId": None, "legacyAuthId": uuid(4), "timezone": "UTC",
         "resolve_owner_email": "cy@example.com", "resolve_firm_email": None,
         "resolve_v1_rows": v1_rows(("auth.users", 4, False))},
    ]
    return {"convex_users": users, "convex_cases": cases, "convex_user_profiles": profiles}


def _sql_type(values: list[Any]) -> str:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return "boolean"
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "bigint"
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return "double precision"
    return "text"


def _sql_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def build_marts(connection: Any, rows_by_model: dict[str, list[dict[str, Any]]], placeholder: str) -> dict[str, list[str]]:
    """Create `mart.<model>` tables (DuckDB or psycopg connection); return the columns per model."""
    connection.execute(f"create schema if not exists {SCHEMA}")
    columns_by_model = {}
    for model, rows in rows_by_model.items():
        columns = list(rows[0])
        types = {c: _sql_type([r[c] for r in rows]) for c in columns}
        connection.execute(f"drop table if exists {SCHEMA}.{model}")
        connection.execute(f"create table {SCHEMA}.{model} ("
                           + ", ".join(f'"{c}" {types[c]}' for c in columns) + ")")
        insert = (f"insert into {SCHEMA}.{model} values (" + ", ".join(placeholder for _ in columns) + ")")
        for row in reversed(rows):  # insertion order must not matter: export sorts
            connection.execute(insert, [_sql_value(row[c]) for c in columns])
        columns_by_model[model] = columns
    return columns_by_model


def write_manifest(path: Path, columns_by_model: dict[str, list[str]]) -> Path:
    metas = {"convex_users": USERS_META, "convex_cases": CASES_META, "convex_user_profiles": PROFILES_META}
    verify_metas = {"convex_cases": CASES_VERIFY, "convex_user_profiles": PROFILES_VERIFY}
    nodes = {}
    for model, columns in columns_by_model.items():
        nodes[f"model.perm_migration.{model}"] = {
            "resource_type": "model", "name": model, "relation_name": f"{SCHEMA}.{model}",
            "config": {"meta": {"convex": metas[model], "verify": verify_metas.get(model, {})}},
            "columns": {c: {"name": c} for c in columns},
        }
    nodes["model.perm_migration.dq_rejects"] = {"resource_type": "model", "name": "dq_rejects",
                                                "relation_name": f"{SCHEMA}.dq_rejects", "config": {"meta": {}},
                                                "columns": {}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"nodes": nodes}))
    return path


def build_duckdb_run(folder, schema: Schema, rows_by_model=None) -> None:
    """Marts in `folder`'s warehouse.duckdb and the manifest in `folder/target/`."""
    import duckdb

    rows_by_model = rows_by_model or sample_rows(schema)
    with duckdb.connect(str(folder.warehouse_path)) as connection:
        columns = build_marts(connection, rows_by_model, "?")
    write_manifest(folder.path("target", "manifest.json"), columns)
