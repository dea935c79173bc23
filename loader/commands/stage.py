"""`perm-migrate stage`: load a run's raw snapshot into the warehouse schema `raw`."""

from __future__ import annotations

import click

from loader.run_folder import RunFolder
from loader.source_config import resolve_warehouse_dsn
from loader.stage import WAREHOUSES, stage

STAGE_ENV_HELP = (
    "\b\nEnvironment variables:\n"
    "  PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD\n"
    "                    Postgres warehouse (with --warehouse postgres and no --warehouse-url)\n"
    "  PERM_RUNS_DIR     where run folders live (default ./runs)"
)


@click.command("stage", epilog=STAGE_ENV_HELP)
@click.option("--run-id", required=True, metavar="RUN_ID",
              help="Run folder holding a complete extract (an id under PERM_RUNS_DIR, or a path).")
@click.option("--warehouse", type=click.Choice(WAREHOUSES), default="duckdb", show_default=True,
              help="duckdb: runs/<run_id>/warehouse.duckdb; postgres: --warehouse-url or the PG* variables.")
@click.option("--warehouse-url", metavar="DSN", default=None,
              help="Postgres warehouse DSN (with --warehouse postgres). Default: the PG* variables.")
def command(run_id: str, warehouse: str, warehouse_url: str | None) -> None:
    """Load raw/<table>.jsonl into schema `raw` with the contract's column types.

    The files' sha256 must match the manifest, and the staged row counts must equal the
    extracted ones; otherwise the command fails with exit code 2.
    """
    folder = RunFolder.open(run_id)
    dsn = resolve_warehouse_dsn(warehouse_url) if warehouse == "postgres" else None
    with folder.locked():
        result = stage(folder, warehouse=warehouse, warehouse_dsn=dsn, echo=lambda line: click.echo(line, err=True))
    total = sum(t["rows"] for t in result["tables"].values())
    click.echo(f"stage: {total} rows in {len(result['tables'])} tables -> {result['warehouse']} "
               f"{result['location']} schema {result['schema']}")
