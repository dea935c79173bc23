"""Helpers for the resilience, security and bad-input tests: real processes only.

- `EmulatorProcess`: `perm-migrate emulator serve` in its own process (killable with SIGKILL,
  restartable on the same port and state directory), with fault rules over HTTP.
- `run_cli` / `start_cli`: the `perm-migrate` CLI as a subprocess with a clean environment.
- `prepared_run`: ONE session-wide run folder that went through check → export against a real
  emulator and stopped at the backup (an injected 400 on the snapshot export): each test clones it
  and resumes it against its own emulator, so the expensive dbt build runs once per session.
- `assert_migrated`: nothing lost, nothing duplicated, 100% verified.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from loader.convex.gateway import ConvexGateway, ConvexTarget
from perm_rehearsal.demo_data.generator import generate
from loader.run_folder import RunFolder

REPO = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("perm-migrate"))
AS_OF = "2026-01-15T00:00:00Z"
# Every emulator of these tests uses this key, so that the security test can look for it anywhere.
SECRET_PART = "5ec7e7" + secrets.token_hex(29)
ADMIN_KEY = f"convex-self-hosted|{SECRET_PART}"
# Environment variables that would point a child process at something else.
_INHERITED_TARGETS = ("CONVEX_URL", "CONVEX_DEPLOY_KEY", "CONVEX_SELF_HOSTED_URL", "CONVEX_SELF_HOSTED_ADMIN_KEY",
                      "CONVEX_DEPLOYMENT", "SUPABASE_DB_URL", "PERM_RUNS_DIR", "PERM_MAPPING_DB", "PERM_DEBUG",
                      "PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSERVICE")
MIGRATED_TABLES = {"users": "email", "cases": "legacyId", "userProfiles": "userId"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmulatorProcess:
    """The emulator as a separate process; survives the loader, can be killed and restarted."""

    def __init__(self, state_dir: Path, faults: list[dict] | None = None):
        self.state_dir, self.port = state_dir, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = state_dir.parent / f"{state_dir.name}.log"
        self.initial_faults = faults or []
        self.process: subprocess.Popen | None = None

    def start(self) -> "EmulatorProcess":
        cmd = [CLI, "emulator", "serve", "--port", str(self.port), "--state-dir", str(self.state_dir)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(cmd, stdout=log, stderr=log, cwd=REPO,
                                            env={**clean_env(), "CONVEX_SELF_HOSTED_ADMIN_KEY": ADMIN_KEY})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"emulator exited with {self.process.returncode}: {self.log_path.read_text()[-500:]}")
            try:
                if httpx.get(f"{self.url}/version", timeout=1).status_code < 500:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"emulator did not answer on {self.url}")
        if self.initial_faults:
            self.add_faults(self.initial_faults)
        return self

    def kill(self) -> None:
        """SIGKILL: no chance to flush or clean up."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> "EmulatorProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _control(self, method: str, path: str, **kwargs) -> httpx.Response:
        response = httpx.request(method, f"{self.url}{path}", headers={"Authorization": f"Convex {ADMIN_KEY}"},
                                 timeout=30, **kwargs)
        response.raise_for_status()
        return response

    def add_faults(self, rules: list[dict]) -> None:
        self._control("POST", "/_emulator/faults", json=rules)

    def clear_faults(self) -> None:
        self._control("DELETE", "/_emulator/faults")

    def fault_report(self) -> dict:
        return self._control("GET", "/_emulator/faults").json()

    def gateway(self) -> ConvexGateway:
        return ConvexGateway(ConvexTarget(self.url, ADMIN_KEY))

    def documents(self, table: str) -> list[dict]:
        with self.gateway() as gateway:
            return list(gateway.iter_documents(table))


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _INHERITED_TARGETS}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def pipeline_env(source_dsn: str, emulator: EmulatorProcess, runs_dir: Path) -> dict[str, str]:
    return clean_env(SUPABASE_DB_URL=source_dsn, CONVEX_SELF_HOSTED_URL=emulator.url,
                     CONVEX_SELF_HOSTED_ADMIN_KEY=ADMIN_KEY, PERM_RUNS_DIR=str(runs_dir),
                     PERM_MAPPING_DB=str(runs_dir / "mapping.sqlite"))


