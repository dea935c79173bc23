"""`PERM_CONVEX_TIMEOUT_S`: the gateway's per-request timeout, read once where the target is resolved."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from gateway_fake_server import FakeConvex, ServerThread
from loader.cli import main
from loader.convex.gateway import DEFAULT_TIMEOUT_S, ConvexGateway, resolve_target
from loader.errors import ConfigError
from loader.run_folder import RunFolder

KEY = "convex-self-hosted|0123456789abcdef0123456789abcdef"
SELF = {"CONVEX_SELF_HOSTED_URL": "http://127.0.0.1:3210", "CONVEX_SELF_HOSTED_ADMIN_KEY": KEY}


def test_default_timeout_is_60_seconds():
    assert DEFAULT_TIMEOUT_S == 60
    assert resolve_target(environ=SELF).timeout_s == 60
    assert resolve_target(environ={**SELF, "PERM_CONVEX_TIMEOUT_S": "  "}).timeout_s == 60


@pytest.mark.parametrize("text, seconds", [("120", 120.0), ("2.5", 2.5), (" 0.25 ", 0.25), ("1e3", 1000.0)])
def test_timeout_from_the_environment(text, seconds):
    assert resolve_target(environ={**SELF, "PERM_CONVEX_TIMEOUT_S": text}).timeout_s == seconds
    # the flags pick URL and key only; the timeout still comes from the environment
    assert resolve_target("http://127.0.0.1:1", KEY, {"PERM_CONVEX_TIMEOUT_S": text}).timeout_s == seconds


@pytest.mark.parametrize("text", ["abc", "0", "-5", "nan", "inf", "-inf", "60s", "1,5"])
def test_invalid_timeout_is_a_config_error_naming_the_variable_and_value(text):
    with pytest.raises(ConfigError) as info:
        resolve_target(environ={**SELF, "PERM_CONVEX_TIMEOUT_S": text})
    message = str(info.value)
    assert message == f"PERM_CONVEX_TIMEOUT_S: must be a positive number of seconds, got {text!r}"
    assert "\n" not in message


@pytest.fixture
def fake():
    with ServerThread(FakeConvex()) as server:
        yield server


def _query_after_one_slow_answer(fake: FakeConvex, environ: dict[str, str]) -> int:
    """Requests needed for one query when the first answer takes 1.2 s."""
    fake.fail("POST", "/api/query", ("delay", 1.2))
    fake.route("POST", "/api/query", lambda _req: (200, {"status": "success", "value": 7}))
    with ConvexGateway(resolve_target(environ={**environ, "CONVEX_SELF_HOSTED_URL": fake.url}),
                       sleep=lambda _s: None) as gateway:
        assert gateway.query("m:q") == 7
    return len(fake.calls("/api/query"))


def test_a_short_environment_timeout_cuts_a_slow_request(fake):
    assert _query_after_one_slow_answer(fake, {**SELF, "PERM_CONVEX_TIMEOUT_S": "0.3"}) == 2  # timed out, retried


def test_the_default_timeout_waits_for_a_slow_request(fake):
    assert _query_after_one_slow_answer(fake, SELF) == 1


def test_an_explicit_gateway_timeout_wins_over_the_target_s():
    with ConvexGateway(resolve_target(environ={**SELF, "PERM_CONVEX_TIMEOUT_S": "5"}), timeout=0.5) as gateway:
        assert gateway.timeout_s == 0.5


def test_cli_reports_an_invalid_timeout_in_one_line(tmp_path, monkeypatch):
    for name in ("CONVEX_URL", "CONVEX_DEPLOY_KEY", "CONVEX_DEPLOYMENT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PERM_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CONVEX_SELF_HOSTED_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("CONVEX_SELF_HOSTED_ADMIN_KEY", KEY)
    monkeypatch.setenv("PERM_CONVEX_TIMEOUT_S", "-1")
    RunFolder.create(tmp_path / "runs", "r0")
    result = CliRunner().invoke(main, ["import", "--run-id", "r0"], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert "PERM_CONVEX_TIMEOUT_S: must be a positive number of seconds, got '-1'" in result.output
    assert "0123456789abcdef" not in result.output
