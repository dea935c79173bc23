"""Project-function mirrors in the emulator: one transaction per call, schema-validated writes,
visibility, ConvexError, ctx.db operations and pagination — called over real HTTP."""

import pytest
from emulator_support import EmuClient, running_emulator

from loader.convex.ids import decode_id
from perm_rehearsal.emulator.functions import ConvexError, register_function


@register_function("pytest/emu:addUsers", kind="mutation")
def add_users(ctx, args):
    ids = [ctx.db.insert("users", {"email": e}) for e in args["emails"]]
    if args.get("failAfter"):
        raise ValueError("boom after inserting")
    return ids


@register_function("pytest/emu:badWrite", kind="mutation")
def bad_write(ctx, args):
    ctx.db.insert("users", {"email": "ok@x.y"})
    ctx.db.insert("users", {"email": 5.0})


@register_function("pytest/emu:appError", kind="mutation")
def app_error(ctx, args):
    ctx.db.insert("users", {"email": "kept?@x.y"})
    raise ConvexError({"reason": "nope", "count": 3.0, "big": 7})


@register_function("pytest/emu:byEmail", kind="query", internal=False)
def by_email(ctx, args):
    return ctx.db.query("users").index("email", args["email"]).unique()


@register_function("pytest/emu:writeInQuery", kind="query")
def write_in_query(ctx, args):
    ctx.db.insert("users", {"email": "x@y.z"})


@register_function("pytest/emu:edit", kind="mutation")
def edit(ctx, args):
    doc_id = args["id"]
    ctx.db.patch(doc_id, {"name": "Patched"})
    ctx.db.unset(doc_id, "phone")
    before = ctx.db.get(doc_id)
    ctx.db.replace(doc_id, {"email": before["email"], "name": before["name"] + "!"})
    return ctx.db.get(doc_id)


@register_function("pytest/emu:remove", kind="mutation")
def remove(ctx, args):
    ctx.db.delete(args["id"])
    return ctx.db.get(args["id"])


@register_function("pytest/emu:page", kind="query")
def page(ctx, args):
    query = ctx.db.query("users")
    if args.get("index"):
        query = query.index("by_deleted_at", *args["eq"])
    return query.order(args.get("order", "asc")).paginate(args["cursor"], args["numItems"])


@register_function("pytest/emu:manyWrites", kind="mutation")
def many_writes(ctx, args):
    for i in range(int(args["n"])):
        ctx.db.insert("scratch", {"i": float(i)})


@register_function("pytest/emu:count", kind="query")
def count(ctx, args):
    return float(len(ctx.db.query(args["table"]).collect()))


@pytest.fixture
def client(tmp_path):
    with running_emulator(tmp_path / "state") as emu:
        c = EmuClient(emu)
        yield c
        c.close()


def test_mutation_inserts_with_minted_ids(client):
    ids = client.value("pytest/emu:addUsers", {"emails": ["a@x.y", "b@x.y"]}, endpoint="mutation")
    assert [decode_id(i)[0] for i in ids] == [10004, 10004]
    assert [d["_id"] for d in client.table("users")] == ids


def test_exception_rolls_back_every_write(client):
    body = client.call("mutation", "pytest/emu:addUsers", {"emails": ["a@x.y"], "failAfter": True})
    assert body["status"] == "error" and body["errorMessage"] == "Uncaught Error: boom after inserting"
    assert client.size("users") == 0


def test_schema_violation_fails_the_whole_call(client):
    body = client.call("mutation", "pytest/emu:badWrite")
    assert body["status"] == "error"
    assert 'Failed to insert or update a document in table "users" because it does not match the schema' in body["errorMessage"]
    assert client.size("users") == 0


def test_convex_error_fills_error_data(client):
    body = client.call("mutation", "pytest/emu:appError", fmt="json")
    assert body["errorData"] == {"reason": "nope", "count": 3.0, "big": "7"}  # python int = int64
    assert body["errorMessage"].startswith("Uncaught ConvexError:")
    assert client.size("users") == 0


