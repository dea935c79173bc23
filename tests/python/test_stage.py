"""Stage: the raw snapshot in DuckDB and in Postgres, identical, typed from the contract."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import psycopg
import pytest

from loader.extract import extract
from loader.run_folder import RunFolder
from loader.source_contract import CONTRACT_PATH, load_contract
from loader.stage import StageError, stage

REPO = Path(__file__).resolve().parents[2]
PERM_MIGRATE = str(Path(sys.executable).with_name("perm-migrate"))
PG_TYPES = {"character varying": "varchar", "text": "varchar", "date": "date", "boolean": "boolean",
            "bigint": "bigint", "timestamp without time zone": "timestamp"}


def quiet(_line: str) -> None:
    """Discard echo output."""


def duckdb_tables(path: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {t.name: con.execute(f"SELECT * FROM raw.{t.name} ORDER BY id").fetchall() for t in load_contract()}


def postgres_tables(dsn: str) -> dict[str, list[tuple]]:
    with psycopg.connect(dsn) as conn:
        return {t.name: conn.execute(f"SELECT * FROM raw.{t.name} ORDER BY id").fetchall() for t in load_contract()}


def duckdb_types(path: Path) -> dict[tuple[str, str], str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {(t, c): ty.lower() for t, c, ty in con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'raw'").fetchall()}


def postgres_types(dsn: str) -> dict[tuple[str, str], str]:
    with psycopg.connect(dsn) as conn:
        return {(t, c): PG_TYPES[ty] for t, c, ty in conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'raw'")}


def contract_types() -> dict[tuple[str, str], str]:
    return {(t.name, c.name): c.raw_type for t in load_contract() for c in t.columns}


def test_duckdb_and_postgres_hold_identical_typed_data(staged_duckdb_run, staged_postgres_run, dirty_snapshot):
    folder, dsn = staged_postgres_run
    in_duckdb, in_postgres = duckdb_tables(staged_duckdb_run.warehouse_path), postgres_tables(dsn)
    counts = {t: e["rows"] for t, e in dirty_snapshot.folder.read_manifest()["steps"]["extract"]["tables"].items()}
    assert {t: len(rows) for t, rows in in_duckdb.items()} == counts
    assert in_duckdb == in_postgres
    assert duckdb_types(staged_duckdb_run.warehouse_path) == postgres_types(dsn) == contract_types()
    assert any(r[-1] is not None for r in in_duckdb["cases"])  # soft-deleted case: deleted_at staged
    step = staged_duckdb_run.read_manifest()["steps"]["stage"]
    assert step["status"] == "complete" and step["tables"]["cases"]["rows"] == counts["cases"]


def test_text_typed_source_column_is_staged_as_varchar_on_both(source_database, fresh_database, tmp_path):
    dsn, _ = source_database(seed=12, n_users=3, n_cases=15)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE public.cases ALTER COLUMN pwd_filing_date TYPE text "
                     "USING to_char(pwd_filing_date, 'MM/DD/YYYY')")
        conn.execute("ALTER TABLE public.cases ALTER COLUMN recruitment_applicants_count TYPE numeric")
    folder = RunFolder.create(tmp_path, "variant")
    extract(folder, dsn, echo=quiet)
    notes: list[str] = []
    stage(folder, "duckdb", echo=notes.append)
    warehouse = fresh_database("wh_variant")
    stage(folder, "postgres", warehouse_dsn=warehouse, echo=quiet)
    assert "note: raw.cases.pwd_filing_date staged as varchar (source type text)" in notes
    expected = {**contract_types(), ("cases", "pwd_filing_date"): "varchar",
                ("cases", "recruitment_applicants_count"): "varchar"}
    assert duckdb_types(folder.warehouse_path) == postgres_types(warehouse) == expected
    assert duckdb_tables(folder.warehouse_path) == postgres_tables(warehouse)
    dates = [r[19] for r in duckdb_tables(folder.warehouse_path)["cases"]]
    assert all(d is None or (len(d) == 10 and d[2] == "/") for d in dates)


def test_tampered_or_incomplete_snapshot_is_refused(dirty_snapshot, tmp_path):
    folder = dirty_snapshot.copy_to(tmp_path / "runs")
    with folder.path("raw", "cases.jsonl").open("ab") as fh:
        fh.write(b'{"id": "00000000-0000-0000-0000-000000000000"}\n')
    with pytest.raises(StageError, match=r"table cases: .* does not match the manifest"):
        stage(folder, "duckdb", echo=quiet)
    assert not folder.warehouse_path.exists()
    manifest = folder.read_manifest()
    manifest["steps"]["extract"]["status"] = "failed"
    folder.write_manifest(manifest)
    with pytest.raises(StageError, match="no complete extract"):
        stage(folder, "duckdb", echo=quiet)


def test_row_count_mismatch_fails(dirty_snapshot, tmp_path):
    folder = dirty_snapshot.copy_to(tmp_path / "runs")
    manifest = folder.read_manifest()
    manifest["steps"]["extract"]["tables"]["user_settings"]["rows"] += 1
    folder.write_manifest(manifest)
    with pytest.raises(StageError, match=r"table raw.user_settings: staged \d+ rows, the manifest says \d+"):
        stage(folder, "duckdb", echo=quiet)


def test_cli_stage_both_warehouses(dirty_snapshot, pg_server, fresh_database, tmp_path):
    folder = dirty_snapshot.copy_to(tmp_path / "runs")
    env = {**os.environ, "PERM_RUNS_DIR": str(tmp_path / "runs")}
    done = subprocess.run([PERM_MIGRATE, "stage", "--run-id", folder.run_id], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "-> duckdb" in done.stdout and folder.warehouse_path.is_file()
    dbname = fresh_database("wh_cli").rsplit("/", 1)[1]
    done = subprocess.run([PERM_MIGRATE, "stage", "--run-id", folder.run_id, "--warehouse", "postgres"],
                          env={**env, **pg_server.env(dbname)}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert pg_server.password not in done.stdout + done.stderr
    done = subprocess.run([PERM_MIGRATE, "stage", "--run-id", "no-such-run"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "not found" in done.stderr


@pytest.fixture
def raw_schema_project(tmp_path) -> Path:
    """A minimal dbt project: the shipped dbt_project.yml, profiles.yml, source contract and macro."""
    project = tmp_path / "project"
    (project / "models" / "staging").mkdir(parents=True)
    (project / "macros").mkdir()
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(REPO / name, project / name)
    shutil.copy(CONTRACT_PATH, project / "models" / "staging" / CONTRACT_PATH.name)
    shutil.copy(REPO / "macros" / "raw_schema.sql", project / "macros" / "raw_schema.sql")
    return project


def run_operation(project: Path, target: str, env: dict[str, str], monkeypatch) -> None:
    """`dbt run-operation create_empty_raw_schema` in-process (dbtRunner)."""
    from dbt.cli.main import dbtRunner

    from loader.transform import release_duckdb

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        result = dbtRunner().invoke(["run-operation", "create_empty_raw_schema", "--project-dir", str(project),
                                     "--profiles-dir", str(project), "--target", target, "--target-path",
                                     str(project / "target"), "--log-path", str(project / "logs"), "--quiet"])
    finally:
        release_duckdb()
    assert result.success, result.exception


def test_create_empty_raw_schema_matches_the_contract_on_both(raw_schema_project, pg_server, fresh_database, tmp_path,
                                                              monkeypatch):
    duck = tmp_path / "empty.duckdb"
    dbname = fresh_database("wh_empty").rsplit("/", 1)[1]
    run_operation(raw_schema_project, "duckdb", {"PERM_DUCKDB_PATH": str(duck)}, monkeypatch)
    run_operation(raw_schema_project, "postgres", pg_server.env(dbname), monkeypatch)
    assert duckdb_types(duck) == postgres_types(pg_server.dsn(dbname)) == contract_types()
    assert all(rows == [] for rows in duckdb_tables(duck).values())


def test_restage_postgres_replaces_tables_that_dbt_views_depend_on(staged_postgres_run):
    folder, dsn = staged_postgres_run
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA perm")
        conn.execute("CREATE VIEW perm.stg_cases AS SELECT id FROM raw.cases")
    result = stage(folder, "postgres", warehouse_dsn=dsn, echo=quiet)
    assert result["tables"]["cases"]["rows"] == len(postgres_tables(dsn)["cases"]) > 0


def test_infinite_and_bc_dates_reach_both_warehouses_as_text(source_database, fresh_database, tmp_path):
    dsn, _ = source_database(seed=13, n_users=2, n_cases=4)
    with psycopg.connect(dsn, autocommit=True) as conn:
        first, second = (r[0] for r in conn.execute("SELECT id FROM public.cases ORDER BY id LIMIT 2"))
        conn.execute("ALTER TABLE public.cases DROP CONSTRAINT cases_case_status_check")  # variant statuses
        conn.execute("UPDATE public.cases SET pwd_filing_date = '0044-03-15 BC', pwd_determination_date = 'infinity', "
                     "updated_at = '-infinity', created_at = '12000-06-01 00:00:00+00' WHERE id = %s", [first])
        conn.execute("UPDATE public.cases SET pwd_filing_date = '-infinity' WHERE id = %s", [second])
    folder = RunFolder.create(tmp_path, "odd")
    result = extract(folder, dsn, echo=quiet)
    assert (f"table public.cases: column pwd_filing_date holds infinity or years outside 1-9999 in 2 row(s) "
            f"(first id {first}); staged as text") in result["notes"]
    assert any(f"column created_at holds infinity or years outside 1-9999 in 1 row(s) (first id {first})" in n
               for n in result["notes"])
    warehouse = fresh_database("wh_odd")
    notes: list[str] = []
    stage(folder, "duckdb", echo=notes.append)
    stage(folder, "postgres", warehouse_dsn=warehouse, echo=quiet)
    assert "note: raw.cases.updated_at staged as varchar (source type timestamp with time zone)" in notes
    in_duckdb = duckdb_tables(folder.warehouse_path)
    assert in_duckdb == postgres_tables(warehouse)
    rows = {r[0]: r for r in in_duckdb["cases"]}
    odd, other = rows[str(first)], rows[str(second)]
    assert (odd[19], odd[20], odd[67], odd[68]) == ("0044-03-15 BC", "infinity", "12000-06-01 00:00:00+00", "-infinity")
    assert other[19] == "-infinity"
    assert all(len(r[68]) == 26 and r[68][10] == " " for key, r in rows.items() if key != str(first))  # typed form kept
    types = duckdb_types(folder.warehouse_path)
    assert types[("cases", "pwd_filing_date")] == "varchar" and types[("cases", "job_order_start_date")] == "date"
    assert types[("cases", "deleted_at")] == "timestamp"


def _rewrite_raw(folder: RunFolder, table: str, lines: list[bytes]) -> None:
    """Replace a raw snapshot file and record its new size and sha256, as an extract would."""
    raw = folder.path("raw", f"{table}.jsonl")
    raw.write_bytes(b"".join(lines))
    manifest = folder.read_manifest()
    entry = manifest["steps"]["extract"]["tables"][table]
    entry["bytes"], entry["sha256"] = raw.stat().st_size, hashlib.sha256(raw.read_bytes()).hexdigest()
    folder.write_manifest(manifest)


def test_duckdb_stage_failure_names_the_table(dirty_snapshot, tmp_path):
    """A typed column holding a value DuckDB cannot read (e.g. a snapshot from an older extract): one line, the table."""
    folder = dirty_snapshot.copy_to(tmp_path / "runs")
    lines = folder.path("raw", "case_rfi.jsonl").read_bytes().splitlines(keepends=True)
    assert lines, "the dirty snapshot has RFI rows"
    row = json.loads(lines[0])
    row["received_date"] = "infinity BC"
    _rewrite_raw(folder, "case_rfi", [json.dumps(row).encode() + b"\n", *lines[1:]])
    with pytest.raises(StageError) as failure:
        stage(folder, "duckdb", echo=quiet)
    message = str(failure.value)
    assert message.startswith("DuckDB staging of table case_rfi failed: ") and "\n" not in message


def test_a_line_longer_than_duckdbs_default_object_size_is_staged_whole(dirty_snapshot, tmp_path):
    """The JSON reader is sized from the snapshot's longest line (a 17 MiB note passes DuckDB's 16 MiB default)."""
    folder = dirty_snapshot.copy_to(tmp_path / "runs")
    lines = folder.path("raw", "cases.jsonl").read_bytes().splitlines(keepends=True)
    row = json.loads(lines[0])
    row["recruitment_notes"] = "n" * (17 << 20)
    _rewrite_raw(folder, "cases", [json.dumps(row).encode() + b"\n", *lines[1:]])
    stage(folder, "duckdb", echo=quiet)
    with duckdb.connect(str(folder.warehouse_path), read_only=True) as con:
        length = con.execute("select length(recruitment_notes) from raw.cases where id = ?", [row["id"]]).fetchone()
    assert length == (17 << 20,)


def test_duckdb_connections_are_memory_bounded_and_spill_next_to_the_warehouse(tmp_path, monkeypatch):
    from loader.duckdb_settings import connect_duckdb

    monkeypatch.setenv("PERM_DUCKDB_MEMORY_LIMIT", "300MB")
    with connect_duckdb(tmp_path / "w.duckdb") as con:
        limit, spill = con.execute("select current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
    assert limit == "286.1 MiB" and spill == str(tmp_path / "w.duckdb.tmp")


def test_an_invalid_memory_limit_is_one_clear_line(dirty_snapshot, tmp_path):
    folder = dirty_snapshot.copy_to(tmp_path / "runs")
    env = {**os.environ, "PERM_RUNS_DIR": str(tmp_path / "runs"), "PERM_DUCKDB_MEMORY_LIMIT": "lots"}
    done = subprocess.run([PERM_MIGRATE, "stage", "--run-id", folder.run_id], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "PERM_DUCKDB_MEMORY_LIMIT='lots' is not a DuckDB memory size" in done.stderr
