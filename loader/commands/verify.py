"""`perm-migrate verify --run-id RUN_ID`: 100% read-back reconciliation of what a run wrote."""

from __future__ import annotations

from pathlib import Path

import click

from loader.commands._run_options import run_options, warehouse_url_option
from loader.commands._target import target_options
from loader.pipeline import Pipeline
from loader.verify import VERIFY_FILE


@click.command("verify")
@run_options
@target_options
@warehouse_url_option
@click.option("--mapping-db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Durable mapping table (default: the one the run's import recorded).")
def command(run_id: str | None, runs_dir: Path | None, url: str | None, admin_key: str | None,
            warehouse_url: str | None, mapping_db: Path | None) -> None:
    """Read back every document the run wrote and compare it with the exported files.

    \b
    Checks documents field by field (through the mapping table), references, each case's
    legacyUserId group, conservation per source table, and that pre-run documents are unchanged.
    Writes runs/<run_id>/verify.json. Exit 1 on any mismatch (the first ones are printed).
    A demo run is verified against its own emulator (runs/<run_id>/emulator), started for it.
    """
    options = {"mapping_db": str(mapping_db) if mapping_db else None}
    with Pipeline.for_command(run_id, runs_dir, url=url, admin_key=admin_key, warehouse_url=warehouse_url,
                              command_options=options) as pipeline:
        info = pipeline.run_step("verify")
    click.echo(f"verification PASSED: {info.verified} documents, references, declared group checks, conservation "
               f"and pre-run documents checked ({pipeline.folder.path(VERIFY_FILE)})")
