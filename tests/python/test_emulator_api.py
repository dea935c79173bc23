"""Emulator HTTP surface over real HTTP: auth, function API, system queries, exports, restart, limits, faults."""

import io
import json
import time
import zipfile

import httpx
import pytest
from emulator_support import EmuClient, client, emu, running_emulator  # noqa: F401 (fixtures)

from loader.convex.ids import decode_id


def load_users(client, n):
    assert client.oneshot("users", [{"email": f"u{i}@x.y"} for i in range(n)]).status_code == 200


# -- auth and headers ---------------------------------------------------------------------------------


def test_missing_credentials_on_admin_endpoint_is_403(emu):
    anon = EmuClient(emu, key=None)
    r = anon.http.post("/api/import/start_upload")
    assert (r.status_code, r.json()["code"]) == (403, "BadDeployKey")
    r = anon.http.post("/api/function", json={"path": "_system/cli/tables", "args": {}})
    assert (r.status_code, r.json()["code"]) == (403, "BadDeployKey")
    bearer = anon.http.post("/api/import/start_upload", headers={"Authorization": "Bearer abc.def"})
    assert bearer.status_code == 403


def test_wrong_key_is_401(emu):
    wrong = EmuClient(emu, key="convex-self-hosted|0000")
    r = wrong.http.post("/api/query", json={"path": "_system/cli/tables", "args": {}, "format": "json"})
    assert r.status_code == 401
    assert r.json() == {"code": "BadAdminKey", "message": "The provided admin key was invalid for this instance"}


def test_key_forms_accepted(emu):
    for headers in ({"Authorization": f"CONVEX {emu.admin_key}"}, {"Authorization": f"Convex prod:{emu.admin_key}"}):
        r = httpx.post(f"{emu.url}/api/import/start_upload", headers=headers)
        assert r.status_code == 200, r.text
    r = httpx.post(f"{emu.url}/api/import/start_upload", params={"adminKey": emu.admin_key})
    assert r.status_code == 200


@pytest.mark.parametrize("header", ["pytest", "pytest-abc", "-1.0.0"])
def test_malformed_convex_client_is_400(emu, header):
    c = EmuClient(emu, client=header)
    r = c.http.post("/api/query", json={"path": "_system/cli/tables", "args": {}})
    assert (r.status_code, r.json()["code"]) == (400, "InvalidClientVersion")


def test_any_wellformed_client_accepted(emu):
    for name in ("npm-cli-1.48.0", "npm-1.48.0", "perm-migrate-loader-0.1.0"):
        c = EmuClient(emu, client=name)
        assert c.call("query", "_system/cli/tableSize", {"tableName": "users"})["status"] == "success"


# -- function API ---------------------------------------------------------------------------------------


def test_query_get_and_post_forms(client):
    load_users(client, 2)
    r = client.http.get("/api/query", params={"path": "_system/cli/tableSize",
                                              "args": json.dumps({"tableName": "users"}), "format": "json"})
    assert r.json() == {"status": "success", "value": 2}
    r = client.http.post("/api/query", json={"path": "_system/cli/tableSize", "args": [{"tableName": "users"}],
                                             "format": "convex_encoded_json"})
    assert r.json()["value"] == 2


def test_run_and_function_endpoints(client):
    load_users(client, 3)
    r = client.http.post("/api/run/_system/cli/tableSize/default", json={"args": {"tableName": "users"}})
    assert r.json() == {"status": "success", "value": 3}
    r = client.http.post("/api/function", json={"path": "_system/cli/tableSize", "args": {"tableName": "users"},
                                                "format": "json"})
    assert r.json()["value"] == 3


def test_bad_format_and_path(client):
    r = client.http.post("/api/query", json={"path": "_system/cli/tables", "args": {}, "format": "xml"})
    assert (r.status_code, r.json()["code"]) == (400, "BadFormat")
    for path in ("a:b:c", "", "../x:y", "mod:1bad"):
        r = client.http.post("/api/query", json={"path": path, "args": {}, "format": "json"})
        assert (r.status_code, r.json()["code"]) == (400, "BadConvexFunctionIdentifier"), path


def test_function_errors_are_http_200_udf_errors(client, emu):
    body = client.call("query", "nothing/here:fn")
    assert body == {"status": "error", "errorMessage": "Could not find public function for 'nothing/here:fn'."}
    anon = EmuClient(emu, key=None)
    body = anon.call("query", "_system/cli/tables", {"paginationOpts": {"numItems": 10, "cursor": None}})
    assert body["errorMessage"] == "Could not find public function for '_system/cli/tables:default'."
    body = client.call("mutation", "_system/cli/tableSize", {"tableName": "users"})
    assert body["errorMessage"] == (
        "Trying to execute _system/cli/tableSize:default as Mutation, but it is defined as Query.")
    body = client.call("query", "_system/cli/tableSize", {})
    assert body["status"] == "error" and body["errorMessage"].startswith("ArgumentValidationError")