def run_cli(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)


def start_cli(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """A `perm-migrate` process in its own session (so a SIGKILL reaches it alone), output to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen([CLI, *args], env=env, cwd=REPO, stdout=out, stderr=out, start_new_session=True)


def step_status(folder: Path, step: str) -> str | None:
    try:
        return json.loads((folder / "state.json").read_text())["steps"][step]["status"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return None


def wait_for_step(folder: Path, step: str, process: subprocess.Popen, timeout: float = 300) -> bool:
    """Wait until `step` is running or further; False if the process ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if step_status(folder, step) not in (None, "pending", "failed"):
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.02)
    raise AssertionError(f"step {step} did not start within {timeout}s")


# --------------------------------------------------------------------------- the shared prepared run


@dataclass(frozen=True)
class PreparedRun:
    """A run folder done up to `export`, its source database, and what its CLI run printed."""

    root: Path
    run_id: str
    source_dsn: str
    stdout: str
    stderr: str

    def clone(self, runs_dir: Path) -> Path:
        """A private copy of the run folder under `runs_dir` (same run id), ready for `--resume`."""
        target = runs_dir / self.run_id
        shutil.copytree(self.root, target, symlinks=True)
        return target


_PREPARED: dict[str, PreparedRun] = {}
# Stops the first run at the backup: a client error (not retried) on the snapshot export request.
STOP_AT_BACKUP = [{"endpoint": "/api/export/request/zip", "action": "status", "status": 400, "code": "BadRequest",
                   "message": "stopped by the test fixture", "times": None}]


def prepared_run(pg_server, base_dir: Path) -> PreparedRun:
    """The session's prepared run (built on first use): dirty generated v1 data, real dbt build."""
    if "run" not in _PREPARED:
        source = pg_server.create_database("resilience_v1")
        generate(source, n_users=12, n_cases=60, seed=11, dirty=True)
        runs_dir = base_dir / "runs"
        with EmulatorProcess(base_dir / "emulator", faults=STOP_AT_BACKUP) as emulator:
            done = run_cli(["run", "--no-progress", "--migration-as-of", AS_OF],
                           pipeline_env(source, emulator, runs_dir))
        folders = sorted(p.parent for p in runs_dir.glob("*/state.json"))
        assert done.returncode == 2 and len(folders) == 1, (done.returncode, done.stdout, done.stderr)
        assert step_status(folders[0], "export") == "done", done.stderr
        assert step_status(folders[0], "backup") == "failed", done.stderr
        _PREPARED["run"] = PreparedRun(folders[0], folders[0].name, source, done.stdout, done.stderr)
    return _PREPARED["run"]


# --------------------------------------------------------------------------- checks


def exported_documents(folder: Path) -> dict[str, int]:
    tables = RunFolder(folder).read_manifest()["steps"]["export"]["tables"]
    return {table: info["documents"] for table, info in tables.items()}


def assert_migrated(folder: Path, emulator: EmulatorProcess) -> None:
    """Every exported document is in the target exactly once, and the run's verification passed."""
    assert step_status(folder, "verify") == "done", json.loads((folder / "state.json").read_text())["steps"]
    expected = exported_documents(folder)
    for table, key in MIGRATED_TABLES.items():
        docs = emulator.documents(table)
        keys = [d.get(key) for d in docs]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        assert not duplicates, f"{table}: duplicate {key} {duplicates[:5]}"
        assert len(docs) == expected[table], f"{table}: {len(docs)} documents, {expected[table]} exported"
        if key != "userId":  # profile owners are ids assigned by the target, not exported keys
            with (folder / "export" / f"{table}.jsonl").open() as exported:
                exported_keys = {json.loads(line)[key] for line in exported}
            assert set(keys) == exported_keys, f"{table}: {key}s differ from the export"
