"""The only module that speaks HTTP to Convex (CONVEX_HTTP.md is normative).

`resolve_target` picks the deployment URL and key (§1.1); `ConvexGateway` sends every request
with the §1.3 headers, retries only calls that are safe to repeat (§1.4, §2.8, §3.7), and turns
failures into `ConvexError` subclasses whose messages never contain the key.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, Mapping
from urllib.parse import urlsplit

import httpx

from loader import __version__
from loader.convex import fastjson
from loader.errors import ConfigError, MigrationError
from loader.redact import redact, redact_key

log = logging.getLogger(__name__)

CLIENT_HEADER = f"perm-migrate-{__version__}"
MIN_PART_SIZE = 5 * 1024 * 1024  # S3 multipart minimum for non-final parts (§2.2)
MAX_PART_SIZE = 64 * 1024 * 1024  # parts grow up to this size before their number grows past TARGET_PARTS
TARGET_PARTS = 32  # few, large parts: fewer round trips, and fewer chances for a whole-file restart
MAX_PARTS = 9999
# The whole-file restart budget holds against this rate of transient failures per request, with at most
# this probability of giving up (a 1M-case file: ~1.8 GB in 32 parts, 11 restarts).
DESIGN_FAILURE_RATE = 0.01
DESIGN_GIVE_UP_PROBABILITY = 1e-6
MIN_UPLOAD_ATTEMPTS = 3
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
TIMEOUT_ENV = "PERM_CONVEX_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 60.0
IMPORT_MODES = ("requireEmpty", "append", "replace", "replaceAll")
IMPORT_FORMATS = ("jsonLines", "jsonArray", "csv", "zip")
VALUE_FORMATS = ("json", "convex_encoded_json")
# `mode` as the server spells it in a `_snapshot_imports` document (informative; used to
# recognise our own import when reconciling an unknown `finish_upload` outcome).
_SERVER_MODE = {"requireEmpty": "RequireEmpty", "append": "Append", "replace": "Replace",
                "replaceAll": "ReplaceAll"}
_PERMISSION_HINT = {
    "import": "deployment:backups:import",
    "export": "deployment:backups:create and deployment:backups:download",
    "query": "deployment:data:view or deployment:functions:runInternalQueries",
    "mutation": "deployment:functions:runInternalMutations or deployment:data:write",
    "action": "deployment:functions:runInternalActions",
    "function": "an admin key or a full-access deploy key",
}
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_BOM = b"\xef\xbb\xbf"
_NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


# --------------------------------------------------------------------------- errors


class ConvexError(MigrationError):
    """A Convex call failed; `code` is Convex's short code (or a local one), `message` its text."""

    def __init__(self, code: str, message: str, *, status: int | None = None):
        self.code = code
        self.message = message
        self.status = status
        where = f"HTTP {status} " if status is not None else ""
        super().__init__(f"Convex {where}{code}: {message}")


class ConvexHTTPError(ConvexError):
    """A non-2xx answer that is not worth retrying (or no longer: retries exhausted)."""


class ConvexAuthError(ConvexHTTPError):
    """401/403: the key was refused or lacks a permission."""


class ConvexTransientError(ConvexHTTPError):
    """Network error, timeout, 408/429/5xx: the outcome of a non-idempotent call is unknown."""


class ConvexFunctionError(ConvexError):
    """A function ran and threw (`UdfResponse` with `status: "error"`)."""

    def __init__(self, path: str, error_message: str, error_data: Any = None):
        self.path = path
        self.error_data = error_data
        super().__init__("FunctionError", f"{path}: {error_message}")


class ConvexImportError(ConvexError):
    """An import failed, was refused by our own policy, or did not finish in time."""


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class ConvexTarget:
    """Deployment URL and key, and the per-request timeout. The key never appears in `repr` or `str`."""

    url: str
    key: str = field(repr=False)
    source: str = "flags"
    timeout_s: float = DEFAULT_TIMEOUT_S

    def __str__(self) -> str:
        return f"{self.url} (key {redact_key(self.key)}, from {self.source})"


