"""The gateway against the real emulator over HTTP: import flow, read-back, export, retries on
faults injected through `/_emulator/faults` (tests only; the gateway never calls /_emulator)."""

from __future__ import annotations

import gc
import json
import sys
import zipfile

import httpx
import pytest

from loader.convex.gateway import (
    ConvexAuthError, ConvexGateway, ConvexImportError, ConvexTarget, ConvexTransientError, RetryPolicy,
)
from loader.convex.ids import decode_id
from perm_rehearsal.emulator import Emulator, EmulatorConfig

PART = 64  # emulator's minimum non-final part size for these tests (5 MiB in production)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    config = EmulatorConfig(state_dir=tmp_path_factory.mktemp("gateway-emulator"), min_part_size=PART,
                            polls_per_state=2)
    with Emulator(config) as running:
        yield running


def control(emulator: Emulator, method: str, route: str, body=None) -> dict:
    response = httpx.request(method, f"{emulator.url}/_emulator/{route}", json=body, timeout=30,
                             headers={"Authorization": f"Convex {emulator.admin_key}"})
    response.raise_for_status()
    return response.json()


@pytest.fixture
def gw(emulator):
    control(emulator, "POST", "reset")
    with ConvexGateway(ConvexTarget(emulator.url, emulator.admin_key), min_part_size=PART,
                       poll_interval=0.02, max_poll_interval=0.05,
                       retry=RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)) as gateway:
        yield gateway


def calls(emulator: Emulator, method: str, path: str) -> int:
    return control(emulator, "GET", "faults")["calls"].get(f"{method} {path}", 0)


@pytest.fixture
def users_file(tmp_path):
    path = tmp_path / "users.jsonl"
    path.write_text("".join(json.dumps({"email": f"user{i:03d}@example.com", "name": f"User {i}"}) + "\n"
                            for i in range(20)))
    return path


def emails(gw: ConvexGateway) -> list[str]:
    return [doc["email"] for doc in gw.iter_documents("users", page_size=7)]


