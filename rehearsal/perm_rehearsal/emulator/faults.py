"""Fault injection, driven from `/_emulator/faults` or the config (CONVEX_HTTP §7.2).

A rule matches requests by method and path (exact, prefix with a trailing `*`, or `*`), lets `skip`
matching calls through, then affects the next `times` calls (null = all), each with `probability`
(seeded). Actions:
- `status`: answer `status` (429/500/502/503/…) without running the handler;
- `drop`: close the connection without an answer, without running the handler;
- `commit_then_drop`: run the handler (its effects commit), then close the connection;
- `commit_then_status`: run the handler, then answer `status` instead of its response;
- `delay`: only the latency.
Every rule may add `latency_ms` before acting.
"""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import asdict, dataclass, field

from aiohttp import web

from perm_rehearsal.emulator.keys import FAULTS

ACTIONS = ("status", "drop", "commit_then_drop", "commit_then_status", "delay")
DEFAULT_CODES = {
    408: ("ClientDisconnect", "The client disconnected"),
    429: ("RateLimited", "Rate limit exceeded. Try again later."),
    500: ("InternalServerError", "Your request couldn't be completed. Try again later."),
    503: ("Overloaded", "The service is overloaded. Try again later."),
}


class FaultRuleError(ValueError):
    """A fault rule that cannot be understood."""


@dataclass
class FaultRule:
    endpoint: str
    action: str = "status"
    status: int = 503
    code: str | None = None
    message: str | None = None
    latency_ms: int = 0
    times: int | None = 1
    skip: int = 0
    probability: float = 1.0
    seed: int | None = None
    method: str | None = None
    seen: int = 0
    fired: int = 0
    _rng: random.Random = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise FaultRuleError(f"unknown fault action {self.action!r}; expected one of {ACTIONS}")
        if not isinstance(self.endpoint, str) or not self.endpoint:
            raise FaultRuleError("fault rule needs an endpoint (path, prefix*, or *)")
        if not 0.0 <= float(self.probability) <= 1.0:
            raise FaultRuleError("probability must be within 0..1")
        self._rng = random.Random(self.seed)

    @classmethod
    def from_json(cls, obj: dict) -> FaultRule:
        allowed = {"endpoint", "action", "status", "code", "message", "latency_ms", "times", "skip",
                   "probability", "seed", "method"}
        if not isinstance(obj, dict) or set(obj) - allowed:
            raise FaultRuleError(f"fault rule keys must be among {sorted(allowed)}")
        return cls(**obj)

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        if self.endpoint == "*":
            return True
        if self.endpoint.endswith("*"):
            return path.startswith(self.endpoint[:-1])
        return path == self.endpoint

    def take(self) -> bool:
        """Count a matching call; True when this call is to be faulted."""
        self.seen += 1
        if self.seen <= self.skip or (self.times is not None and self.fired >= self.times):
            return False
        if self._rng.random() >= self.probability:
            return False
        self.fired += 1
        return True

    def error_response(self) -> web.Response:
        if self.status == 502 and self.code is None:
            return web.Response(status=502, text="Bad Gateway", content_type="text/plain")
        code, message = DEFAULT_CODES.get(self.status, ("InternalServerError", "Injected fault"))
        return web.json_response(
            {"code": self.code or code, "message": self.message or message}, status=self.status
        )


class Faults:
    def __init__(self, rules: list[dict] | None = None):
        self._lock = threading.Lock()
        self.rules: list[FaultRule] = [FaultRule.from_json(r) for r in rules or []]
        self.calls: dict[str, int] = {}

    def add(self, rules: list[dict]) -> None:
        parsed = [FaultRule.from_json(r) for r in rules]
        with self._lock:
            self.rules.extend(parsed)

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def pick(self, method: str, path: str) -> FaultRule | None:
        with self._lock:
            key = f"{method} {path}"
            self.calls[key] = self.calls.get(key, 0) + 1
            for rule in self.rules:
                if rule.matches(method, path) and rule.take():
                    return rule
        return None


def _drop(request: web.Request) -> web.StreamResponse:
    transport = request.transport
    if transport is not None:
        transport.abort()
    raise asyncio.CancelledError


@web.middleware
async def fault_middleware(request: web.Request, handler):
    if request.path.startswith("/_emulator/"):
        return await handler(request)
    rule = request.app[FAULTS].pick(request.method, request.path)
    if rule is None:
        return await handler(request)
    if rule.latency_ms:
        await asyncio.sleep(rule.latency_ms / 1000)
    if rule.action == "delay":
        return await handler(request)
    if rule.action == "status":
        return rule.error_response()
    if rule.action == "drop":
        return _drop(request)
    response = await handler(request)
    if rule.action == "commit_then_drop":
        return _drop(request)
    return rule.error_response()