def resolve_target(url: str | None = None, admin_key: str | None = None,
                   environ: Mapping[str, str] | None = None) -> ConvexTarget:
    """Pick URL and key: flags > self-hosted pair > cloud pair (CONVEX_HTTP §1.1); the request
    timeout from `PERM_CONVEX_TIMEOUT_S`."""
    env = os.environ if environ is None else environ
    timeout_s = _timeout_from(env)

    def get(name: str) -> str:
        return (env.get(name) or "").strip()

    if url or admin_key:
        if not (url and admin_key):
            raise ConfigError("--url and --admin-key must be given together")
        return _checked_target(url, admin_key, "flags", timeout_s)
    hosted_url, hosted_key = get("CONVEX_SELF_HOSTED_URL"), get("CONVEX_SELF_HOSTED_ADMIN_KEY")
    cloud_url, cloud_key = get("CONVEX_URL"), get("CONVEX_DEPLOY_KEY")
    if bool(hosted_url) != bool(hosted_key):
        missing = "CONVEX_SELF_HOSTED_ADMIN_KEY" if hosted_url else "CONVEX_SELF_HOSTED_URL"
        raise ConfigError(f"incomplete self-hosted Convex target: {missing} is not set")
    if hosted_url and cloud_key:
        raise ConfigError(
            "ambiguous Convex target: both CONVEX_SELF_HOSTED_URL/CONVEX_SELF_HOSTED_ADMIN_KEY "
            "and CONVEX_DEPLOY_KEY are set; unset one pair (or pass --url and --admin-key)")
    if hosted_url:
        return _checked_target(hosted_url, hosted_key, "CONVEX_SELF_HOSTED_URL", timeout_s)
    if cloud_key and not cloud_url:
        prefix, _, _ = cloud_key.partition("|")
        kind, _, name = prefix.partition(":")
        hint = (f" (for a cloud deployment this is usually https://{name}.convex.cloud)"
                if kind in ("dev", "prod") and name else "")
        raise ConfigError(f"CONVEX_DEPLOY_KEY is set but CONVEX_URL is not{hint}")
    if cloud_url and not cloud_key:
        raise ConfigError("CONVEX_URL is set but CONVEX_DEPLOY_KEY is not")
    if cloud_url:
        return _checked_target(cloud_url, cloud_key, "CONVEX_URL", timeout_s)
    if get("CONVEX_DEPLOYMENT"):
        raise ConfigError(
            "CONVEX_DEPLOYMENT alone cannot be used (resolving it needs the Convex control "
            "plane); set CONVEX_URL and CONVEX_DEPLOY_KEY, or CONVEX_SELF_HOSTED_URL and "
            "CONVEX_SELF_HOSTED_ADMIN_KEY")
    raise ConfigError(
        "no Convex target: set CONVEX_URL and CONVEX_DEPLOY_KEY, or CONVEX_SELF_HOSTED_URL "
        "and CONVEX_SELF_HOSTED_ADMIN_KEY, or pass --url and --admin-key")


def _timeout_from(env: Mapping[str, str]) -> float:
    """`PERM_CONVEX_TIMEOUT_S` (seconds, a positive finite number), else the default."""
    text = (env.get(TIMEOUT_ENV) or "").strip()
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{TIMEOUT_ENV}: must be a positive number of seconds, got {text!r}")
    return value


def _checked_target(url: str, key: str, source: str, timeout_s: float) -> ConvexTarget:
    return ConvexTarget(url=_checked_url(url.strip(), source), key=_checked_key(key.strip(), source),
                        source=source, timeout_s=timeout_s)


def _checked_url(url: str, source: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{source}: the Convex URL must start with http:// or https:// "
                          f"and name a host, got {redact(url)!r}")
    host = parts.hostname.lower()
    if host.endswith(".convex.site"):
        raise ConfigError(f"{source}: {host} serves HTTP actions; use the deployment URL "
                          f"https://{host[:-len('.convex.site')]}.convex.cloud instead")
    if parts.scheme == "http" and host not in _LOCAL_HOSTS and not host.endswith(".localhost"):
        raise ConfigError(f"{source}: refusing plain http:// for the non-local host {host} "
                          "(the key would travel unencrypted); use https://")
    if parts.query or parts.fragment:
        raise ConfigError(f"{source}: the Convex URL must not carry a query or fragment")
    return url[:-1] if url.endswith("/") else url


def _checked_key(key: str, source: str) -> str:
    if not key or any(ch.isspace() for ch in key):
        raise ConfigError(f"{source}: the Convex key is empty or contains whitespace")
    prefix = key.partition("|")[0]
    if prefix.startswith(("preview:", "project:")):
        raise ConfigError(f"{source}: {prefix.split(':')[0]} keys cannot be used; "
                          "use a deployment's deploy key or admin key")
    return key


# --------------------------------------------------------------------------- gateway


