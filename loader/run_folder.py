"""The run folder `runs/<run_id>/`: everything one run produced, its manifest and its step ledger.

Layout (each step owns its part):
  manifest.json        run settings: run id, migration_as_of, config (redacted), mapping table
  state.json           the step ledger: per step its status, timings, result and details (see run_state)
  raw/<table>.jsonl    extracted v1 snapshot (mode 0600: personal data)
  warehouse.duckdb     staged snapshot + dbt models (DuckDB warehouse)
  export/<table>.jsonl validated Convex documents; export/rejects.jsonl
  run.lock             exclusive lock of the process working on the run (pid, host, started)
  ...                  import state, mapping table, backups, verify.json, report
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import secrets
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from loader.errors import ConfigError

MANIFEST = "manifest.json"
STATE_FILE = "state.json"
LOCK_FILE = "run.lock"


class RunInUse(ConfigError):
    """Another live process holds the run's lock."""


def default_runs_dir() -> Path:
    return Path(os.environ.get("PERM_RUNS_DIR", "runs"))


def new_run_id(now: dt.datetime | None = None) -> str:
    """`20261124T010203Z-1a2b3c`: sortable by start time, unique."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def write_private(path: Path, data: bytes) -> None:
    """Write a file atomically with mode 0600 (owner only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSONL file, one per non-blank line, streamed."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


class RunFolder:
    """One run's directory, its manifest (settings) and its ledger (`state.json`)."""

    def __init__(self, root: Path):
        self.root = root
        self.run_id = root.name

    @classmethod
    def create(cls, runs_dir: Path | None = None, run_id: str | None = None) -> "RunFolder":
        root = (runs_dir or default_runs_dir()) / (run_id or new_run_id())
        root.mkdir(parents=True, exist_ok=False, mode=0o700)
        folder = cls(root)
        folder.write_manifest({"run_id": folder.run_id})
        return folder

    @staticmethod
    def _root(run_id: str, runs_dir: Path | None) -> Path:
        candidate = Path(run_id)
        return candidate if candidate.is_dir() else (runs_dir or default_runs_dir()) / run_id

    @classmethod
    def exists(cls, run_id: str, runs_dir: Path | None = None) -> bool:
        return (cls._root(run_id, runs_dir) / MANIFEST).is_file()

    @classmethod
    def open(cls, run_id: str, runs_dir: Path | None = None) -> "RunFolder":
        root = cls._root(run_id, runs_dir)
        if not (root / MANIFEST).is_file():
            raise ConfigError(f"run folder {root} not found (no {MANIFEST}); check the run id")
        return cls(root)

    @staticmethod
    def latest_id(runs_dir: Path | None = None) -> str:
        """The latest run in the runs dir (run ids sort by their start time)."""
        root = runs_dir or default_runs_dir()
        runs = sorted(p.parent.name for p in root.glob(f"*/{MANIFEST}")) if root.is_dir() else []
        if not runs:
            raise ConfigError(f"no runs in {root}")
        return runs[-1]

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    @property
    def raw_dir(self) -> Path:
        return self.path("raw")

    @property
    def export_dir(self) -> Path:
        return self.path("export")

    @property
    def warehouse_path(self) -> Path:
        return self.path("warehouse.duckdb")

    def read_manifest(self) -> dict[str, Any]:
        """The run settings, plus `steps`: each step's details as recorded in the ledger."""
        steps = {name: entry["details"] for name, entry in self.read_ledger().get("steps", {}).items()
                 if "details" in entry}
        return {**json.loads(self.path(MANIFEST).read_text()), "steps": steps}

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Write the settings to manifest.json; a `steps` key replaces the step details in the ledger."""
        settings = {k: v for k, v in manifest.items() if k != "steps"}
        write_private(self.path(MANIFEST), _json_bytes(settings))
        if "steps" in manifest:
            ledger = self.read_ledger()
            for name, entry in ledger.setdefault("steps", {}).items():
                entry.pop("details", None)
            for name, details in manifest["steps"].items():
                ledger["steps"].setdefault(name, {})["details"] = details
            self.write_ledger(ledger)

    def record_step(self, step: str, details: dict[str, Any]) -> None:
        """Store what a step produced (tables, files, checksums …) as `steps.<step>.details` in the ledger."""
        ledger = self.read_ledger()
        ledger.setdefault("steps", {}).setdefault(step, {})["details"] = details
        self.write_ledger(ledger)

    def read_ledger(self) -> dict[str, Any]:
        """The content of state.json (`{}` before the first step recorded anything)."""
        try:
            return json.loads(self.path(STATE_FILE).read_text())
        except FileNotFoundError:
            return {}
        except json.JSONDecodeError as exc:
            raise ConfigError(f"run {self.run_id}: {STATE_FILE} is unreadable ({exc})") from exc

    def write_ledger(self, ledger: dict[str, Any]) -> None:
        write_private(self.path(STATE_FILE), _json_bytes({"run_id": self.run_id, **ledger}))

    def locked(self) -> contextlib.AbstractContextManager[None]:
        """Hold the run's exclusive lock (`run.lock`) while the block runs (see `exclusive_lock`)."""
        return exclusive_lock(self.path(LOCK_FILE), lambda holder: RunInUse(
            f"run {self.run_id} is in use by {holder}; wait for it to finish "
            f"(`perm-migrate status --run-id {self.run_id}` shows it) or stop that process first"))

    def lock_holder(self) -> dict[str, Any] | None:
        """The live process holding the run's lock (pid, host, started), or None when no process does."""
        try:
            fd = os.open(self.path(LOCK_FILE), os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd)
        finally:
            os.close(fd)
        return None


def _json_bytes(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


@contextlib.contextmanager
def exclusive_lock(path: Path, in_use: Callable[[str], ConfigError]) -> Iterator[None]:
    """Hold an exclusive flock on `path` (created 0600, holding pid, host, start time) while the block runs.

    A second process is refused at once with `in_use(<holder description>)`. The OS releases the lock
    when the holder exits, even on kill -9, so a dead holder never blocks.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise in_use(describe_holder(_read_holder(fd))) from None
        except OSError as exc:
            raise ConfigError(f"cannot lock {path} ({exc.strerror}); keep it on a local file system") from None
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # no stale holder once released (after kill -9 the OS releases it alone)
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        return json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return {}


def describe_holder(holder: dict[str, Any]) -> str:
    """`pid 4242 on host db-laptop (started 2026-11-24T01:02:03Z)`, or a generic phrase if unknown."""
    if not holder.get("pid"):
        return "another process (starting, stopping, or `perm-migrate status` reading it: try again)"
    return f"pid {holder['pid']} on host {holder.get('host', '?')} (started {holder.get('started', '?')})"
