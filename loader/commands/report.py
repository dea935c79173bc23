"""`perm-migrate report --run-id RUN_ID`: the sign-off report (Markdown + one self-contained HTML page)."""

from __future__ import annotations

from pathlib import Path

import click

from loader.commands._run_options import run_options, warehouse_url_option
from loader.pipeline import Pipeline


@click.command("report")
@run_options
@warehouse_url_option
def command(run_id: str | None, runs_dir: Path | None, warehouse_url: str | None) -> None:
    """Write runs/<run_id>/report/report.md and report.html (personal data masked; no target needed)."""
    with Pipeline.for_command(run_id, runs_dir, warehouse_url=warehouse_url) as pipeline:
        info = pipeline.run_step("report")
    click.echo(f"report: {info.html}")
    click.echo(f"markdown: {info.markdown}")
