"""`perm-migrate import`: write the exported documents to Convex with id resolution (MAPPING_SPEC §5)."""

from __future__ import annotations

from pathlib import Path

import click

from loader.commands._run_options import run_options
from loader.commands._target import target_options
from loader.pipeline import Pipeline


@click.command("import")
@run_options
@target_options
@click.option("--mapping-db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Durable id mapping table (default: PERM_MAPPING_DB or <runs dir>/mapping.sqlite).")
@click.option("--dry-run", is_flag=True, help="Read the target and plan; stop before the first write.")
@click.option("--no-resume", is_flag=True, help="Do not poll an import recorded by an earlier attempt.")
def command(run_id: str | None, runs_dir: Path | None, url: str | None, admin_key: str | None,
            mapping_db: Path | None, dry_run: bool, no_resume: bool) -> None:
    """Create or reuse users, then cases, then insert-or-patch profiles; re-runs write nothing new.

    Refused while an earlier step of the run failed (run that step again first).
    """
    options = {"mapping_db": str(mapping_db) if mapping_db else None, "dry_run": dry_run or None,
               "no_resume": no_resume or None}
    with Pipeline.for_command(run_id, runs_dir, url=url, admin_key=admin_key, command_options=options) as pipeline:
        info = pipeline.run_step("import", record=not dry_run)
    for table, counts in info.counts.items():
        shown = ", ".join(f"{rule} {n}" for rule, n in sorted(counts.items())) or "nothing"
        click.echo(f"import: {table}: {shown}")
    if dry_run:
        click.echo("import: dry run, nothing was written (to_write: documents that would be created, "
                   "or inserted-or-patched for tables written by mutation)")
    if info.rejected:
        click.echo(f"import: {info.rejected} document(s) rejected; see {pipeline.folder.path('import')}/*.rejects.jsonl")
