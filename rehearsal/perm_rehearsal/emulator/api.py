"""Function API (CONVEX_HTTP §3): /api/query (GET+POST), /api/mutation, /api/action, /api/run/…, /api/function."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from typing import Any

from aiohttp import web

from loader.convex.values import FORMATS, InvalidValue, check_arguments, decode_convex_json, encode
from perm_rehearsal.emulator import auth
from perm_rehearsal.emulator.errors import ApiError, bad_request
from perm_rehearsal.emulator.functions import ConvexError, Context, FunctionError, canonical_path, lookup
from perm_rehearsal.emulator.keys import STATE
from perm_rehearsal.emulator.store import PlainTexts
from perm_rehearsal.emulator.system import SYSTEM_FUNCTIONS

log = logging.getLogger("loader.emulator")

_MODULE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*$")
_EXPORT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_KIND_NAMES = {"query": "Query", "mutation": "Mutation", "action": "Action"}


_RAW_MARK = "\x00raw-" + secrets.token_hex(8) + "-"  # stands for a PlainTexts array while encoding


def json_text(body: Any) -> str:
    """The JSON text of a response body or sync message; `PlainTexts` arrays are written verbatim."""
    raws: list[str] = []

    def mark(value: Any) -> str:
        if isinstance(value, PlainTexts):
            raws.append(value.json())
            return f"{_RAW_MARK}{len(raws) - 1}"
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    text = json.dumps(body, ensure_ascii=False, allow_nan=False, default=mark)
    if not raws:
        return text
    quoted_mark = json.dumps(_RAW_MARK)[:-1]  # `"\u0000raw-…-`, then the number and `"`
    pieces = text.split(quoted_mark)
    return pieces[0] + "".join(raws[int(number)] + rest for number, _, rest in
                               (piece.partition('"') for piece in pieces[1:]))


def parse_path(path: Any) -> str:
    """Validate and canonicalise `module/path:export` (400 BadConvexFunctionIdentifier)."""
    if not isinstance(path, str) or path.count(":") > 1:
        raise bad_request("BadConvexFunctionIdentifier", f"Invalid function path {path!r}")
    module, _, export = path.partition(":")
    if module.endswith(".js"):
        module = module[:-3]
    if not _MODULE.match(module) or ".." in module or (export and not _EXPORT.match(export)):
        raise bad_request("BadConvexFunctionIdentifier", f"Invalid function path {path!r}")
    return canonical_path(f"{module}:{export}" if export else module)


def parse_args(raw: Any) -> dict:
    """Named arguments from an object or the legacy one-element array; always convex_encoded_json."""
    if raw is None:
        return {}
    if isinstance(raw, list):
        if len(raw) != 1:
            raise bad_request("BadJsonBody", "args must be an object or a one-element array")
        raw = raw[0]
    if not isinstance(raw, dict):
        raise bad_request("BadJsonBody", "args must be an object")
    try:
        args = decode_convex_json(raw)
        check_arguments(args)
        return args
    except InvalidValue as exc:
        raise bad_request("BadJsonBody", f"Invalid args: {exc}") from None


def parse_format(raw: Any, default: str) -> str:
    if raw is None:
        return default
    if raw not in FORMATS:
        raise bad_request("BadFormat", f"Invalid format {raw!r}")
    return raw


def default_format(request: web.Request) -> str:
    name = auth.client_name(request)
    return "convex_encoded_json" if name and (name.startswith("npm") or name.startswith("python")) else "json"


async def read_json_body(request: web.Request) -> dict:
    body = await request.read()
    if not body:
        return {}
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("BadJsonBody", "The request body is not valid JSON") from None
    if not isinstance(obj, dict):
        raise bad_request("BadJsonBody", "The request body must be a JSON object")
    return obj


def udf_error(message: str, error_data: Any = None, fmt: str = "json", has_data: bool = False) -> dict:
    out: dict[str, Any] = {"status": "error", "errorMessage": message}
    if has_data:
        out["errorData"] = encode(error_data, fmt)
    return out


def run_function(state, path: str, args: dict, fmt: str, endpoint_kind: str | None, is_admin: bool) -> dict:
    """Execute one function call (blocking); returns the UdfResponse body."""
    system = SYSTEM_FUNCTIONS.get(path)
    registered = None if system else lookup(path)
    if system is not None:
        if not is_admin:
            return udf_error(f"Could not find public function for '{path}'.")
        kind, impl = system
        call = lambda: impl(state, args)  # noqa: E731
    elif registered is not None:
        if registered.internal and not is_admin:
            return udf_error(f"Could not find public function for '{path}'.")
        kind = registered.kind

        def call() -> Any:
            return registered.handler(Context(state, kind), args)
    else:
        return udf_error(f"Could not find public function for '{path}'.")
    if endpoint_kind is not None and endpoint_kind != kind:
        return udf_error(
            f"Trying to execute {path} as {_KIND_NAMES[endpoint_kind]}, but it is defined as {_KIND_NAMES[kind]}."
        )
    try:
        with state.store.transaction():
            value = call()
            encoded = encode(value, fmt)
    except ConvexError as exc:
        return udf_error(f"Uncaught ConvexError: {exc}", exc.data, fmt, has_data=True)
    except FunctionError as exc:
        text = str(exc)
        return udf_error(text if text.startswith("ArgumentValidationError") else f"Uncaught Error: {text}")
    except Exception as exc:  # any exception inside a function is the function's error, as in Convex
        log.warning("function %s raised %r", path, exc)
        return udf_error(f"Uncaught Error: {exc}")
    if kind != "query":
        state.notify()
    return {"status": "success", "value": encoded}


async def _dispatch(request: web.Request, path: Any, raw_args: Any, raw_format: Any, endpoint_kind: str | None,
                    default_fmt: str, admin_only: bool = False) -> web.Response:
    state = request.app[STATE]
    who = auth.identity(request, state.config.admin_key)
    if admin_only and who != auth.ADMIN:
        raise ApiError(403, "BadDeployKey", "This endpoint requires an admin key or deploy key")
    canonical = parse_path(path)
    args = parse_args(raw_args)
    fmt = parse_format(raw_format, default_fmt)
    loop = asyncio.get_running_loop()
    body = await loop.run_in_executor(
        None, run_function, state, canonical, args, fmt, endpoint_kind, who == auth.ADMIN
    )
    return web.json_response(body, dumps=json_text)


def typed_endpoint(kind: str):
    async def handler(request: web.Request) -> web.Response:
        fmt = default_format(request)
        if request.method == "GET":
            raw_args = request.query.get("args")
            try:
                parsed = json.loads(raw_args) if raw_args else {}
            except ValueError:
                raise bad_request("BadJsonBody", "args is not valid JSON") from None
            return await _dispatch(request, request.query.get("path"), parsed, request.query.get("format"), kind, fmt)
        body = await read_json_body(request)
        return await _dispatch(request, body.get("path"), body.get("args"), body.get("format"), kind, fmt)

    return handler


async def run_endpoint(request: web.Request) -> web.Response:
    segments = request.match_info["tail"].strip("/").split("/")
    if len(segments) < 2:
        raise bad_request("BadConvexFunctionIdentifier", f"Invalid function path {request.match_info['tail']!r}")
    body = await read_json_body(request)
    path = "/".join(segments[:-1]) + ":" + segments[-1]
    return await _dispatch(request, path, body.get("args"), body.get("format"), None, "json")


async def function_endpoint(request: web.Request) -> web.Response:
    body = await read_json_body(request)
    if body.get("componentPath") not in (None, ""):
        raise bad_request("BadComponentPath", "Only the root component exists in the emulator")
    return await _dispatch(
        request, body.get("path"), body.get("args"), body.get("format"), None, default_format(request), admin_only=True
    )


async def query_batch_endpoint(request: web.Request) -> web.Response:
    """POST /api/query_batch: every query at one point in time (the store lock is held for the batch)."""
    state = request.app[STATE]
    who = auth.identity(request, state.config.admin_key)
    body = await read_json_body(request)
    queries = body.get("queries")
    if not isinstance(queries, list) or not all(isinstance(q, dict) for q in queries):
        raise bad_request("BadJsonBody", "Expected {queries: [{path, args, format?}, …]}")
    fmt = default_format(request)
    calls = [(parse_path(q.get("path")), parse_args(q.get("args")), parse_format(q.get("format"), fmt)) for q in queries]

    def run_all() -> list[dict]:
        with state.store.lock:
            return [run_function(state, path, args, f, "query", who == auth.ADMIN) for path, args, f in calls]

    results = await asyncio.get_running_loop().run_in_executor(None, run_all)
    return web.json_response({"results": results}, dumps=json_text)
