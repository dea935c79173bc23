"""`perm-migrate emulator serve` as a real process: serves, keeps a generated key in the state dir
(never printed), validates its options with one-line errors, and keeps state across restarts."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

CLI = str(Path(sys.executable).with_name("perm-migrate"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(state_dir: Path, *extra: str, env: dict | None = None):
    port = free_port()
    proc = subprocess.Popen(
        [CLI, "emulator", "serve", "--port", str(port), "--state-dir", str(state_dir), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env or {k: v for k, v in os.environ.items() if k != "CONVEX_SELF_HOSTED_ADMIN_KEY"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            httpx.get(f"{url}/_emulator/config", timeout=1)
            return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    out, err = proc.communicate()
    raise AssertionError(f"emulator did not start: {err}")


def stop(proc) -> tuple[str, str]:
    proc.terminate()
    try:
        return proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


def test_serve_generates_key_file_and_never_prints_it(tmp_path):
    state_dir = tmp_path / "emu"
    proc, url = serve(state_dir, "--pin-table", "users=10100", "--polls-per-state", "1")
    try:
        key_file = state_dir / "admin_key"
        key = key_file.read_text().strip()
        assert key.startswith("convex-self-hosted|") and oct(key_file.stat().st_mode & 0o777) == "0o600"
        headers = {"Authorization": f"Convex {key}", "Convex-Client": "pytest-1.0.0"}
        mapping = httpx.post(f"{url}/api/query", headers=headers, json={
            "path": "_system/frontend/getTableMapping", "args": {}, "format": "json"}).json()["value"]
        assert mapping["10100"] == "users"
        assert httpx.get(f"{url}/_emulator/config", headers=headers).json()["polls_per_state"] == 1
        r = httpx.post(f"{url}/api/import", headers=headers, params={"tableName": "users", "format": "jsonLines"},
                       content=b'{"email":"a@b.c"}\n')
        assert r.json() == {"numWritten": 1}
    finally:
        out, err = stop(proc)
    assert key not in out + err and "admin key from" in err
    proc, url = serve(state_dir)  # restart: same key, same data
    try:
        r = httpx.post(f"{url}/api/query", headers=headers, json={
            "path": "_system/cli/tableSize", "args": {"tableName": "users"}, "format": "json"})
        assert r.json()["value"] == 1
    finally:
        stop(proc)


def test_key_from_environment(tmp_path):
    key = "convex-self-hosted|" + "ab" * 16
    proc, url = serve(tmp_path / "emu", env=dict(os.environ, CONVEX_SELF_HOSTED_ADMIN_KEY=key))
    try:
        r = httpx.post(f"{url}/api/import/start_upload", headers={"Authorization": f"Convex {key}"})
        assert r.status_code == 200
        assert not (tmp_path / "emu" / "admin_key").exists()
    finally:
        out, err = stop(proc)
    assert key not in out + err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pin-table", "users"], "--pin-table expects <table>=<number>"),
        (["--admin-key", "nokeyshape"], "--admin-key must look like"),
        (["--schema", "/nonexistent/schema.json"], "cannot read schema"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path, args, message):
    result = subprocess.run([CLI, "emulator", "serve", "--state-dir", str(tmp_path / "s"), *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_second_emulator_on_the_same_state_dir_is_refused_until_the_first_dies(tmp_path):
    state_dir = tmp_path / "emu"
    first, _ = serve(state_dir)
    try:
        lock_file = state_dir / "emulator.lock"
        assert oct(lock_file.stat().st_mode & 0o777) == "0o600"
        second = subprocess.run([CLI, "emulator", "serve", "--port", str(free_port()), "--state-dir", str(state_dir)],
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 2, second.stderr
        message = second.stderr.strip()
        assert len(message.splitlines()) == 1 and "Traceback" not in message
        assert f"pid {first.pid} on host {socket.gethostname()}" in message
        assert "stop that emulator or use another --state-dir" in message
        first.kill()  # kill -9: the OS releases the lock
        first.communicate()
        again, _ = serve(state_dir)
        stop(again)
    finally:
        if first.poll() is None:
            stop(first)
