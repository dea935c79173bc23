"""Bulk-imported documents (users, cases) stay this run's creations when the run finds them again
without their mapping rows: `import/<table>.absent.jsonl` is synced before each snapshot import, so
`rollback --mode delete-created` still deletes them (real emulator, real backup and rollback)."""

from __future__ import annotations

import json
import stat

import pytest

from loader.backup import created_by_run, delete_created, load_backup
from loader.convex.gateway import ConvexGateway, ConvexTarget
from loader.importer import SentWhileAbsent, import_tables
from operator_fixture import migrated_run, pre_existing_v2_user, snapshot

RUN_USERS = ["ann@example.com", "cy@example.com"]  # bob@example.com signed up on v2 before the run


def _signup_then_record(states: list):
    def before_import(gateway, work_dir):
        pre_existing_v2_user(gateway, work_dir)
        states.append(snapshot(gateway))
    return before_import


def _absent_keys(folder, table: str) -> list:
    path = folder.path("import", f"{table}.absent.jsonl")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # personal data
    return [json.loads(line) for line in path.read_text().splitlines()]


def _assert_rollback_deletes_exactly_the_run_s_documents(m, pre_run: dict) -> None:
    created = created_by_run(m.folder, m.gateway, m.mapping, load_backup(m.folder))
    assert {t: len(ids) for t, ids in created.items()} == {"users": 2, "cases": 4, "userProfiles": 3}
    assert delete_created(m.folder, m.gateway, created) == {"userProfiles": 3, "cases": 4, "users": 2}
    assert snapshot(m.gateway) == pre_run  # the v2 sign-up and nothing else is left


class DiesAfterTheFirstImport(ConvexGateway):
    """A real gateway whose process 'dies' right after its first snapshot import committed."""

    died = False

    def import_file(self, *args, **kwargs):
        result = super().import_file(*args, **kwargs)
        if not DiesAfterTheFirstImport.died:
            DiesAfterTheFirstImport.died = True
            raise KeyboardInterrupt
        return result


class RecordsAbsentKeysAtImport(ConvexGateway):
    """A real gateway that notes what `users.absent.jsonl` held when the users import was sent."""

    seen: list = []

    def import_file(self, path, *, table=None, **kwargs):
        if table == "users":
            absent = path.parent / "users.absent.jsonl"
            self.seen.append(absent.read_text() if absent.is_file() else None)
        return super().import_file(path, table=table, **kwargs)


def _real_gateway(gateway_class, m):
    return gateway_class(ConvexTarget(m.emulator.url, m.emulator.admin_key), poll_interval=0.01,
                         max_poll_interval=0.05)


def test_resume_after_the_mapping_rows_were_lost_keeps_the_run_s_users_and_cases_as_created(tmp_path):
    states: list = []
    with migrated_run(tmp_path, before_import=_signup_then_record(states)) as m:
        with m.mapping.db:  # the mapping table lost the rows of the bulk-imported tables
            m.mapping.db.execute("delete from id_mapping where convex_table in ('users', 'cases')")
        again = import_tables(m.folder, m.gateway, mapping=m.mapping, progress=False)
        assert again["tables"]["users"]["counts"] == {"created": 2, "existing_email": 1}
        assert again["tables"]["cases"]["counts"] == {"created": 4}
        assert sorted(_absent_keys(m.folder, "users")) == RUN_USERS
        assert len(_absent_keys(m.folder, "cases")) == 4
        rules = {row.email_norm: row.match_rule for row in m.mapping.rows("users") if row.match_rule != "merged_email"}
        assert rules == {"ann@example.com": "created", "bob@example.com": "existing_email", "cy@example.com": "created"}
        assert {row.match_rule for row in m.mapping.rows("cases")} == {"created"}
        _assert_rollback_deletes_exactly_the_run_s_documents(m, states[0])


def test_killed_after_the_users_import_committed_then_resumed_without_its_import_state(tmp_path):
    """`import --no-resume` forgets the recorded import; its users are found again by key."""
    states: list = []
    DiesAfterTheFirstImport.died = False
    with migrated_run(tmp_path, before_import=_signup_then_record(states), import_it=False) as m:
        with _real_gateway(DiesAfterTheFirstImport, m) as dying, pytest.raises(KeyboardInterrupt):
            import_tables(m.folder, dying, mapping=m.mapping, progress=False)
        assert list(m.mapping.rows()) == []  # died before mapping anything
        assert len(list(m.gateway.iter_documents("users"))) == 3
        result = import_tables(m.folder, m.gateway, mapping=m.mapping, resume=False, progress=False)
        assert result["tables"]["users"]["counts"] == {"created": 2, "existing_email": 1}
        assert "imports" not in result["tables"]["users"]  # nothing sent twice
        assert result["tables"]["cases"]["counts"] == {"created": 4}
        _assert_rollback_deletes_exactly_the_run_s_documents(m, states[0])


def test_absent_keys_are_on_disk_before_the_import_is_sent_and_a_dry_run_writes_none(tmp_path):
    RecordsAbsentKeysAtImport.seen = []
    with migrated_run(tmp_path, before_import=lambda gateway, work_dir: pre_existing_v2_user(gateway, work_dir),
                      import_it=False) as m:
        import_tables(m.folder, m.gateway, mapping=m.mapping, dry_run=True, progress=False)
        assert not m.folder.path("import", "users.absent.jsonl").exists()
        with _real_gateway(RecordsAbsentKeysAtImport, m) as recording:
            import_tables(m.folder, recording, mapping=m.mapping, progress=False)
    [at_send] = RecordsAbsentKeysAtImport.seen
    assert sorted(json.loads(line) for line in at_send.splitlines()) == RUN_USERS  # not the v2 sign-up


def test_a_line_torn_by_a_killed_note_is_dropped_and_the_file_stays_readable(tmp_path):
    path = tmp_path / "users.absent.jsonl"
    path.write_text('"ann@example.com"\n"cy@exa')  # killed while appending, before the sync
    absent = SentWhileAbsent(path)
    assert absent.keys == {"ann@example.com"}
    absent.note(["cy@example.com", "ann@example.com", None])
    assert path.read_text() == '"ann@example.com"\n"cy@example.com"\n'
    assert SentWhileAbsent(path).keys == {"ann@example.com", "cy@example.com"}
    assert absent.sent("cy@example.com") and not absent.sent("bob@example.com") and not absent.sent(None)
