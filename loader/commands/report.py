"""`perm-migrate report RUN_ID`: the sign-off report (Markdown + one self-contained HTML page)."""

from __future__ import annotations

import click

from loader.report import write_report
from loader.run_folder import RunFolder


@click.command("report")
@click.argument("run_id")
@click.option("--warehouse-url", default=None, metavar="DSN",
              help="Postgres warehouse DSN for a run on the postgres warehouse (default: the PG* variables).")
def command(run_id: str, warehouse_url: str | None) -> None:
    """Write runs/<run_id>/report/report.md and report.html (personal data masked)."""
    paths = write_report(RunFolder.open(run_id), warehouse_url)
    click.echo(f"report: {paths['html']}")
    click.echo(f"markdown: {paths['markdown']}")
