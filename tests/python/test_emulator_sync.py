"""The emulator's WebSocket sync subset (CONVEX_HTTP §7.4), spoken to by a real WebSocket client.

The official CLI exercises the happy path (test_convex_cli_compat.py); these tests pin the
protocol rules it relies on: version chaining, identity versions, query results, push on change.
"""

from __future__ import annotations

import asyncio
import base64
import json
import struct

import aiohttp
import pytest

from loader.convex.gateway import ConvexGateway, ConvexTarget
from perm_rehearsal.emulator import Emulator, EmulatorConfig

ZERO = {"querySet": 0, "identity": 0, "ts": "AAAAAAAAAAA="}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    with Emulator(EmulatorConfig(state_dir=tmp_path_factory.mktemp("sync-emulator"))) as running:
        yield running


def ts_value(encoded: str) -> int:
    return struct.unpack("<Q", base64.b64decode(encoded))[0]


async def receive(ws, timeout: float = 5.0) -> dict:
    while True:
        message = json.loads(await asyncio.wait_for(ws.receive_str(), timeout))
        if message["type"] != "Ping":
            return message


def talk(emulator: Emulator, script) -> None:
    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"{emulator.url}/api/1.48.0/sync") as ws:
                await ws.send_str(json.dumps({"type": "Connect", "sessionId": "s", "connectionCount": 0}))
                await script(ws)
    asyncio.run(main())


def authenticate(key: str, base: int = 0) -> str:
    return json.dumps({"type": "Authenticate", "tokenType": "Admin", "value": key, "baseVersion": base})


def modify(base: int, new: int, *modifications: dict) -> str:
    return json.dumps({"type": "ModifyQuerySet", "baseVersion": base, "newVersion": new,
                       "modifications": list(modifications)})


def test_wrong_key_gets_auth_error(emulator):
    async def script(ws):
        await ws.send_str(authenticate("convex-self-hosted|" + "0" * 64, base=3))
        message = await receive(ws)
        assert message == {"type": "AuthError", "error": message["error"], "baseVersion": 3,
                           "authUpdateAttempted": True}
    talk(emulator, script)


def test_versions_chain_and_results_follow_state(emulator, tmp_path):
    gateway = ConvexGateway(ConvexTarget(emulator.url, emulator.admin_key))
    add_size = {"type": "Add", "queryId": 0, "udfPath": "_system/cli/tableSize:default",
                "args": [{"tableName": "users"}]}
    add_missing = {"type": "Add", "queryId": 1, "udfPath": "nope:missing", "args": [{}]}

    async def script(ws):
        await ws.send_str(authenticate(emulator.admin_key))
        first = await receive(ws)
        assert first["type"] == "Transition" and first["startVersion"] == ZERO
        assert first["endVersion"]["identity"] == 1 and first["endVersion"]["querySet"] == 0

        await ws.send_str(modify(0, 1, add_size, add_missing))
        second = await receive(ws)
        assert second["startVersion"] == first["endVersion"]
        assert second["endVersion"]["querySet"] == 1 and second["endVersion"]["identity"] == 1
        by_id = {m["queryId"]: m for m in second["modifications"]}
        assert by_id[0]["type"] == "QueryUpdated" and by_id[0]["value"] == gateway.table_size("users")
        assert by_id[1]["type"] == "QueryFailed" and "Could not find" in by_id[1]["errorMessage"]

        users = tmp_path / "users.jsonl"
        users.write_text('{"email":"a@example.com"}\n{"email":"b@example.com"}\n')
        before = gateway.table_size("users")
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: gateway.import_one_shot(users, table="users", mode="append"))
        pushed = await receive(ws)
        assert pushed["startVersion"] == second["endVersion"]
        assert ts_value(pushed["endVersion"]["ts"]) > ts_value(second["endVersion"]["ts"])
        assert pushed["modifications"] == [{**by_id[0], "value": before + 2}]

        await ws.send_str(modify(1, 2, {"type": "Remove", "queryId": 0}))
        removed = await receive(ws)
        assert removed["startVersion"] == pushed["endVersion"]
        assert removed["endVersion"]["querySet"] == 2
        assert removed["modifications"] == [{"type": "QueryRemoved", "queryId": 0}]

        await ws.send_str(modify(7, 8))
        assert (await receive(ws))["type"] == "FatalError"

    try:
        talk(emulator, script)
    finally:
        gateway.close()


def test_system_queries_need_the_admin_identity(emulator):
    async def script(ws):
        await ws.send_str(modify(0, 1, {"type": "Add", "queryId": 5, "udfPath": "_system/cli/tables:default",
                                        "args": [{"paginationOpts": {"numItems": 10, "cursor": None}}]}))
        message = await receive(ws)
        assert message["modifications"][0]["type"] == "QueryFailed"
        await ws.send_str(authenticate(emulator.admin_key))
        message = await receive(ws)
        assert message["endVersion"]["identity"] == 1
        assert message["modifications"][0]["type"] == "QueryUpdated"
    talk(emulator, script)
