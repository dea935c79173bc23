"""Scale benchmark: perm-migrate's steps against raw COPY and dlt, medians over several runs.

For each dataset it generates v1 data into a throwaway PostgreSQL, then per run (interleaved, so
background load hits every contender alike) measures, each in its own process (wall time and peak RSS
polled from /proc):
  - baselines: psql `COPY (SELECT row_to_json(t) FROM <table> t) TO STDOUT` and plain `COPY <table> TO
    STDOUT` of every source table to /dev/null
  - the whole `perm-migrate run` (check → report) into a fresh `perm-migrate emulator serve` with its
    real SQLite store: per step (seconds from the run's state.json), peak RSS of the loader and of the
    emulator per step, documents/s of import and verify
  - peer: dlt `sql_database` of the same tables into DuckDB (own venv under bench/work/, pinned in
    bench/requirements-peer.txt; backend pyarrow, optionally the default sqlalchemy), when it installs
  - section `steps`: extract, stage, dbt build, export on DuckDB and on PostgreSQL, each on its own
  - section `upload`: the exported cases into the emulator with its no-op store (MB/s)
Writes `bench/results/<UTC date>-<HHMM>-<datasets>.md` and the latest table into `bench/README.md`.

    .venv/bin/python bench/run_bench.py --datasets M --runs 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))

from perm_rehearsal.demo_data.generator import APP, TABLES, generate  # noqa: E402
from loader.run_folder import RunFolder  # noqa: E402
from perm_rehearsal.throwaway_pg import throwaway_cluster  # noqa: E402
from loader.transform import WAREHOUSES  # noqa: E402

DATASETS = {"S": (50, 500), "M": (2_000, 100_000), "L": (20_000, 1_000_000)}  # users, cases
AS_OF = "2026-01-15T00:00:00Z"
PYTHON = sys.executable
STEPS = str(BENCH_DIR / "steps.py")
PEER_VENV = BENCH_DIR / "work" / "dlt-venv"
PEER_REQUIREMENTS = BENCH_DIR / "requirements-peer.txt"
README_MARK = "<!-- latest results -->"
MIB = 1 << 20


@dataclass
class Sample:
    seconds: float
    peak_rss_mb: float
    error: str | None = None
    emulator_rss_mb: float | None = None  # the emulator's peak RSS (whole-run steps)


@dataclass
class Series:
    samples: list[Sample] = field(default_factory=list)
    bytes: int | None = None  # payload size, for MB/s
    documents: int | None = None  # documents handled, for documents/s

    @property
    def emulator_rss_mb(self) -> float | None:
        good = [s.emulator_rss_mb for s in self.samples if not s.error and s.emulator_rss_mb is not None]
        return max(good) if good and not self.errors else None

    @property
    def errors(self) -> list[str]:
        return [s.error for s in self.samples if s.error]

    @property
    def seconds(self) -> float | None:
        good = [s.seconds for s in self.samples if not s.error]
        return statistics.median(good) if good and not self.errors else None

    @property
    def peak_rss_mb(self) -> float | None:
        good = [s.peak_rss_mb for s in self.samples if not s.error]
        return max(good) if good and not self.errors else None


def _high_water_kb(pid: int) -> int:
    """VmHWM (peak RSS of the process's current image) of `pid`, 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return 0


def measure(cmd: list[str], log: Path, env: dict[str, str] | None = None, stdout=None) -> Sample:
    """Run `cmd` to completion; its wall time and peak RSS (VmHWM polled from /proc every 20 ms).

    `ru_maxrss` is not used: on Linux a child inherits its parent's high-water mark across exec.
    """
    with log.open("ab") as err:
        started = time.perf_counter()
        process = subprocess.Popen(cmd, stdout=stdout or err, stderr=err, env={**os.environ, **(env or {})},
                                   cwd=REPO)
        peak_kb = 0
        while process.poll() is None:
            peak_kb = max(peak_kb, _high_water_kb(process.pid))
            time.sleep(0.02)
        seconds = time.perf_counter() - started
    error = None
    if process.returncode != 0:
        tail = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()][-1:]
        error = f"exit {process.returncode}: {tail[0][:200] if tail else ''}"
    return Sample(seconds, peak_kb / 1024, error)


def source_tables() -> list[str]:
    return ["public.users" if key == APP else key for key in TABLES]


