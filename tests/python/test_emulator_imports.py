"""Emulator imports over real HTTP: multi-step flow and state machine, part rules, modes, atomicity,
batch boundary, `_id`/`_creationTime` handling, parse failures, one-shot import (CONVEX_HTTP §2, §5.10, §6.10)."""

import io
import json
import zipfile

import pytest

from loader.convex.ids import decode_id, encode_id
from emulator_support import EmuClient, client, emu, jsonl, running_emulator  # noqa: F401 (fixtures)


def users(n, start=0):
    return [{"email": f"u{i}@example.com"} for i in range(start, start + n)]


def case_doc(user_id, legacy, **extra):
    return {
        "userId": user_id, "legacyId": legacy, "employerName": "Acme", "positionTitle": "Dev",
        "caseStatus": "pwd", "progressStatus": "working", "additionalRecruitmentMethods": [],
        "recruitmentApplicantsCount": 0, "isProfessionalOccupation": False, "priorityLevel": "normal",
        "isFavorite": False, "tags": [], "calendarSyncEnabled": False, "documents": [],
        "createdAt": 1700000000000, "updatedAt": 1700000000000, **extra,
    }


def test_multistep_flow_exposes_every_state(client):
    client.configure(polls_per_state=3)
    data = jsonl(users(5))
    token, parts = client.upload(data, part_size=64)
    assert len(parts) == len(range(0, len(data), 64)) and all(isinstance(p, str) for p in parts)
    r = client.finish(token, parts, "users")
    import_id = r.json()["importId"]
    assert decode_id(import_id)[0] < 10001  # a system-table id
    waiting, seen = client.wait_state(import_id, ("waiting_for_confirmation",))
    assert seen.count("uploaded") >= 3
    assert waiting["state"]["require_manual_confirmation"] is False
    assert isinstance(waiting["state"]["message_to_confirm"], str)
    assert waiting["format"] == {"format": "jsonl", "table": "users"} and waiting["mode"] == "RequireEmpty"
    (cp,) = waiting["checkpoints"]
    assert cp["total_num_rows_to_write"] == "5" and cp["is_missing_id_field"] is True  # int64 → string in json
    assert client.size("users") == 0  # nothing written before confirmation
    assert client.http.post("/api/perform_import", json={"importId": import_id}).status_code == 200
    assert client.http.post("/api/perform_import", json={"importId": import_id}).status_code == 200  # no-op retry
    done, seen = client.wait_state(import_id, ("completed", "failed"))
    assert seen.count("in_progress") >= 3
    assert done["state"]["state"] == "completed" and done["state"]["num_rows_written"] == "5"
    assert int(done["state"]["timestamp"]) > 10**18  # ns
    assert client.size("users") == 5
    encoded = client.value("_system/cli/queryImport", {"importId": import_id}, fmt="convex_encoded_json")
    assert encoded["state"]["num_rows_written"] == {"$integer": "BQAAAAAAAAA="}
    listed = client.value("_system/cli/queryImport:list")
    assert listed[0]["_id"] == import_id


def test_import_list_is_newest_first_and_capped_at_20(client):
    for i in range(21):
        assert client.oneshot(f"t{i}", [{"a": 1}]).status_code == 200
    listed = client.value("_system/cli/queryImport:list")
    assert len(listed) == 20 and listed[0]["format"]["table"] == "t20"
    legacy_form = client.http.post("/api/query", json={"path": "_system/cli/queryImport:list", "args": [{}],
                                                       "format": "convex_encoded_json"})
    assert len(legacy_form.json()["value"]) == 20


@pytest.mark.parametrize("problem", ["small_part", "gap", "wrong_tokens", "too_many_parts"])
def test_part_rules_fail_finish_upload_with_500(client, problem):
    data = jsonl(users(20))
    if problem == "too_many_parts":
        client.configure(max_parts=2)
    token, parts = client.upload(data, part_size=32 if problem == "small_part" else 64)
    if problem == "gap":
        r = client.http.post("/api/import/upload_part", params={"uploadToken": token, "partNumber": len(parts) + 2},
                             content=b"{}\n")
        parts.append(r.json())
    if problem == "wrong_tokens":
        parts = list(reversed(parts))
    r = client.finish(token, parts, "users")
    assert r.status_code == 500 and r.json()["code"] == "InternalServerError"


