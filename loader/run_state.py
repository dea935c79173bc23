"""The run state file `runs/<run_id>/state.json`, the only step ledger, and the run log.

Per step: status, timings, attempts, `result` (the pipeline's typed step result) and `details`
(what the step's module recorded through `RunFolder.record_step`). Write-ahead: a step is marked `running` (and the file fsynced) before it starts, and `done` with
its result only after it finished. After a crash (even SIGKILL) `first_incomplete()` names the step
to redo; every step is idempotent or checkpointed itself, so redoing it loses and duplicates
nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from loader.redact import redact
from loader.run_folder import STATE_FILE, RunFolder
STEPS: tuple[str, ...] = (
    "check", "extract", "stage", "transform", "export", "backup", "import", "verify", "report",
)
# Steps that write to Convex; `--dry-run` skips them.
CONVEX_WRITE_STEPS = frozenset({"import"})

PENDING, RUNNING, DONE, FAILED, SKIPPED = "pending", "running", "done", "failed", "skipped"
INTERRUPTED = "interrupted"  # shown for a step left `running` by a process that is gone


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class RunState:
    """Step statuses, timings and results of one run, persisted atomically on every change."""

    def __init__(self, folder: RunFolder, data: dict[str, Any]):
        self.folder = folder
        self.data = data

    @property
    def path(self) -> Path:
        return self.folder.path(STATE_FILE)

    @classmethod
    def create(cls, folder: RunFolder, options: dict[str, Any]) -> "RunState":
        """A fresh state: every step pending. `options` must hold no secrets (they come from the env)."""
        state = cls.with_defaults(folder, {"options": options})
        state.save()
        return state

    @classmethod
    def load(cls, folder: RunFolder) -> "RunState":
        """The run's state; a folder where no step was recorded yet has every step pending (nothing is written)."""
        return cls.with_defaults(folder, folder.read_ledger())

    @classmethod
    def with_defaults(cls, folder: RunFolder, data: dict[str, Any]) -> "RunState":
        """`data` completed with the run id, a creation time, no options and every missing step pending."""
        data = {"run_id": folder.run_id, "created_at": utc_now(), "options": {}, **data}
        steps = data.setdefault("steps", {})
        for step in STEPS:
            steps.setdefault(step, {}).setdefault("status", PENDING)
        return cls(folder, data)

    def save(self) -> None:
        """Write the statuses; the step details stay as the steps recorded them on disk."""
        on_disk = self.folder.read_ledger().get("steps", {})
        for name, entry in self.data["steps"].items():
            entry.pop("details", None)
        for name, entry in on_disk.items():
            if "details" in entry:
                self.data["steps"].setdefault(name, {})["details"] = entry["details"]
        self.folder.write_ledger(self.data)

    @property
    def options(self) -> dict[str, Any]:
        return self.data["options"]

    def step(self, name: str) -> dict[str, Any]:
        return self.data["steps"][name]

    def status(self, name: str) -> str:
        return self.step(name)["status"]

    def first_incomplete(self) -> str | None:
        """The first step that is not done (or skipped); None when the run is complete."""
        for name in STEPS:
            if self.status(name) not in (DONE, SKIPPED):
                return name
        return None

    def begin(self, name: str) -> None:
        entry = self.step(name)
        entry.update(status=RUNNING, started_at=utc_now(), attempts=entry.get("attempts", 0) + 1)
        entry.pop("error", None)
        entry["_t0"] = time.monotonic()
        self.save()

    def finish(self, name: str, result: dict[str, Any] | None = None, status: str = DONE) -> None:
        entry = self.step(name)
        t0 = entry.pop("_t0", None)
        entry.update(status=status, finished_at=utc_now(), result=result or {})
        if t0 is not None:
            entry["seconds"] = round(time.monotonic() - t0, 3)
        self.save()

    def fail(self, name: str, error: str) -> None:
        entry = self.step(name)
        t0 = entry.pop("_t0", None)
        entry.update(status=FAILED, finished_at=utc_now(), error=redact(error))
        if t0 is not None:
            entry["seconds"] = round(time.monotonic() - t0, 3)
        self.save()

    def summary_lines(self, alive: bool = True) -> list[str]:
        """One line per step: status, duration, short result. `alive`: a process holds the run now."""
        lines = []
        for name in STEPS:
            entry = self.step(name)
            status = entry["status"] if alive or entry["status"] != RUNNING else INTERRUPTED
            seconds = f"{entry['seconds']:.1f}s" if "seconds" in entry else ""
            result = entry.get("result") or {}
            short = ", ".join(f"{k}={v}" for k, v in result.items() if isinstance(v, (int, float, str)))
            detail = entry.get("error") or short
            lines.append(f"{name:<10} {status:<11} {seconds:>8}  {detail}".rstrip())
        return lines


# --- logging ---------------------------------------------------------------------------------

class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, plus any `extra={"fields": {...}}`."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}) or {})
        return json.dumps(entry, ensure_ascii=False, sort_keys=False, default=str)


LOGGER_NAME = "loader"


def setup_run_logging(folder: RunFolder | None, json_logs: bool, verbose: bool = False) -> Path | None:
    """Log to stderr (text or JSON lines) and always to a timestamped file in the run folder."""
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(logging.DEBUG)
    logger.propagate = False

    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.DEBUG if verbose else logging.INFO)
    console.setFormatter(JsonLineFormatter() if json_logs else logging.Formatter("%(message)s"))
    console.addFilter(_RedactingFilter())
    logger.addHandler(console)

    if folder is None:
        return None
    log_dir = folder.path("logs")
    log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    log_path = log_dir / f"run-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S.%fZ}.log"
    file_handler = logging.FileHandler(log_path, encoding="utf-8")
    log_path.chmod(0o600)
    file_handler.setLevel(logging.DEBUG)
    file_handler.setFormatter(JsonLineFormatter())
    file_handler.addFilter(_RedactingFilter())
    logger.addHandler(file_handler)
    return log_path


def get_logger(name: str = "run") -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{name}")
