"""Gateway: configuration rules, headers, retries, error mapping and redaction over real HTTP.

The server is a scripted aiohttp app on a real socket (`gateway_fake_server.py`), so faults can
be injected per call; the import flow against the real emulator is in `test_gateway_emulator.py`.
"""

from __future__ import annotations

import logging
import time

import pytest

from gateway_fake_server import FakeConvex, ServerThread
from loader.convex.gateway import (
    CLIENT_HEADER, DESIGN_FAILURE_RATE, BackgroundUpload, DESIGN_GIVE_UP_PROBABILITY, MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE,
    MIN_UPLOAD_ATTEMPTS, TARGET_PARTS, ConvexAuthError, ConvexFunctionError, ConvexGateway, ConvexHTTPError,
    ConvexImportError, ConvexTarget, ConvexTransientError, RetryPolicy, parts_are_replaceable, resolve_target,
    restart_budget,
)
from loader.errors import ConfigError

KEY = "convex-self-hosted|0123456789abcdef0123456789abcdef"


# ----------------------------------------------------------------------------- configuration

SELF = {"CONVEX_SELF_HOSTED_URL": "http://127.0.0.1:3210", "CONVEX_SELF_HOSTED_ADMIN_KEY": KEY}
CLOUD = {"CONVEX_URL": "https://happy-otter-123.convex.cloud",
         "CONVEX_DEPLOY_KEY": "prod:happy-otter-123|secretsecretsecret"}


def test_flags_win_over_every_environment_pair():
    target = resolve_target("https://x.convex.cloud/", "prod:x|abcdefgh", {**SELF, **CLOUD})
    assert (target.url, target.key, target.source) == (
        "https://x.convex.cloud", "prod:x|abcdefgh", "flags")


def test_self_hosted_pair_wins_over_cloud_url_without_deploy_key():
    env = {**SELF, "CONVEX_URL": CLOUD["CONVEX_URL"]}
    assert resolve_target(environ=env).url == "http://127.0.0.1:3210"


def test_cloud_pair_is_used_alone():
    target = resolve_target(environ=CLOUD)
    assert (target.url, target.source) == (CLOUD["CONVEX_URL"], "CONVEX_URL")


@pytest.mark.parametrize("env, fragment", [
    ({**SELF, **CLOUD}, "ambiguous"),
    ({"CONVEX_SELF_HOSTED_URL": "http://127.0.0.1:1"}, "CONVEX_SELF_HOSTED_ADMIN_KEY is not set"),
    ({"CONVEX_SELF_HOSTED_ADMIN_KEY": KEY}, "CONVEX_SELF_HOSTED_URL is not set"),
    ({"CONVEX_URL": CLOUD["CONVEX_URL"]}, "CONVEX_DEPLOY_KEY is not"),
    ({"CONVEX_DEPLOY_KEY": CLOUD["CONVEX_DEPLOY_KEY"]}, "https://happy-otter-123.convex.cloud"),
    ({"CONVEX_DEPLOYMENT": "dev:happy-otter-123"}, "CONVEX_SELF_HOSTED_URL"),
    ({}, "no Convex target"),
])
def test_configuration_refusals(env, fragment):
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")):
        resolve_target(environ=env)


def test_deployment_alone_names_both_pairs():
    with pytest.raises(ConfigError) as info:
        resolve_target(environ={"CONVEX_DEPLOYMENT": "dev:x"})
    for name in ("CONVEX_URL", "CONVEX_DEPLOY_KEY", "CONVEX_SELF_HOSTED_URL",
                 "CONVEX_SELF_HOSTED_ADMIN_KEY"):
        assert name in str(info.value)


