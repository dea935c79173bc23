"""A profile insert whose response is lost stays this run's creation (mapping rule, rollback).

The companion's `migration:upsertProfiles` commits, the answer never arrives (emulator fault
`commit_then_drop`), and the repeat finds the profile already there. The importer must still record
it as `created`, so that `rollback --mode delete-created` removes it; a profile that was in the
target before the run stays `existing_profile`.
"""

from __future__ import annotations

import httpx
import pytest

from convex_marts_fixture import build_duckdb_run
from loader.backup import created_by_run, delete_created, load_backup, take_backup
from loader.convex.gateway import ConvexGateway, ConvexTarget, ConvexTransientError, RetryPolicy
from loader.convex.schema import Schema
from perm_rehearsal.emulator import Emulator, EmulatorConfig
from loader.export import export
from loader.importer import import_tables
from loader.mapping_table import MappingTable
from loader.run_folder import RunFolder

TABLES = ["users", "cases", "userProfiles"]
LOST_RESPONSE = {"endpoint": "/api/mutation", "action": "commit_then_drop", "times": 1}


def exported_run(tmp_path, run_id: str) -> RunFolder:
    folder = RunFolder.create(tmp_path / "runs", run_id)
    build_duckdb_run(folder, Schema.from_file())
    export(folder)
    return folder


def gateway_of(emulator: Emulator, attempts: int = 6) -> ConvexGateway:
    return ConvexGateway(ConvexTarget(emulator.url, emulator.admin_key), poll_interval=0.01, max_poll_interval=0.05,
                         retry=RetryPolicy(attempts=attempts, base_delay=0.01, max_delay=0.05))


def faults(emulator: Emulator, method: str, rules=None) -> None:
    response = httpx.request(method, f"{emulator.url}/_emulator/faults", json=rules, timeout=30,
                             headers={"Authorization": f"Convex {emulator.admin_key}"})
    response.raise_for_status()


def profile_rules(mapping: MappingTable) -> set[str]:
    return {row.match_rule for row in mapping.rows("userProfiles")}


@pytest.fixture
def emulator(tmp_path):
    with Emulator(EmulatorConfig(state_dir=tmp_path / "emulator")) as running:
        yield running


def test_retried_insert_after_a_lost_response_counts_as_created_and_rolls_back(tmp_path, emulator):
    folder = exported_run(tmp_path, "lost1")
    with gateway_of(emulator) as gateway, MappingTable(tmp_path / "mapping.sqlite") as mapping:
        take_backup(folder, gateway, TABLES)
        faults(emulator, "POST", LOST_RESPONSE)
        result = import_tables(folder, gateway, mapping=mapping, progress=False)
        assert result["tables"]["userProfiles"]["counts"] == {"created": 3}
        assert profile_rules(mapping) == {"created"}
        created = created_by_run(folder, gateway, mapping, load_backup(folder))
        assert delete_created(folder, gateway, created) == {"userProfiles": 3, "cases": 4, "users": 3}
        assert [list(gateway.iter_documents(t)) for t in TABLES] == [[], [], []]


def test_insert_committed_before_the_loader_stopped_counts_as_created_on_resume(tmp_path, emulator):
    folder = exported_run(tmp_path, "lost2")
    with MappingTable(tmp_path / "mapping.sqlite") as mapping:
        with gateway_of(emulator, attempts=2) as gateway:
            faults(emulator, "POST", [LOST_RESPONSE,
                                      {"endpoint": "/api/mutation", "action": "status", "status": 503, "times": None}])
            with pytest.raises(ConvexTransientError):
                import_tables(folder, gateway, mapping=mapping, progress=False)
            # the first batch (meta batch_size 2) was written, never confirmed; the second never got through
            assert len(list(gateway.iter_documents("userProfiles"))) == 2
            assert not list(mapping.rows("userProfiles"))
        faults(emulator, "DELETE")
        with gateway_of(emulator) as gateway:  # the resumed run's pre-flight read sees the profiles
            result = import_tables(folder, gateway, mapping=mapping, progress=False)
        assert result["tables"]["userProfiles"]["counts"] == {"created": 3}
        assert profile_rules(mapping) == {"created"}


def test_profiles_already_in_the_target_before_the_run_stay_existing(tmp_path, emulator):
    """A later run (its mapping table lost) sends identical profiles: they are not its creations."""
    with gateway_of(emulator) as gateway:
        with MappingTable(tmp_path / "first.sqlite") as mapping:
            import_tables(exported_run(tmp_path, "first"), gateway, mapping=mapping, progress=False)
        faults(emulator, "POST", LOST_RESPONSE)
        with MappingTable(tmp_path / "second.sqlite") as mapping:
            result = import_tables(exported_run(tmp_path, "second"), gateway, mapping=mapping, progress=False)
            assert result["tables"]["userProfiles"]["counts"] == {"existing_profile": 3}
            assert profile_rules(mapping) == {"existing_profile"}
