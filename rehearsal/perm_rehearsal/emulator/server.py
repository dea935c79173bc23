"""The aiohttp application: routes, middlewares, and runners (in-process thread or foreground)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiohttp import web

from loader.convex.values import encode
from loader.errors import ConfigError
from loader.run_folder import exclusive_lock
from perm_rehearsal.emulator import api, auth
from perm_rehearsal.emulator.config import EmulatorConfig
from perm_rehearsal.emulator.errors import ApiError, bad_request
from perm_rehearsal.emulator.exports import Exports
from perm_rehearsal.emulator.faults import Faults, FaultRuleError, fault_middleware
from perm_rehearsal.emulator.imports import Imports
from perm_rehearsal.emulator.keys import EXPORTS, FAULTS, IMPORTS, STATE, UNKNOWN_ROUTES
from perm_rehearsal.emulator.state import EmulatorState
from perm_rehearsal.emulator.store import doc_from_text

log = logging.getLogger("loader.emulator")
UPLOAD_CHUNK = 1 << 20
LOCK_FILE = "emulator.lock"


@web.middleware
async def error_middleware(request: web.Request, handler):
    """ApiError → `{code, message}`; checks `Convex-Client` on every /api route."""
    try:
        if request.path.startswith("/api/"):
            auth.client_name(request)
        return await handler(request)
    except ApiError as exc:
        return exc.response()


def _admin(request: web.Request) -> None:
    auth.require_admin(request, request.app[STATE].config.admin_key)


async def _stream_body_to(request: web.Request, path: Path) -> int:
    size = 0
    with open(path, "ab") as out:
        async for chunk in request.content.iter_chunked(UPLOAD_CHUNK):
            out.write(chunk)
            size += len(chunk)
    return size


# -- import routes ---------------------------------------------------------------------------------


async def start_upload(request: web.Request) -> web.Response:
    _admin(request)
    return web.json_response({"uploadToken": request.app[IMPORTS].start_upload()})


async def upload_part(request: web.Request) -> web.Response:
    _admin(request)
    imports: Imports = request.app[IMPORTS]
    upload = imports.upload_dir(request.query.get("uploadToken", ""))
    raw_number = request.query.get("partNumber", "")
    if not raw_number.isdigit() or not 1 <= int(raw_number) <= 0xFFFF:
        raise bad_request("InvalidPartNumber", f"partNumber must be 1..65535, got {raw_number!r}")
    number = int(raw_number)
    await _stream_body_to(request, upload / f"part-{number}")  # appends, like self-hosted local storage
    token = f"{number}-{secrets.token_hex(8)}"
    (upload / f"token-{number}").write_text(token)
    with open(upload / "order", "a") as order:
        order.write(f"{number}\n")
    return web.json_response(token)


async def _json(request: web.Request) -> dict:
    return await api.read_json_body(request)


async def finish_upload(request: web.Request) -> web.Response:
    _admin(request)
    body = await _json(request)
    loop = asyncio.get_running_loop()
    import_id = await loop.run_in_executor(None, request.app[IMPORTS].finish_upload, body)
    return web.json_response({"importId": import_id})


async def perform_import(request: web.Request) -> web.Response:
    _admin(request)
    body = await _json(request)
    request.app[IMPORTS].perform(body.get("importId"))
    return web.Response(status=200)


async def cancel_import(request: web.Request) -> web.Response:
    _admin(request)
    body = await _json(request)
    request.app[IMPORTS].cancel(body.get("importId"))
    return web.Response(status=200)


async def one_shot_import(request: web.Request) -> web.Response:
    """POST /api/import?tableName&format&mode: upload, confirm by itself, wait, answer (§2.5)."""
    _admin(request)
    imports: Imports = request.app[IMPORTS]
    q = request.query
    fmt, mode, table = imports.check_spec(q.get("format"), q.get("mode"), q.get("tableName"), q.get("componentPath"))
    object_path = imports.objects_dir / f"oneshot-{secrets.token_hex(12)}"
    await _stream_body_to(request, object_path)
    import_id = imports.create_import(object_path, fmt, mode, table, auto_confirm=True)
    doc = await asyncio.get_running_loop().run_in_executor(None, imports.wait_terminal, import_id)
    if doc["state"]["state"] == "failed":
        raise bad_request("ImportFailed", doc["state"]["error_message"])
    return web.json_response({"numWritten": doc["state"]["num_rows_written"]})


# -- export routes -----------------------------------------------------------------------------------


async def request_export(request: web.Request) -> web.Response:
    _admin(request)
    if request.query.get("includeStorage", "false") not in ("false", "False", "0"):
        raise bad_request("StorageExportNotSupported", "The emulator has no file storage")
    request.app[EXPORTS].request()
    return web.Response(status=200)


async def download_export(request: web.Request) -> web.StreamResponse:
    _admin(request)
    path, start_ts = request.app[EXPORTS].find_zip(request.match_info["snapshot"])
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "application/zip",
            "Content-Disposition": f"attachment; filename=snapshot_emulator_{start_ts}.zip",
        },
    )


# -- sync (WebSocket subset, implemented in rehearsal/perm_rehearsal/emulator/sync.py) ----------------------------------


async def sync(request: web.Request) -> web.StreamResponse:
    from perm_rehearsal.emulator.sync import handle_sync

    return await handle_sync(request)


# -- /_emulator control routes --------------------------------------------------------------------------


async def control_faults(request: web.Request) -> web.Response:
    _admin(request)
    faults: Faults = request.app[FAULTS]
    if request.method == "DELETE":
        faults.clear()
    elif request.method == "POST":
        body = await request.json()
        try:
            faults.add(body if isinstance(body, list) else [body])
        except (FaultRuleError, TypeError) as exc:
            raise bad_request("BadFaultRule", str(exc)) from None
    return web.json_response({"rules": [r.to_json() for r in faults.rules], "calls": faults.calls})


async def control_config(request: web.Request) -> web.Response:
    _admin(request)
    config: EmulatorConfig = request.app[STATE].config
    if request.method == "POST":
        body = await request.json()
        unknown = set(body) - set(config.TUNABLE)
        if unknown or not all(isinstance(v, int) and v >= 0 for v in body.values()):
            raise bad_request("BadConfig", f"tunable keys are {list(config.TUNABLE)} (non-negative integers)")
        for key, value in body.items():
            setattr(config, key, value)
    return web.json_response({key: getattr(config, key) for key in config.TUNABLE})


async def control_reset(request: web.Request) -> web.Response:
    _admin(request)
    request.app[FAULTS].clear()
    request.app[FAULTS].calls.clear()
    await asyncio.get_running_loop().run_in_executor(None, request.app[STATE].reset)
    return web.json_response({"reset": True})


def _dump(state, only: str | None) -> dict:
    tables = {}
    for number, name in sorted(state.store.table_mapping().items()):
        if only is not None and name != only:
            continue
        tablet = state.store.active_tablet(name)[0]
        docs, after = [], None
        while True:
            rows = state.store.page(tablet, after, 5000)
            docs.extend(encode(doc_from_text(text), "convex_encoded_json") for _, _, text in rows)
            if len(rows) < 5000:
                break
            after = rows[-1][:2]
        tables[name] = {"number": number, "documents": docs}
    imports = [encode(d, "convex_encoded_json") for d in state.store.list_sysdocs("_snapshot_imports", 1 << 30)]
    exports = [encode(d, "convex_encoded_json") for d in state.store.list_sysdocs("_exports", 1 << 30)]
    return {"tables": tables, "imports": imports, "exports": exports}


async def control_dump(request: web.Request) -> web.Response:
    _admin(request)
    body = await asyncio.get_running_loop().run_in_executor(None, _dump, request.app[STATE], request.query.get("table"))
    return web.json_response(body)


async def unknown_route(request: web.Request) -> web.Response:
    log.warning("unknown route: %s %s", request.method, request.path_qs)
    request.app[UNKNOWN_ROUTES].append(f"{request.method} {request.path}")
    return web.Response(status=404)


def create_app(state: EmulatorState, faults: Faults | None = None) -> web.Application:
    app = web.Application(
        client_max_size=state.config.max_request_body, middlewares=[fault_middleware, error_middleware]
    )
    app[STATE] = state
    app[FAULTS] = faults or Faults()
    app[IMPORTS] = Imports(state)
    app[EXPORTS] = Exports(state)
    app[UNKNOWN_ROUTES] = []
    r = app.router
    r.add_post("/api/import/start_upload", start_upload)
    r.add_post("/api/import/upload_part", upload_part)
    r.add_post("/api/import/finish_upload", finish_upload)
    r.add_post("/api/import", one_shot_import)
    r.add_post("/api/perform_import", perform_import)
    r.add_post("/api/cancel_import", cancel_import)
    r.add_route("GET", "/api/query", api.typed_endpoint("query"))
    r.add_post("/api/query", api.typed_endpoint("query"))
    r.add_post("/api/mutation", api.typed_endpoint("mutation"))
    r.add_post("/api/action", api.typed_endpoint("action"))
    r.add_post("/api/run/{tail:.+}", api.run_endpoint)
    r.add_post("/api/function", api.function_endpoint)
    r.add_post("/api/query_batch", api.query_batch_endpoint)
    r.add_post("/api/export/request/zip", request_export)
    r.add_get("/api/export/zip/{snapshot}", download_export)
    r.add_get("/api/{version}/sync", sync)
    r.add_route("*", "/_emulator/faults", control_faults)
    r.add_route("*", "/_emulator/config", control_config)
    r.add_post("/_emulator/reset", control_reset)
    r.add_get("/_emulator/dump", control_dump)
    r.add_route("*", "/{tail:.*}", unknown_route)

    async def on_cleanup(app: web.Application) -> None:
        app[IMPORTS].close()
        app[EXPORTS].close()
        state.store.close()

    app.on_cleanup.append(on_cleanup)
    return app


class Emulator:
    """The emulator on a free local port in a background thread. Use as a context manager.

    `url`, `admin_key`, `state` are available after `start()`."""

    def __init__(self, config: EmulatorConfig, host: str = "127.0.0.1", port: int = 0, faults: list[dict] | None = None):
        self.config = config
        self.host = host
        self.port = port
        self._faults = faults
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._lock: contextlib.ExitStack | None = None
        self.state: EmulatorState | None = None
        self.app: web.Application | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def admin_key(self) -> str:
        return self.config.admin_key

    def start(self) -> Emulator:
        self._lock = contextlib.ExitStack()
        self._lock.enter_context(emulator_lock(self.config.state_dir))
        try:
            return self._start_thread()
        except BaseException:
            self._lock.close()
            raise

    def _start_thread(self) -> Emulator:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self._start())
            except BaseException as exc:  # reported to the caller of start()
                failure.append(exc)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="convex-emulator", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    async def _start(self) -> None:
        self.state = EmulatorState(self.config)
        self.app = create_app(self.state, Faults(self._faults))
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._loop = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()



def emulator_lock(state_dir: Path) -> contextlib.AbstractContextManager[None]:
    """Hold `<state_dir>/emulator.lock` for an emulator's whole life: two emulators never share one state."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return exclusive_lock(state_dir / LOCK_FILE, lambda holder: ConfigError(
        f"emulator state {state_dir} is in use by another emulator, {holder}; "
        "stop that emulator or use another --state-dir"))


@contextmanager
def running_emulator(state_dir: str | Path, **settings) -> Iterator[Emulator]:
    """An emulator on a free local port with its state in `state_dir` (other `EmulatorConfig` fields as
    keywords), stopped on exit. Yields the `Emulator` (`url`, `admin_key`, `state`)."""
    with Emulator(EmulatorConfig(state_dir=Path(state_dir), **settings)) as emulator:
        yield emulator
