"""The same dirty snapshot built on DuckDB and on PostgreSQL exports byte-identical JSONL."""

from __future__ import annotations

import shutil

import pytest

from perm_rehearsal.demo_data.generator import generate
from loader.export import export
from loader.extract import extract
from loader.run_folder import RunFolder
from loader.stage import stage
from loader.transform import transform

AS_OF = "2026-01-15T00:00:00Z"


@pytest.mark.slow  # two full dbt builds; test_export.py compares the warehouses on small marts in every run
def test_duckdb_and_postgres_warehouses_export_identical_bytes(tmp_path, pg_server, monkeypatch):
    source = pg_server.create_database("wh_source")
    generate(source, n_users=20, n_cases=60, seed=23, dirty=True)
    duck = RunFolder.create(tmp_path / "duck", "same")
    extract(duck, source, echo=lambda _line: None)
    pg = RunFolder.create(tmp_path / "pg", "same")
    shutil.copytree(duck.raw_dir, pg.raw_dir)
    manifest = duck.read_manifest()  # the extract step: snapshot counts and checksums
    pg.write_manifest(manifest)

    stage(duck, "duckdb", echo=lambda _line: None)
    transform(duck, as_of=AS_OF)
    export(duck)

    warehouse_db = pg_server.create_database("wh_warehouse")
    for name in pg_server.env("wh_warehouse"):
        monkeypatch.delenv(name, raising=False)  # the DSN alone must reach dbt and the export
    monkeypatch.setenv("PERM_PG_SCHEMA", "perm")
    stage(pg, "postgres", warehouse_dsn=warehouse_db, echo=lambda _line: None)
    transform(pg, as_of=AS_OF, warehouse="postgres", warehouse_dsn=warehouse_db)
    export(pg, warehouse_dsn=warehouse_db)

    names = sorted(p.name for p in duck.export_dir.iterdir())
    assert names == sorted(p.name for p in pg.export_dir.iterdir())
    assert {"users.jsonl", "cases.jsonl", "userProfiles.jsonl", "rejects.jsonl"} <= set(names)
    for name in names:
        assert (duck.export_dir / name).read_bytes() == (pg.export_dir / name).read_bytes(), name
    assert (duck.export_dir / "cases.jsonl").stat().st_size > 0
