"""`perm-migrate export`: Convex marts → validated `export/<table>.jsonl` (+ `export/rejects.jsonl`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from loader.commands._run_options import max_rejects_option, run_options, warehouse_url_option
from loader.pipeline import MaxRejects, Pipeline


@click.command("export")
@run_options
@warehouse_url_option
@max_rejects_option
def command(run_id: str | None, runs_dir: Path | None, warehouse_url: str | None, max_rejects: str | None) -> None:
    """Stream every Convex mart to JSONL, validating each document against the v2 contract."""
    MaxRejects.parse(max_rejects)
    progress = sys.stderr.isatty()
    with Pipeline.for_command(run_id, runs_dir, warehouse_url=warehouse_url, progress=progress,
                              command_options={"max_rejects": max_rejects}) as pipeline:
        pipeline.run_step("export")
        details = pipeline.details("export")
    for table, info in details["tables"].items():
        click.echo(f"export: {table}: {info['documents']} document(s), {info['rejected']} rejected")
    if details["rejected_documents"]:
        click.echo(f"export: {details['rejected_documents']} invalid document(s) listed in "
                   f"{pipeline.folder.export_dir / 'rejects.jsonl'}")
