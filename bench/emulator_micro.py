"""The emulator's own share of import, read-back and backup, in-process (no HTTP, no loader): a JSONL
file snapshot-imported into a fresh real-store emulator state, read back page by page through
`_system/cli/tableData` (function call + response text), then written as a snapshot export ZIP.
Prints wall and CPU seconds of each; `--code DIR` runs another tree's `loader` and emulator (before/after).

    .venv/bin/python bench/emulator_micro.py runs/<run>/import/cases.send.jsonl cases
    .venv/bin/python bench/emulator_micro.py <file> cases --code bench/work/before
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jsonl", type=Path, help="documents as the importer sends them (one per line)")
    parser.add_argument("table")
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="source tree whose loader and emulator run (default this one)")
    args = parser.parse_args()
    sys.path[:0] = [str(args.code.resolve()), str(args.code.resolve() / "rehearsal")]
    import loader
    import perm_rehearsal
    from perm_rehearsal.emulator import api
    from perm_rehearsal.emulator.config import EmulatorConfig
    from perm_rehearsal.emulator.exports import Exports
    from perm_rehearsal.emulator.imports import Imports
    from perm_rehearsal.emulator.state import EmulatorState

    print(f"code: {Path(loader.__file__).parent.parent}, {Path(perm_rehearsal.__file__).parent.parent}")
    work = Path(tempfile.mkdtemp(prefix="emulator-micro-"))
    try:
        state = EmulatorState(EmulatorConfig(state_dir=work))
        imports = Imports(state)
        upload = work / "upload.jsonl"
        shutil.copy(args.jsonl, upload)
        started, cpu = time.perf_counter(), cpu_seconds()
        record = imports.wait_terminal(imports.create_import(upload, "jsonLines", "requireEmpty", args.table,
                                                             auto_confirm=True))
        documents = record["state"].get("num_rows_written", 0)
        print(f"import: {record['state']['state']}, {documents} documents, {time.perf_counter() - started:.2f} s, "
              f"{cpu_seconds() - cpu:.2f} s CPU")
        started, cpu, cursor = time.perf_counter(), cpu_seconds(), None
        to_text = getattr(api, "json_text", None) or (lambda o: json.dumps(o, ensure_ascii=False, allow_nan=False))
        while True:
            body = api.run_function(state, "_system/cli/tableData:default",
                                    {"table": args.table, "paginationOpts": {"numItems": 1000.0, "cursor": cursor}},
                                    "json", "query", True)
            to_text(body)
            value = body["value"]
            if value["isDone"]:
                break
            cursor = value["continueCursor"]
        print(f"tableData pages (function + response text): {time.perf_counter() - started:.2f} s, "
              f"{cpu_seconds() - cpu:.2f} s CPU")
        exports = Exports(state)
        started, cpu = time.perf_counter(), cpu_seconds()
        _, path = exports._write_zip("micro")
        print(f"snapshot export ZIP: {time.perf_counter() - started:.2f} s, {cpu_seconds() - cpu:.2f} s CPU, "
              f"{path.stat().st_size >> 20} MiB")
        exports.close()
        imports.close()
        state.store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