@pytest.mark.parametrize("url, key, fragment", [
    ("https://x.convex.cloud", "preview:team:proj|abcdefgh", "preview keys"),
    ("https://x.convex.cloud", "project:team:proj|abcdefgh", "project keys"),
    ("https://x.convex.site", "prod:x|abcdefgh", "HTTP actions"),
    ("http://x.convex.cloud", "prod:x|abcdefgh", "plain http"),
    ("ftp://x.convex.cloud", "prod:x|abcdefgh", "must start with"),
    ("x.convex.cloud", "prod:x|abcdefgh", "must start with"),
    ("https://x.convex.cloud", "prod:x| abc", "whitespace"),
    ("https://x.convex.cloud", "", "must be given together"),
])
def test_flag_refusals(url, key, fragment):
    with pytest.raises(ConfigError, match=fragment):
        resolve_target(url, key, {})


@pytest.mark.parametrize("url", ["http://localhost:3210", "http://127.0.0.1:1/",
                                 "http://[::1]:3210", "http://emulator.localhost:8"])
def test_plain_http_is_allowed_for_local_hosts(url):
    assert resolve_target(url, KEY, {}).url == url.rstrip("/")


def test_target_never_shows_the_key():
    target = resolve_target(environ=SELF)
    assert "0123456789abcdef" not in repr(target) + str(target)
    assert "convex-self-hosted|***" in str(target)


# ----------------------------------------------------------------------------- transport

