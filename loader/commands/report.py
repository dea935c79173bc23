"""`perm-migrate report RUN_ID`: the sign-off report (Markdown + one self-contained HTML page)."""

from __future__ import annotations

from pathlib import Path

import click

from loader.report import write_report
from loader.run_folder import RunFolder


@click.command("report")
@click.argument("run_id")
@click.option("--warehouse-url", default=None, metavar="DSN",
              help="Postgres warehouse DSN for a run on the postgres warehouse (default: the PG* variables).")
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where run folders live (default: PERM_RUNS_DIR or ./runs).")
def command(run_id: str, warehouse_url: str | None, runs_dir: Path | None) -> None:
    """Write runs/<run_id>/report/report.md and report.html (personal data masked; no target needed)."""
    folder = RunFolder.open(run_id, runs_dir)
    with folder.locked():
        paths = write_report(folder, warehouse_url)
    click.echo(f"report: {paths['html']}")
    click.echo(f"markdown: {paths['markdown']}")
