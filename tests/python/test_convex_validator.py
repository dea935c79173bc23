"""Convex validator semantics (CONVEX_HTTP §6) and value encodings (§3.4, §6.9) against the v2 contract."""

import copy
import json
import math

import pytest

from loader.convex.ids import encode_id
from loader.convex.schema import Schema, SchemaError
from loader.convex.validator import EXTRA_FIELD, INVALID_VALUE, MISSING_FIELD, NO_MATCH, WRONG_ID_TABLE, DocumentValidator
from loader.convex.values import (
    InvalidValue,
    check_document,
    decode_convex_json,
    decode_export_json,
    encode,
)

NUMBERS = {10001: "cases", 10002: "jobDescriptionTemplates", 10003: "userProfiles", 10004: "users", 7: "_scheduled_functions"}
USER_ID = encode_id(10004, bytes(range(16)))
CASE_ID = encode_id(10001, bytes(range(16)))


@pytest.fixture(scope="module")
def schema():
    return Schema.from_file()


@pytest.fixture(scope="module")
def validator(schema):
    return DocumentValidator(schema, NUMBERS)


def valid_case():
    return {
        "userId": USER_ID,
        "employerName": "Acme",
        "positionTitle": "Engineer",
        "caseStatus": "pwd",
        "progressStatus": "working",
        "additionalRecruitmentMethods": [],
        "recruitmentApplicantsCount": 0.0,
        "isProfessionalOccupation": False,
        "priorityLevel": "normal",
        "isFavorite": False,
        "tags": [],
        "calendarSyncEnabled": True,
        "documents": [],
        "createdAt": 1.7e12,
        "updatedAt": 1.7e12,
        "rfiEntries": [
            {"id": "r1", "receivedDate": "2024-01-02", "responseDueDate": "2024-02-01", "createdAt": 1.0}
        ],
    }


def test_contract_has_the_three_tables_and_their_indexes(schema):
    assert schema.sorted_table_names() == ["cases", "jobDescriptionTemplates", "userProfiles", "users"]
    assert schema.table("cases").index_fields("by_legacy_id") == ("legacyId",)
    assert schema.table("users").index_fields("email") == ("email",)
    assert schema.table("userProfiles").index_fields("by_user_id") == ("userId",)
    assert "legacyAuthId" in schema.table("userProfiles").field_names()


def test_valid_case_passes(validator):
    assert validator.errors(valid_case(), "cases") == []
    assert validator.first_error(valid_case(), "cases") is None


def test_system_fields_are_not_validated(validator):
    doc = valid_case() | {"_id": CASE_ID, "_creationTime": 1.0}
    assert validator.errors(doc, "cases") == []


def test_null_is_a_value_not_an_absence(validator):
    doc = valid_case() | {"notes": None}
    (issue,) = validator.errors(doc, "cases")
    assert (issue.kind, issue.path, issue.got) == (NO_MATCH, ".notes", "null")
    assert "v.array(" in issue.expected


def test_missing_required_field(validator):
    doc = valid_case()
    del doc["employerName"]
    (issue,) = validator.errors(doc, "cases")
    assert issue.kind == MISSING_FIELD and issue.path == ".employerName"
    assert validator.first_error(doc, "cases").startswith(
        'Failed to insert or update a document in table "cases" because it does not match the schema: '
        "Object is missing the required field `employerName`. Consider wrapping the field validator in "
        "`v.optional(...)` if this is expected."
    )


def test_extra_fields_rejected_at_every_level(validator):
    doc = valid_case() | {"resolve_owner_email": "a@b.c"}
    doc["rfiEntries"][0]["bogus"] = "x"
    issues = validator.errors(doc, "cases")
    assert [(i.kind, i.path) for i in issues] == [
        (EXTRA_FIELD, ".rfiEntries[0].bogus"),
        (EXTRA_FIELD, ".resolve_owner_email"),
    ]
    assert "Object contains extra field `bogus` that is not in the validator." in validator.first_error(doc, "cases")


def test_all_errors_versus_first_in_convex_order(validator):
    doc = valid_case() | {"zzz": 1.0, "caseStatus": "PWD", "isFavorite": "yes"}
    del doc["tags"]
    issues = validator.errors(doc, "cases")
    # declared fields in name order (required, then type), then extra fields
    assert [i.path for i in issues] == [".caseStatus", ".isFavorite", ".tags", ".zzz"]
    assert "Path: .caseStatus" in validator.first_error(doc, "cases")
    assert issues[0].one_line().startswith('.caseStatus: expected v.union(v.literal("pwd")')


