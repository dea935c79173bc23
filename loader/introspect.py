"""Compare the live v1 source with the source contract and plan what the extract selects.

Rules (MAPPING_SPEC §1.1, ARCHITECTURE §2.1): a missing table or core column is an error naming
it; a missing optional column is read as NULL (note); an extra column is a note; an absent
optional table gives an empty raw table (note); an alias is read under the canonical name
(`coalesce(canonical, alias)` when both exist); a column whose type family differs from the
reference is staged as text (note). DQ-10: the configured app user table must exist, and
`public.users` and `public.perm_users` must not both hold rows unless `v1_user_table` was set
explicitly. The role must be able to read every column the extract selects (schema USAGE, then
table or column SELECT): a missing grant is an error naming the GRANT that fixes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from loader.reference_schema import reference_columns
from loader.errors import SourceError
from loader.source_config import one_line
from loader.source_contract import ContractColumn, ContractTable, load_contract, raw_type_of, type_family

APP_TABLE_NAMES = ("users", "perm_users")

_COLUMNS_QUERY = """
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
       has_schema_privilege(n.oid, 'USAGE'), has_column_privilege(c.oid, a.attnum, 'SELECT')
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ('auth', 'public') AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY n.nspname, c.relname, a.attnum
"""


@dataclass(frozen=True)
class ColumnPlan:
    """How one contract column is read: from which source columns (canonical first, then aliases)."""

    contract: ContractColumn
    source_columns: tuple[str, ...]
    source_types: tuple[str, ...]
    as_text: bool = False  # values the typed raw layer cannot hold (set by the extract's probe)

    @property
    def name(self) -> str:
        return self.contract.name

    @property
    def raw_type(self) -> str:
        """The contract's raw type, or varchar when a source column has another type family."""
        if not self.as_text and all(raw_type_of(t) == self.contract.raw_type for t in self.source_types):
            return self.contract.raw_type
        return "varchar"


@dataclass(frozen=True)
class TablePlan:
    contract: ContractTable
    v1_qualified: str
    present: bool
    columns: tuple[ColumnPlan, ...]

    @property
    def name(self) -> str:
        return self.contract.name


@dataclass
class SourceReport:
    app_table: str
    tables: tuple[TablePlan, ...] = ()
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    role: str = ""
    # Source columns the role cannot SELECT, per `schema.table`; schemas it has no USAGE on.
    unreadable: dict[str, set[str]] = field(default_factory=dict)
    schemas_without_usage: set[str] = field(default_factory=set)


def _source_columns(conn: psycopg.Connection, report: SourceReport) -> dict[str, dict[str, str]]:
    columns: dict[str, dict[str, str]] = {}
    try:
        report.role = conn.execute("SELECT quote_ident(current_user)").fetchone()[0]
        for schema, table, column, pg_type, schema_usage, can_select in conn.execute(_COLUMNS_QUERY):
            qualified = f"{schema}.{table}"
            columns.setdefault(qualified, {})[column] = pg_type
            if not schema_usage:
                report.schemas_without_usage.add(schema)
            if not (schema_usage and can_select):
                report.unreadable.setdefault(qualified, set()).add(column)
    except psycopg.Error as exc:
        raise SourceError(f"cannot introspect the source catalog: {one_line(exc)}") from None
    return columns


def _check_privileges(plan: "TablePlan", report: SourceReport) -> None:
    """An error naming the GRANT the role needs for the columns the extract reads from this table."""
    schema = plan.v1_qualified.split(".")[0]
    if schema in report.schemas_without_usage:
        return  # one error for the whole schema (added by introspect)
    denied = sorted(report.unreadable.get(plan.v1_qualified, set())
                    & {n for c in plan.columns for n in c.source_columns})
    if denied:
        report.errors.append(f"the source role {report.role} cannot SELECT {plan.v1_qualified} column(s) "
                             f"{', '.join(denied)}: GRANT SELECT ON {plan.v1_qualified} TO {report.role}")


def _has_rows(conn: psycopg.Connection, qualified: str) -> bool:
    schema, table = qualified.split(".")
    query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(schema, table))
    return bool(conn.execute(query).fetchone()[0])