def test_internal_functions_need_admin_public_ones_do_not(client):
    client.value("pytest/emu:addUsers", {"emails": ["a@x.y"]}, endpoint="mutation")
    anon = EmuClient(client.emu, key=None)
    assert anon.call("mutation", "pytest/emu:addUsers", {"emails": ["z@x.y"]})["errorMessage"] == (
        "Could not find public function for 'pytest/emu:addUsers'.")
    found = anon.value("pytest/emu:byEmail", {"email": "a@x.y"})
    assert found["email"] == "a@x.y"
    assert anon.value("pytest/emu:byEmail", {"email": "missing@x.y"}) is None
    r = anon.http.post("/api/function", json={"path": "pytest/emu:byEmail", "args": {"email": "a@x.y"}})
    assert r.status_code == 403
    anon.close()


def test_queries_cannot_write(client):
    body = client.call("query", "pytest/emu:writeInQuery")
    assert body["status"] == "error" and "not allowed in a query" in body["errorMessage"]
    assert client.size("users") == 0


def test_patch_unset_replace_delete(client):
    (doc_id,) = client.value("pytest/emu:addUsers", {"emails": ["a@x.y"]}, endpoint="mutation")
    result = client.value("pytest/emu:edit", {"id": doc_id}, endpoint="mutation")
    assert {k: v for k, v in result.items() if not k.startswith("_")} == {"email": "a@x.y", "name": "Patched!"}
    assert result["_id"] == doc_id
    assert client.value("pytest/emu:remove", {"id": doc_id}, endpoint="mutation") is None
    assert client.size("users") == 0
    body = client.call("mutation", "pytest/emu:remove", {"id": doc_id})
    assert body["status"] == "error" and "does not exist" in body["errorMessage"]


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_paginate_full_table_and_index(client, order):
    emails = [f"u{i:02d}@x.y" for i in range(23)]
    client.value("pytest/emu:addUsers", {"emails": emails}, endpoint="mutation")
    for args in ({}, {"index": True, "eq": []}, {"index": True, "eq": [None]}):
        seen, cursor = [], None
        while True:
            result = client.value("pytest/emu:page", {**args, "cursor": cursor, "numItems": 5, "order": order})
            assert len(result["page"]) <= 5
            seen.extend(d["email"] for d in result["page"])
            if result["isDone"]:
                break
            cursor = result["continueCursor"]
        assert seen == (emails if order == "asc" else emails[::-1]), args


def test_write_limit_per_call(tmp_path):
    with running_emulator(tmp_path / "lim", max_writes_per_function=10) as emu:
        c = EmuClient(emu)
        assert c.call("mutation", "pytest/emu:manyWrites", {"n": 10})["status"] == "success"
        body = c.call("mutation", "pytest/emu:manyWrites", {"n": 11})
        assert "Too many writes" in body["errorMessage"]
        assert c.value("pytest/emu:count", {"table": "scratch"}) == 10
        c.close()


def test_int64_args_and_results_round_trip(client):
    @register_function("pytest/emu:echo", kind="query")
    def echo(ctx, args):
        return args

    value = client.value("pytest/emu:echo", {"n": {"$integer": "BQAAAAAAAAA="}, "f": 2}, fmt="convex_encoded_json")
    assert value == {"n": {"$integer": "BQAAAAAAAAA="}, "f": 2.0}
    assert client.value("pytest/emu:echo", {"n": {"$integer": "BQAAAAAAAAA="}}, fmt="json") == {"n": "5"}


@register_function("pytest/emu:act", kind="action")
def act(ctx, args):
    return {"echo": args["x"], "users": float(len(ctx.db.query("users").collect()))}


def test_action_endpoint_and_kind_mismatch(client):
    assert client.value("pytest/emu:act", {"x": "hi"}, endpoint="action") == {"echo": "hi", "users": 0.0}
    body = client.call("query", "pytest/emu:act", {"x": "hi"})
    assert body["errorMessage"] == "Trying to execute pytest/emu:act as Query, but it is defined as Action."
    r = client.http.post("/api/run/pytest/emu/act", json={"args": {"x": "run"}})
    assert r.json()["value"]["echo"] == "run"