def test_multi_part_import_completes_and_reads_back(gw, emulator, users_file):
    states = []
    created = []
    result = gw.import_file(users_file, table="users", mode="requireEmpty", expected_rows=20,
                            on_created=created.append, progress=lambda s: states.append(s["state"]))
    assert result.num_rows_written == 20 and created == [result.import_id]
    assert calls(emulator, "POST", "/api/import/upload_part") == -(-users_file.stat().st_size // PART)
    assert states[0] == "uploaded" and states[-1] == "completed"
    assert "waiting_for_confirmation" in states
    assert emails(gw) == [f"user{i:03d}@example.com" for i in range(20)]
    assert gw.table_size("users") == 20
    number = gw.table_numbers()["users"]
    assert all(decode_id(doc["_id"])[0] == number for doc in gw.iter_documents("users"))


def test_failed_part_restarts_the_upload_without_duplicates(gw, emulator, users_file):
    control(emulator, "POST", "faults", {"endpoint": "/api/import/upload_part", "skip": 1, "status": 503})
    gw.import_file(users_file, table="users", mode="requireEmpty")
    assert calls(emulator, "POST", "/api/import/start_upload") == 2
    assert len(emails(gw)) == 20


def test_lost_finish_response_adopts_the_created_import(gw, emulator, users_file):
    control(emulator, "POST", "faults", {"endpoint": "/api/import/finish_upload", "action": "commit_then_drop"})
    result = gw.import_file(users_file, table="users", mode="requireEmpty")
    assert calls(emulator, "POST", "/api/import/finish_upload") == 1
    assert [imp["_id"] for imp in gw.list_imports()] == [result.import_id]
    assert len(emails(gw)) == 20


def test_transient_poll_and_confirm_failures_are_retried(gw, emulator, users_file):
    control(emulator, "POST", "faults", [
        {"endpoint": "/api/query", "status": 429, "times": 2},
        {"endpoint": "/api/perform_import", "action": "commit_then_status", "status": 500},
    ])
    gw.import_file(users_file, table="users", mode="requireEmpty")
    assert calls(emulator, "POST", "/api/perform_import") == 2
    assert len(emails(gw)) == 20


def test_replace_over_data_is_canceled_unless_deletions_are_allowed(gw, users_file, tmp_path):
    gw.import_file(users_file, table="users", mode="requireEmpty")
    one = tmp_path / "one.jsonl"
    one.write_text('{"email":"only@example.com"}\n')
    with pytest.raises(ConvexImportError, match="delete existing documents"):
        gw.import_file(one, table="users", mode="replace")
    canceled = gw.list_imports()[0]["state"]
    assert canceled["state"] == "failed" and "Import canceled" in canceled["error_message"]
    assert len(emails(gw)) == 20
    gw.import_file(one, table="users", mode="replace", allow_deletions=True)
    assert emails(gw) == ["only@example.com"]


def test_schema_violation_fails_the_import_with_the_server_message(gw, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"email": 42}\n')
    with pytest.raises(ConvexImportError, match="Hit an error while importing") as info:
        gw.import_file(bad, table="users", mode="requireEmpty")
    assert info.value.code == "ImportFailed"
    with pytest.raises(ConvexImportError, match="does not match the schema"):
        gw.import_one_shot(bad, table="users", mode="append")
    assert gw.table_size("users") == 0


def test_one_shot_import_streams_the_file_without_its_bom(gw, users_file):
    users_file.write_bytes(b"\xef\xbb\xbf" + users_file.read_bytes())
    assert gw.import_one_shot(users_file, table="users", mode="append") == 20
    assert len(emails(gw)) == 20


def test_wrong_key_is_fatal_and_not_retried(gw, emulator):
    with ConvexGateway(ConvexTarget(emulator.url, "convex-self-hosted|" + "0" * 64)) as wrong:
        with pytest.raises(ConvexAuthError) as info:
            wrong.list_tables()
    assert (info.value.status, info.value.code) == (401, "BadAdminKey")
    assert "0000000000" not in str(info.value)
    assert calls(emulator, "POST", "/api/query") == 1


def test_non_idempotent_mutation_is_not_retried(gw, emulator):
    control(emulator, "POST", "faults", {"endpoint": "/api/mutation", "action": "commit_then_status", "status": 500})
    with pytest.raises(ConvexTransientError):
        gw.mutation("migration:deleteByIds", {"table": "users", "ids": []}, idempotent=False)
    assert calls(emulator, "POST", "/api/mutation") == 1


def test_dropped_connections_are_retried_for_reads(gw, emulator, users_file):
    gw.import_one_shot(users_file, table="users", mode="append")
    control(emulator, "POST", "faults", {"endpoint": "/api/query", "action": "drop", "times": 2})
    assert len(emails(gw)) == 20


def test_delete_documents_and_companion_delete(gw, users_file):
    gw.import_one_shot(users_file, table="users", mode="append")
    ids = [doc["_id"] for doc in gw.iter_documents("users")]
    gw.delete_documents("users", ids[:5])
    assert gw.table_size("users") == 15
    result = gw.mutation("migration:deleteByIds", {"table": "users", "ids": ids[:10]}, idempotent=True)
    assert result == {"deleted": 5, "missing": 5}
    assert gw.table_size("users") == 10


def test_export_snapshot_downloads_the_current_state(gw, users_file, tmp_path):
    gw.import_one_shot(users_file, table="users", mode="append")
    seen = []
    path = gw.export_snapshot(tmp_path / "backup.zip", progress=lambda e: seen.append(e["state"]))
    assert seen[-1] == "completed"
    with zipfile.ZipFile(path) as archive:
        rows = [json.loads(line) for line in archive.read("users/documents.jsonl").splitlines()]
    assert sorted(rows, key=lambda d: d["_id"]) == sorted(gw.iter_documents("users"), key=lambda d: d["_id"])
    assert not (tmp_path / "backup.zip.part").exists()


CASES_FILE_AT_1M = 1_800_000_000  # bytes of the send file of 1,000,000 cases (≈ 1.8 KB per case)
FAULT_MIX = [  # ≈ 1 % of all requests, every kind of transient failure the emulator can inject
    {"action": "status", "status": 503}, {"action": "status", "status": 500}, {"action": "status", "status": 429},
    {"action": "drop"}, {"action": "commit_then_drop"}, {"action": "commit_then_status", "status": 502},
]


def test_uploads_of_a_million_case_file_survive_a_one_percent_fault_mix(emulator, tmp_path):
    """#14: a file split into as many parts as the 1M-case file, imported 20 times under a 1 % mix of
    transient faults on every endpoint: every import lands once (the whole-file restarts stay within
    the budget; a self-hosted target never gets a part twice)."""
    control(emulator, "POST", "reset")
    with ConvexGateway(ConvexTarget("http://127.0.0.1:1", emulator.admin_key)) as sizing:
        parts = -(-CASES_FILE_AT_1M // sizing.part_size(CASES_FILE_AT_1M))
    rows, imports = 40, 20
    files = []
    for run in range(imports):
        path = tmp_path / f"users{run}.jsonl"
        path.write_text("".join(json.dumps({"email": f"u{run:02d}-{i:04d}-{'x' * 400}@example.com",
                                            "name": f"User {run} {i}"}) + "\n" for i in range(rows)))
        files.append(path)
    part_size = -(-files[0].stat().st_size // parts)
    control(emulator, "POST", "faults", [{"endpoint": "*", "probability": 0.01 / len(FAULT_MIX), "times": None,
                                          "seed": seed, **fault} for seed, fault in enumerate(FAULT_MIX)])
    try:
        with ConvexGateway(ConvexTarget(emulator.url, emulator.admin_key), min_part_size=PART,
                           max_part_size=part_size, poll_interval=0.01, max_poll_interval=0.02,
                           retry=RetryPolicy(attempts=6, base_delay=0.001, max_delay=0.01)) as gw:
            assert not gw.resend_failed_parts and -(-files[0].stat().st_size // gw.part_size(
                files[0].stat().st_size)) == parts
            for path in files:
                gw.import_file(path, table="users", mode="append", expected_rows=rows)
            faulted = [rule["fired"] for rule in control(emulator, "GET", "faults")["rules"]]
            control(emulator, "DELETE", "faults")
            stored = emails(gw)
    finally:
        control(emulator, "DELETE", "faults")
    assert sum(faulted) >= 5  # the mix really hit the run
    assert sorted(stored) == sorted(f"u{run:02d}-{i:04d}-{'x' * 400}@example.com"
                                    for run in range(imports) for i in range(rows))


def test_a_sent_part_is_not_kept_alive_by_httpx(gw):
    """httpx keeps each request in a reference cycle until the cyclic collector runs; the part's
    bytes must not be part of it (at L that held several 57 MiB parts at once)."""
    token = gw._request("POST", "/api/import/start_upload", idempotent=True, area="import").json()["uploadToken"]
    lines = 1000
    chunk = b"{}\n" * lines  # built at run time (a folded constant is also held by the code object)
    gc.disable()
    try:
        gw._send_part(token, 1, chunk)
        assert sys.getrefcount(chunk) == 2  # this name and getrefcount's argument
    finally:
        gc.enable()