def _check_app_table(conn, source: dict, report: SourceReport, explicit: bool) -> None:
    configured = f"public.{report.app_table}"
    if configured not in source:
        others = [f"public.{n}" for n in APP_TABLE_NAMES if n != report.app_table and f"public.{n}" in source]
        hint = f" ({others[0]} exists: set v1_user_table={others[0].split('.')[1]})" if others else ""
        report.errors.append(f"DQ-10: the app user table {configured} (v1_user_table) does not exist{hint}")
        return
    both = [f"public.{n}" for n in APP_TABLE_NAMES]
    if any(t in report.unreadable for t in both):
        return  # cannot count rows without SELECT; the privilege error names the grant
    if not explicit and all(t in source for t in both) and all(_has_rows(conn, t) for t in both):
        report.errors.append(
            "DQ-10: public.users and public.perm_users both exist and hold rows; "
            "set v1_user_table explicitly to choose the app user table"
        )


def _plan_table(table: ContractTable, source: dict, report: SourceReport) -> TablePlan:
    qualified = table.v1_qualified(report.app_table)
    live = source.get(qualified)
    if live is None:
        if table.v1_table_var:
            pass  # reported by the DQ-10 check
        elif table.optional:
            report.notes.append(f"optional table {qualified} is absent: extracted as an empty table")
        else:
            report.errors.append(f"source table {qualified} is missing")
        empty = tuple(ColumnPlan(c, (), ()) for c in table.columns)
        return TablePlan(table, qualified, False, empty)
    plans = []
    for column in table.columns:
        found = tuple(n for n in (column.name, *column.aliases) if n in live)
        plan = ColumnPlan(column, found, tuple(live[n] for n in found))
        plans.append(plan)
        if not found:
            if column.core:
                report.errors.append(f"table {qualified}: core column {column.name} is missing")
            else:
                report.notes.append(f"table {qualified}: optional column {column.name} is absent; read as NULL")
            continue
        if found[0] != column.name:
            report.notes.append(f"table {qualified}: column {found[0]} read as {column.name}")
        elif len(found) > 1:
            report.notes.append(
                f"table {qualified}: {column.name} and alias {', '.join(found[1:])} both exist; "
                f"read as coalesce({', '.join(found)})"
            )
        for name, pg_type in zip(found, plan.source_types):
            if type_family(pg_type) != type_family(column.v1_type):
                report.notes.append(
                    f"table {qualified}: column {name} is {pg_type} (reference {column.v1_type}); "
                    f"staged as {plan.raw_type}"
                )
    plan = TablePlan(table, qualified, True, tuple(plans))
    _check_privileges(plan, report)
    known = set(reference_columns(report.app_table).get(qualified, ()))
    known.update(n for c in table.columns for n in (c.name, *c.aliases))
    extra = [n for n in live if n not in known]
    if extra:
        report.notes.append(f"table {qualified}: extra columns not read: {', '.join(extra)}")
    return plan


def introspect(conn: psycopg.Connection, app_table: str = "users", app_table_explicit: bool = False) -> SourceReport:
    """Check the live source against the contract; the report lists errors, notes and read plans."""
    report = SourceReport(app_table=app_table)
    source = _source_columns(conn, report)
    _check_app_table(conn, source, report, app_table_explicit)
    report.tables = tuple(_plan_table(t, source, report) for t in load_contract())
    needed_schemas = {t.v1_qualified.split(".")[0] for t in report.tables if t.present}
    for schema in sorted(needed_schemas & report.schemas_without_usage):
        report.errors.append(f"the source role {report.role} has no USAGE on schema {schema}: "
                             f"GRANT USAGE ON SCHEMA {schema} TO {report.role}, and SELECT on its tables")
    return report


def raise_on_errors(report: SourceReport, echo) -> None:
    """Print every error but the last through `echo`; raise the last (one line per problem)."""
    if not report.errors:
        return
    for message in report.errors[:-1]:
        echo(f"error: {message}")
    error = SourceError(report.errors[-1])
    if any("GRANT" in message for message in report.errors):
        error.advice = "Have the tables' owner run the GRANT(s) above"
    elif not report.errors[-1].startswith("DQ-10"):
        error.advice = ("The source differs from the v1 reference schema: fix the source, or the source contract "
                        "models/staging/_supabase__sources.yml")
    raise error
