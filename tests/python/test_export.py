"""Export: Convex JSON rules, contract validation with rejects, DQ-27, determinism, DuckDB = Postgres."""

from __future__ import annotations

import json

import pytest

from convex_marts_fixture import build_duckdb_run, build_marts, sample_rows, uuid, write_manifest
from loader.convex.schema import Schema
from loader.dbt_manifest import ConvexMart, load_convex_marts
from loader.export import export, export_marts, manifest_path, select_sql
from loader.errors import ConfigError
from loader.run_folder import RunFolder


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema.from_file()


@pytest.fixture
def run(tmp_path, schema):
    folder = RunFolder.create(tmp_path / "runs", "r1")
    build_duckdb_run(folder, schema)
    return folder


def read_lines(path):
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data == b"" or data.endswith(b"\n")
    assert b"\n\n" not in data
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def test_documents_follow_convex_json_rules(run, schema):
    result = export(run)
    users = read_lines(run.export_dir / "users.jsonl")
    assert [u["email"] for u in users] == ["ann@example.com", "bob@example.com", "cy@example.com"]
    ann, bob, _ = users
    assert "phone" not in ann and "name" not in bob  # NULL → omitted, never null
    assert ann["name"] == "Ann Ä"
    assert ann["resolve_v1_rows"][0] == {"v1_table": "app_users", "v1_uuid": uuid(1), "merged": False}
    assert bob["resolve_secondary_email"] == "bob.old@example.com"
    user_fields = schema.table("users").field_names()
    for doc in users:  # contract order first, then resolution keys sorted
        v2 = [k for k in doc if k in user_fields]
        assert v2 == [f for f in user_fields if f in doc]
        assert list(doc)[len(v2):] == sorted(k for k in doc if k not in user_fields)

    cases = read_lines(run.export_dir / "cases.jsonl")
    assert [c["legacyId"] for c in cases] == [uuid(11), uuid(12), uuid(14), uuid(16)]
    first = cases[0]
    assert first["tags"] == ["b", "a"] and first["documents"] == []  # JSON text parsed, array order kept
    assert list(first["notes"][0]) == ["id", "content", "createdAt", "status"]  # nested contract order
    assert first["pwdWageAmount"] == 8500000 and first["updatedAt"] == 1650000000000.5
    assert "userId" not in first and first["resolve_owner_email"] == "ann@example.com"
    raw_line = (run.export_dir / "cases.jsonl").read_text().splitlines()[0]
    assert '"pwdWageAmount":8500000,' in raw_line and ": " not in raw_line

    profiles = read_lines(run.export_dir / "userProfiles.jsonl")
    assert [p["resolve_owner_email"] for p in profiles] == ["ann@example.com", "bob@example.com", "cy@example.com"]
    assert profiles[0]["dismissedDeadlines"][0] == {"deadlineType": "pwd_expiration", "dismissedAt": 1700000000000,
                                                    "caseLegacyId": uuid(11)}
    assert result["tables"]["cases"] == {**result["tables"]["cases"], "documents": 4, "rejected": 2}
    assert run.read_manifest()["steps"]["export"]["tables"]["users"]["documents"] == 3


def test_invalid_and_oversized_documents_go_to_rejects(run):
    export(run)
    rejects = read_lines(run.export_dir / "rejects.jsonl")
    by_id = {r["legacy_id"]: r for r in rejects}
    assert set(by_id) == {uuid(13), uuid(15)}
    bogus = by_id[uuid(13)]
    assert bogus["table"] == "cases" and bogus["field"] == ".caseStatus" and bogus["dq_id"] == "CONTRACT"
    assert bogus["got"] == '"bogus"' and 'v.literal("pwd")' in bogus["expected"]
    assert bogus["run_id"] == "r1"
    big = by_id[uuid(15)]
    assert big["dq_id"] == "DQ-27" and big["expected"] == "≤ 921600 bytes" and int(big["got"].split()[0]) > 921600


