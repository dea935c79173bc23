"""Extract the v1 source into `runs/<id>/raw/<table>.jsonl` from ONE consistent snapshot.

All tables are read inside one read-only REPEATABLE READ transaction. Each table is streamed
by the server as `row_to_json` lines through `COPY ... TO STDOUT` in CSV mode with control-byte
quote/delimiter characters, so the JSON bytes arrive unescaped. libpq hands the COPY data over
as it arrives; the bytes are only appended to a 1 MiB buffer that is hashed, line-counted and
written as one block (no per-row parsing or encoding in Python; constant memory). Files are renamed into place and marked complete in the
manifest only after every table was fully written and hashed; any failure leaves no file that
looks complete. Values follow docs/INTERFACES.md §1.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Callable

import psycopg
from psycopg import sql

from loader import __version__
from loader.errors import SourceError
from loader.introspect import ColumnPlan, SourceReport, TablePlan, introspect, raise_on_errors
from loader.run_folder import RunFolder
from loader.source_config import connect, describe_dsn, one_line
from loader.source_contract import type_family

STEP = "extract"
WRITE_BUFFER_BYTES = 1 << 20
_COPY_OPTIONS = sql.SQL("WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02', ENCODING 'UTF8')")
_SESSION_SETTINGS = (
    "SET TIME ZONE 'UTC'",
    "SET DateStyle = 'ISO, YMD'",
    "SET IntervalStyle = 'iso_8601'",
    "SET extra_float_digits = 3",
    "SET client_encoding = 'UTF8'",
)


_ODD_TIME = sql.SQL("(NOT isfinite({c}) OR {c} < '0001-01-01' OR {c} >= '10000-01-01')")


def _value_expr(column: sql.Identifier, pg_type: str, raw_type: str) -> sql.Composable:
    """The SQL expression producing one column's raw representation (session time zone is UTC)."""
    family = type_family(pg_type)
    if family == "timestamp":
        typed = sql.SQL("to_char({}::timestamp, 'YYYY-MM-DD HH24:MI:SS.US')").format(column)
        if raw_type == "varchar":  # keeps 'infinity' and BC values visible instead of NULL
            return sql.SQL("CASE WHEN {odd} THEN {c}::text ELSE {typed} END").format(
                odd=_ODD_TIME.format(c=column), c=column, typed=typed)
        return typed
    if raw_type == "varchar":
        template = "to_json({})::text" if family == "array" else "{}::text"
        return sql.SQL(template).format(column)
    if raw_type == "bigint":
        return sql.SQL("{}::bigint").format(column)
    return column  # date -> "YYYY-MM-DD", boolean -> true/false: row_to_json's own output


def _column_expr(plan: ColumnPlan) -> sql.Composable:
    exprs = [
        _value_expr(sql.Identifier("t", name), pg_type, plan.raw_type)
        for name, pg_type in zip(plan.source_columns, plan.source_types)
    ]
    if not exprs:
        return sql.SQL("NULL")
    return exprs[0] if len(exprs) == 1 else sql.SQL("coalesce({})").format(sql.SQL(", ").join(exprs))


def copy_query(plan: TablePlan) -> sql.Composed:
    """`COPY (SELECT row_to_json(r) ...) TO STDOUT` for one present table, ordered by id."""
    schema, table = plan.v1_qualified.split(".")
    select_list = sql.SQL(", ").join(
        sql.SQL("{} AS {}").format(_column_expr(c), sql.Identifier(c.name)) for c in plan.columns
    )
    id_column = plan.columns[0]
    inner = sql.SQL("SELECT {} FROM {} AS t ORDER BY {}").format(
        select_list, sql.Identifier(schema, table), sql.Identifier("t", id_column.source_columns[0])
    )
    return sql.SQL("COPY (SELECT row_to_json(r) FROM ({}) AS r) TO STDOUT {}").format(inner, _COPY_OPTIONS)


