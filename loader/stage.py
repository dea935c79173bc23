"""Stage a raw snapshot (`raw/<table>.jsonl` + manifest) into the warehouse schema `raw`.

Column types come from the source contract, as recorded per column by the extract (a column the
source held in another type family is staged as varchar). DuckDB reads the files with `read_json`
and explicit columns; Postgres receives them through `COPY FROM STDIN` in 1 MiB chunks and types
them with `json_populate_record`. Both hold identical data. Row counts are checked against the
manifest; the files' sha256 must match the manifest before anything is loaded.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

import duckdb
import psycopg
from psycopg import sql

from loader.duckdb_settings import connect_duckdb
from loader.errors import ConfigError, MigrationError
from loader.run_folder import RunFolder
from loader.source_config import connect, describe_dsn, one_line
from loader.source_contract import RAW_SCHEMA, RAW_TYPES, load_contract

STEP = "stage"
CHUNK_BYTES = 1 << 20
# DuckDB's default maximum JSON object size; its reader holds buffers of twice this per thread,
# so it is raised only as far as the snapshot's longest line needs.
JSON_READER_OBJECT_BYTES = 16 << 20
WAREHOUSES = ("duckdb", "postgres")


class StageError(MigrationError):
    """The snapshot cannot be staged or the staged data does not match the manifest."""


def snapshot_tables(folder: RunFolder) -> dict[str, dict]:
    """The extract manifest's tables, checked: complete, same columns as the contract, files intact;
    each with `longest_line` (bytes), which sizes DuckDB's JSON reader buffers."""
    extract = folder.read_manifest().get("steps", {}).get("extract")
    if not extract or extract.get("status") != "complete":
        raise StageError(f"run {folder.run_id} has no complete extract; run `perm-migrate extract` first")
    tables, longest = extract["tables"], {}
    for table in load_contract():
        entry = tables.get(table.name)
        if not entry or not entry.get("complete"):
            raise StageError(f"table {table.name}: the snapshot has no complete raw file")
        recorded = [c["name"] for c in entry["columns"]]
        if recorded != [c.name for c in table.columns] or any(c["raw_type"] not in RAW_TYPES for c in entry["columns"]):
            raise StageError(
                f"table {table.name}: the snapshot's columns or types differ from the source contract; re-run extract"
            )
        longest[table.name] = _verify_file(folder.path(entry["file"]), entry, table.name)
    return {t.name: {**tables[t.name], "longest_line": longest[t.name]} for t in load_contract()}


def _verify_file(path: Path, entry: dict, table: str) -> int:
    """Check the file's size and sha256 against the manifest; return its longest line in bytes."""
    digest, size, longest, line_start = hashlib.sha256(), 0, 0, 0
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK_BYTES):
                digest.update(chunk)
                newline = chunk.find(b"\n")
                while newline >= 0:
                    longest = max(longest, size + newline - line_start)
                    line_start = size + newline + 1
                    newline = chunk.find(b"\n", newline + 1)
                size += len(chunk)
    except OSError as exc:
        raise StageError(f"table {table}: cannot read {path}: {exc.strerror}") from None
    if size != entry["bytes"] or digest.hexdigest() != entry["sha256"]:
        raise StageError(f"table {table}: {path} does not match the manifest (size or sha256); re-run extract")
    return max(longest, size - line_start)


def _column_defs(entry: dict) -> str:
    return ", ".join(f'"{c["name"]}" {c["raw_type"]}' for c in entry["columns"])