def test_null_inside_nested_json_is_rejected_not_exported(tmp_path, schema):
    folder = RunFolder.create(tmp_path / "runs", "r2")
    rows = sample_rows(schema)
    rows["convex_cases"][1]["tags"] = ["ok", None]
    build_duckdb_run(folder, schema, rows)
    export(folder)
    rejects = read_lines(folder.export_dir / "rejects.jsonl")
    assert {(r["legacy_id"], r["field"]) for r in rejects if r["dq_id"] == "CONTRACT"} >= {(uuid(12), ".tags[1]")}
    assert uuid(12) not in (folder.export_dir / "cases.jsonl").read_text()


def test_unconvertible_values_are_rejected_with_row_and_column(tmp_path, schema):
    folder = RunFolder.create(tmp_path / "runs", "r3")
    rows = sample_rows(schema)
    rows["convex_cases"][0]["tags"] = "[not json"
    rows["convex_cases"][1]["updatedAt"] = float("inf")
    build_duckdb_run(folder, schema, rows)
    result = export(folder)
    rejects = {r["legacy_id"]: r for r in read_lines(folder.export_dir / "rejects.jsonl")}
    assert rejects[uuid(11)]["field"] == ".tags" and rejects[uuid(11)]["expected"] == "JSON text"
    assert "does not parse" in rejects[uuid(11)]["got"]
    assert rejects[uuid(12)]["field"] == ".updatedAt" and rejects[uuid(12)]["got"] == "inf"
    assert result["tables"]["cases"]["documents"] == 2
    assert [c["legacyId"] for c in read_lines(folder.export_dir / "cases.jsonl")] == [uuid(14), uuid(16)]


def test_export_is_byte_identical_across_builds(tmp_path, schema):
    outputs = []
    for name in ("a", "b"):
        folder = RunFolder.create(tmp_path / name, "same")
        build_duckdb_run(folder, schema)
        export(folder)
        outputs.append({p.name: p.read_bytes() for p in sorted(folder.export_dir.iterdir())})
    assert outputs[0] == outputs[1]
    assert set(outputs[0]) == {"users.jsonl", "cases.jsonl", "userProfiles.jsonl", "rejects.jsonl"}


def test_duckdb_and_postgres_exports_are_identical(tmp_path, schema, pg_server, fresh_database, monkeypatch):
    import psycopg

    duck = RunFolder.create(tmp_path / "duck", "same")
    build_duckdb_run(duck, schema)
    export(duck)

    dsn = fresh_database("export")
    dbname = dsn.rsplit("/", 1)[1]
    with psycopg.connect(dsn, autocommit=True) as connection:
        columns = build_marts(connection, sample_rows(schema), "%s")
    pg = RunFolder.create(tmp_path / "pg", "same")
    write_manifest(manifest_path(pg), columns)
    for name in pg_server.env(dbname):
        monkeypatch.delenv(name, raising=False)
    result = export_marts(pg, load_convex_marts(manifest_path(pg)), "postgres", schema, warehouse_dsn=dsn)
    assert result["tables"]["cases"]["documents"] == 4
    for name in ("users.jsonl", "cases.jsonl", "userProfiles.jsonl", "rejects.jsonl"):
        assert (pg.export_dir / name).read_bytes() == (duck.export_dir / name).read_bytes(), name


def test_postgres_order_is_byte_order():
    mart = ConvexMart(
        model="m", relation="s.m", table="cases", import_order=1, identity_key="legacyId",
        order_by=("legacyId",), columns=("legacyId",))
    assert select_sql(mart, "postgres").endswith('order by "legacyId" COLLATE "C"')
    assert select_sql(mart, "duckdb").endswith('order by "legacyId"')


def test_unreachable_postgres_warehouse_is_one_clear_line(tmp_path, schema, pg_server):
    folder = RunFolder.create(tmp_path / "runs", "pgdown")
    write_manifest(manifest_path(folder), {"convex_users": ["email"]})
    bad = pg_server.dsn("no_such_database")
    with pytest.raises(ConfigError) as caught:
        export_marts(folder, load_convex_marts(manifest_path(folder)), "postgres", schema, warehouse_dsn=bad)
    message = str(caught.value)
    assert message.startswith("Postgres warehouse:") and "no_such_database" in message
    assert pg_server.password not in message and "\n" not in message