def test_resent_part_corrupts_upload_like_local_storage(client):
    data = jsonl(users(3))
    token = client.http.post("/api/import/start_upload").json()["uploadToken"]
    for _ in range(2):
        part = client.http.post("/api/import/upload_part", params={"uploadToken": token, "partNumber": 1},
                                content=data).json()
    assert client.finish(token, [part], "users").status_code == 500


def test_empty_file_zero_parts_clears_table_in_replace_mode(client):
    assert client.oneshot("users", users(3)).status_code == 200
    token, parts = client.upload(b"", 64)
    assert parts == []
    r = client.finish(token, parts, "users", mode="replace")
    import_id = r.json()["importId"]
    waiting, _ = client.wait_state(import_id, ("waiting_for_confirmation",))
    assert waiting["state"]["require_manual_confirmation"] is True
    assert waiting["checkpoints"][0]["existing_rows_to_delete"] == "3"
    client.http.post("/api/perform_import", json={"importId": import_id})
    client.wait_state(import_id, ("completed",))
    assert client.size("users") == 0


def test_finish_upload_name_and_format_errors(client):
    token, parts = client.upload(jsonl(users(1)), 64)
    assert client.finish(token, parts, "bad-name").json()["code"] == "ImportInvalidName"
    assert client.finish(token, parts, "_system").json()["code"] == "ImportInvalidName"
    assert client.finish(token, parts, "users", fmt="zip").json()["code"] == "InvalidName"
    assert client.finish(token, parts, None).json()["code"] == "InvalidName"


def test_cancel_and_unknown_imports(client):
    token, parts = client.upload(jsonl(users(2)), 64)
    import_id = client.finish(token, parts, "users").json()["importId"]
    client.wait_state(import_id, ("waiting_for_confirmation",))
    assert client.http.post("/api/cancel_import", json={"importId": import_id}).status_code == 200
    doc = client.import_state(import_id)
    assert doc["state"] == {"state": "failed", "error_message": "Hit an error while importing:\nImport canceled"}
    r = client.http.post("/api/cancel_import", json={"importId": import_id})
    assert (r.status_code, r.json()["code"]) == (400, "CannotCancelImport")
    r = client.http.post("/api/perform_import", json={"importId": encode_id(22, bytes(16))})
    assert (r.status_code, r.json()["code"]) == (404, "ImportNotFound")
    r = client.http.post("/api/perform_import", json={"importId": "nope"})
    assert (r.status_code, r.json()["code"]) == (400, "InvalidImport")
    assert client.size("users") == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"email":"a@b.c"}\n\n{"email":"d@e.f"}\n', "Row 2 wasn't valid JSON"),
        (b'{"email":"a@b.c"}\n{"email":\n', "Row 2 wasn't valid JSON"),
        (b'{"email":"a@b.c"}\n\n', "Row 2 wasn't valid JSON"),
        (b'\xef\xbb\xbf{"email":"a@b.c"}\n', "Utf8BomNotSupported"),
        (b'{"email":"\xff"}\n', "Row 1 wasn't valid UTF-8"),
        (b'{"email":"\\ud800"}\n', "Row 1 wasn't valid JSON"),
        (b'{"email":"a@b.c"}\n\xef\xbb\xbf{"email":"d@e.f"}\n', "Row 2 wasn't valid JSON: Unexpected UTF-8 BOM"),
        (b'{"email":"a@b.c","n":NaN}\n', "Row 1 wasn't valid JSON: NaN is not valid JSON"),
        (b'{"email":"a@b.c"} {}\n', "Row 1 wasn't valid JSON: Extra data"),
    ],
)
def test_parse_errors_fail_while_uploaded_and_write_nothing(client, body, message):
    token, parts = client.upload(body, 1 << 20)
    import_id = client.finish(token, parts, "users", mode="append").json()["importId"]
    doc, seen = client.wait_state(import_id, ("failed", "waiting_for_confirmation"))
    assert doc["state"]["state"] == "failed" and message in doc["state"]["error_message"]
    assert "waiting_for_confirmation" not in seen
    assert client.size("users") == 0


def test_final_newline_is_optional(client):
    assert client.oneshot("users", []).status_code == 200
    r = client.http.post("/api/import", params={"tableName": "users", "format": "jsonLines", "mode": "append"},
                         content=b'{"email":"a@b.c"}')
    assert r.json() == {"numWritten": 1}


