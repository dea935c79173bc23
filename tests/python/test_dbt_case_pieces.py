"""The wide case models built in pieces (macros/case_pieces.sql) give the same marts as one piece.

The dirty snapshot plus the case-side dirty rows, built by dbt on DuckDB once with the default
piece size (one piece) and once with pieces of 3 cases: every convex_* and dq_* table is identical
row by row. The unit tests of the pieced models pass with pieces of 1 case (they run no hooks)."""

from __future__ import annotations

import duckdb
import pytest

from cases_dirty_snapshot import insert_statements
from loader.run_folder import RunFolder
from loader.stage import stage
from loader.transform import TransformFailed, run_dbt, run_settings, target_dir
from test_dbt_cross_warehouse import _duckdb_marts

AS_OF = "2024-06-15T00:00:00Z"
PIECED_MODELS = ("int_cases__notes", "int_cases__recruitment_methods")


def _built(dirty_snapshot, runs_dir, cases_per_piece: str | None, monkeypatch) -> RunFolder:
    folder = dirty_snapshot.copy_to(runs_dir)
    stage(folder, "duckdb", echo=lambda _line: None)
    with duckdb.connect(str(folder.warehouse_path)) as conn:
        for statement in insert_statements():
            conn.execute(statement)
    with monkeypatch.context() as env:
        if cases_per_piece is None:
            env.delenv("PERM_CASES_PER_PIECE", raising=False)
        else:
            env.setenv("PERM_CASES_PER_PIECE", cases_per_piece)
        settings = run_settings(folder, AS_OF, warehouse="duckdb")
        run_dbt(folder, settings, "seed")
        run_dbt(folder, settings, "run")
    return folder


def _rows_per_piece(folder: RunFolder, model: str, pieces: int) -> list[int]:
    """Rows of the model's compiled query for each piece alone."""
    compiled = next(target_dir(folder).glob(f"compiled/**/{model}.sql")).read_text()
    with duckdb.connect(str(folder.warehouse_path), read_only=True) as conn:
        conn.execute(f"set variable case_pieces = {pieces}")
        rows = []
        for piece in range(pieces):
            conn.execute(f"set variable case_piece = {piece}")
            rows.append(conn.execute(f"select count(*) from ({compiled})").fetchone()[0])
        return rows


def test_pieces_of_three_cases_build_the_same_marts_as_one_piece(dirty_snapshot, tmp_path, monkeypatch):
    whole = _built(dirty_snapshot, tmp_path / "whole", None, monkeypatch)
    pieced = _built(dirty_snapshot, tmp_path / "pieced", "3", monkeypatch)

    with duckdb.connect(str(pieced.warehouse_path), read_only=True) as conn:
        cases = conn.execute("select count(*) from main.int_cases__scalars").fetchone()[0]
        for model in PIECED_MODELS:
            assert conn.execute(f"select count(*) from main.{model}").fetchone()[0] == cases, model
    pieces = round(cases / 3)
    assert pieces >= 10, f"only {cases} cases: too few to build in pieces"
    for model in PIECED_MODELS:
        rows = _rows_per_piece(pieced, model, pieces)
        assert sum(rows) == cases and max(rows) < cases / 4, f"{model} is not filtered by piece: {rows}"

    whole_marts = _duckdb_marts(whole.warehouse_path)
    pieced_marts = _duckdb_marts(pieced.warehouse_path)
    assert sorted(whole_marts) == sorted(pieced_marts)
    assert whole_marts["convex_cases"][1], "convex_cases is empty: the snapshot exercised nothing"
    for name in sorted(whole_marts):
        columns, whole_rows = whole_marts[name]
        assert pieced_marts[name][0] == columns, name
        assert pieced_marts[name][1] == whole_rows, name

    with monkeypatch.context() as env:
        env.setenv("PERM_CASES_PER_PIECE", "1")
        selection = [f"test_type:unit,{model}" for model in PIECED_MODELS]
        run_dbt(pieced, run_settings(pieced, AS_OF, warehouse="duckdb"), "test", extra=("--select", *selection))


@pytest.mark.parametrize("value", ["0", "many"])
def test_a_piece_size_that_is_not_a_positive_number_stops_dbt_naming_it(value, tmp_path, monkeypatch):
    folder = RunFolder.create(tmp_path / "runs")
    monkeypatch.setenv("PERM_CASES_PER_PIECE", value)
    with pytest.raises(TransformFailed, match=f"PERM_CASES_PER_PIECE={value} is not a positive whole number"):
        run_dbt(folder, run_settings(folder, AS_OF, warehouse="duckdb"), "parse")
