"""One pipeline step per process, so the benchmark can read each step's wall time and peak RSS.

Usage (called by run_bench.py): `python bench/steps.py <step> <run_dir> [args]`
  extract <run_dir> <source_dsn>
  stage <run_dir> duckdb|postgres [warehouse_dsn]
  transform <run_dir> duckdb|postgres <migration_as_of>   (postgres: PG* variables name the database)
  parse <run_dir> duckdb <migration_as_of>                  (dbt's fixed cost: import + full parse, no SQL run)
  export <run_dir>
  upload <jsonl_file> <table>                               (CONVEX_SELF_HOSTED_URL / _ADMIN_KEY)
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from loader.run_folder import RunFolder


def _folder(run_dir: str) -> RunFolder:
    return RunFolder.open(str(Path(run_dir).resolve()))


def main(argv: list[str]) -> None:
    step, target, *rest = argv
    quiet = lambda _line: None  # noqa: E731 - notes are not part of the measurement
    if step == "extract":
        from loader.extract import extract

        extract(_folder(target), rest[0], echo=quiet)
    elif step == "stage":
        from loader.stage import stage

        stage(_folder(target), warehouse=rest[0], warehouse_dsn=rest[1] if len(rest) > 1 else None, echo=quiet)
    elif step == "transform":
        from loader.transform import transform

        transform(_folder(target), as_of=rest[1], warehouse=rest[0])
    elif step == "parse":
        from loader.transform import run_dbt, run_settings, target_dir

        folder = _folder(target)
        run_dbt(folder, run_settings(folder, rest[1], warehouse=rest[0]), command="parse")
        shutil.rmtree(target_dir(folder))  # the measured transform must not reuse this parse
    elif step == "export":
        from loader.export import export

        export(_folder(target))
    elif step == "upload":
        from loader.convex.gateway import ConvexGateway, resolve_target

        with ConvexGateway(resolve_target()) as gateway:
            gateway.import_file(Path(target), table=rest[0], mode="append")
    else:
        raise SystemExit(f"unknown step {step!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
