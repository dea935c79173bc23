"""A scripted aiohttp server on a real socket, for the gateway's transport-level tests.

Each test registers route handlers and queued faults; every request is recorded so that tests
can assert what the gateway actually sent (headers, bodies, retries).
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Reply = tuple[int, Any]  # (status, JSON value | bytes | None)


@dataclass
class FakeConvex:
    """Routes: (METHOD, path) -> handler(Recorded) -> Reply. Faults are consumed first."""

    routes: dict[tuple[str, str], Callable[[Recorded], Reply]] = field(default_factory=dict)
    faults: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""

    def route(self, method: str, path: str, handler: Callable[[Recorded], Reply]) -> None:
        self.routes[(method, path)] = handler

    def fail(self, method: str, path: str, *faults: Any) -> None:
        """Queue faults: a status, (status, body[, headers]), "drop", ("delay", s) or "pass"."""
        self.faults.setdefault((method, path), []).extend(faults)

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        record = Recorded(request.method, request.path, dict(request.query),
                          dict(request.headers), await request.read())
        self.requests.append(record)
        queued = self.faults.get((request.method, request.path))
        fault = queued.pop(0) if queued else "pass"
        if fault != "pass":
            if fault == "drop":
                request.transport.close()
                return web.Response()
            if isinstance(fault, tuple) and fault[0] == "delay":
                await asyncio.sleep(fault[1])
            else:
                status, body, *headers = fault if isinstance(fault, tuple) else (fault, None)
                return _response(status, body, *headers)
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            return web.Response(status=404)
        return _response(*handler(record))


def _response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    if body is None:
        return web.Response(status=status, headers=headers)
    if isinstance(body, bytes):
        return web.Response(status=status, body=body, content_type="text/plain", headers=headers)
    return web.json_response(body, status=status, headers=headers)


class ServerThread:
    """Runs a FakeConvex on 127.0.0.1 with an ephemeral port in a background thread."""

    def __init__(self, fake: FakeConvex):
        self.fake = fake
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> FakeConvex:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake Convex server did not start")
        return self.fake

    def __exit__(self, *exc_info: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.fake._handle)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]
        self.fake.url = f"http://127.0.0.1:{port}"
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())
