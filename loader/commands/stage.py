"""`perm-migrate stage`: load a run's raw snapshot into the warehouse schema `raw`."""

from __future__ import annotations

from pathlib import Path

import click

from loader.commands._run_options import run_options, warehouse_url_option
from loader.pipeline import Pipeline
from loader.stage import WAREHOUSES

STAGE_ENV_HELP = (
    "\b\nEnvironment variables:\n"
    "  PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD\n"
    "                    Postgres warehouse (with --warehouse postgres and no --warehouse-url)\n"
    "  PERM_RUNS_DIR     where run folders live (default ./runs)"
)


@click.command("stage", epilog=STAGE_ENV_HELP)
@run_options
@click.option("--warehouse", type=click.Choice(WAREHOUSES), default=None,
              help="duckdb: runs/<run_id>/warehouse.duckdb; postgres: --warehouse-url or the PG* variables. "
                   "Default: the run's, else duckdb.")
@warehouse_url_option
def command(run_id: str | None, runs_dir: Path | None, warehouse: str | None, warehouse_url: str | None) -> None:
    """Load raw/<table>.jsonl into schema `raw` with the contract's column types.

    The files' sha256 must match the recorded extract, and the staged row counts must equal the
    extracted ones; otherwise the command fails with exit code 2.
    """
    with Pipeline.for_command(run_id, runs_dir, warehouse_url=warehouse_url,
                              command_options={"warehouse": warehouse}) as pipeline:
        pipeline.run_step("stage")
        details = pipeline.details("stage")
    total = sum(t["rows"] for t in details["tables"].values())
    click.echo(f"stage: {total} rows in {len(details['tables'])} tables -> {details['warehouse']} "
               f"{details['location']} schema {details['schema']}")