def test_request_body_over_16_mib_is_413(client):
    big = {"path": "_system/cli/tableSize", "args": {"tableName": "x" * ((16 << 20) + 3000)}, "format": "json"}
    r = client.http.post("/api/query", content=json.dumps(big))
    assert r.status_code == 413


def test_unknown_routes_are_404_and_logged(client, caplog):
    with caplog.at_level("WARNING", logger="loader.emulator"):
        r = client.http.post("/api/streaming_import/whatever")
    assert r.status_code == 404 and r.content == b""
    assert "unknown route: POST /api/streaming_import/whatever" in caplog.text


# -- system queries ---------------------------------------------------------------------------------------


def test_tables_mapping_and_sizes(client):
    tables = client.value("_system/cli/tables", {"paginationOpts": {"numItems": 10000, "cursor": None}})
    assert tables["isDone"] is True
    assert sorted(t["name"] for t in tables["page"]) == ["cases", "jobDescriptionTemplates", "userProfiles", "users"]
    mapping = client.value("_system/frontend/getTableMapping")
    assert mapping["10004"] == "users" and "_scheduled_functions" in mapping.values()
    assert client.size("users") == 0 and client.size("doesNotExist") == 0


def test_table_data_pages_with_opaque_cursor_both_orders(client):
    load_users(client, 25)
    asc = client.table("users", page_size=4)
    assert len(asc) == 25 and len({d["_id"] for d in asc}) == 25
    assert all(set(d) == {"_id", "_creationTime", "email"} for d in asc)
    desc, cursor = [], None
    while True:
        page = client.value("_system/cli/tableData", {"table": "users", "order": "desc",
                                                      "paginationOpts": {"numItems": 6, "cursor": cursor}})
        desc.extend(page["page"])
        if page["isDone"]:
            break
        cursor = page["continueCursor"]
        assert isinstance(cursor, str)
    assert desc == list(reversed(asc))
    missing = client.value("_system/cli/tableData", {"table": "nope", "paginationOpts": {"numItems": 5, "cursor": None}})
    assert missing == {"page": [], "isDone": True, "continueCursor": "end"}


def test_delete_documents(client):
    load_users(client, 3)
    docs = client.table("users")
    result = client.value("_system/frontend/deleteDocuments",
                          {"toDelete": [{"id": docs[0]["_id"], "tableName": "users"}]}, endpoint="mutation")
    assert result == {"success": True}
    bad = client.value("_system/frontend/deleteDocuments",
                       {"toDelete": [{"id": docs[1]["_id"], "tableName": "users"},
                                     {"id": docs[2]["_id"], "tableName": "cases"}]}, endpoint="mutation")
    assert bad["success"] is False
    assert [d["_id"] for d in client.table("users")] == [docs[1]["_id"], docs[2]["_id"]]  # all or nothing


# -- snapshot export and restore ---------------------------------------------------------------------


def wait_export(client):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        latest = client.value("_system/cli/exports:getLatest")
        if latest["state"] in ("completed", "failed"):
            return latest
        time.sleep(0.02)
    raise AssertionError("export stuck")


