"""Scale benchmark: perm-migrate's steps against raw COPY and dlt, medians over several runs.

For each dataset it generates v1 data into a throwaway PostgreSQL, then per run (interleaved, so
background load hits every contender alike) measures, each step in its own process (wall time and
peak RSS, VmHWM polled from /proc):
  - baseline: psql `COPY (SELECT row_to_json(t) FROM <table> t) TO STDOUT` of every source table to /dev/null
  - extract (our consistent snapshot to raw JSONL)
  - peer: dlt `sql_database` of the same tables into DuckDB (own venv under bench/work/, pinned in
    bench/requirements-peer.txt), when it installs
  - stage, dbt build, export on DuckDB and on PostgreSQL
  - upload of the exported cases into the emulator with its no-op store (MB/s)
Writes `bench/results/<UTC date>-<datasets>.md` and the latest table into `bench/README.md`.

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

from loader.demo_data.generator import APP, TABLES, generate  # noqa: E402
from loader.run_folder import RunFolder  # noqa: E402
from loader.throwaway_pg import throwaway_cluster  # noqa: E402
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


@dataclass
class Series:
    samples: list[Sample] = field(default_factory=list)
    bytes: int | None = None  # payload size, for MB/s

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


def baseline_cmd(dsn: str) -> list[str]:
    cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", dsn]
    for table in source_tables():
        cmd += ["-c", f"COPY (SELECT row_to_json(t) FROM {table} t) TO STDOUT"]
    return cmd


def ensure_peer_venv(log: Path) -> Path | None:
    """dlt in its own venv (the project's pins stay untouched); None when it cannot be installed."""
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        steps = [["python3", "-m", "venv", str(PEER_VENV)],
                 [str(PEER_VENV / "bin" / "pip"), "install", "--quiet", "-r", str(PEER_REQUIREMENTS)]]
        with log.open("ab") as out:
            for step in steps:
                if subprocess.run(step, stdout=out, stderr=out, timeout=900).returncode != 0:
                    return None
    return python


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NoopEmulator:
    """`perm-migrate emulator serve --noop-store` in its own process."""

    def __init__(self, work: Path, log: Path):
        from loader.emulator import new_admin_key

        self.key, self.port = new_admin_key(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {"CONVEX_SELF_HOSTED_URL": self.url, "CONVEX_SELF_HOSTED_ADMIN_KEY": self.key}
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [str(REPO / ".venv" / "bin" / "perm-migrate"), "emulator", "serve", "--port", str(self.port),
             "--state-dir", str(work / "emulator"), "--noop-store"],
            stdout=self.log, stderr=self.log, env={**os.environ, **self.env}, cwd=REPO)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the no-op emulator did not start (see {log})")

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


def bench_dataset(name: str, runs: int, work: Path, peer_python: Path | None,
                  warehouses: tuple[str, ...] = WAREHOUSES) -> dict[str, Series]:
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
        emulator = NoopEmulator(work, log)
        try:
            users_number = emulator.table_number("users")
            for run in range(runs):
                runs_dir = work / f"run{run}"
                shutil.rmtree(runs_dir, ignore_errors=True)
                record("baseline_copy", measure(baseline_cmd(source), log, stdout=subprocess.DEVNULL))
                extracted = RunFolder.create(runs_dir, "extract")
                record("extract", measure([PYTHON, STEPS, "extract", str(extracted.root), source], log))
                if peer_python:
                    peer_db = runs_dir / "dlt.duckdb"
                    record("dlt_sql_database", measure(
                        [str(peer_python), str(BENCH_DIR / "dlt_peer.py"), source, str(peer_db), str(runs_dir / "dlt")],
                        log, {"RUNTIME__DLTHUB_TELEMETRY": "false"}))
                for warehouse in warehouses:
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
                if exported.is_file():
                    payload = runs_dir / "upload_cases.jsonl"
                    size = sendable_cases(exported, payload, users_number)
                    upload = series.setdefault("upload_noop", Series())
                    upload.bytes = size
                    record("upload_noop", measure([PYTHON, STEPS, "upload", str(payload), "cases"], log, emulator.env))
                if run < runs - 1:
                    shutil.rmtree(runs_dir, ignore_errors=True)
        finally:
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
    parts = [series.get(k, Series()) for k in keys]
    if any(p.seconds is None for p in parts):
        return None, None
    return sum(p.seconds for p in parts), max(p.peak_rss_mb for p in parts)


def dataset_table(name: str, series: dict[str, Series]) -> list[str]:
    base = series.get("baseline_copy", Series()).seconds
    rows = [("baseline: psql COPY row_to_json → /dev/null", "baseline_copy"),
            ("extract (consistent snapshot → raw JSONL)", "extract"),
            ("peer: dlt sql_database → DuckDB", "dlt_sql_database")]
    for warehouse in ("duckdb", "postgres"):
        rows += [(f"stage ({warehouse})", f"stage_{warehouse}"), (f"dbt build ({warehouse})", f"transform_{warehouse}"),
                 (f"export ({warehouse})", f"export_{warehouse}")]
    rows.insert(5, ("of which dbt's fixed cost: import + full parse, no SQL (duckdb; not added to the pipeline)",
                    "parse_duckdb"))
    lines = [f"### Dataset {name}: {DATASETS[name][0]:,} users, {DATASETS[name][1]:,} cases "
             f"({series['_counts'].bytes:,} source rows in all tables)", "",
             "| step | median s | × raw COPY | peak RSS MB | runs |", "|---|---:|---:|---:|---:|"]
    for label, key in rows:
        s = series.get(key)
        if s is None:
            lines.append(f"| {label} | not run | | | |")
        elif s.errors:
            lines.append(f"| {label} | failed: {s.errors[0].replace('|', '/')} | | | {len(s.samples)} |")
        else:
            lines.append(f"| {label} | {fmt_s(s.seconds)} | {fmt_ratio(s.seconds, base)} | {s.peak_rss_mb:.0f} | "
                         f"{len(s.samples)} |")
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


def targets(results: dict[str, dict[str, Series]]) -> list[str]:
    lines = ["### Targets", "", "| target | measured | met |", "|---|---|---|"]
    for name, series in results.items():
        base = series.get("baseline_copy", Series()).seconds
        extract = series.get("extract", Series()).seconds
        whole, rss = pipeline_of(series, "duckdb", with_extract=True)
        dlt = series.get("dlt_sql_database", Series()).seconds
        checks = [("extract ≤ 1.5× raw COPY", extract, base, 1.5), ("whole pipeline (DuckDB) ≤ 4× raw COPY", whole, base, 4.0)]
        for label, value, reference, limit in checks:
            met = "—" if value is None or not reference else ("yes" if value / reference <= limit else "**no**")
            lines.append(f"| {name}: {label} | {fmt_ratio(value, reference)} | {met} |")
        met = "—" if extract is None or dlt is None else ("yes" if extract < dlt else "**no**")
        lines.append(f"| {name}: extract faster than dlt | {fmt_s(extract)} s vs {fmt_s(dlt)} s | {met} |")
        if rss is not None:
            lines.append(f"| {name}: peak RSS < 1.5 GB | {rss:.0f} MB | {'yes' if rss < 1536 else '**no**'} |")
    if "M" in results and "L" in results:
        m = max(filter(None, (s.peak_rss_mb for k, s in results["M"].items() if not k.startswith("_"))), default=None)
        big = max(filter(None, (s.peak_rss_mb for k, s in results["L"].items() if not k.startswith("_"))), default=None)
        if m and big:
            lines.append(f"| peak RSS flat (L within 20% of M) | {big:.0f} MB vs {m:.0f} MB | "
                         f"{'yes' if big <= 1.2 * m else '**no**'} |")
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


def write_report(results: dict[str, dict[str, Series]], runs: int, load: list[str]) -> Path:
    now = dt.datetime.now(dt.timezone.utc)
    body = [f"## Benchmark {now:%Y-%m-%d %H:%M} UTC — medians of {runs} run(s)", "", *load, "",
            "Each step runs in its own process; wall time includes interpreter start; peak RSS is the "
            "client process (PostgreSQL server memory is not counted). Ratios are to the raw COPY baseline "
            "of the same tables. Whole pipeline = extract + stage + dbt build + export.", ""]
    for name, series in results.items():
        body += dataset_table(name, series) + [""]
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
    parser.add_argument("--warehouses", default=",".join(WAREHOUSES),
                        help="comma-separated warehouses to run stage/dbt build/export on (default duckdb,postgres)")
    parser.add_argument("--work-dir", type=Path, default=BENCH_DIR / "work", help="scratch space (default bench/work)")
    args = parser.parse_args()
    names = [n.strip().upper() for n in args.datasets.split(",") if n.strip()]
    unknown = [n for n in names if n not in DATASETS]
    if unknown or args.runs < 1:
        parser.error(f"unknown dataset(s) {unknown}; choose among {', '.join(DATASETS)}; --runs ≥ 1")
    args.work_dir.mkdir(parents=True, exist_ok=True)
    load = machine_info()
    peer = None if args.no_peer else ensure_peer_venv(args.work_dir / "peer-install.log")
    if not args.no_peer and peer is None:
        print("dlt could not be installed; the peer row is left out", flush=True)
    warehouses = tuple(w.strip() for w in args.warehouses.split(",") if w.strip())
    if not warehouses or set(warehouses) - set(WAREHOUSES):
        parser.error(f"--warehouses: choose among {', '.join(WAREHOUSES)}")
    results = {name: bench_dataset(name, args.runs, args.work_dir / name, peer, warehouses) for name in names}
    path = write_report(results, args.runs, load)
    print(path.read_text())
    print(f"written {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