class SleepLog(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def fake():
    with ServerThread(FakeConvex()) as server:
        yield server


def gateway(fake: FakeConvex, sleeps: SleepLog | None = None, **kwargs) -> ConvexGateway:
    return ConvexGateway(ConvexTarget(fake.url, KEY), sleep=sleeps if sleeps is not None else SleepLog(),
                         **kwargs)


def ok(value):
    return lambda _req: (200, {"status": "success", "value": value})


def test_headers_and_body_of_a_function_call(fake):
    fake.route("POST", "/api/query", ok(42))
    with gateway(fake) as gw:
        assert gw.query("migration:countThings", {"n": 1}) == 42
    (req,) = fake.requests
    assert req.headers["Authorization"] == f"Convex {KEY}"
    assert req.headers["Convex-Client"] == CLIENT_HEADER
    assert req.headers["Content-Type"] == "application/json"
    assert req.json() == {"path": "migration:countThings", "args": {"n": 1}, "format": "json"}
    assert CLIENT_HEADER.startswith("perm-migrate-") and CLIENT_HEADER.count(".") == 2


@pytest.mark.parametrize("fault", [408, 429, 500, 502, 503, 504, "drop"])
def test_query_is_retried_on_transient_failures(fake, fault):
    fake.fail("POST", "/api/query", fault, fault)
    fake.route("POST", "/api/query", ok("fine"))
    sleeps = SleepLog()
    with gateway(fake, sleeps) as gw:
        assert gw.query("m:q") == "fine"
    assert len(fake.calls("/api/query")) == 3
    assert len(sleeps) == 2


def test_query_is_retried_after_a_read_timeout(fake):
    fake.fail("POST", "/api/query", ("delay", 1.5))
    fake.route("POST", "/api/query", ok(1))
    with gateway(fake, timeout=0.5) as gw:
        assert gw.query("m:q") == 1
    assert len(fake.calls("/api/query")) == 2


def test_backoff_is_exponential_with_jitter_and_gives_up(fake):
    fake.fail("POST", "/api/query", *[503] * 10)
    sleeps = SleepLog()
    policy = RetryPolicy(attempts=5, base_delay=1.0, max_delay=16.0)
    with gateway(fake, sleeps, retry=policy) as gw, pytest.raises(ConvexTransientError) as info:
        gw.query("m:q")
    assert len(fake.calls("/api/query")) == 5
    assert len(sleeps) == 4
    for attempt, wait in enumerate(sleeps, start=1):
        nominal = 2 ** (attempt - 1)
        assert nominal / 2 <= wait <= nominal
    assert info.value.status == 503


def test_retry_after_header_is_honoured(fake):
    fake.fail("POST", "/api/query", (429, {"code": "RateLimited", "message": "slow down"},
                                     {"Retry-After": "3"}))
    fake.route("POST", "/api/query", ok(1))
    sleeps = SleepLog()
    with gateway(fake, sleeps, retry=RetryPolicy(base_delay=0.01)) as gw:
        assert gw.query("m:q") == 1
    assert sleeps == [3.0]


@pytest.mark.parametrize("status, body, error_type, code", [
    (400, {"code": "BadConvexFunctionIdentifier", "message": "bad path"}, ConvexHTTPError,
     "BadConvexFunctionIdentifier"),
    (401, {"code": "BadAdminKey", "message": "The provided admin key was invalid"},
     ConvexAuthError, "BadAdminKey"),
    (403, {"code": "OperationNotPermitted", "message": "no"}, ConvexAuthError,
     "OperationNotPermitted"),
    (413, b"<html>Request Entity Too Large</html>", ConvexHTTPError, "HTTP413"),
    (404, None, ConvexHTTPError, "HTTP404"),
])
def test_permanent_errors_are_not_retried_and_carry_code(fake, status, body, error_type, code):
    fake.fail("POST", "/api/query", (status, body))
    fake.route("POST", "/api/query", ok("never"))
    with gateway(fake) as gw, pytest.raises(error_type) as info:
        gw.query("m:q")
    assert len(fake.calls("/api/query")) == 1
    assert (info.value.code, info.value.status) == (code, status)
    assert type(info.value) is error_type


def test_forbidden_names_the_permission_needed(fake):
    fake.fail("POST", "/api/perform_import", (403, {"code": "OperationNotPermitted",
                                                     "message": "denied"}))
    with gateway(fake) as gw, pytest.raises(ConvexAuthError, match="deployment:backups:import"):
        gw.perform_import("imp0")
    assert len(fake.requests) == 1


def test_mutation_is_not_retried_unless_idempotent(fake):
    fake.fail("POST", "/api/mutation", 500, 500)
    fake.route("POST", "/api/mutation", ok({"done": True}))
    with gateway(fake) as gw:
        with pytest.raises(ConvexTransientError):
            gw.mutation("migration:thing", {}, idempotent=False)
        assert len(fake.calls("/api/mutation")) == 1
        assert gw.mutation("migration:thing", {}, idempotent=True) == {"done": True}
    assert len(fake.calls("/api/mutation")) == 3


def test_refused_connection_is_retried_even_for_a_mutation():
    sleeps = SleepLog()
    with ConvexGateway(ConvexTarget("http://127.0.0.1:1", KEY), sleep=sleeps,
                       retry=RetryPolicy(attempts=3)) as gw, pytest.raises(ConvexTransientError) as info:
        gw.mutation("migration:thing", {}, idempotent=False)
    assert info.value.code == "ConnectError" and len(sleeps) == 2


@pytest.mark.parametrize("status", [200, 560])
def test_function_errors_on_200_and_560(fake, status):
    fake.route("POST", "/api/mutation", lambda _r: (status, {
        "status": "error", "errorMessage": "Uncaught Error: boom", "errorData": {"why": 1}}))
    with gateway(fake) as gw, pytest.raises(ConvexFunctionError, match="boom") as info:
        gw.mutation("migration:thing", {}, idempotent=True)
    assert info.value.error_data == {"why": 1}
    assert len(fake.calls("/api/mutation")) == 1


def test_run_function_uses_the_admin_endpoint(fake):
    fake.route("POST", "/api/function", ok([1, 2]))
    with gateway(fake) as gw:
        assert gw.run_function("migration:list", {"a": "b"}, idempotent=True) == [1, 2]
    assert fake.calls("/api/function")[0].json()["format"] == "json"


def test_the_key_never_appears_in_errors_or_logs(fake, caplog):
    echo = {"code": "BadAdminKey", "message": f"key {KEY} refused"}
    fake.fail("POST", "/api/query", (503, {"code": "Overloaded", "message": f"busy {KEY}"}),
              (401, echo))
    caplog.set_level(logging.DEBUG)
    with gateway(fake) as gw, pytest.raises(ConvexAuthError) as info:
        gw.query("m:q")
    secret = KEY.split("|")[1]
    assert secret not in str(info.value) and secret not in info.value.message
    assert secret not in caplog.text
    assert "Overloaded" in caplog.text


# ----------------------------------------------------------------------------- reading

def test_table_data_paginates_until_is_done_even_across_short_pages(fake):
    pages = {None: ([{"_id": "a"}], False, "c1"), "c1": ([], False, "c2"),
             "c2": ([{"_id": "b"}, {"_id": "c"}], True, "end")}

    def table_data(req):
        args = req.json()["args"]
        assert args["table"] == "cases" and args["order"] == "asc"
        page, done, cursor = pages[args["paginationOpts"]["cursor"]]
        return 200, {"status": "success",
                     "value": {"page": page, "isDone": done, "continueCursor": cursor}}
    fake.route("POST", "/api/query", table_data)
    with gateway(fake) as gw:
        assert [d["_id"] for d in gw.iter_documents("cases", page_size=2)] == ["a", "b", "c"]
    assert len(fake.requests) == 3


def test_table_numbers_and_size(fake):
    def system(req):
        body = req.json()
        value = {"_system/frontend/getTableMapping": {"10001": "users", "10002": "cases"},
                 "_system/cli/tableSize": "7"}[body["path"]]
        return 200, {"status": "success", "value": value}
    fake.route("POST", "/api/query", system)
    with gateway(fake) as gw:
        assert gw.table_numbers() == {"users": 10001, "cases": 10002}
        assert gw.table_size("cases") == 7


# ----------------------------------------------------------------------------- import flow

class ImportServer:
    """Just enough of the import state machine to drive the gateway's decisions."""

    def __init__(self, fake: FakeConvex, *, manual: bool = False, rows: int = 3,
                 final: dict | None = None):
        self.fake, self.manual, self.rows = fake, manual, rows
        self.final = final or {"state": "completed", "num_rows_written": str(rows)}
        self.imports: dict[str, dict] = {}
        self.uploads: dict[str, list[bytes]] = {}
        self.performed = []
        self.canceled = []
        fake.route("POST", "/api/import/start_upload", self.start)
        fake.route("POST", "/api/import/upload_part", self.part)
        fake.route("POST", "/api/import/finish_upload", self.finish)
        fake.route("POST", "/api/query", self.query)
        fake.route("POST", "/api/perform_import", self.perform)
        fake.route("POST", "/api/cancel_import", self.cancel)

    def start(self, _req):
        token = f"up{len(self.uploads)}"
        self.uploads[token] = []
        return 200, {"uploadToken": token}

    def part(self, req):
        chunks = self.uploads[req.query["uploadToken"]]
        assert int(req.query["partNumber"]) == len(chunks) + 1
        assert req.headers["Content-Type"] == "application/octet-stream"
        chunks.append(req.body)
        return 200, f"part{len(chunks)}"

    def finish(self, req):
        body = req.json()
        import_id = f"imp{len(self.imports)}"
        self.imports[import_id] = {
            "_id": import_id, "mode": {"append": "Append"}.get(body["import"]["mode"], "Replace"),
            "format": {"format": "jsonl", "table": body["import"].get("tableName")},
            "polls": 0, "upload": body["uploadToken"], "partTokens": body["partTokens"],
            "state": {"state": "uploaded"},
            "checkpoints": [{"total_num_rows_to_write": str(self.rows)}]}
        return 200, {"importId": import_id}

    def _advance(self, imp):
        imp["polls"] += 1
        if imp["state"]["state"] == "uploaded" and imp["polls"] >= 2:
            imp["state"] = {"state": "waiting_for_confirmation", "message_to_confirm": "x",
                            "require_manual_confirmation": self.manual}
        elif imp["state"]["state"] == "in_progress":
            imp["state"] = dict(self.final)

    def query(self, req):
        body = req.json()
        if body["path"] == "_system/cli/queryImport:list":
            value = list(reversed(self.imports.values()))
        else:
            imp = self.imports.get(body["args"]["importId"])
            if imp is not None:
                self._advance(imp)
            value = imp
        return 200, {"status": "success", "value": value}

    def perform(self, req):
        imp = self.imports[req.json()["importId"]]
        self.performed.append(imp["_id"])
        if imp["state"]["state"] == "waiting_for_confirmation":
            imp["state"] = {"state": "in_progress", "progress_message": "writing"}
        return 200, None

    def cancel(self, req):
        imp = self.imports[req.json()["importId"]]
        self.canceled.append(imp["_id"])
        imp["state"] = {"state": "failed", "error_message": "Import canceled"}
        return 200, None


@pytest.fixture
def jsonl(tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_bytes(b'{"a":"0123456789"}\n{"a":"abcdefghij"}\n{"a":"klmnopqrst"}\n')
    return path


def test_import_flow_sends_fixed_size_parts_in_order_and_reports_progress(fake, jsonl):
    server = ImportServer(fake)
    seen_states, created = [], []
    with gateway(fake, min_part_size=16) as gw:
        result = gw.import_file(jsonl, table="cases", mode="append", expected_rows=3,
                                on_created=created.append,
                                progress=lambda state: seen_states.append(state["state"]))
    assert result.num_rows_written == 3 and created == [result.import_id]
    parts = server.uploads["up0"]
    assert [len(p) for p in parts] == [16, 16, 16, 9]
    assert b"".join(parts) == jsonl.read_bytes()
    assert server.imports[result.import_id]["partTokens"] == ["part1", "part2", "part3", "part4"]
    assert seen_states[0] == "uploaded" and seen_states[-1] == "completed"
    assert "waiting_for_confirmation" in seen_states
    assert server.performed == [result.import_id]


def test_a_failed_part_restarts_the_whole_upload(fake, jsonl):
    server = ImportServer(fake)
    fake.fail("POST", "/api/import/upload_part", "pass", 502)
    with gateway(fake, min_part_size=16) as gw:
        gw.import_file(jsonl, table="cases", mode="append")
    assert len(fake.calls("/api/import/start_upload")) == 2
    assert len(server.uploads["up1"]) == 4 and server.imports["imp0"]["upload"] == "up1"
    assert b"".join(server.uploads["up1"]) == jsonl.read_bytes()


class CloudImportServer(ImportServer):
    """Convex Cloud's uploads are S3 multipart uploads: a part sent again under its number replaces it."""

    def part(self, req):
        parts = self.uploads[req.query["uploadToken"]]
        number = int(req.query["partNumber"])
        assert number <= len(parts) + 1
        parts[number - 1:number] = [req.body]
        return 200, f"part{number}"


CLOUD_KEY = "prod:happy-animal-123|0123456789abcdef"


@pytest.mark.parametrize("fault", [502, 503, 429, "drop"])
def test_a_cloud_upload_resends_only_the_failed_part(fake, jsonl, fault):
    server = CloudImportServer(fake)
    fake.fail("POST", "/api/import/upload_part", "pass", fault, "pass", fault)
    with ConvexGateway(ConvexTarget(fake.url, CLOUD_KEY), sleep=SleepLog(), min_part_size=16) as gw:
        assert gw.resend_failed_parts
        gw.import_file(jsonl, table="cases", mode="append", expected_rows=3)
    assert len(fake.calls("/api/import/start_upload")) == 1
    assert [int(r.query["partNumber"]) for r in fake.calls("/api/import/upload_part")] == [1, 2, 2, 3, 3, 4]
    assert b"".join(server.uploads["up0"]) == jsonl.read_bytes()
    assert server.imports["imp0"]["partTokens"] == ["part1", "part2", "part3", "part4"]


def test_only_cloud_targets_resend_parts_in_place():
    assert parts_are_replaceable(ConvexTarget("https://happy-animal-123.convex.cloud", "prod:happy-animal-123|x"))
    assert parts_are_replaceable(ConvexTarget("https://convex.example.com", "dev:happy-animal-123|x"))
    assert not parts_are_replaceable(ConvexTarget("https://convex.example.com", KEY))
    assert not parts_are_replaceable(ConvexTarget("http://127.0.0.1:3210", KEY))


def test_parts_grow_before_their_number_does():
    with ConvexGateway(ConvexTarget("http://127.0.0.1:1", KEY)) as gw:
        assert gw.part_size(1000) == MIN_PART_SIZE  # a small file: one part
        cases_at_1m = 1_800_000_000  # the 1M-case send file
        assert gw.part_size(cases_at_1m) == -(-cases_at_1m // TARGET_PARTS)
        assert gw.part_size(40 * 2**30) == MAX_PART_SIZE  # then more parts of the largest size
        assert gw.part_size(1000 * 2**30) == -(-1000 * 2**30 // MAX_PARTS)  # never 10 000 parts


def test_restart_budget_is_the_fewest_attempts_that_hold_the_design_failure_rate():
    for parts in (4, TARGET_PARTS, 100):
        attempt_fails = 1 - (1 - DESIGN_FAILURE_RATE) ** parts
        budget = restart_budget(parts)
        assert attempt_fails ** budget <= DESIGN_GIVE_UP_PROBABILITY < attempt_fails ** (budget - 1)
    assert restart_budget(1) == MIN_UPLOAD_ATTEMPTS
    assert restart_budget(TARGET_PARTS) == 11  # the 1M-case file


LINES = [b'{"a":"0123456789"}\n', b'{"a":"abcdefghij"}\n', b'{"a":"klmnopqrst"}\n']


def wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_parts_leave_while_the_file_is_still_written(fake, tmp_path):
    server = ImportServer(fake)
    path = tmp_path / "growing.jsonl"
    with gateway(fake, min_part_size=16) as gw, path.open("wb") as out:
        upload = BackgroundUpload(gw, path, part_size=16)
        out.write(LINES[0])
        out.flush()
        wait_for(lambda: len(fake.calls("/api/import/upload_part")) == 1)  # the first full part, the rest unwritten
        out.write(LINES[1] + LINES[2])
        out.flush()
        upload.finish()
        result = gw.import_file(path, table="cases", mode="append", expected_rows=3, uploaded=upload)
    assert len(fake.calls("/api/import/start_upload")) == 1
    assert [len(p) for p in server.uploads["up0"]] == [16, 16, 16, 9]
    assert b"".join(server.uploads["up0"]) == b"".join(LINES)
    assert server.imports[result.import_id]["partTokens"] == ["part1", "part2", "part3", "part4"]


def test_a_failed_early_upload_is_done_again_once_the_file_is_complete(fake, tmp_path):
    server = ImportServer(fake)
    fake.fail("POST", "/api/import/upload_part", 503)
    path = tmp_path / "growing.jsonl"
    with gateway(fake, min_part_size=16) as gw:
        with path.open("wb") as out:
            upload = BackgroundUpload(gw, path, part_size=16)
            out.write(b"".join(LINES))
        upload.finish()
        result = gw.import_file(path, table="cases", mode="append", expected_rows=3, uploaded=upload)
    assert len(fake.calls("/api/import/start_upload")) == 2
    assert server.imports[result.import_id]["upload"] == "up1"
    assert b"".join(server.uploads["up1"]) == b"".join(LINES)


def test_an_aborted_early_upload_sends_no_more_parts(fake, tmp_path):
    ImportServer(fake)
    path = tmp_path / "growing.jsonl"
    with gateway(fake, min_part_size=16) as gw, path.open("wb") as out:
        upload = BackgroundUpload(gw, path, part_size=16)
        out.write(LINES[0])
        out.flush()
        wait_for(lambda: len(fake.calls("/api/import/upload_part")) == 1)
        upload.abort()
        out.write(LINES[1] + LINES[2])
        out.flush()
        time.sleep(0.1)
    assert len(fake.calls("/api/import/upload_part")) == 1 and not fake.calls("/api/import/finish_upload")


def test_unknown_finish_outcome_adopts_the_import_that_was_created(fake, jsonl):
    server = ImportServer(fake)
    real_finish = server.finish

    def finish_then_lose_response(req):
        real_finish(req)
        return 504, None
    fake.route("POST", "/api/import/finish_upload", finish_then_lose_response)
    with gateway(fake, min_part_size=16) as gw:
        result = gw.import_file(jsonl, table="cases", mode="append")
    assert len(fake.calls("/api/import/finish_upload")) == 1
    assert result.import_id == "imp0" and len(server.imports) == 1


def test_unknown_finish_outcome_without_an_import_retries_finish(fake, jsonl):
    server = ImportServer(fake)
    fake.fail("POST", "/api/import/finish_upload", "drop")
    with gateway(fake, min_part_size=16) as gw:
        result = gw.import_file(jsonl, table="cases", mode="append")
    assert len(fake.calls("/api/import/finish_upload")) == 2
    assert list(server.imports) == [result.import_id]


def test_unrecognisable_new_import_stops_instead_of_retrying(fake, jsonl):
    server = ImportServer(fake)

    def someone_else_imported(req):
        server.imports["other"] = {"_id": "other", "mode": "Replace", "state": {"state": "uploaded"},
                                   "format": {"format": "jsonl", "table": "users"}}
        return 503, None
    fake.route("POST", "/api/import/finish_upload", someone_else_imported)
    with gateway(fake, min_part_size=16) as gw, pytest.raises(ConvexImportError, match="other"):
        gw.import_file(jsonl, table="cases", mode="append")
    assert len(fake.calls("/api/import/finish_upload")) == 1


def test_deleting_import_is_canceled_unless_allowed(fake, jsonl):
    server = ImportServer(fake, manual=True)
    with gateway(fake, min_part_size=16) as gw:
        with pytest.raises(ConvexImportError, match="delete existing documents"):
            gw.import_file(jsonl, table="cases", mode="replace")
        assert server.canceled == ["imp0"] and server.performed == []
        gw.import_file(jsonl, table="cases", mode="replace", allow_deletions=True)
    assert server.performed == ["imp1"]


def test_row_count_mismatch_cancels(fake, jsonl):
    server = ImportServer(fake, rows=2)
    with gateway(fake, min_part_size=16) as gw, pytest.raises(ConvexImportError, match="expected 3"):
        gw.import_file(jsonl, table="cases", mode="append", expected_rows=3)
    assert server.canceled == ["imp0"]


def test_failed_import_raises_with_the_server_message(fake, jsonl):
    ImportServer(fake, final={"state": "failed", "error_message": "Hit an error while importing:\nbad"})
    with gateway(fake, min_part_size=16) as gw, pytest.raises(ConvexImportError, match="Hit an error"):
        gw.import_file(jsonl, table="cases", mode="append")


def test_running_import_blocks_a_new_one(fake, jsonl):
    server = ImportServer(fake)
    server.imports["old"] = {"_id": "old", "state": {"state": "in_progress"}}
    with gateway(fake) as gw, pytest.raises(ConvexImportError, match="old is still in_progress"):
        gw.import_file(jsonl, table="cases", mode="append")
    assert not fake.calls("/api/import/start_upload")


def test_bom_is_stripped_and_parts_stay_full(fake, tmp_path):
    path = tmp_path / "bom.jsonl"
    payload = b'{"a":"0123456789"}\n{"b":"xyz"}\n'
    path.write_bytes(b"\xef\xbb\xbf" + payload)
    server = ImportServer(fake)
    with gateway(fake, min_part_size=16) as gw:
        gw.import_file(path, table="cases", mode="append")
    assert b"".join(server.uploads["up0"]) == payload
    assert len(server.uploads["up0"][0]) == 16


def test_empty_file_has_zero_parts(fake, tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    server = ImportServer(fake, rows=0)
    with gateway(fake) as gw:
        gw.import_file(path, table="cases", mode="replace", allow_deletions=True)
    assert server.imports["imp0"]["partTokens"] == [] and not fake.calls("/api/import/upload_part")