def test_ids_checked_against_table_mapping(validator):
    wrong_table = valid_case() | {"userId": CASE_ID}
    (issue,) = validator.errors(wrong_table, "cases")
    assert issue.kind == WRONG_ID_TABLE
    assert f'Found ID "{CASE_ID}" from table `cases`, which does not match the table name in validator `v.id("users")`.' in issue.message
    unknown_table = valid_case() | {"userId": encode_id(20000, bytes(16))}
    assert [i.kind for i in validator.errors(unknown_table, "cases")] == [NO_MATCH]
    not_an_id = valid_case() | {"userId": "user@example.com"}
    assert [i.kind for i in validator.errors(not_an_id, "cases")] == [NO_MATCH]


def test_ids_format_only_without_mapping(schema):
    fmt_only = DocumentValidator(schema)
    assert fmt_only.errors(valid_case() | {"userId": CASE_ID}, "cases") == []
    assert len(fmt_only.errors(valid_case() | {"userId": "nope"}, "cases")) == 1


def test_system_table_id_and_nested_id_array(validator):
    profile_ids = {"scheduledDeletionJobId": encode_id(7, bytes(16)), "calendarHiddenCases": [CASE_ID, USER_ID]}
    issues = DocumentValidator(validator.schema, NUMBERS).errors(profile_ids, "userProfiles")
    paths = {i.path: i.kind for i in issues}
    assert paths[".calendarHiddenCases[1]"] == WRONG_ID_TABLE
    assert ".scheduledDeletionJobId" not in paths


def test_numbers_are_float64_not_int64(validator):
    assert validator.errors(valid_case() | {"recruitmentApplicantsCount": 3}, "cases")[0].kind == NO_MATCH
    assert validator.errors(valid_case() | {"recruitmentApplicantsCount": math.nan}, "cases") == []


def test_literal_is_case_and_type_sensitive(validator):
    assert validator.errors(valid_case() | {"priorityLevel": "Normal"}, "cases")
    assert validator.errors(valid_case() | {"isFavorite": 0.0}, "cases")


def test_union_document_type_gives_generic_message():
    schema = Schema.from_json(
        {"tables": [{"tableName": "t", "indexes": [], "documentType": {"type": "union", "value": [
            {"type": "object", "value": {"a": {"fieldType": {"type": "string"}, "optional": False}}},
            {"type": "object", "value": {"b": {"fieldType": {"type": "number"}, "optional": False}}},
        ]}}]}
    )
    v = DocumentValidator(schema, {})
    assert v.errors({"a": "x"}, "t") == [] and v.errors({"b": 1.0}, "t") == []
    assert v.first_error({"c": 1.0}, "t").endswith("Value does not match validator.\nValue: {c: 1}\nValidator: v.union(v.object({a: v.string()}), v.object({b: v.float64()}))")


def test_record_keys_and_values():
    schema = Schema.from_json({"tables": [{"tableName": "t", "documentType": {"type": "object", "value": {
        "m": {"fieldType": {"type": "record", "keys": {"type": "string"},
                            "values": {"fieldType": {"type": "boolean"}, "optional": False}}, "optional": False}}}}]})
    v = DocumentValidator(schema, {})
    assert v.errors({"m": {"x": True, "y": False}}, "t") == []
    assert [i.path for i in v.errors({"m": {"x": 1.0}}, "t")] == [".m.x"]


def test_tables_without_schema_are_not_validated(validator):
    assert validator.errors({"anything": [1.0]}, "notInSchema") == []


def test_shape_limits_reported_as_invalid_value(validator):
    deep = {"a": {}}
    node = deep["a"]
    for _ in range(16):
        node["a"] = {}
        node = node["a"]
    for doc, text in [
        (deep, "too nested"),
        ({"tags": ["x"] * 8193}, "Array length"),
        ({f"f{i}": 1.0 for i in range(1025)}, "too many fields"),
        ({"_secret": 1.0}, "starts with an underscore"),
        ({"a": {"$x": 1.0}}, "reserved"),
        ({"a": {"": 1.0}}, "Empty field"),
        ({"big": "x" * (1 << 20)}, "too large"),
        ({"s": "\ud800"}, "surrogate"),
    ]:
        (issue,) = validator.errors(doc, "cases")
        assert issue.kind == INVALID_VALUE and text in issue.message, (text, issue.message)