def baseline_cmd(dsn: str, as_json: bool = True) -> list[str]:
    """psql COPY of every source table: `row_to_json` rows, or plain text COPY."""
    cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", dsn]
    for table in source_tables():
        cmd += ["-c", f"COPY (SELECT row_to_json(t) FROM {table} t) TO STDOUT" if as_json else f"COPY {table} TO STDOUT"]
    return cmd


def _rss_kb(pid: int) -> int:
    """Current RSS of `pid` and all its descendants (kB), 0 when gone."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
    return total


def _running_step(runs_dir: Path, cache: dict) -> str | None:
    """The step the run's state.json marks running (read at most every 0.2 s)."""
    now = time.monotonic()
    if now - cache.get("at", 0.0) < 0.2:
        return cache.get("step")
    cache["at"] = now
    for state_file in runs_dir.glob("*/state.json"):
        try:
            steps = json.loads(state_file.read_text())["steps"]
        except (ValueError, KeyError, OSError):
            return cache.get("step")
        cache["step"] = next((name for name, entry in steps.items() if entry.get("status") == "running"), None)
    return cache.get("step")


@dataclass
class WholeRun:
    """One `perm-migrate run`: wall time, per-step seconds (state.json), per-step peak RSS."""

    total: Sample
    steps: dict[str, Sample]
    documents: dict[str, int]


def measure_whole_run(dsn: str, work: Path, log: Path, code_dir: Path | None = None) -> WholeRun:
    """`perm-migrate run` (defaults, DuckDB) into a fresh real-store emulator; RSS of the loader's process
    tree (VmRSS, so each step shows its own peak) and of the emulator, polled every 20 ms. With `code_dir`
    both run that tree's `loader` package (PYTHONPATH), e.g. an earlier commit for a before/after round."""
    shutil.rmtree(work, ignore_errors=True)
    runs_dir = work / "runs"
    runs_dir.mkdir(parents=True)
    code_env = {"PYTHONPATH": os.pathsep.join([str(code_dir), str(code_dir / "rehearsal")])} if code_dir else {}
    emulator = Emulator(work / "emulator", log, noop=False, env=code_env)
    loader_peak: dict[str | None, int] = {}
    emulator_peak: dict[str | None, int] = {}
    cache: dict = {}
    try:
        cmd = [str(REPO / ".venv" / "bin" / "perm-migrate"), "run", "--source-url", dsn, "--runs-dir", str(runs_dir),
               "--migration-as-of", AS_OF, "--no-progress"]
        with log.open("ab") as err:
            started = time.perf_counter()
            process = subprocess.Popen(cmd, stdout=err, stderr=err, env={**os.environ, **emulator.env, **code_env},
                                       cwd=code_dir or REPO)
            while process.poll() is None:
                step = _running_step(runs_dir, cache)
                loader_peak[step] = max(loader_peak.get(step, 0), _rss_kb(process.pid))
                emulator_peak[step] = max(emulator_peak.get(step, 0), _rss_kb(emulator.process.pid))
                time.sleep(0.02)
            seconds = time.perf_counter() - started
    finally:
        emulator.stop()
    error = None
    if process.returncode != 0:
        tail = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()][-1:]
        error = f"exit {process.returncode}: {tail[0][:200] if tail else ''}"
    state_files = list(runs_dir.glob("*/state.json"))
    entries = json.loads(state_files[0].read_text())["steps"] if state_files else {}
    steps = {name: Sample(entry.get("seconds", 0.0), loader_peak.get(name, 0) / 1024,
                          None if entry.get("status") == "done" else f"step {entry.get('status')}",
                          emulator_peak.get(name, 0) / 1024)
             for name, entry in entries.items()}
    documents = {"import": entries.get("import", {}).get("result", {}).get("documents", 0),
                 "verify": entries.get("verify", {}).get("result", {}).get("verified", 0)}
    total = Sample(seconds, max(loader_peak.values(), default=0) / 1024, error,
                   max(emulator_peak.values(), default=0) / 1024)
    shutil.rmtree(work, ignore_errors=True)
    return WholeRun(total, steps, documents)


