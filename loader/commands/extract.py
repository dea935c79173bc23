"""`perm-migrate extract`: consistent snapshot of the v1 source into runs/<run_id>/raw/."""

from __future__ import annotations

from pathlib import Path

import click

from loader.commands._run_options import run_id_option, runs_dir_option
from loader.commands._source_options import SOURCE_ENV_HELP, source_options
from loader.pipeline import Pipeline
from loader.source_config import check_dsn_form, resolve_source_dsn


@click.command("extract", epilog=SOURCE_ENV_HELP)
@run_id_option("Run folder to extract into (an id under the runs dir, or a path); created if it does "
               "not exist. Default: a new run folder.")
@runs_dir_option
@source_options
def command(run_id: str | None, runs_dir: Path | None, source_url: str | None, app_table: str | None) -> None:
    """Extract every source table in ONE read-only REPEATABLE READ snapshot.

    Writes raw/<table>.jsonl (mode 0600) and records rows, bytes, sha256 and columns per table in
    the run's state.json. The source is checked against the contract first (see `perm-migrate check`).
    """
    check_dsn_form(resolve_source_dsn(source_url), "source")  # before a run folder is made
    overrides = {} if app_table is None else {"v1_user_table": app_table}
    with Pipeline.for_command(run_id, runs_dir, create=True, source_url=source_url,
                              var_overrides=overrides) as pipeline:
        pipeline.run_step("extract")
        details = pipeline.details("extract")
    for note in details["notes"]:
        click.echo(f"note: {note}")
    for name, table in details["tables"].items():
        click.echo(f"  {name:<17} {table['rows']:>10} rows {table['bytes']:>13} bytes  sha256 {table['sha256'][:16]}")
    total = sum(t["rows"] for t in details["tables"].values())
    click.echo(f"extract: {total} rows from snapshot {details['snapshot_time']} into {pipeline.folder.root}")