@dataclass
class RetryPolicy:
    """Exponential backoff with jitter: base·2^(n-1), capped, scaled by a random 0.5–1.0."""

    attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 16.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        wait = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        wait *= 0.5 + random.random() / 2
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_delay))
        return wait


@dataclass(frozen=True)
class ImportResult:
    import_id: str
    num_rows_written: int


ProgressCallback = Callable[[Mapping[str, Any]], None]


class ConvexGateway:
    """A Convex deployment over HTTP. Use as a context manager (it owns an httpx client).

    `timeout`: seconds per request (default: the target's, `PERM_CONVEX_TIMEOUT_S` or 60).
    """

    def __init__(self, target: ConvexTarget, *, retry: RetryPolicy | None = None,
                 timeout: float | None = None, min_part_size: int = MIN_PART_SIZE,
                 max_part_size: int = MAX_PART_SIZE,
                 poll_interval: float = 0.5, max_poll_interval: float = 2.0,
                 upload_attempts: int | None = None, resend_failed_parts: bool | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None):
        self.target = target
        self.retry = retry or RetryPolicy()
        self.min_part_size = min_part_size
        self.max_part_size = max(min_part_size, max_part_size)
        self.resend_failed_parts = (parts_are_replaceable(target) if resend_failed_parts is None
                                    else resend_failed_parts)
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.upload_attempts = upload_attempts
        self.timeout_s = target.timeout_s if timeout is None else timeout
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=target.url,
            headers={"Authorization": f"Convex {target.key}", "Convex-Client": CLIENT_HEADER},
            timeout=httpx.Timeout(self.timeout_s, connect=min(self.timeout_s, 15.0)),
            transport=transport,
            follow_redirects=False,
        )

    def __enter__(self) -> ConvexGateway:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------------ transport

    def _redact(self, text: str) -> str:
        return redact(text, extra_secrets=(self.target.key,))

    def _request(self, method: str, path: str, *, idempotent: bool, area: str,
                 json_body: Any = None, content: bytes | Iterator[bytes] | None = None,
                 params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
                 timeout: float | None = None) -> httpx.Response:
        """Send one call; retry network errors and 408/429/5xx only when `idempotent`.

        A streamed (iterator) `content` can be sent once only, so it requires `idempotent=False`.
        """
        if content is not None and not isinstance(content, bytes) and idempotent:
            raise ValueError("a streamed body cannot be retried")
        headers = {"Content-Type": "application/octet-stream" if content is not None
                   else "application/json", **(headers or {})}
        body = content if content is not None else (
            b"" if json_body is None else
            json.dumps(json_body, ensure_ascii=False, allow_nan=False,
                       separators=(",", ":")).encode())
        attempt = 0
        while True:
            attempt += 1
            failure: ConvexError
            retry_after = None
            never_sent = False
            try:
                content, sent_headers = _released_after_send(body, headers)
                response = self._client.request(
                    method, path, content=content, params=params, headers=sent_headers,
                    timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT)
            except httpx.TransportError as exc:
                # No connection means the server saw nothing: safe to repeat whatever the call.
                never_sent = isinstance(exc, _NOT_SENT_ERRORS) and isinstance(body, bytes)
                failure = ConvexTransientError(
                    type(exc).__name__, self._redact(f"{method} {path}: {exc or 'no response'}"))
            else:
                if response.status_code < 300 or response.status_code == 560:
                    return response
                failure = self._http_error(response, area)
                if not isinstance(failure, ConvexTransientError):
                    raise failure
                retry_after = _retry_after_seconds(response)
            if not (idempotent or never_sent) or attempt >= self.retry.attempts:
                raise failure
            wait = self.retry.delay(attempt, retry_after)
            log.warning("Convex %s %s failed (%s); retry %d/%d in %.1fs", method, path,
                        failure.code, attempt, self.retry.attempts - 1, wait)
            self._sleep(wait)

    def _http_error(self, response: httpx.Response, area: str) -> ConvexHTTPError:
        status = response.status_code
        text = response.text if response.content else ""
        code, message = f"HTTP{status}", text.strip()[:300] or response.reason_phrase
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("code"), str):
            code, message = body["code"], str(body.get("message", ""))
        message = self._redact(f"{response.request.method} {response.request.url.path}: {message}")
        if status in (401, 403):
            if status == 403:
                message += f" (the key needs {_PERMISSION_HINT[area]})"
            return ConvexAuthError(code, message, status=status)
        if status in RETRYABLE_STATUSES:
            return ConvexTransientError(code, message, status=status)
        if status == 413:
            message += " (request body too large: split the batch)"
        return ConvexHTTPError(code, message, status=status)

    # ------------------------------------------------------------------ functions

    def query(self, path: str, args: Mapping[str, Any] | None = None, *,
              format: str = "json") -> Any:
        """Run a query (public, internal or `_system/*`); queries are always safe to retry."""
        return self._call("query", path, args, format=format, idempotent=True)

    def mutation(self, path: str, args: Mapping[str, Any] | None = None, *,
                 idempotent: bool, format: str = "json") -> Any:
        """Run a mutation; retried on transient failures only when the caller says it is idempotent."""
        return self._call("mutation", path, args, format=format, idempotent=idempotent)

    def action(self, path: str, args: Mapping[str, Any] | None = None, *,
               idempotent: bool, format: str = "json") -> Any:
        """Run an action; same retry rule as `mutation`."""
        return self._call("action", path, args, format=format, idempotent=idempotent)

    def run_function(self, path: str, args: Mapping[str, Any] | None = None, *,
                     idempotent: bool, format: str = "json") -> Any:
        """Run any function through the admin-only `/api/function` (what `npx convex run` uses)."""
        return self._call("function", path, args, format=format, idempotent=idempotent)

    def _call(self, kind: str, path: str, args: Mapping[str, Any] | None, *, format: str,
              idempotent: bool) -> Any:
        if format not in VALUE_FORMATS:
            raise ValueError(f"unsupported value format {format!r}")
        response = self._request("POST", f"/api/{kind}", idempotent=idempotent, area=kind,
                                 json_body={"path": path, "args": dict(args or {}),
                                            "format": format})
        try:
            body = fastjson.loads(response.content)
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("status") not in ("success", "error"):
            raise ConvexHTTPError("BadResponse", f"{path}: not a function response",
                                  status=response.status_code)
        if body["status"] == "error":
            raise ConvexFunctionError(path, self._redact(str(body.get("errorMessage", ""))),
                                      body.get("errorData"))
        return body.get("value")

    # ------------------------------------------------------------------ reading data

    def list_tables(self) -> list[str]:
        """Names of the user tables (`_system/cli/tables`), sorted."""
        names: list[str] = []
        for row in self._paginate("_system/cli/tables", {}, 10000):
            names.append(row["name"])
        return sorted(names)

    def iter_documents(self, table: str, *, page_size: int = 1000,
                       order: str = "asc") -> Iterator[dict[str, Any]]:
        """Every document of `table` (`_system/cli/tableData`), page by page until `isDone`."""
        yield from self._paginate("_system/cli/tableData", {"table": table, "order": order},
                                  page_size)

    def _paginate(self, path: str, args: dict[str, Any], page_size: int) -> Iterator[dict]:
        cursor = None
        while True:
            page = self.query(path, {**args, "paginationOpts": {"numItems": page_size,
                                                                 "cursor": cursor}})
            yield from page["page"]
            if page["isDone"]:
                return
            if page["continueCursor"] == cursor:
                raise ConvexHTTPError("BadResponse", f"{path}: cursor did not advance")
            cursor = page["continueCursor"]

    def table_size(self, table: str) -> int:
        return int(self.query("_system/cli/tableSize", {"tableName": table}))

    def table_numbers(self) -> dict[str, int]:
        """Table name -> table number, from `_system/frontend/getTableMapping`."""
        mapping = self.query("_system/frontend/getTableMapping", {})
        return {name: int(number) for number, name in mapping.items()}

    def delete_documents(self, table: str, ids: list[str], *, batch_size: int = 4096) -> None:
        """Delete documents by id (`_system/frontend/deleteDocuments`); missing ids are ignored."""
        for start in range(0, len(ids), batch_size):
            batch = [{"id": doc_id, "tableName": table} for doc_id in ids[start:start + batch_size]]
            result = self.mutation("_system/frontend/deleteDocuments", {"toDelete": batch},
                                   idempotent=True)
            if isinstance(result, dict) and result.get("success") is False:
                raise ConvexFunctionError("_system/frontend/deleteDocuments",
                                          self._redact(str(result.get("error", ""))))

    # ------------------------------------------------------------------ imports

    def list_imports(self) -> list[dict[str, Any]]:
        """The 20 most recent imports, newest first."""
        return self.query("_system/cli/queryImport:list", {})

    def import_status(self, import_id: str) -> dict[str, Any] | None:
        return self.query("_system/cli/queryImport", {"importId": import_id})

    def perform_import(self, import_id: str) -> None:
        self._request("POST", "/api/perform_import", idempotent=True, area="import",
                      json_body={"importId": import_id})

    def cancel_import(self, import_id: str) -> None:
        self._request("POST", "/api/cancel_import", idempotent=True, area="import",
                      json_body={"importId": import_id})

    def import_file(self, path: Path, *, table: str | None, mode: str,
                    format: str = "jsonLines", allow_deletions: bool = False,
                    expected_rows: int | None = None,
                    on_created: Callable[[str], None] | None = None,
                    progress: ProgressCallback | None = None,
                    timeout: float = 3600.0, uploaded: BackgroundUpload | None = None) -> ImportResult:
        """Multi-step import of one file (CONVEX_HTTP §2.2, steps 0–6).

        `on_created(import_id)` runs before the import is confirmed so that the caller can
        record the id and resume with `finish_import` after a crash. `uploaded`: the file's parts,
        already sent while it was written (`BackgroundUpload`); if that upload failed, the file is
        uploaded here.
        """
        _check_import_request(table, mode, format)
        recent = self.list_imports()
        running = [imp for imp in recent
                   if imp.get("state", {}).get("state") in ("uploaded", "in_progress")]
        if running:
            raise ConvexImportError("ImportInProgress",
                                    f"import {running[0]['_id']} is still "
                                    f"{running[0]['state']['state']}; wait for it to finish")
        known_ids = {imp["_id"] for imp in recent}
        import_spec = {"mode": mode, "format": format}
        if table is not None:
            import_spec["tableName"] = table
        early = uploaded.result() if uploaded is not None else None
        import_id = None if early is None else self._finish_upload(import_spec, *early, known_ids)
        if import_id is None:
            import_id = self._upload_and_finish(path, import_spec, known_ids)
        if on_created is not None:
            on_created(import_id)
        return self.finish_import(import_id, allow_deletions=allow_deletions,
                                  expected_rows=expected_rows, progress=progress, timeout=timeout)

    def _upload_and_finish(self, path: Path, import_spec: dict[str, Any], known_ids: set[str]) -> str:
        """Upload the complete file (restarting it within the budget) and create the import."""
        part_size = self.part_size(path.stat().st_size)
        attempts = self.upload_attempts or restart_budget(math.ceil(path.stat().st_size / part_size))
        for attempt in range(1, attempts + 1):
            with path.open("rb") as handle:
                upload_token, part_tokens = self._upload_parts(_read_parts(handle, part_size), path.name,
                                                               f"attempt {attempt}/{attempts}")
            if upload_token is not None:
                return self._finish_upload(import_spec, upload_token, part_tokens, known_ids)
            self._sleep(self.retry.delay(attempt))
        raise ConvexImportError("UploadFailed", f"{path.name}: upload failed {attempts} times")

    def part_size(self, file_size: int) -> int:
        """Bytes per non-final part: `file_size / TARGET_PARTS` within [min, max] part size, and large
        enough to stay under the 10 000-part limit (§2.2)."""
        wanted = min(self.max_part_size, math.ceil(file_size / TARGET_PARTS))
        return max(self.min_part_size, math.ceil(file_size / MAX_PARTS), wanted)

    def _upload_parts(self, chunks: Iterator[bytes], name: str, attempt: str) -> tuple[str | None, list[str]]:
        """Send `chunks` as the parts of a new upload; a part that still fails after its own retries
        (see `_send_part`) returns no token: the caller restarts the whole upload."""
        token = self._request("POST", "/api/import/start_upload", idempotent=True,
                              area="import").json()["uploadToken"]
        part_tokens: list[str] = []
        for number, chunk in enumerate(chunks, start=1):
            try:
                part_tokens.append(self._send_part(token, number, chunk))
            except ConvexTransientError as exc:
                log.warning("upload of %s failed at part %d (%s); restarting upload (%s)", name, number,
                            exc.code, attempt)
                return None, []
        return token, part_tokens

    def _send_part(self, token: str, number: int, chunk: bytes) -> str:
        """One part; its part token. Resent in place (same number, backoff) on a transient failure when
        the deployment replaces a part uploaded twice (`resend_failed_parts`); otherwise only when the
        request never left (a resent part that had arrived would be appended a second time)."""
        response = self._request(
            "POST", "/api/import/upload_part", idempotent=self.resend_failed_parts, area="import",
            params={"uploadToken": token, "partNumber": number}, content=chunk)
        return response.json()

    def _finish_upload(self, import_spec: dict[str, Any], upload_token: str,
                       part_tokens: list[str], known_ids: set[str]) -> str:
        """`finish_upload` is not idempotent: on an unknown outcome adopt our import if it exists."""
        body = {"import": import_spec, "uploadToken": upload_token, "partTokens": part_tokens}
        for attempt in range(1, self.retry.attempts + 1):
            try:
                response = self._request("POST", "/api/import/finish_upload", idempotent=False,
                                         area="import", json_body=body)
                return response.json()["importId"]
            except ConvexTransientError as exc:
                adopted = self._find_new_import(import_spec, known_ids)
                if adopted is not None:
                    log.warning("finish_upload answered %s but import %s was created; adopting it",
                                exc.code, adopted)
                    return adopted
                if attempt == self.retry.attempts:
                    raise
                self._sleep(self.retry.delay(attempt))
        raise AssertionError("unreachable")

    def _find_new_import(self, import_spec: dict[str, Any], known_ids: set[str]) -> str | None:
        """Our import if `finish_upload` created it; raise if an unrecognisable new import exists
        (retrying could then import the file twice)."""
        new = [imp for imp in self.list_imports() if imp["_id"] not in known_ids]
        for imp in new:
            fmt = imp.get("format") or {}
            if (imp.get("mode") in (import_spec["mode"], _SERVER_MODE[import_spec["mode"]])
                    and fmt.get("table") == import_spec.get("tableName")):
                return imp["_id"]
        if new:
            raise ConvexImportError(
                "ImportOutcomeUnknown",
                f"finish_upload failed and import {new[0]['_id']} appeared that does not look like "
                "ours; check `npx convex import` history before retrying (a retry could duplicate)")
        return None

    def finish_import(self, import_id: str, *, allow_deletions: bool = False,
                      expected_rows: int | None = None,
                      progress: ProgressCallback | None = None,
                      timeout: float = 3600.0) -> ImportResult:
        """Steps 4–6 for an existing import: wait, confirm only if allowed, wait until done."""
        deadline = time.monotonic() + timeout
        state = self._poll_import(import_id, {"uploaded"}, progress, deadline)
        if state["state"] == "waiting_for_confirmation":
            refusal = self._confirmation_refusal(state, expected_rows,
                                                 self.import_status(import_id) or {},
                                                 allow_deletions)
            if refusal:
                self.cancel_import(import_id)
                raise ConvexImportError("ImportRefused", f"import {import_id} canceled: {refusal}")
            self.perform_import(import_id)
            state = self._poll_import(import_id, {"waiting_for_confirmation", "in_progress"},
                                      progress, deadline)
        if state["state"] == "completed":
            return ImportResult(import_id, int(state.get("num_rows_written", 0)))
        if state["state"] == "failed":
            raise ConvexImportError("ImportFailed", self._redact(
                f"import {import_id}: {state.get('error_message', 'failed')}"))
        raise ConvexImportError("BadImportState",
                                f"import {import_id}: unexpected state {state['state']!r}")

    @staticmethod
    def _confirmation_refusal(state: Mapping[str, Any], expected_rows: int | None,
                              document: Mapping[str, Any], allow_deletions: bool) -> str | None:
        if state.get("require_manual_confirmation") and not allow_deletions:
            return "it would delete existing documents and deletions are not allowed"
        if expected_rows is not None:
            to_write = sum(int(cp.get("total_num_rows_to_write", 0))
                           for cp in document.get("checkpoints") or [])
            if document.get("checkpoints") and to_write != expected_rows:
                return f"the server counted {to_write} rows, expected {expected_rows}"
        return None

    def _poll_import(self, import_id: str, waiting_states: set[str],
                     progress: ProgressCallback | None, deadline: float) -> dict[str, Any]:
        interval = self.poll_interval
        while True:
            document = self.import_status(import_id)
            if document is None:
                raise ConvexImportError("ImportNotFound", f"import {import_id} does not exist")
            state = document["state"]
            if progress is not None:
                progress(state)
            if state["state"] not in waiting_states:
                return state
            if time.monotonic() >= deadline:
                raise ConvexImportError(
                    "ImportTimeout", f"import {import_id} still {state['state']} at the timeout; "
                    "it keeps running on the server (resume, or cancel it)")
            self._sleep(interval)
            interval = min(self.max_poll_interval, interval * 1.5)

    def import_one_shot(self, path: Path, *, table: str | None, mode: str,
                        format: str = "jsonLines", timeout: float = 3600.0) -> int:
        """`POST /api/import`: upload, self-confirm and wait (small files; not idempotent)."""
        _check_import_request(table, mode, format)
        params = {"format": format, "mode": mode}
        if table is not None:
            params["tableName"] = table
        size = path.stat().st_size
        with path.open("rb") as handle:
            has_bom = handle.read(len(_BOM)) == _BOM
        if has_bom:
            size -= len(_BOM)
        try:
            response = self._request("POST", "/api/import", idempotent=False, area="import",
                                     params=params, content=_stream_file(path, skip=len(_BOM) if has_bom else 0),
                                     headers={"Content-Length": str(size)}, timeout=timeout)
        except ConvexHTTPError as exc:
            if exc.code == "ImportFailed":
                raise ConvexImportError(exc.code, exc.message, status=exc.status) from None
            raise
        return int(response.json()["numWritten"])

    # ------------------------------------------------------------------ snapshot export

    def latest_export(self) -> dict[str, Any] | None:
        return self.query("_system/cli/exports:getLatest", {})

    def export_snapshot(self, destination: Path, *, progress: ProgressCallback | None = None,
                        timeout: float = 3600.0) -> Path:
        """Request a ZIP snapshot export, wait for it and stream it to `destination`."""
        previous = self.latest_export()
        self._request_export(previous)
        deadline = time.monotonic() + timeout
        interval = self.poll_interval
        while True:
            latest = self.latest_export()
            is_new = latest is not None and (previous is None or latest["_id"] != previous["_id"])
            if is_new and progress is not None:
                progress(latest)
            if is_new and latest["state"] == "completed":
                break
            if is_new and latest["state"] in ("failed", "canceled"):
                raise ConvexError("ExportFailed", f"snapshot export {latest['state']}")
            if time.monotonic() >= deadline:
                raise ConvexError("ExportTimeout", "snapshot export did not complete in time")
            self._sleep(interval)
            interval = min(self.max_poll_interval, interval * 1.5)
        self._download(f"/api/export/zip/{int(latest['start_ts'])}", destination)
        return destination

    def _request_export(self, previous: dict[str, Any] | None) -> None:
        """Request a snapshot export; after a transient failure adopt the export if the request took
        effect (its answer was lost), else send it again."""
        for attempt in range(1, self.retry.attempts + 1):
            try:
                self._request("POST", "/api/export/request/zip", idempotent=False, area="export",
                              params={"includeStorage": "false"})
                return
            except ConvexTransientError as exc:
                latest = self.latest_export()
                if latest is not None and (previous is None or latest["_id"] != previous["_id"]):
                    return
                if attempt >= self.retry.attempts:
                    raise
                wait = self.retry.delay(attempt)
                log.warning("export request failed (%s) and no export was started; retry %d/%d in %.1fs",
                            exc.code, attempt, self.retry.attempts - 1, wait)
                self._sleep(wait)

    def _download(self, path: str, destination: Path) -> None:
        """Stream a GET to a file; a failed attempt is discarded and retried from scratch."""
        partial = destination.with_name(destination.name + ".part")
        for attempt in range(1, self.retry.attempts + 1):
            try:
                with self._client.stream("GET", path) as response:
                    if response.status_code >= 300:
                        response.read()
                        raise self._http_error(response, "export")
                    with partial.open("wb") as out:
                        for chunk in response.iter_bytes(1 << 20):
                            out.write(chunk)
                partial.replace(destination)
                return
            except (httpx.TransportError, ConvexTransientError) as exc:
                if attempt == self.retry.attempts:
                    raise ConvexTransientError(type(exc).__name__,
                                               self._redact(f"GET {path}: {exc}")) from None
                self._sleep(self.retry.delay(attempt))