def test_snapshot_export_layout_and_restore(client):
    assert client.value("_system/cli/exports:getLatest") is None
    load_users(client, 3)
    assert client.http.post("/api/export/request/zip", params={"includeStorage": "false"}).status_code == 200
    latest = wait_export(client)
    assert latest["state"] == "completed" and latest["format"] == {"format": "zip", "include_storage": False}
    r = client.http.get(f"/api/export/zip/{latest['start_ts']}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert f"snapshot_emulator_{latest['start_ts']}.zip" in r.headers["content-disposition"]
    assert client.http.get(f"/api/export/zip/{latest['_id']}").content == r.content
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        tables = [json.loads(x) for x in z.read("_tables/documents.jsonl").decode().splitlines()]
        assert {"name": "users", "id": 10004} in tables and {"name": "cases", "id": 10001} in tables
        lines = z.read("users/documents.jsonl").decode().splitlines()
        assert z.read("users/generated_schema.jsonl").decode().strip() == '"uniform"'
        assert z.read("cases/documents.jsonl") == b""
    rows = [json.loads(x) for x in lines]
    assert [x["_id"] for x in rows] == sorted(x["_id"] for x in rows)  # ordered by _id
    assert all(".0" in line or "e" in line.split('"_creationTime":')[1][:25] for line in lines if ".0" in line)
    assert '"_creationTime":' in lines[0]
    original = {d["_id"]: d for d in client.table("users")}
    # damage, then restore by importing the ZIP in replace mode
    assert client.oneshot("users", [{"email": "new@x.y"}], mode="replace").status_code == 200
    doc = client.run_import(None, r.content, mode="replace", fmt="zip", part_size=1 << 20)
    assert doc["state"]["state"] == "completed", doc
    assert {d["_id"]: d for d in client.table("users")} == original


def test_export_errors(client):
    r = client.http.get("/api/export/zip/12345")
    assert (r.status_code, r.json()["code"]) == (404, "ExportNotFound")
    r = client.http.get("/api/export/zip/not-a-snapshot")
    assert (r.status_code, r.json()["code"]) == (400, "BadSnapshotId")
    client.configure(polls_per_state=1)  # the export stays "requested" until polled once
    assert client.http.post("/api/export/request/zip").status_code == 200
    second = client.http.post("/api/export/request/zip")
    assert (second.status_code, second.json()["code"]) == (400, "ExportInProgress")
    pending = client.value("_system/cli/exports:getLatest")
    r = client.http.get(f"/api/export/zip/{pending['_id']}")
    assert (r.status_code, r.json()["code"]) == (400, "ExportNotComplete")
    assert wait_export(client)["state"] == "completed"
    assert client.http.post("/api/export/request/zip").status_code == 200  # allowed again


# -- durability -----------------------------------------------------------------------------------------


def test_state_survives_restart(tmp_path):
    state_dir = tmp_path / "durable"
    with running_emulator(state_dir, admin_key="convex-self-hosted|abc123") as emu:
        c = EmuClient(emu)
        load_users(c, 4)
        assert c.oneshot("scratch", [{"a": 1.5}]).status_code == 200
        before = (c.table("users"), c.mapping(), c.value("_system/cli/queryImport:list"))
        c.close()
    with running_emulator(state_dir, admin_key="convex-self-hosted|abc123") as emu:
        c = EmuClient(emu)
        assert (c.table("users"), c.mapping(), c.value("_system/cli/queryImport:list")) == before
        assert c.oneshot("users", [{"email": "later@x.y"}], mode="append").status_code == 200
        assert c.size("users") == 5
        c.close()


def test_pinned_table_numbers(tmp_path):
    with running_emulator(tmp_path / "pins", pinned_table_numbers={"users": 540, "cases": 10007}) as emu:
        c = EmuClient(emu)
        mapping = c.mapping()
        assert mapping["users"] == 540 and mapping["cases"] == 10007
        assert mapping["jobDescriptionTemplates"] == 10001 and mapping["userProfiles"] == 10002
        load_users(c, 1)
        assert decode_id(c.table("users")[0]["_id"])[0] == 540
        c.close()


def test_reset_and_dump(client):
    load_users(client, 2)
    dump = client.http.get("/_emulator/dump", params={"table": "users"}).json()
    assert len(dump["tables"]["users"]["documents"]) == 2 and dump["tables"]["users"]["number"] == 10004
    assert client.http.post("/_emulator/reset").json() == {"reset": True}
    assert client.size("users") == 0 and client.mapping()["users"] == 10004
    assert client.value("_system/cli/queryImport:list") == []


# -- fault injection ---------------------------------------------------------------------------------


def test_fault_status_codes_times_and_skip(client):
    r = client.http.post("/_emulator/faults", json=[
        {"endpoint": "/api/query", "status": 503, "times": 2, "skip": 1},
        {"endpoint": "/api/import/*", "status": 429},
    ])
    assert len(r.json()["rules"]) == 2
    statuses = [client.http.post("/api/query", json={"path": "_system/cli/tableSize", "args": {"tableName": "u"},
                                                     "format": "json"}).status_code for _ in range(4)]
    assert statuses == [200, 503, 503, 200]
    r = client.http.post("/api/import/start_upload")
    assert (r.status_code, r.json()["code"]) == (429, "RateLimited")
    assert client.http.post("/api/import/start_upload").status_code == 200
    calls = client.http.get("/_emulator/faults").json()["calls"]
    assert calls["POST /api/query"] == 4


def test_fault_502_is_not_json(client):
    client.http.post("/_emulator/faults", json={"endpoint": "*", "status": 502})
    r = client.http.post("/api/import/start_upload")
    assert r.status_code == 502 and r.text == "Bad Gateway"


def test_dropped_connection(client):
    client.http.post("/_emulator/faults", json={"endpoint": "/api/import/start_upload", "action": "drop"})
    with pytest.raises(httpx.TransportError):
        client.http.post("/api/import/start_upload")
    assert client.http.post("/api/import/start_upload").status_code == 200


def test_committed_but_response_lost(client):
    client.http.post("/_emulator/faults", json={"endpoint": "/api/import", "action": "commit_then_drop"})
    with pytest.raises(httpx.TransportError):
        client.oneshot("users", [{"email": "a@b.c"}])
    assert client.size("users") == 1  # the write happened
    client.http.post("/_emulator/faults", json={"endpoint": "/api/import", "action": "commit_then_status",
                                                "status": 500})
    r = client.oneshot("users", [{"email": "b@b.c"}], mode="append")
    assert r.status_code == 500 and client.size("users") == 2


def test_latency_and_seeded_failure_rate(client):
    client.http.post("/_emulator/faults", json={"endpoint": "/api/query", "action": "delay", "latency_ms": 300})
    start = time.monotonic()
    client.call("query", "_system/cli/tableSize", {"tableName": "users"})
    assert time.monotonic() - start >= 0.3
    client.http.delete("/_emulator/faults")

    def pattern():
        client.http.delete("/_emulator/faults")
        client.http.post("/_emulator/faults", json={"endpoint": "/api/query", "status": 500, "times": None,
                                                    "probability": 0.5, "seed": 7})
        return [client.http.post("/api/query", json={"path": "_system/cli/tableSize", "args": {"tableName": "u"},
                                                     "format": "json"}).status_code for _ in range(20)]

    first = pattern()
    assert first == pattern() and 0 < first.count(500) < 20


def test_bad_fault_rule_is_400(client):
    r = client.http.post("/_emulator/faults", json={"endpoint": "*", "action": "explode"})
    assert (r.status_code, r.json()["code"]) == (400, "BadFaultRule")


def test_control_routes_need_the_admin_key(emu):
    r = httpx.post(f"{emu.url}/_emulator/reset")
    assert r.status_code == 403


def test_argument_array_limit(client):
    ok = client.http.post("/api/query", json={"path": "_system/cli/tableSize",
                                              "args": {"tableName": "users", "pad": [1] * 8192}, "format": "json"})
    assert ok.status_code == 200
    r = client.http.post("/api/query", json={"path": "_system/cli/tableSize",
                                             "args": {"tableName": "users", "pad": [1] * 8193}, "format": "json"})
    assert r.status_code == 400 and "8193 > maximum length 8192" in r.json()["message"]


def test_export_states_observable_for_n_polls(client):
    client.configure(polls_per_state=2)
    load_users(client, 1)
    assert client.http.post("/api/export/request/zip").status_code == 200
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = client.value("_system/cli/exports:getLatest")["state"]
        seen.append(state)
        if state == "completed":
            break
    assert seen.count("requested") >= 2 and seen.count("in_progress") >= 2 and seen[-1] == "completed"


def test_query_import_argument_validation(client):
    body = client.call("query", "_system/cli/queryImport", {"importId": "nope"})
    assert body["status"] == "error" and body["errorMessage"].startswith("ArgumentValidationError")
    from loader.convex.ids import encode_id

    assert client.value("_system/cli/queryImport", {"importId": encode_id(22, bytes(16))}) is None


def test_without_schema_tables_appear_on_first_write_and_nothing_is_validated(tmp_path):
    with running_emulator(tmp_path / "noschema", schema_path=None) as emu:
        c = EmuClient(emu)
        assert [n for n in c.mapping() if not n.startswith("_")] == []
        assert c.oneshot("users", [{"email": 5, "anything": [1, {"x": None}]}]).json() == {"numWritten": 1}
        assert c.mapping()["users"] == 10001
        c.close()


def test_query_batch(client):
    load_users(client, 2)
    r = client.http.post("/api/query_batch", json={"queries": [
        {"path": "_system/cli/tableSize", "args": {"tableName": "users"}, "format": "json"},
        {"path": "_system/cli/tableSize", "args": [{"tableName": "cases"}], "format": "json"},
        {"path": "missing:fn", "args": {}},
    ]})
    results = r.json()["results"]
    assert [x.get("value") for x in results[:2]] == [2, 0]
    assert results[2]["status"] == "error"