def test_require_empty_rejects_non_empty_table_at_parse_time(client):
    assert client.oneshot("users", users(2)).json() == {"numWritten": 2}
    r = client.oneshot("users", users(1, 10))
    assert r.status_code == 400 and r.json()["code"] == "ImportFailed"
    assert "Table users already exists" in r.json()["message"]
    assert client.size("users") == 2


def test_append_to_existing_table_keeps_batches_committed_before_failure(client):
    client.configure(batch_max_docs=2)
    assert client.oneshot("users", users(1)).status_code == 200
    rows = users(5, 100) + [{"email": 5}] + users(2, 200)  # row 6 violates the schema
    r = client.oneshot("users", rows, mode="append")
    assert r.status_code == 400
    message = r.json()["message"]
    assert message.startswith('Hit an error while importing:\nFailed to insert or update a document in table "users"')
    assert "Path: .email" in message
    # batches flush after MORE than 2 docs: rows 1-3 committed, rows 4-5 were in the failing batch
    emails = sorted(d["email"] for d in client.table("users"))
    assert emails == sorted(["u0@example.com", "u100@example.com", "u101@example.com", "u102@example.com"])


def test_append_to_new_table_is_atomic(client):
    client.configure(batch_max_docs=2)
    r = client.oneshot("scratch", [{"a": 1}] * 5 + [{"_bad": 1}], mode="append")
    assert r.status_code == 400 and "starts with an underscore" in r.json()["message"]
    assert "scratch" not in client.mapping()


def test_batch_boundary_by_bytes(client):
    client.configure(batch_max_docs=1000, batch_max_bytes=200)
    assert client.oneshot("users", users(1)).status_code == 200
    rows = [{"email": "x" * 120}, {"email": "y" * 120}, {"email": 1}]
    assert client.oneshot("users", rows, mode="append").status_code == 400
    assert client.size("users") == 3  # first two (>200 bytes) committed


def test_replace_failure_keeps_old_table_and_success_gives_new_ids(client):
    assert client.oneshot("users", users(2)).status_code == 200
    old = {d["_id"] for d in client.table("users")}
    assert client.oneshot("users", users(3, 10) + [{"email": None}], mode="replace").status_code == 400
    assert {d["_id"] for d in client.table("users")} == old
    number = client.mapping()["users"]
    assert client.oneshot("users", users(3, 10), mode="replace").json() == {"numWritten": 3}
    new = client.table("users")
    assert len(new) == 3 and not ({d["_id"] for d in new} & old)
    assert client.mapping()["users"] == number  # replacing keeps the table number


def test_replace_all_clears_other_tables(client):
    assert client.oneshot("users", users(2)).status_code == 200
    assert client.oneshot("scratch", [{"a": 1}]).status_code == 200
    user_id = client.table("users")[0]["_id"]
    assert client.oneshot("cases", [case_doc(user_id, "L1")]).status_code == 200
    assert client.oneshot("cases", [case_doc(user_id, "L2")], mode="replaceAll").json() == {"numWritten": 1}
    mapping = client.mapping()
    assert "scratch" not in mapping and "users" in mapping  # schema tables become empty tables
    assert client.size("users") == 0 and [d["legacyId"] for d in client.table("cases")] == ["L2"]


def test_ids_are_kept_checked_and_minted_with_table_number(client):
    mapping = client.mapping()
    assert [mapping[t] for t in ("cases", "jobDescriptionTemplates", "userProfiles", "users")] == [
        10001, 10002, 10003, 10004]
    kept = encode_id(10004, bytes(range(16)))
    r = client.oneshot("users", [{"_id": kept, "_creationTime": 1600000000000.5, "email": "k@x.y"}, {"email": "m@x.y"}])
    assert r.status_code == 200
    docs = {d["email"]: d for d in client.table("users")}
    assert docs["k@x.y"]["_id"] == kept and docs["k@x.y"]["_creationTime"] == 1600000000000.5
    assert decode_id(docs["m@x.y"]["_id"])[0] == 10004
    for row, code in [
        ({"_id": encode_id(10001, bytes(16)), "email": "c@x.y"}, "ImportConflict"),
        ({"_id": "not-an-id-at-all", "email": "c@x.y"}, "InvalidId"),
        ({"_id": 12, "email": "c@x.y"}, "InvalidIdError"),
        ({"_creationTime": "yesterday", "email": "c@x.y"}, "InvalidCreationTimeError"),
        ({"_creationTime": -5, "email": "c@x.y"}, "InvalidCreationTimeError"),
    ]:
        r = client.oneshot("users", [{"email": "first@x.y"}, row], mode="append")
        assert code in r.json()["message"], (row, r.json())
    dup = encode_id(10004, bytes([7] * 16))
    r = client.oneshot("users", [{"_id": dup, "email": "a"}, {"_id": dup, "email": "b"}], mode="append")
    assert "DuplicateId" in r.json()["message"]
    r = client.oneshot("users", [{"_id": kept, "email": "again"}], mode="append")
    assert "DuplicateId" in r.json()["message"]
    assert client.size("users") == 2


