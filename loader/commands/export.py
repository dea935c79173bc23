"""`perm-migrate export`: Convex marts → validated `export/<table>.jsonl` (+ `export/rejects.jsonl`)."""

from __future__ import annotations

import click
from tqdm import tqdm

from loader.export import export
from loader.run_folder import RunFolder


@click.command("export")
@click.option("--run-id", required=True, help="Run folder (id under PERM_RUNS_DIR, or a path).")
@click.option("--warehouse-url", default=None, metavar="DSN",
              help="Postgres warehouse DSN (runs on the postgres warehouse); default: the PG* variables.")
def command(run_id: str, warehouse_url: str | None) -> None:
    """Stream every Convex mart to JSONL, validating each document against the v2 contract."""
    folder = RunFolder.open(run_id)
    with folder.locked(), tqdm(desc="export", unit="doc", disable=None) as bar:
        result = export(folder, progress=lambda _table: bar.update(), warehouse_dsn=warehouse_url)
    for table, info in result["tables"].items():
        click.echo(f"export: {table}: {info['documents']} document(s), {info['rejected']} rejected")
    if result["rejected_documents"]:
        click.echo(f"export: {result['rejected_documents']} invalid document(s) listed in "
                   f"{folder.export_dir / 'rejects.jsonl'}")