def _tricky_case_rows(schema):
    """Mart rows (as the warehouse returns them) that exercise every branch of the one-walk document."""
    import decimal

    base = {k: v for k, v in sample_rows(schema)["convex_cases"][0].items()}
    base |= {"tags": json.dumps(base["tags"]), "notes": json.dumps(base["notes"])}
    note = {"status": "pending", "createdAt": 1600000000000, "content": "c", "id": "n"}
    variants = [
        {},
        {"notes": json.dumps([{"status": "pending", "content": "c", "createdAt": 1.5, "id": "n"}])},
        {"notes": json.dumps([note | {"createdAt": 2.0**53}]), "pwdWageAmount": decimal.Decimal("12.50")},
        {"pwdWageAmount": decimal.Decimal("70000"), "updatedAt": -0.0, "createdAt": 2**53},
        {"pwdWageAmount": 2**53 + 1},
        {"updatedAt": float("nan")},
        {"notes": '[{"id": "n", "content": "c", "createdAt": NaN, "status": "pending"}]'},
        {"notes": json.dumps([note | {"status": "bogus", "extra": "é"}])},
        {"notes": json.dumps([note, {"id": "n2"}])},
        {"tags": '["ok", "\\ud800"]'},
        {"tags": json.dumps(["é" * 470_000])},
        {"tags": json.dumps([[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]])},
        {"caseStatus": "bogus", "progressStatus": 7, "tags": json.dumps([1, "x"])},
        {"employerName": None},
        {"createdAt": 1600000000000.0, "updatedAt": 1e300, "tags": json.dumps(["ü", "x"])},
        {"jobDescription": "y" * 850_000},  # above the fast bound, within DQ-27: measured exactly, exported
        {column: None for column in base if column != "legacyId"},  # one column: line `{"legacyId":…}`
        {column: None for column in base},  # line `{}`
    ]
    return [base | {"legacyId": uuid(100 + i)} | variant for i, variant in enumerate(variants)]


def test_fast_document_equals_the_detailed_composition(tmp_path, schema):
    """The one-walk line and the fast check give exactly what convert → ordered → as_wire → errors give."""
    from loader.convex.ids import table_number_of
    from loader.convex.validator import DocumentValidator
    from loader.export import MartExporter, as_wire, dumps, ordered, placeholder_ids

    rows = _tricky_case_rows(schema)
    manifest = write_manifest(tmp_path / "manifest.json", {"convex_cases": list(rows[0])})
    (mart,) = load_convex_marts(manifest)
    placeholders = placeholder_ids(schema)
    validator = DocumentValidator(schema, {table_number_of(i): t for t, i in placeholders.items()})
    exporter = MartExporter(mart, schema, validator, placeholders)
    outcomes = []
    for raw in rows:
        values = tuple(raw[column] for column in mart.columns)
        line, problems = exporter.document(values)
        assert problems == exporter.problems(values)
        row, bad = exporter.convert(raw)
        if not bad:  # the line, whether exported or rejected for the contract
            expected_line = dumps(as_wire(ordered(row, schema.table("cases").document_type)))
            assert exporter.wire_line(values)[1] == expected_line and line in ("", expected_line)
        if not problems:
            assert not bad and line == expected_line
        outcomes.append([(p["dq_id"], p["field"]) for p in problems])
    assert outcomes[:5] == [[], [], [], [], [("CONTRACT", ".pwdWageAmount")]]
    assert outcomes[5:8] == [[("CONTRACT", ".updatedAt")], [("CONTRACT", ".notes")], [("CONTRACT", ".notes[0].status"),
                                                                                      ("CONTRACT", ".notes[0].extra")]]
    assert outcomes[9] == [("DQ-27", "")]  # unpaired surrogate: a reject, not a crash
    assert outcomes[10] == [("DQ-27", "")] and outcomes[11] == [("DQ-27", "")]
    assert outcomes[13] == [("CONTRACT", ".employerName")] and outcomes[14] == [] and outcomes[15] == []
    assert exporter.wire_line(tuple(rows[17][column] for column in mart.columns))[1] == "{}"
    line_of = {i: exporter.document(tuple(rows[i][column] for column in mart.columns))[0] for i in (1, 3)}
    assert '"notes":[{"id":"n","content":"c","createdAt":1.5,"status":"pending"}]' in line_of[1]
    assert '"createdAt":9007199254740992,' in line_of[3]
    assert '"updatedAt":0,' in line_of[3]
