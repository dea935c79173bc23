"""The WebSocket sync subset (CONVEX_HTTP §7.4): enough for `npx convex import`, `data` and `export`.

One `SyncSession` per socket holds the subscribed queries and the last versions sent. Queries run
through the same `run_function` as `POST /api/query` (convex_encoded_json values), re-run after
every committed change and at least every `RERUN_INTERVAL` seconds; a `Transition` carries only
the results that changed. The loader never uses this endpoint (§7.3).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import struct
import time
from typing import Any

from aiohttp import WSMsgType, web

from perm_rehearsal.emulator import auth
from perm_rehearsal.emulator.api import json_text, parse_args, run_function
from perm_rehearsal.emulator.errors import ApiError
from perm_rehearsal.emulator.keys import STATE

log = logging.getLogger("loader.emulator.sync")

RERUN_INTERVAL = 0.25  # seconds between re-runs of the subscribed queries when nothing changed
PING_INTERVAL = 10.0  # keep the client's server-inactivity timer from firing


def encode_ts(ts: int) -> str:
    """A u64 timestamp as the protocol sends it: base64 of 8 little-endian bytes."""
    return base64.b64encode(struct.pack("<Q", ts)).decode()


class SyncSession:
    """Versions and subscriptions of one client connection."""

    def __init__(self, state: Any, admin_key: str):
        self.state = state
        self.admin_key = admin_key
        self.is_admin = False
        self.query_set_version = 0
        self.identity_version = 0
        self.ts = 0
        self.sent_version = {"querySet": 0, "identity": 0, "ts": encode_ts(0)}
        self.queries: dict[int, tuple[str, Any]] = {}  # queryId -> (udfPath, raw args)
        self.results: dict[int, dict] = {}  # queryId -> last modification sent

    def _next_ts(self) -> str:
        self.ts = max(self.ts + 1, time.time_ns())
        return encode_ts(self.ts)

    def transition(self, modifications: list[dict]) -> dict:
        """A Transition from the last version sent to the current one (S = previous E)."""
        end = {"querySet": self.query_set_version, "identity": self.identity_version, "ts": self._next_ts()}
        message = {"type": "Transition", "startVersion": self.sent_version, "endVersion": end,
                   "modifications": modifications}
        self.sent_version = end
        return message

    def authenticate(self, message: dict) -> dict:
        """Admin key check; the identity version becomes baseVersion + 1."""
        base = int(message.get("baseVersion", 0))
        token_type = message.get("tokenType")
        if token_type == "Admin":
            if not auth.key_matches(str(message.get("value", "")), self.admin_key):
                return {"type": "AuthError", "error": "The provided admin key was invalid for this instance",
                        "baseVersion": base, "authUpdateAttempted": True}
            self.is_admin = True
        else:
            self.is_admin = False  # "None" clears auth; user JWTs are out of scope (anonymous)
        self.identity_version = base + 1
        return self.transition(self.rerun(all_queries=True))

    def modify_query_set(self, message: dict) -> dict:
        if int(message.get("baseVersion", -1)) != self.query_set_version:
            raise ValueError(f"ModifyQuerySet baseVersion {message.get('baseVersion')} "
                             f"!= current {self.query_set_version}")
        modifications = []
        added = []
        for change in message.get("modifications", []):
            query_id = int(change["queryId"])
            if change["type"] == "Add":
                self.queries[query_id] = (change["udfPath"], change.get("args", []))
                added.append(query_id)
            elif change["type"] == "Remove":
                self.queries.pop(query_id, None)
                self.results.pop(query_id, None)
                modifications.append({"type": "QueryRemoved", "queryId": query_id})
        self.query_set_version = int(message["newVersion"])
        modifications.extend(self._run(query_id) for query_id in added)
        return self.transition(modifications)

    def rerun(self, all_queries: bool = False) -> list[dict]:
        """Re-run every subscription; return the modifications whose result changed."""
        changed = []
        for query_id in list(self.queries):
            previous = self.results.get(query_id)
            current = self._run(query_id)
            if all_queries or current != previous:
                changed.append(current)
        return changed

    def _run(self, query_id: int) -> dict:
        udf_path, raw_args = self.queries[query_id]
        try:
            module, _, export = udf_path.partition(":")
            args = parse_args(raw_args)
            body = run_function(self.state, f"{module}:{export or 'default'}", args, "convex_encoded_json",
                               "query", self.is_admin)
        except ApiError as exc:
            body = {"status": "error", "errorMessage": exc.message}
        if body["status"] == "success":
            result = {"type": "QueryUpdated", "queryId": query_id, "value": body["value"], "logLines": [],
                      "journal": None}
        else:
            result = {"type": "QueryFailed", "queryId": query_id, "errorMessage": body["errorMessage"],
                      "logLines": [], "errorData": body.get("errorData"), "journal": None}
        self.results[query_id] = result
        return result


async def handle_sync(request: web.Request) -> web.WebSocketResponse:
    """`GET /api/<client version>/sync`, upgraded to a WebSocket of JSON text frames."""
    state = request.app[STATE]
    ws = web.WebSocketResponse(max_msg_size=0)
    await ws.prepare(request)
    session = SyncSession(state, state.config.admin_key)
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()
    remove_listener = state.add_listener(lambda: loop.call_soon_threadsafe(changed.set))
    lock = asyncio.Lock()  # one sender at a time keeps start versions chained
    last_sent = time.monotonic()

    async def send(message: dict) -> None:
        nonlocal last_sent
        await ws.send_str(json_text(message))
        last_sent = time.monotonic()

    async def refresh() -> None:
        while not ws.closed:
            try:
                await asyncio.wait_for(changed.wait(), RERUN_INTERVAL)
            except asyncio.TimeoutError:
                pass
            changed.clear()
            async with lock:
                try:
                    modifications = await loop.run_in_executor(None, session.rerun)
                    if modifications:
                        await send(session.transition(modifications))
                    elif time.monotonic() - last_sent > PING_INTERVAL:
                        await send({"type": "Ping"})
                except ConnectionError:
                    return
                except Exception as exc:  # noqa: BLE001 - tell the client instead of going silent
                    log.exception("sync: re-running subscriptions failed")
                    await send({"type": "FatalError", "error": f"Internal error: {exc}"})
                    await ws.close()
                    return

    refresher = asyncio.create_task(refresh())
    try:
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            try:
                message = json.loads(frame.data)
                kind = message.get("type")
                async with lock:
                    if kind == "Authenticate":
                        await send(await loop.run_in_executor(None, session.authenticate, message))
                    elif kind == "ModifyQuerySet":
                        await send(await loop.run_in_executor(None, session.modify_query_set, message))
                    elif kind in ("Mutation", "Action"):
                        log.warning("sync: %s over WebSocket is not implemented; use HTTP", kind)
                        await send({"type": "FatalError", "error": f"{kind} over WebSocket is not supported"})
                        break
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("sync: bad client message: %s", exc)
                await send({"type": "FatalError", "error": f"Bad client message: {exc}"})
                break
    finally:
        remove_listener()
        refresher.cancel()
        await asyncio.gather(refresher, return_exceptions=True)
        await ws.close()
    return ws
