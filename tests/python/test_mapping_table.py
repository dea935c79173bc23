"""Durable mapping table: uniqueness, re-run semantics, replacement log, survives reopening."""

from __future__ import annotations

import stat

import pytest

from loader.mapping_table import MappingRow, MappingTable, default_path


def row(v1_uuid="0000000A-0000-4000-8000-000000000001", convex_id="id1", rule="created", table="users"):
    return MappingRow("app_users", v1_uuid, "ann@example.com", table, convex_id, rule)


def test_record_is_unique_and_idempotent(tmp_path):
    path = tmp_path / "m.sqlite"
    with MappingTable(path) as mapping:
        assert mapping.record([row(), row(table="userProfiles", convex_id="p1")], "run1") == {
            "inserted": 2, "unchanged": 0, "replaced": 0}
        assert mapping.record([row(rule="mapping_table")], "run2") == {"inserted": 0, "unchanged": 1, "replaced": 0}
    with MappingTable(path) as mapping:  # outlives the process/run
        kept = mapping.lookup("app_users", "0000000a-0000-4000-8000-000000000001", "users")
        assert kept.convex_id == "id1" and kept.match_rule == "created"  # confirmed row left unchanged
        assert kept.v1_uuid == "0000000a-0000-4000-8000-000000000001"  # stored lowercase
        assert mapping.convex_id_for_email("users", "ann@example.com") == "id1"
        assert mapping.convex_id_for_email("users", "ANN@example.com") is None
        assert len(list(mapping.rows())) == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_changed_id_is_replaced_and_logged(tmp_path):
    with MappingTable(tmp_path / "m.sqlite") as mapping:
        mapping.record([row()], "run1")
        assert mapping.record([row(convex_id="id2", rule="created")], "run2")["replaced"] == 1
        assert mapping.lookup("app_users", row().v1_uuid, "users").convex_id == "id2"
        [change] = mapping.changes()
        assert change[3:6] == ("id1", "id2", "run2")


def test_unknown_match_rule_is_refused(tmp_path):
    with MappingTable(tmp_path / "m.sqlite") as mapping, pytest.raises(ValueError):
        mapping.record([row(rule="guess")], "run1")


def test_default_path_is_outside_run_folders(monkeypatch, tmp_path):
    monkeypatch.delenv("PERM_MAPPING_DB", raising=False)
    monkeypatch.setenv("PERM_RUNS_DIR", str(tmp_path))
    assert default_path() == tmp_path / "mapping.sqlite"
    monkeypatch.setenv("PERM_MAPPING_DB", str(tmp_path / "x.sqlite"))
    assert default_path() == tmp_path / "x.sqlite"


def test_rows_of_one_batch_apply_in_order(tmp_path):
    """A batch is recorded as if row by row: a key's later row sees its earlier one."""
    with MappingTable(tmp_path / "m.sqlite") as mapping:
        assert mapping.record([row(), row(), row(convex_id="id2")], "run1") == {
            "inserted": 1, "unchanged": 1, "replaced": 1}
        assert mapping.lookup("app_users", row().v1_uuid, "users").convex_id == "id2"
        assert [change[3:5] for change in mapping.changes()] == [("id1", "id2")]
        assert mapping.has_rows("users") and not mapping.has_rows("cases")
