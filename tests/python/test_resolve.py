"""resolve: references and nested references swapped for ids; DQ-06 rejects/warnings, DQ-24 drops."""

from __future__ import annotations

import pytest

from convex_marts_fixture import CASES_META, PROFILES_META, uuid
from loader.convex.ids import encode_id
from loader.convex.schema import Schema
from loader.dbt_manifest import _mart_from_node
from loader.resolve import Resolver

USER_A = encode_id(10004, bytes(range(16)))
USER_C = encode_id(10004, bytes(range(1, 17)))
CASE_11 = encode_id(10001, bytes(range(2, 18)))
IDS = {("users", "email", "ann@example.com"): USER_A, ("users", "email", "cy@example.com"): USER_C,
       ("cases", "legacyId", uuid(11)): CASE_11}


def mart(meta, columns):
    return _mart_from_node({"name": "m", "relation_name": "s.m", "config": {"meta": {"convex": meta}},
                            "columns": {c: {} for c in columns}})


@pytest.fixture(scope="module")
def schema():
    return Schema.from_file()


def resolver(meta, columns, schema):
    return Resolver(mart(meta, columns), schema, lambda table, field, key: IDS.get((table, field, key)))


def test_case_owner_is_filled_and_keys_stripped(schema):
    r = resolver(CASES_META, ["legacyId", "employerName", "resolve_owner_email"], schema)
    out = r.resolve({"legacyId": uuid(11), "employerName": "E", "resolve_owner_email": "ann@example.com"})
    assert out.document == {"userId": USER_A, "legacyId": uuid(11), "employerName": "E"}
    assert list(out.document) == ["userId", "legacyId", "employerName"]  # contract order
    assert out.rejects == [] and out.findings == []


@pytest.mark.parametrize("owner", ["nobody@example.com", None])
def test_unresolvable_required_reference_rejects_with_dq06(schema, owner):
    r = resolver(CASES_META, ["legacyId", "resolve_owner_email"], schema)
    exported = {"legacyId": uuid(12)}
    if owner:
        exported["resolve_owner_email"] = owner
    out = r.resolve(exported)
    assert out.document is None
    [reject] = out.rejects
    assert (reject["dq_id"], reject["legacy_id"], reject["field"], reject["table"]) == ("DQ-06", uuid(12), "userId", "cases")
    assert "document not written" in reject["message"]


def test_profile_optional_firm_and_nested_items(schema):
    columns = ["legacyId", "dismissedDeadlines", "resolve_owner_email", "resolve_firm_email", "resolve_v1_rows"]
    r = resolver(PROFILES_META, columns, schema)
    out = r.resolve({
        "legacyId": uuid(1),
        "dismissedDeadlines": [
            {"deadlineType": "pwd_expiration", "dismissedAt": 5, "caseLegacyId": uuid(11)},
            {"deadlineType": "rfi_due", "dismissedAt": 6, "caseLegacyId": uuid(99)},
        ],
        "resolve_owner_email": "ann@example.com", "resolve_firm_email": "gone@example.com",
        "resolve_v1_rows": [{"v1_table": "app_users", "v1_uuid": uuid(1)}],
    })
    assert out.document["userId"] == USER_A and "firmId" not in out.document
    assert out.document["dismissedDeadlines"] == [{"caseId": CASE_11, "deadlineType": "pwd_expiration", "dismissedAt": 5}]
    assert sorted((f["dq_id"], f["field"]) for f in out.findings) == [
        ("DQ-06", "firmId"), ("DQ-24", "dismissedDeadlines[1].caseId")]
    assert out.rejects == []


def test_resolved_firm_is_written(schema):
    r = resolver(PROFILES_META, ["resolve_owner_email", "resolve_firm_email", "resolve_v1_rows"], schema)
    out = r.resolve({"resolve_owner_email": "ann@example.com", "resolve_firm_email": "cy@example.com"})
    assert out.document == {"userId": USER_A, "firmId": USER_C}


def test_a_mart_without_mapping_rows_is_refused():
    from loader.errors import ConfigError

    meta = {k: v for k, v in CASES_META.items() if k != "mapping"}
    with pytest.raises(ConfigError, match="meta.convex.mapping must declare"):
        mart(meta, ["legacyId", "resolve_owner_email"])


def test_nested_items_are_resorted_by_the_new_ids_when_declared(schema):
    low, high = encode_id(10001, bytes(16)), encode_id(10001, b"\xff" * 16)
    ids = {("cases", "legacyId", "z-case"): low, ("cases", "legacyId", "a-case"): high,
           ("users", "email", "ann@example.com"): USER_A}
    nested = [{**PROFILES_META["nested_references"][0], "sort_by": ["dismissedAt", "caseId", "deadlineType"]}]
    meta = {**PROFILES_META, "nested_references": nested}
    r = Resolver(mart(meta, ["dismissedDeadlines", "resolve_owner_email", "resolve_firm_email", "resolve_v1_rows"]),
                 schema, lambda table, field, key: ids.get((table, field, key)))
    items = [{"deadlineType": "b", "dismissedAt": 5, "caseLegacyId": "a-case"},
             {"deadlineType": "a", "dismissedAt": 5, "caseLegacyId": "z-case"},
             {"deadlineType": "a", "dismissedAt": 1, "caseLegacyId": "a-case"}]
    out = r.resolve({"dismissedDeadlines": items, "resolve_owner_email": "ann@example.com"})
    assert [(d["dismissedAt"], d["caseId"]) for d in out.document["dismissedDeadlines"]] == [(1, high), (5, low), (5, high)]
    unsorted = resolver(PROFILES_META, ["dismissedDeadlines", "resolve_owner_email", "resolve_firm_email",
                                        "resolve_v1_rows"], schema)
    kept = unsorted.resolve({"dismissedDeadlines": items[:1], "resolve_owner_email": "ann@example.com"})
    assert kept.document["dismissedDeadlines"] == []  # a-case unknown in IDS: dropped (DQ-24)