def test_nesting_16_is_allowed():
    doc = {"a": {}}
    node = doc["a"]
    for _ in range(13):
        node["a"] = {}
        node = node["a"]
    node["a"] = [1.0]  # document (1) + 14 objects + array = 16 levels
    check_document(doc)


def test_document_size_rules():
    # object = 2 + Σ(len(name) + 1 + size(value)); null/bool 1; numbers 9; string/bytes 2 + bytes
    assert check_document({}) == 2
    assert check_document({"n": None, "b": True}) == 2 + (1 + 1 + 1) * 2
    assert check_document({"f": 1.0, "i": 1}) == 2 + (1 + 1 + 9) * 2
    assert check_document({"s": "é", "y": b"ab"}) == 2 + (1 + 1 + 4) * 2
    assert check_document({"ab": [1.0, None]}) == 2 + 2 + 1 + (2 + 9 + 1)
    assert check_document({"o": {"ab": "c"}}) == 2 + 1 + 1 + (2 + 2 + 1 + 3)


def test_encodings():
    value = {"i": 5, "neg": -1, "f": 1.5, "nan": math.nan, "negz": -0.0, "b": b"\x01", "l": [True, None, "s"]}
    assert encode(value, "convex_encoded_json") == {
        "i": {"$integer": "BQAAAAAAAAA="}, "neg": {"$integer": "//////////8="}, "f": 1.5,
        "nan": {"$float": "AAAAAAAA+H8="}, "negz": {"$float": "AAAAAAAAAIA="}, "b": {"$bytes": "AQ=="},
        "l": [True, None, "s"],
    }
    assert encode(value, "json")["i"] == "5" and encode(value, "json")["nan"] == "NaN"
    assert encode(value, "json")["b"] == "AQ=="
    round_tripped = decode_convex_json(json.loads(json.dumps(encode(value, "convex_json"))))
    assert round_tripped["i"] == 5 and isinstance(round_tripped["i"], int)
    assert math.isnan(round_tripped["nan"]) and math.copysign(1, round_tripped["negz"]) < 0
    assert json.dumps(encode({"t": 1700000000000.0, "n": 42}, "export_json")) == '{"t": 1700000000000.0, "n": 42}'
    assert decode_export_json(json.loads('{"t":1.0,"n":42,"b":{"$bytes":"AQ=="}}')) == {"t": 1.0, "n": 42, "b": b"\x01"}


def test_plain_numbers_in_arguments_are_float64_and_bad_specials_rejected():
    assert decode_convex_json({"n": 3}) == {"n": 3.0}
    for bad in ({"$foo": "x"}, {"$integer": "AQ=="}, {"$integer": "x", "y": 1}, {"$float": "AAAAAAAA8D8="}):
        with pytest.raises(InvalidValue):
            decode_convex_json(bad)


def test_bad_schema_json_is_a_clear_error(tmp_path):
    with pytest.raises(SchemaError, match="unknown validator type 'strng'"):
        Schema.from_json({"tables": [{"tableName": "t", "documentType": {"type": "object", "value": {
            "a": {"fieldType": {"type": "strng"}, "optional": False}}}}]})
    path = tmp_path / "s.json"
    path.write_text("{nope")
    with pytest.raises(SchemaError, match="cannot read schema"):
        Schema.from_file(path)


def test_errors_do_not_mutate_document(validator):
    doc = valid_case() | {"extra": 1.0}
    before = copy.deepcopy(doc)
    validator.errors(doc, "cases")
    assert doc == before


SPEC = __import__("pathlib").Path(__file__).resolve().parents[2] / "docs" / "spec" / "MAPPING_SPEC.md"


@pytest.mark.parametrize(("table", "section", "next_section"), [
    ("users", "### 2.2", "### 2.3"), ("userProfiles", "### 2.3", "### 2.4"), ("cases", "### 2.4", "### 2.5")])