def test_first_rows_id_chooses_number_of_new_table(client):
    chosen = encode_id(12345, bytes(16))
    assert client.oneshot("fresh", [{"_id": chosen, "a": 1}, {"a": 2}]).status_code == 200
    assert client.mapping()["fresh"] == 12345
    assert all(decode_id(d["_id"])[0] == 12345 for d in client.table("fresh"))
    r = client.oneshot("other", [{"_id": encode_id(12345, bytes([1] * 16))}])
    assert "TableConflict" in r.json()["message"]


def test_creation_times_strictly_increase_and_order_table_data(client):
    assert client.oneshot("users", users(50)).status_code == 200
    docs = client.table("users", page_size=7)
    times = [d["_creationTime"] for d in docs]
    assert times == sorted(times) and len(set(times)) == 50
    assert [d["email"] for d in docs] == [f"u{i}@example.com" for i in range(50)]


def test_jsonl_numbers_are_float64(client):
    user = client.table("users") or None
    assert user is None
    assert client.oneshot("users", users(1)).status_code == 200
    user_id = client.table("users")[0]["_id"]
    r = client.oneshot("cases", [case_doc(user_id, "L1", pwdWageAmount=8500000)])
    assert r.json() == {"numWritten": 1}
    doc = client.value("_system/cli/tableData", {"table": "cases", "paginationOpts": {"numItems": 5, "cursor": None}},
                       fmt="convex_encoded_json")["page"][0]
    assert doc["pwdWageAmount"] == 8500000.0 and doc["userId"] == user_id


def test_dollar_keys_and_non_objects_are_rejected(client):
    r = client.oneshot("scratch", [{"a": {"$integer": "AQAAAAAAAAA="}}])
    assert "Row 1 wasn't a valid Convex value" in r.json()["message"]
    r = client.oneshot("scratch", [{"a": 1}, [1, 2]])
    assert "Row 2 wasn't a valid Convex value: expected object" in r.json()["message"]


def test_schema_id_checks_use_table_mapping(client):
    assert client.oneshot("users", users(1)).status_code == 200
    user_id = client.table("users")[0]["_id"]
    r = client.oneshot("cases", [case_doc(user_id, "L1", duplicateOf=user_id)])
    assert "which does not match the table name in validator `v.id(\"cases\")`" in r.json()["message"]


def test_zip_import_uniform_rows_keep_ids_and_int64(client):
    user_id = encode_id(10004, bytes([3] * 16))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("_tables/documents.jsonl", '{"name":"users","id":10004}\n{"name":"blobs","id":10050}\n')
        z.writestr("users/documents.jsonl", json.dumps({"_id": user_id, "_creationTime": 1.5e12, "email": "z@z.z"}) + "\n")
        z.writestr("users/generated_schema.jsonl", '"uniform"\n')
        z.writestr("blobs/documents.jsonl", '{"n":42,"f":1.0,"b":{"$bytes":"AQI="}}\n')
        z.writestr("blobs/generated_schema.jsonl", '"uniform"\n')
    doc = client.run_import(None, buf.getvalue(), mode="replace", fmt="zip", part_size=1 << 20)
    assert doc["state"]["state"] == "completed", doc
    assert client.table("users")[0]["_id"] == user_id
    blob = client.value("_system/cli/tableData", {"table": "blobs", "paginationOpts": {"numItems": 5, "cursor": None}},
                        fmt="convex_encoded_json")["page"][0]
    assert blob["n"] == {"$integer": "KgAAAAAAAAA="} and blob["f"] == 1.0 and blob["b"] == {"$bytes": "AQI="}
    assert client.mapping()["blobs"] == 10050