def _stage_duckdb(folder: RunFolder, tables: dict[str, dict]) -> dict[str, int]:
    counts = {}
    current = "the schema"
    try:
        con = connect_duckdb(folder.warehouse_path)
    except duckdb.Error as exc:
        raise StageError(f"cannot open the DuckDB warehouse {folder.warehouse_path}: {exc}") from None
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
        for name, entry in tables.items():
            current = name
            target = f"{RAW_SCHEMA}.{name}"
            columns = ", ".join(f"'{c['name']}': '{c['raw_type']}'" for c in entry["columns"])
            con.execute("BEGIN")
            con.execute(f"CREATE OR REPLACE TABLE {target} ({_column_defs(entry)})")
            if entry["rows"]:
                con.execute(
                    f"INSERT INTO {target} SELECT * FROM read_json(?, format = 'newline_delimited', "
                    f"columns = {{{columns}}}, dateformat = '%Y-%m-%d', "
                    f"timestampformat = '%Y-%m-%d %H:%M:%S.%f', "
                    f"maximum_object_size = {max(JSON_READER_OBJECT_BYTES, entry['longest_line'] + 1)})",
                    [str(folder.path(entry["file"]))],
                )
            counts[name] = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
            con.execute("COMMIT")
    except duckdb.Error as exc:
        raise StageError(f"DuckDB staging of table {current} failed: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    return counts


def _stage_postgres(folder: RunFolder, tables: dict[str, dict], dsn: str) -> dict[str, int]:
    counts = {}
    current = "the schema"
    try:
        with connect(dsn, "warehouse", error=StageError) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(RAW_SCHEMA)))
            conn.execute("CREATE TEMP TABLE perm_stage_lines (line text) ON COMMIT DELETE ROWS")
            for name, entry in tables.items():
                current = name
                target = sql.Identifier(RAW_SCHEMA, name)
                # CASCADE: dbt's views over a previous raw table are rebuilt by the next transform.
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(target))
                conn.execute(sql.SQL("CREATE TABLE {} ({})").format(target, sql.SQL(_column_defs(entry))))
                copy_in = "COPY perm_stage_lines (line) FROM STDIN WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
                with conn.cursor().copy(copy_in) as copy, folder.path(entry["file"]).open("rb") as fh:
                    while chunk := fh.read(CHUNK_BYTES):
                        copy.write(chunk)
                conn.execute(
                    sql.SQL("INSERT INTO {t} SELECT r.* FROM perm_stage_lines AS l "
                            "CROSS JOIN LATERAL json_populate_record(NULL::{t}, l.line::json) AS r").format(t=target)
                )
                counts[name] = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(target)).fetchone()[0]
                conn.commit()
    except psycopg.Error as exc:
        raise StageError(f"Postgres staging of table {current} failed: {one_line(exc, dsn)}") from None
    return counts


def stage(
    folder: RunFolder,
    warehouse: str = "duckdb",
    warehouse_dsn: str | None = None,
    echo: Callable[[str], None] = print,
) -> dict:
    """Load the run's raw snapshot into the warehouse; record and return the manifest step."""
    if warehouse not in WAREHOUSES:
        raise ConfigError(f"unknown warehouse {warehouse!r}: choose one of {', '.join(WAREHOUSES)}")
    tables = snapshot_tables(folder)
    contract = {t.name: {c.name: c.raw_type for c in t.columns} for t in load_contract()}
    for name, entry in tables.items():
        for column in entry["columns"]:
            if column["raw_type"] != contract[name][column["name"]]:
                echo(f"note: raw.{name}.{column['name']} staged as {column['raw_type']} "
                     f"(source type {', '.join(column['source_types'])})")
    if warehouse == "duckdb":
        counts, location = _stage_duckdb(folder, tables), str(folder.warehouse_path)
    else:
        if warehouse_dsn is None:
            raise ConfigError("the Postgres warehouse needs a DSN")
        counts, location = _stage_postgres(folder, tables, warehouse_dsn), describe_dsn(warehouse_dsn)
    for name, entry in tables.items():
        if counts[name] != entry["rows"]:
            raise StageError(f"table raw.{name}: staged {counts[name]} rows, the manifest says {entry['rows']}")
    result = {
        "status": "complete",
        "warehouse": warehouse,
        "location": location,
        "schema": RAW_SCHEMA,
        "tables": {name: {"rows": counts[name]} for name in tables},
    }
    folder.record_step(STEP, result)
    return result
