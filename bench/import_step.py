"""The import step alone, loader and emulator measured apart: a finished run folder copied up to its
export (no `import/`, no import/verify/report records), a fresh real-store `emulator serve` in its own
process, then `perm-migrate import` with a fresh mapping table. Prints the loader's CPU seconds and peak
RSS (`/usr/bin/time -v`), the emulator's CPU seconds (`/proc/<pid>/stat`), wall, documents/s, and a
digest of what the emulator stores (documents sorted, `_id`/`_creationTime` dropped, references
replaced by the referenced document's identity key) for before/after comparisons.

    .venv/bin/python bench/import_step.py <run dir> <work dir> <port> [--code TREE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
CLOCK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK


def copy_run(source: Path, runs: Path) -> str:
    target = runs / source.name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("import", "verify.json", "report", "raw", "warehouse.duckdb*",
                                                                  "run.lock", "logs"))
    state = json.loads((target / "state.json").read_text())
    for step in ("import", "verify", "report"):
        state["steps"].pop(step, None)
    (target / "state.json").write_text(json.dumps(state, indent=2))
    return source.name


def stored_digest(env: dict[str, str]) -> str:
    """sha256 of the emulator's documents, id-free (see module docstring)."""
    code = r'''
import hashlib, json, sys
from loader.convex.gateway import ConvexGateway, resolve_target
keys = {"users": "email", "cases": "legacyId", "userProfiles": "userId"}
with ConvexGateway(resolve_target()) as gateway:
    tables = {t: list(gateway.iter_documents(t, page_size=10000)) for t in ("users", "cases", "userProfiles")}
names = {}
for table, docs in tables.items():
    for doc in docs:
        names[doc["_id"]] = None
def strip(value, table):
    if isinstance(value, dict):
        return {k: strip(v, table) for k, v in value.items() if k not in ("_id", "_creationTime")}
    if isinstance(value, list):
        return [strip(v, table) for v in value]
    return names.get(value, value) if isinstance(value, str) and value in names else value
for table in ("users", "cases", "userProfiles"):
    for doc in tables[table]:
        names[doc["_id"]] = f"{table}:" + json.dumps(strip(doc.get(keys[table]), table))
digest = hashlib.sha256()
for table in ("users", "cases", "userProfiles"):
    lines = sorted(json.dumps(strip(doc, table), sort_keys=True) for doc in tables[table])
    digest.update(f"{table} {len(lines)}\n".encode())
    for line in lines:
        digest.update(line.encode() + b"\n")
print(digest.hexdigest(), {t: len(d) for t, d in tables.items()})
'''
    return subprocess.run([str(HERE / ".venv/bin/python"), "-c", code], env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("work", type=Path)
    parser.add_argument("port", type=int)
    parser.add_argument("--code", type=Path, default=HERE)
    parser.add_argument("--digest", action="store_true", help="also digest the stored documents")
    args = parser.parse_args()
    code = args.code.resolve()
    shutil.rmtree(args.work, ignore_errors=True)
    runs = args.work / "runs"
    runs.mkdir(parents=True)
    run_id = copy_run(args.run_dir.resolve(), runs)
    env = {**os.environ, "PYTHONPATH": f"{code}:{code}/rehearsal",
           "CONVEX_SELF_HOSTED_URL": f"http://127.0.0.1:{args.port}",
           "CONVEX_SELF_HOSTED_ADMIN_KEY": f"bench-{args.port}|0123456789abcdef0123456789abcdef"}
    perm = str(HERE / ".venv/bin/perm-migrate")
    emulator = subprocess.Popen([perm, "emulator", "serve", "--port", str(args.port), "--state-dir",
                                 str(args.work / "emulator")], env=env, stdout=subprocess.DEVNULL,
                                stderr=open(args.work / "emulator.log", "w"))
    try:
        time.sleep(3)
        emulator_cpu = process_cpu(emulator.pid)
        started = time.perf_counter()
        result = subprocess.run(["/usr/bin/time", "-v", perm, "import", "--run-id", run_id, "--runs-dir", str(runs),
                                 "--mapping-db", str(args.work / "mapping.sqlite")],
                                env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        emulator_cpu = process_cpu(emulator.pid) - emulator_cpu
        if result.returncode:
            sys.exit(result.stdout + result.stderr)
        times = dict(line.strip().split(": ", 1) for line in result.stderr.splitlines() if ": " in line)
        loader_cpu = float(times["User time (seconds)"]) + float(times["System time (seconds)"])
        rss = int(times["Maximum resident set size (kbytes)"]) >> 10
        state = json.loads((runs / run_id / "state.json").read_text())
        documents = state["steps"]["import"]["result"]["documents"]
        print(f"code {code}: import {state['steps']['import']['seconds']:.1f} s recorded, wall {wall:.1f} s, "
              f"loader CPU {loader_cpu:.1f} s (peak RSS {rss} MiB), emulator CPU {emulator_cpu:.1f} s, "
              f"{documents} documents, {documents / wall:.0f} documents/s wall, load {os.getloadavg()[0]:.1f}")
        if args.digest:
            print("stored:", stored_digest(env))
    finally:
        emulator.terminate()
        emulator.wait()


if __name__ == "__main__":
    main()