def ensure_peer_venv(log: Path) -> Path | None:
    """dlt in its own venv (the project's pins stay untouched), reinstalled when the pins change; None when it
    cannot be installed."""
    python = PEER_VENV / "bin" / "python"
    installed = PEER_VENV / "requirements-peer.txt"
    if not python.exists() or not installed.exists() or installed.read_text() != PEER_REQUIREMENTS.read_text():
        steps = [["python3", "-m", "venv", str(PEER_VENV)],
                 [str(PEER_VENV / "bin" / "pip"), "install", "--quiet", "-r", str(PEER_REQUIREMENTS)]]
        with log.open("ab") as out:
            for step in steps:
                if subprocess.run(step, stdout=out, stderr=out, timeout=900).returncode != 0:
                    return None
        installed.write_text(PEER_REQUIREMENTS.read_text())
    return python


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Emulator:
    """`perm-migrate emulator serve` in its own process: its real SQLite store, or `--noop-store`."""

    def __init__(self, state_dir: Path, log: Path, noop: bool, env: dict[str, str] | None = None):
        from perm_rehearsal.emulator import new_admin_key

        self.key, self.port = new_admin_key(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {"CONVEX_SELF_HOSTED_URL": self.url, "CONVEX_SELF_HOSTED_ADMIN_KEY": self.key}
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [str(REPO / ".venv" / "bin" / "perm-migrate"), "emulator", "serve", "--port", str(self.port),
             "--state-dir", str(state_dir), *(["--noop-store"] if noop else [])],
            stdout=self.log, stderr=self.log, env={**os.environ, **self.env, **(env or {})}, cwd=REPO)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the emulator did not start (see {log})")

    def table_number(self, table: str) -> int:
        from loader.convex.gateway import ConvexGateway, ConvexTarget

        with ConvexGateway(ConvexTarget(self.url, self.key)) as gateway:
            return gateway.table_numbers()[table]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def sendable_cases(exported: Path, out: Path, users_table_number: int) -> int:
    """The exported cases as the importer sends them: resolution keys stripped, `userId` filled."""
    from loader.convex.ids import mint_id

    owner_ids: dict[str, str] = {}
    with exported.open() as src, out.open("w") as dst:
        for line in src:
            doc = json.loads(line)
            owner = doc.get("resolve_owner_email", "")
            doc = {k: v for k, v in doc.items() if not k.startswith("resolve_")}
            doc["userId"] = owner_ids.setdefault(owner, mint_id(users_table_number))
            dst.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
    return out.stat().st_size


def clone_run(src: RunFolder, runs_dir: Path, run_id: str) -> RunFolder:
    """A new run folder sharing the raw snapshot (hard links) and a copy of the manifest."""
    target = runs_dir / run_id
    shutil.copytree(src.root, target, copy_function=os.link)
    manifest = target / "manifest.json"
    data = manifest.read_bytes()
    manifest.unlink()
    manifest.write_bytes(data)
    return RunFolder(target)


SECTIONS = ("whole", "steps", "upload")
PEER_BACKENDS = ("pyarrow", "sqlalchemy")
RUN_STEPS = ("check", "extract", "stage", "transform", "export", "backup", "import", "verify", "report")


