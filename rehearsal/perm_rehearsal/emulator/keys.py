"""Typed aiohttp application keys: `request.app[STATE]` is the `EmulatorState` (used by sync.py too)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from perm_rehearsal.emulator.exports import Exports
    from perm_rehearsal.emulator.faults import Faults
    from perm_rehearsal.emulator.imports import Imports
    from perm_rehearsal.emulator.state import EmulatorState

STATE: web.AppKey["EmulatorState"] = web.AppKey("state")
FAULTS: web.AppKey["Faults"] = web.AppKey("faults")
IMPORTS: web.AppKey["Imports"] = web.AppKey("imports")
EXPORTS: web.AppKey["Exports"] = web.AppKey("exports")
UNKNOWN_ROUTES: web.AppKey[list[Any]] = web.AppKey("unknown_routes")