def test_uniform_zip_rejects_integer_creation_time(client):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("_tables/documents.jsonl", '{"name":"users","id":10004}\n')
        z.writestr("users/documents.jsonl", '{"_creationTime":1700000000000,"email":"z@z.z"}\n')
        z.writestr("users/generated_schema.jsonl", '"uniform"\n')
    doc = client.run_import(None, buf.getvalue(), mode="replace", fmt="zip", part_size=1 << 20)
    assert "InvalidCreationTimeError" in doc["state"]["error_message"]


def test_noop_store_counts_and_discards(tmp_path):
    with running_emulator(tmp_path / "noop", noop_store=True) as emu:
        client = EmuClient(emu)
        assert client.oneshot("users", users(100)).json() == {"numWritten": 100}
        assert client.oneshot("users", users(1) + [{"email": 3}], mode="append").status_code == 400
        assert client.size("users") == 0
        assert emu.state.store.discarded == 100
        client.close()


def test_cancel_while_in_progress_keeps_committed_append_batches(client):
    assert client.oneshot("users", users(1)).status_code == 200
    client.configure(polls_per_state=2, batch_max_docs=1)
    token, parts = client.upload(jsonl(users(4, 50)), 1 << 20)
    import_id = client.finish(token, parts, "users", mode="append").json()["importId"]
    client.wait_state(import_id, ("waiting_for_confirmation",))
    client.http.post("/api/perform_import", json={"importId": import_id})
    client.wait_state(import_id, ("in_progress",))
    assert client.http.post("/api/cancel_import", json={"importId": import_id}).status_code == 200
    doc, _ = client.wait_state(import_id, ("failed", "completed"))
    assert doc["state"]["error_message"].endswith("Import canceled")
    assert client.size("users") == 5  # append into an existing table is not atomic


def test_cancel_while_in_progress_discards_atomic_import(client):
    client.configure(polls_per_state=2)
    token, parts = client.upload(jsonl(users(4)), 1 << 20)
    import_id = client.finish(token, parts, "users").json()["importId"]
    client.wait_state(import_id, ("waiting_for_confirmation",))
    client.http.post("/api/perform_import", json={"importId": import_id})
    client.wait_state(import_id, ("in_progress",))
    client.http.post("/api/cancel_import", json={"importId": import_id})
    doc, _ = client.wait_state(import_id, ("failed", "completed"))
    assert doc["state"]["state"] == "failed" and client.size("users") == 0


def test_bad_special_value_in_uniform_zip_fails_while_writing(client):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("_tables/documents.jsonl", '{"name":"blobs","id":10050}\n')
        z.writestr("blobs/documents.jsonl", '{"n":1}\n{"n":{"$integer":"AQ=="}}\n')
        z.writestr("blobs/generated_schema.jsonl", '"uniform"\n')
    token, parts = client.upload(buf.getvalue(), 1 << 20)
    import_id = client.finish(token, parts, None, mode="replace", fmt="zip").json()["importId"]
    waiting, _ = client.wait_state(import_id, ("waiting_for_confirmation", "failed"))
    assert waiting["state"]["state"] == "waiting_for_confirmation"  # JSON syntax is fine
    client.http.post("/api/perform_import", json={"importId": import_id})
    doc, _ = client.wait_state(import_id, ("completed", "failed"))
    assert "Row 2 wasn't a valid Convex value: $integer must encode 8 bytes" in doc["state"]["error_message"]
    assert "blobs" not in client.mapping()


def test_uploaded_objects_are_removed_after_success_and_failure(client, emu):
    objects = emu.config.state_dir / "objects"
    assert client.oneshot("users", users(2)).status_code == 200
    assert client.oneshot("users", ["{not json"], mode="append").status_code == 400
    assert client.run_import("users", b"", mode="append")["state"]["state"] == "completed"
    assert list(objects.iterdir()) == []


def test_default_part_rules_with_real_5_mib_parts(tmp_path):
    with running_emulator(tmp_path / "default") as emu:  # production minimum part size (5 MiB)
        c = EmuClient(emu)
        rows = [{"email": f"user{i:07d}@example.com", "name": "x" * 200} for i in range(30000)]
        data = jsonl(rows)
        assert len(data) > 5 << 20
        token, parts = c.upload(data, part_size=4 << 20)  # non-final part under 5 MiB
        assert c.finish(token, parts, "users").status_code == 500
        done = c.run_import("users", data, part_size=5 << 20)
        assert done["state"]["state"] == "completed" and done["state"]["num_rows_written"] == "30000"
        assert c.size("users") == 30000
        c.close()