def bench_dataset(name: str, runs: int, work: Path, peer_python: Path | None, peers: tuple[str, ...] = ("pyarrow",),
                  warehouses: tuple[str, ...] = WAREHOUSES, sections: tuple[str, ...] = SECTIONS,
                  before_code: Path | None = None) -> dict[str, Series]:
    users, cases = DATASETS[name]
    work.mkdir(parents=True, exist_ok=True)
    log = work / "steps.log"
    series: dict[str, Series] = {}

    def record(key: str, sample: Sample) -> Sample:
        series.setdefault(key, Series()).samples.append(sample)
        print(f"  {name} {key}: {sample.seconds:.2f}s {sample.peak_rss_mb:.0f} MB {sample.error or ''}", flush=True)
        return sample

    with throwaway_cluster(str(work)) as pg:
        source = pg.create_database("v1")
        started = time.perf_counter()
        counts = generate(source, n_users=users, n_cases=cases, seed=1, dirty=True).counts
        print(f"{name}: generated {counts} in {time.perf_counter() - started:.0f}s", flush=True)
        emulator = Emulator(work / "emulator", log, noop=True) if "upload" in sections else None
        try:
            users_number = emulator.table_number("users") if emulator else 0
            for run in range(runs):
                runs_dir = work / f"run{run}"
                shutil.rmtree(runs_dir, ignore_errors=True)
                record("baseline_copy", measure(baseline_cmd(source), log, stdout=subprocess.DEVNULL))
                record("baseline_copy_text", measure(baseline_cmd(source, as_json=False), log, stdout=subprocess.DEVNULL))
                for prefix, code_dir in [("run", None)] + ([("before_run", before_code)] if before_code else []):
                    if "whole" not in sections:
                        break
                    whole = measure_whole_run(source, work / "whole", log, code_dir)
                    record(prefix, whole.total)
                    for step, sample in whole.steps.items():
                        series.setdefault(f"{prefix}_{step}", Series()).samples.append(sample)
                    for step, documents in whole.documents.items():
                        series[f"{prefix}_{step}"].documents = documents
                for backend in peers if peer_python else ():
                    peer_db = runs_dir / f"dlt-{backend}.duckdb"
                    record(f"dlt_{backend}", measure(
                        [str(peer_python), str(BENCH_DIR / "dlt_peer.py"), source, str(peer_db),
                         str(runs_dir / f"dlt-{backend}"), backend],
                        log, {"RUNTIME__DLTHUB_TELEMETRY": "false"}))
                if "steps" in sections or "upload" in sections:
                    extracted = RunFolder.create(runs_dir, "extract")
                    record("extract", measure([PYTHON, STEPS, "extract", str(extracted.root), source], log))
                for warehouse in warehouses if "steps" in sections or "upload" in sections else ():
                    if warehouse != "duckdb" and "steps" not in sections:
                        continue
                    folder = clone_run(extracted, runs_dir, warehouse)
                    env, stage_args = {}, []
                    if warehouse == "postgres":
                        database = f"wh_{run}"
                        stage_args = [pg.create_database(database)]
                        env = {**pg.env(database), "PERM_PG_SCHEMA": "perm"}
                    steps = [("stage", [warehouse, *stage_args]), ("transform", [warehouse, AS_OF]), ("export", [])]
                    if warehouse == "duckdb":
                        steps.insert(1, ("parse", [warehouse, AS_OF]))
                    for step, args in steps:
                        if record(f"{step}_{warehouse}", measure([PYTHON, STEPS, step, str(folder.root), *args],
                                                                  log, env)).error:
                            break
                exported = runs_dir / "duckdb" / "export" / "cases.jsonl"
                if emulator and exported.is_file():
                    payload = runs_dir / "upload_cases.jsonl"
                    size = sendable_cases(exported, payload, users_number)
                    upload = series.setdefault("upload_noop", Series())
                    upload.bytes = size
                    record("upload_noop", measure([PYTHON, STEPS, "upload", str(payload), "cases"], log, emulator.env))
                if run < runs - 1:
                    shutil.rmtree(runs_dir, ignore_errors=True)
        finally:
            if emulator:
                emulator.stop()
    series["_counts"] = Series(bytes=sum(counts.values()))
    return series


# --------------------------------------------------------------------------- report


