"""`perm-migrate extract`: consistent snapshot of the v1 source into runs/<run_id>/raw/."""

from __future__ import annotations

import click

from loader.commands._source_options import SOURCE_ENV_HELP, app_table_option, source_url_option
from loader.extract import extract
from loader.errors import ConfigError
from loader.run_folder import RunFolder
from loader.source_config import check_dsn_form, resolve_source_dsn


@click.command("extract", epilog=SOURCE_ENV_HELP)
@click.option("--run-id", default=None, metavar="RUN_ID",
              help="Run folder to extract into (an id under PERM_RUNS_DIR, or a path); created if it does "
                   "not exist. Default: a new run folder.")
@source_url_option
@app_table_option
def command(run_id: str | None, source_url: str | None, app_table: str | None) -> None:
    """Extract every source table in ONE read-only REPEATABLE READ snapshot.

    Writes raw/<table>.jsonl (mode 0600) and records rows, bytes, sha256 and columns per table in
    manifest.json. The source is checked against the contract first (see `perm-migrate check`).
    """
    dsn = resolve_source_dsn(source_url)
    check_dsn_form(dsn, "source")
    folder = _folder(run_id)
    with folder.locked():
        result = extract(folder, dsn, app_table=app_table or "users", app_table_explicit=app_table is not None,
                         echo=lambda line: click.echo(line, err=True))
    for note in result["notes"]:
        click.echo(f"note: {note}")
    for name, table in result["tables"].items():
        click.echo(f"  {name:<17} {table['rows']:>10} rows {table['bytes']:>13} bytes  sha256 {table['sha256'][:16]}")
    total = sum(t["rows"] for t in result["tables"].values())
    click.echo(f"extract: {total} rows from snapshot {result['snapshot_time']} into {folder.root}")


def _folder(run_id: str | None) -> RunFolder:
    """The named run folder (created when it does not exist yet), or a new one."""
    if run_id is None:
        return RunFolder.create()
    try:
        return RunFolder.open(run_id)
    except ConfigError:
        return RunFolder.create(run_id=run_id)