class BackgroundUpload:
    """Uploads a file that another thread is still writing: each part leaves as soon as it is complete
    (in order, one at a time, §2.2), so the upload overlaps the work that produces the file.

    The writer calls `finish()` once the file is complete (or `abort()`); `result()` then gives the
    upload token and part tokens, or None if a part failed (`import_file` uploads the file itself).
    Nothing is imported until `import_file` finishes the upload, so an upload left behind is harmless.
    """

    def __init__(self, gateway: ConvexGateway, path: Path, part_size: int, poll_s: float = 0.02):
        self._gateway, self._path, self._part_size, self._poll_s = gateway, path, part_size, poll_s
        self._complete, self._aborted = threading.Event(), threading.Event()
        self._outcome: tuple[str, list[str]] | None = None
        self._handle = path.open("rb")  # opened now: the writer may rename the file when it completes it
        self._thread = threading.Thread(target=self._run, name=f"upload {path.name}", daemon=True)
        self._thread.start()

    def finish(self) -> None:
        self._complete.set()

    def abort(self) -> None:
        self._aborted.set()
        self._thread.join()

    def result(self) -> tuple[str, list[str]] | None:
        self._complete.set()
        self._thread.join()
        return self._outcome

    def _run(self) -> None:
        try:
            with self._handle:
                token, part_tokens = self._gateway._upload_parts(self._chunks(), self._path.name,
                                                                 "while it was written")
            if token is not None:
                self._outcome = (token, part_tokens)
        except _UploadAborted:
            pass
        except Exception as exc:  # noqa: BLE001 - the foreground upload reports the failure if it persists
            log.warning("early upload of %s stopped (%s); uploading it once it is complete", self._path.name,
                        exc)

    def _chunks(self) -> Iterator[bytes]:
        """Parts of exactly `part_size` bytes as the file grows; the shorter last one once it is complete."""
        buffer = bytearray()
        while True:
            complete = self._complete.is_set()  # read before the data: what was written before `finish` is seen
            data = self._handle.read(self._part_size - len(buffer))
            if self._aborted.is_set():
                raise _UploadAborted
            buffer += data
            if len(buffer) == self._part_size:
                yield bytes(buffer)
                buffer.clear()
            elif not data and complete:
                if buffer:
                    yield bytes(buffer)
                return
            elif not data:
                time.sleep(self._poll_s)