def _probe_odd_dates(conn: psycopg.Connection, plan: TablePlan, notes: list[str]) -> TablePlan:
    """Stage date/timestamp columns as text when they hold infinity or years outside 1-9999.

    Neither raw warehouse holds those values identically; as text they reach the transform,
    which reports them (DQ-16) instead of the extract silently changing them. One scan per table;
    the note names the column, how many rows and the first row's id.
    """
    checks = [(c, n) for c in plan.columns for n, t in zip(c.source_columns, c.source_types)
              if type_family(t) in ("date", "timestamp") and c.raw_type != "varchar"]
    if not plan.present or not checks:
        return plan
    schema, table = plan.v1_qualified.split(".")
    id_text = sql.SQL("{}::text").format(sql.Identifier("t", plan.columns[0].source_columns[0]))
    aggregates = [
        sql.SQL("count(*) FILTER (WHERE {odd}), min({id}) FILTER (WHERE {odd})").format(
            odd=_ODD_TIME.format(c=sql.Identifier("t", n)), id=id_text)
        for _, n in checks
    ]
    query = sql.SQL("SELECT {} FROM {} AS t").format(sql.SQL(", ").join(aggregates), sql.Identifier(schema, table))
    found = conn.execute(query).fetchone()
    odd: set[str] = set()
    for index, (column, source_name) in enumerate(checks):
        rows, first_id = found[2 * index], found[2 * index + 1]
        if rows:
            odd.add(column.name)
            notes.append(f"table {plan.v1_qualified}: column {source_name} holds infinity or years outside 1-9999 "
                         f"in {rows} row(s) (first id {first_id}); staged as text")
    columns = tuple(dataclasses.replace(c, as_text=True) if c.name in odd else c for c in plan.columns)
    return dataclasses.replace(plan, columns=columns)


def _open_private(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(fd, "wb")


def _stream_table(conn: psycopg.Connection, plan: TablePlan, part: Path) -> dict:
    """Write one table's JSONL to `part`; return rows, bytes and sha256."""
    digest, rows, size = hashlib.sha256(), 0, 0
    with _open_private(part) as out:
        if plan.present:
            buffer = bytearray()
            with conn.cursor().copy(copy_query(plan)) as copy:
                for chunk in copy:
                    buffer += chunk
                    if len(buffer) >= WRITE_BUFFER_BYTES:
                        rows, size = rows + buffer.count(b"\n"), size + len(buffer)
                        digest.update(buffer)
                        out.write(buffer)
                        buffer.clear()
            rows, size = rows + buffer.count(b"\n"), size + len(buffer)
            digest.update(buffer)
            out.write(buffer)
        out.flush()
        os.fsync(out.fileno())
    return {"rows": rows, "bytes": size, "sha256": digest.hexdigest()}


def _table_entry(plan: TablePlan, stats: dict) -> dict:
    return {
        "v1_table": plan.v1_qualified,
        "present": plan.present,
        "file": f"raw/{plan.name}.jsonl",
        **stats,
        "columns": [
            {"name": c.name, "raw_type": c.raw_type, "source_columns": list(c.source_columns),
             "source_types": list(c.source_types)}
            for c in plan.columns
        ],
        "complete": True,
    }


def extract(
    folder: RunFolder,
    source_dsn: str,
    app_table: str = "users",
    app_table_explicit: bool = False,
    echo: Callable[[str], None] = print,
    after_table: Callable[[str], None] | None = None,
) -> dict:
    """Extract every contract table into `folder`; record and return the manifest step.

    `after_table(raw_table_name)` is called after each table is streamed, inside the snapshot
    transaction (a test hook for snapshot consistency).
    """
    parts: list[tuple[Path, Path]] = []
    current = "the catalog"
    try:
        with connect(source_dsn, "source", autocommit=False) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            for statement in _SESSION_SETTINGS:
                conn.execute(statement)
            snapshot_time, server_version = conn.execute(
                "SELECT to_char(now(), 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), current_setting('server_version')"
            ).fetchone()
            report: SourceReport = introspect(conn, app_table, app_table_explicit)
            raise_on_errors(report, echo)
            tables = {}
            for plan in report.tables:
                current = plan.v1_qualified
                plan = _probe_odd_dates(conn, plan, report.notes)
                final = folder.raw_dir / f"{plan.name}.jsonl"
                part = final.with_name(f".{final.name}.part")
                parts.append((part, final))
                tables[plan.name] = _table_entry(plan, _stream_table(conn, plan, part))
                if after_table:
                    after_table(plan.name)
            conn.rollback()  # read-only: nothing to commit; ends the snapshot
    except psycopg.Error as exc:
        _discard(parts)
        message = f"extract failed while reading {current} (lost or broken source connection?): {one_line(exc, source_dsn)}"
        folder.record_step(STEP, {"status": "failed", "error": message})
        raise SourceError(message) from None
    except BaseException:
        _discard(parts)
        raise
    for part, final in parts:
        os.replace(part, final)
    result = {
        "status": "complete",
        "snapshot_time": snapshot_time,
        "source": {"server_version": server_version, "database": describe_dsn(source_dsn)},
        "tool_version": __version__,
        "v1_user_table": app_table,
        "notes": report.notes,
        "tables": tables,
    }
    folder.record_step(STEP, result)
    return result


def _discard(parts: list[tuple[Path, Path]]) -> None:
    for part, _ in parts:
        part.unlink(missing_ok=True)