def test_contract_matches_mapping_spec_fields_and_required_flags(schema, table, section, next_section):
    import re

    text = SPEC.read_text()
    body = text[text.index(section): text.index(next_section)]
    spec_fields = {}
    for line in body.splitlines():
        cells = line.split("|")
        if line.startswith("| `") and len(cells) > 3:
            for name in re.findall(r"`(\w+)`", cells[1]):
                spec_fields[name] = "**R**" in line
    fields = schema.table(table).document_type["value"]
    assert set(fields) == set(spec_fields)
    assert {n: not spec["optional"] for n, spec in fields.items()} == spec_fields
    index_line = body[body.index("Indexes"):]
    for name, index_fields in schema.table(table).indexes:
        assert f"`{name}` [{', '.join(index_fields)}]" in index_line


def _variants(doc):
    """Deterministic mutations of a valid document: every kind of schema issue, and harmless changes."""
    import random

    rng = random.Random(7)
    values = [None, True, 1.0, 3, "x", "pwd", USER_ID, CASE_ID, "not an id", [], [1.0], {}, {"id": "r"},
              b"ab", float("nan"), [{"id": "r1", "receivedDate": "d", "responseDueDate": "d", "createdAt": 2}]]
    out = [doc]
    for name in sorted(doc):
        out.append({k: v for k, v in doc.items() if k != name})
        for value in values:
            out.append(doc | {name: value})
    for _ in range(200):
        mutated = copy.deepcopy(doc)
        if "rfiEntries" in mutated:
            item = mutated["rfiEntries"][0]
            item[rng.choice(sorted(item) + ["extra", "notes"])] = rng.choice(values)
        mutated[rng.choice(sorted(doc) + ["extra"])] = rng.choice(values)
        out.append(mutated)
    return out


def _holds_int64(value):
    if isinstance(value, dict):
        return any(_holds_int64(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_int64(v) for v in value)
    return isinstance(value, int) and not isinstance(value, bool)


def test_fast_check_agrees_with_detailed_issues(schema, validator):
    from loader.export import as_wire

    outcomes = set()
    for table, doc in (("cases", valid_case()), ("users", {"email": "a@b.c", "name": "A", "deletedAt": 1.0})):
        for variant in _variants(doc):
            issues = validator.errors(variant, table)
            valid = validator.is_valid(variant, table)
            assert valid == (issues == []), (variant, issues)
            if not issues or issues[0].kind != INVALID_VALUE:  # the detailed walk, without the fast check
                detailed = list(validator._schema_issues(variant, table))
                assert validator.matches_schema(variant, table) == (detailed == []) == valid, (variant, detailed)
                assert (validator.first_error(variant, table) is None) == valid
            if not _holds_int64(variant):  # in an exported line every number is a float64
                assert validator.is_valid(as_wire(variant), table, json_numbers=True) == valid, variant
            outcomes.add(valid)
    assert outcomes == {True, False}


def _compact_json_size(doc):
    """UTF-8 size of `doc`'s compact JSON, None when it has none (bytes, NaN, unpaired surrogates)."""
    try:
        return len(json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8"))
    except (TypeError, ValueError):
        return None


def test_json_size_shortcut_agrees_with_the_shape_walk(schema, validator):
    """Skipping the shape walk for small documents of shape-bounding schemas never changes the answer."""
    from loader.export import as_wire

    deep = [1.0]
    for _ in range(20):
        deep = [deep]
    shape_breakers = [valid_case() | {"tags": ["x"] * 8193}, valid_case() | {"_id": deep},
                      valid_case() | {"tags": ["\ud800"]}, valid_case() | {"extra": deep}]
    checked = 0
    for table, doc in (("cases", valid_case()), ("users", {"email": "a@b.c", "name": "A", "deletedAt": 1.0}),
                       ("jobDescriptionTemplates", {"deep": deep})):
        for variant in [as_wire(v) for v in _variants(doc) + shape_breakers if not _holds_int64(v)]:
            size = _compact_json_size(variant)
            if size is not None:
                expected = validator.is_valid(variant, table, json_numbers=True)
                assert validator.is_valid(variant, table, json_numbers=True, json_size=size) == expected, variant
                checked += 1
    assert checked > 500
    assert [validator._bounds_shapes(t) for t in ("cases", "jobDescriptionTemplates", "userProfiles", "users")] \
        == [True, False, True, True]
    assert not validator.is_valid({"deep": deep}, "jobDescriptionTemplates", json_size=100)