class _UploadAborted(Exception):
    """The writer of a `BackgroundUpload` gave up."""


def parts_are_replaceable(target: ConvexTarget) -> bool:
    """True for Convex Cloud (a `prod:`/`dev:` deploy key, or a `*.convex.cloud` URL): its uploads are S3
    multipart uploads, where a part sent again under the same number replaces the first one. A
    self-hosted backend may use local storage, which appends every part it receives (§2.2)."""
    host = (urlsplit(target.url).hostname or "").lower()
    return host.endswith(".convex.cloud") or target.key.startswith(("prod:", "dev:"))


def restart_budget(parts: int, failure_rate: float = DESIGN_FAILURE_RATE,
                   give_up_probability: float = DESIGN_GIVE_UP_PROBABILITY) -> int:
    """Whole-file upload attempts so that, when each part request fails independently with
    `failure_rate`, all of them fail with at most `give_up_probability` (at least MIN_UPLOAD_ATTEMPTS)."""
    attempt_fails = 1.0 - (1.0 - failure_rate) ** parts
    if attempt_fails <= 0.0:
        return MIN_UPLOAD_ATTEMPTS
    if attempt_fails >= 1.0:
        raise ValueError(f"an upload of {parts} parts cannot succeed at a failure rate of {failure_rate}")
    needed = math.ceil(math.log(give_up_probability) / math.log(attempt_fails))
    return max(MIN_UPLOAD_ATTEMPTS, needed)