def fmt_s(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def fmt_ratio(value: float | None, base: float | None) -> str:
    return "—" if value is None or not base else f"{value / base:.2f}×"


def pipeline_of(series: dict[str, Series], warehouse: str, with_extract: bool) -> tuple[float | None, float | None]:
    keys = (["extract"] if with_extract else []) + [f"{s}_{warehouse}" for s in ("stage", "transform", "export")]
    return _sum_of(series, keys)


def whole_run_pipeline(series: dict[str, Series], prefix: str = "run") -> tuple[float | None, float | None]:
    """Extract + stage + transform + export of the whole run (sum of medians; peak RSS the largest)."""
    return _sum_of(series, [f"{prefix}_{s}" for s in ("extract", "stage", "transform", "export")])


def _sum_of(series: dict[str, Series], keys: list[str]) -> tuple[float | None, float | None]:
    parts = [series.get(k, Series()) for k in keys]
    if any(p.seconds is None for p in parts):
        return None, None
    return sum(p.seconds for p in parts), max(p.peak_rss_mb for p in parts)


def _row(label: str, s: Series | None, base: float | None) -> str:
    if s is None:
        return f"| {label} | not run | | | |"
    if s.errors:
        return f"| {label} | failed: {s.errors[0].replace('|', '/')} | | | {len(s.samples)} |"
    return f"| {label} | {fmt_s(s.seconds)} | {fmt_ratio(s.seconds, base)} | {s.peak_rss_mb:.0f} | {len(s.samples)} |"


def _mb(value: float | None) -> str:
    return f"{value:.0f}" if value else "—"  # — : the step was too short to be sampled


def whole_run_table(series: dict[str, Series], base: float | None, prefix: str = "run", code: str = "") -> list[str]:
    lines = [f"Whole `perm-migrate run` (defaults, DuckDB){code} into `perm-migrate emulator serve` with its real "
             "store (a fresh state dir per run); per-step seconds from the run's state.json:", "",
             "| step | median s | × row_to_json COPY | documents/s | loader peak RSS MB | emulator peak RSS MB | runs |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for step in RUN_STEPS:
        s = series.get(f"{prefix}_{step}")
        if s is None or not s.samples:
            continue
        if s.errors:
            lines.append(f"| {step} | failed: {s.errors[0]} | | | | | {len(s.samples)} |")
            continue
        rate = f"{s.documents / s.seconds:,.0f}" if s.documents and s.seconds else ""
        lines.append(f"| {step} | {fmt_s(s.seconds)} | {fmt_ratio(s.seconds, base)} | {rate} | {_mb(s.peak_rss_mb)} | "
                     f"{_mb(s.emulator_rss_mb)} | {len(s.samples)} |")
    seconds, rss = whole_run_pipeline(series, prefix)
    lines.append(f"| **pipeline to validated JSONL** (extract + stage + transform + export) | {fmt_s(seconds)} | "
                 f"{fmt_ratio(seconds, base)} | | {'—' if rss is None else f'{rss:.0f}'} | | |")
    total = series.get(prefix)
    if total is not None and total.errors:
        lines.append(f"| **whole run** (wall clock, check → report) | failed: {total.errors[0]} | | | | | "
                     f"{len(total.samples)} |")
    elif total is not None:
        lines.append(f"| **whole run** (wall clock, check → report) | {fmt_s(total.seconds)} | "
                     f"{fmt_ratio(total.seconds, base)} | | {total.peak_rss_mb:.0f} | {total.emulator_rss_mb:.0f} | "
                     f"{len(total.samples)} |")
    return lines


def dataset_table(name: str, series: dict[str, Series], before_label: str = "") -> list[str]:
    base = series.get("baseline_copy", Series()).seconds
    lines = [f"### Dataset {name}: {DATASETS[name][0]:,} users, {DATASETS[name][1]:,} cases "
             f"({series['_counts'].bytes:,} source rows in all tables)", "",
             "| baseline / peer | median s | × row_to_json COPY | peak RSS MB | runs |", "|---|---:|---:|---:|---:|",
             _row("baseline: psql COPY row_to_json → /dev/null", series.get("baseline_copy"), base),
             _row("baseline: psql plain COPY (text) → /dev/null", series.get("baseline_copy_text"), base)]
    for backend, label in (("pyarrow", "backend pyarrow"), ("sqlalchemy", "default SQLAlchemy backend (old row)")):
        if f"dlt_{backend}" in series:
            lines.append(_row(f"peer: dlt sql_database → DuckDB, {label}", series[f"dlt_{backend}"], base))
    lines.append("")
    if "run" in series:
        lines += whole_run_table(series, base) + [""]
    if "before_run" in series:
        lines += whole_run_table(series, base, "before_run", f" with the code of {before_label}") + [""]
    if "extract" not in series:
        return lines
    rows = [("extract (consistent snapshot → raw JSONL)", "extract")]
    for warehouse in ("duckdb", "postgres"):
        rows += [(f"stage ({warehouse})", f"stage_{warehouse}"), (f"dbt build ({warehouse})", f"transform_{warehouse}"),
                 (f"export ({warehouse})", f"export_{warehouse}")]
    rows.insert(3, ("of which dbt's fixed cost: import + full parse, no SQL (duckdb; not added to the pipeline)",
                    "parse_duckdb"))
    lines += ["Each step on its own (section `steps`):", "",
              "| step | median s | × row_to_json COPY | peak RSS MB | runs |", "|---|---:|---:|---:|---:|"]
    lines += [_row(label, series.get(key), base) for label, key in rows]
    for warehouse in ("duckdb", "postgres"):
        seconds, rss = pipeline_of(series, warehouse, with_extract=False)
        lines.append(f"| **stage + dbt build + export ({warehouse})** | {fmt_s(seconds)} | {fmt_ratio(seconds, base)} | "
                     f"{'—' if rss is None else f'{rss:.0f}'} | |")
        seconds, rss = pipeline_of(series, warehouse, with_extract=True)
        lines.append(f"| **whole pipeline to validated JSONL ({warehouse})** | {fmt_s(seconds)} | "
                     f"{fmt_ratio(seconds, base)} | {'—' if rss is None else f'{rss:.0f}'} | |")
    upload = series.get("upload_noop")
    if upload is not None and upload.seconds:
        lines.append(f"| upload of the cases into the no-op emulator ({upload.bytes / MIB:.1f} MiB) | "
                     f"{fmt_s(upload.seconds)} ({upload.bytes / MIB / upload.seconds:.1f} MB/s) | "
                     f"{fmt_ratio(upload.seconds, base)} | {upload.peak_rss_mb:.0f} | {len(upload.samples)} |")
    elif upload is not None:
        lines.append(f"| upload into the no-op emulator | failed: {(upload.errors or ['—'])[0]} | | | |")
    return lines


def _met(ok: bool | None) -> str:
    return "—" if ok is None else ("yes" if ok else "**no**")


def loader_peak_rss_mb(series: dict[str, Series]) -> float | None:
    """The highest peak RSS of this tree's loader (whole run and single steps; not baselines, peers or before-code)."""
    own = (s.peak_rss_mb for k, s in series.items() if not k.startswith(("_", "baseline", "dlt_", "before_")))
    return max(filter(None, own), default=None)


def targets(results: dict[str, dict[str, Series]]) -> list[str]:
    lines = ["### Targets", "", "| target | measured | met |", "|---|---|---|"]
    for name, series in results.items():
        base = series.get("baseline_copy", Series()).seconds
        total = series.get("run", Series()).seconds
        if total is not None:
            lines.append(f"| {name}: whole run ≤ 300 s | {fmt_s(total)} s | {_met(total <= 300) if name == 'L' else '—'} |")
            for step in ("import", "verify"):
                s = series.get(f"run_{step}", Series())
                if s.seconds:
                    rate = s.documents / s.seconds if s.documents else 0
                    lines.append(f"| {name}: {step} ≥ 17,000 documents/s (≤ 60 s at L) | {fmt_s(s.seconds)} s, "
                                 f"{rate:,.0f} documents/s | {_met(rate >= 17_000)} |")
            pipeline, rss = whole_run_pipeline(series)
            ok = None if pipeline is None or not base else pipeline / base <= 4.0
            lines.append(f"| {name}: pipeline to validated JSONL ≤ 4× row_to_json COPY | "
                         f"{fmt_ratio(pipeline, base)} | {_met(ok)} |")
        extract = series.get("extract", series.get("run_extract", Series())).seconds
        ok = None if extract is None or not base else extract / base <= 1.5
        lines.append(f"| {name}: extract ≤ 1.5× raw COPY | {fmt_ratio(extract, base)} | {_met(ok)} |")
        dlt = series.get("dlt_pyarrow", Series()).seconds
        ok = None if extract is None or dlt is None else extract < dlt
        lines.append(f"| {name}: extract faster than dlt (pyarrow backend) | {fmt_s(extract)} s vs {fmt_s(dlt)} s | "
                     f"{_met(ok)} |")
        rss = loader_peak_rss_mb(series)
        if rss is not None:
            lines.append(f"| {name}: loader peak RSS ≤ 1 GB | {rss:.0f} MB | {_met(rss <= 1024) if name == 'L' else '—'} |")
    if "M" in results and "L" in results:
        m, big = loader_peak_rss_mb(results["M"]), loader_peak_rss_mb(results["L"])
        if m and big:
            lines.append(f"| peak RSS flat (L within 20% of M) | {big:.0f} MB vs {m:.0f} MB | {_met(big <= 1.2 * m)} |")
    return lines


def machine_info() -> list[str]:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    mem = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/meminfo").read_text().splitlines()
               if ln.startswith("MemTotal"))
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return [f"- machine: {platform.machine()}, {os.cpu_count()} CPUs ({cpu}), {mem} RAM, "
            f"{platform.system()} {platform.release()}",
            f"- Python {platform.python_version()}, {pg}, load average at start {os.getloadavg()[0]:.2f} "
            "(the machine is shared; timings are wall clock)"]


def write_report(results: dict[str, dict[str, Series]], runs: int, load: list[str], before_label: str = "") -> Path:
    now = dt.datetime.now(dt.timezone.utc)
    body = [f"## Benchmark {now:%Y-%m-%d %H:%M} UTC — medians of {runs} run(s)", "", *load, "",
            "Each measurement runs in its own process; wall time includes interpreter start; peak RSS is the "
            "client process tree (PostgreSQL server memory is not counted). Ratios are to the row_to_json COPY "
            "baseline of the same tables, measured in the same round. Pipeline to validated JSONL = extract + "
            "stage + dbt build + export.", ""]
    for name, series in results.items():
        body += dataset_table(name, series, before_label) + [""]
    body += targets(results) + [""]
    results_dir = BENCH_DIR / "results"
    results_dir.mkdir(exist_ok=True)
    path = results_dir / f"{now:%Y-%m-%d-%H%M}-{'-'.join(results)}.md"  # never overwrites an earlier round
    path.write_text("\n".join(body))
    readme = BENCH_DIR / "README.md"
    if readme.is_file() and README_MARK in readme.read_text():
        head = readme.read_text().split(README_MARK)[0]
        readme.write_text(head + README_MARK + "\n\n" + "\n".join(body))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="M", help="comma-separated among S (smoke), M, L (default M)")
    parser.add_argument("--runs", type=int, default=3, help="runs per dataset; medians are reported (default 3)")
    parser.add_argument("--no-peer", action="store_true", help="skip the dlt peer")
    parser.add_argument("--peers", default="pyarrow",
                        help="dlt backends among pyarrow, sqlalchemy (the default backend: ~40 min at M) (default pyarrow)")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help="among whole (the whole run into the real-store emulator), steps (each step on its own), "
                             "upload (into the no-op emulator) (default all)")
    parser.add_argument("--warehouses", default=",".join(WAREHOUSES),
                        help="comma-separated warehouses to run stage/dbt build/export on (default duckdb,postgres)")
    parser.add_argument("--before-code", type=Path, default=None,
                        help="a source tree (e.g. `git archive` of an earlier commit): each round also runs the whole "
                             "run with its loader and emulator, side by side (before/after)")
    parser.add_argument("--before-label", default=None, help="how the before rows are named (default: the path)")
    parser.add_argument("--work-dir", type=Path, default=BENCH_DIR / "work", help="scratch space (default bench/work)")
    args = parser.parse_args()
    names = [n.strip().upper() for n in args.datasets.split(",") if n.strip()]
    unknown = [n for n in names if n not in DATASETS]
    if unknown or args.runs < 1:
        parser.error(f"unknown dataset(s) {unknown}; choose among {', '.join(DATASETS)}; --runs ≥ 1")
    args.work_dir = args.work_dir.resolve()  # the throwaway cluster runs as another user in another directory
    args.work_dir.mkdir(parents=True, exist_ok=True)
    load = machine_info()
    peer = None if args.no_peer else ensure_peer_venv(args.work_dir / "peer-install.log")
    if not args.no_peer and peer is None:
        print("dlt could not be installed; the peer row is left out", flush=True)
    warehouses = tuple(w.strip() for w in args.warehouses.split(",") if w.strip())
    if not warehouses or set(warehouses) - set(WAREHOUSES):
        parser.error(f"--warehouses: choose among {', '.join(WAREHOUSES)}")
    sections = tuple(x.strip() for x in args.sections.split(",") if x.strip())
    peers = tuple(x.strip() for x in args.peers.split(",") if x.strip())
    if set(sections) - set(SECTIONS) or set(peers) - set(PEER_BACKENDS):
        parser.error(f"--sections among {', '.join(SECTIONS)}; --peers among {', '.join(PEER_BACKENDS)}")
    before = args.before_code.resolve() if args.before_code else None
    results = {name: bench_dataset(name, args.runs, args.work_dir / name, peer, peers, warehouses, sections, before)
               for name in names}
    path = write_report(results, args.runs, load, args.before_label or str(before))
    print(path.read_text())
    print(f"written {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
