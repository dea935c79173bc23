"""Admin-key authentication and `Convex-Client` header checks (CONVEX_HTTP §1.2, §1.3, §7.1.1)."""

from __future__ import annotations

import hmac
import re

from aiohttp import web

from perm_rehearsal.emulator.errors import ApiError

_CLIENT = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+?)-(?P<version>\d+\.\d+\.\d+\S*)$")
_KEY_PREFIXES = ("dev:", "prod:")

ADMIN = "admin"
ANONYMOUS = "anonymous"


def _strip_prefix(key: str) -> str:
    for prefix in _KEY_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def presented_key(request: web.Request) -> str | None:
    """The admin key from `Authorization: Convex <key>` (or `?adminKey=` without a header); None if absent."""
    header = request.headers.get("Authorization")
    if header is None:
        return request.query.get("adminKey")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "convex" and value:
        return value
    return None  # Bearer (user auth) and anything else: no admin identity


def key_matches(presented: str, configured: str) -> bool:
    return hmac.compare_digest(_strip_prefix(presented).encode(), _strip_prefix(configured).encode())


def identity(request: web.Request, admin_key: str) -> str:
    """ADMIN or ANONYMOUS; raises 401 BadAdminKey for a wrong key."""
    key = presented_key(request)
    if key is None:
        return ANONYMOUS
    if not key_matches(key, admin_key):
        raise ApiError(401, "BadAdminKey", "The provided admin key was invalid for this instance")
    return ADMIN


def require_admin(request: web.Request, admin_key: str) -> None:
    if identity(request, admin_key) != ADMIN:
        raise ApiError(403, "BadDeployKey", "This operation requires an admin key or deploy key")


def client_name(request: web.Request) -> str | None:
    """The client name of a well-formed `Convex-Client`; 400 InvalidClientVersion for a malformed one."""
    header = request.headers.get("Convex-Client")
    if header is None:
        return None
    match = _CLIENT.match(header)
    if match is None:
        raise ApiError(400, "InvalidClientVersion", f"Invalid Convex-Client header {header!r}: expected <name>-<semver>")
    return match.group("name")