def _check_import_request(table: str | None, mode: str, format: str) -> None:
    if mode not in IMPORT_MODES:
        raise ValueError(f"unknown import mode {mode!r}")
    if format not in IMPORT_FORMATS:
        raise ValueError(f"unknown import format {format!r}")
    if (format == "zip") != (table is None):
        raise ValueError("a table name is required for every format except zip")


def _released_after_send(body: bytes | Iterator[bytes], headers: dict[str, str]
                         ) -> tuple[Iterator[bytes], dict[str, str]]:
    """A whole body as a one-item iterator that lets go of it once sent, with its Content-Length (so
    httpx sends it as such, not chunked): httpx keeps each request in a reference cycle (request,
    response, pool streams) until the cyclic collector runs, which held several 57 MiB upload parts
    at once (bench/profiles/import.md, eighth session). A streamed body goes as it is."""
    if isinstance(body, bytes):
        return iter((body,)), {**headers, "Content-Length": str(len(body))}
    return body, headers


def _read_parts(handle: BinaryIO, part_size: int) -> Iterator[bytes]:
    """Chunks of exactly `part_size` bytes (last one shorter); a leading BOM is dropped."""
    first = True
    while True:
        chunk = handle.read(part_size)
        if first and chunk.startswith(_BOM):
            chunk = chunk[len(_BOM):] + handle.read(len(_BOM))
        first = False
        if not chunk:
            return
        yield chunk


def _stream_file(path: Path, skip: int, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(skip)
        while chunk := handle.read(chunk_size):
            yield chunk


def _retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
