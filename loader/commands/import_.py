"""`perm-migrate import`: write the exported documents to Convex with id resolution (MAPPING_SPEC §5)."""

from __future__ import annotations

from pathlib import Path

import click

from loader.convex.gateway import ConvexGateway, resolve_target
from loader.importer import import_tables
from loader.run_folder import RunFolder


@click.command("import")
@click.option("--run-id", required=True, help="Run folder (id under PERM_RUNS_DIR, or a path).")
@click.option("--url", default=None, help="Convex deployment URL (default: CONVEX_SELF_HOSTED_URL or CONVEX_URL).")
@click.option("--admin-key", default=None, help="Convex admin/deploy key (default: CONVEX_SELF_HOSTED_ADMIN_KEY or CONVEX_DEPLOY_KEY).")
@click.option("--mapping-db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Durable id mapping table (default: PERM_MAPPING_DB or <runs dir>/mapping.sqlite).")
@click.option("--dry-run", is_flag=True, help="Read the target and plan; stop before the first write.")
@click.option("--no-resume", is_flag=True, help="Do not poll an import recorded by an earlier attempt.")
def command(run_id: str, url: str | None, admin_key: str | None, mapping_db: Path | None, dry_run: bool,
            no_resume: bool) -> None:
    """Create or reuse users, then cases, then insert-or-patch profiles; re-runs write nothing new."""
    folder = RunFolder.open(run_id)
    with folder.locked(), ConvexGateway(resolve_target(url, admin_key)) as gateway:
        result = import_tables(folder, gateway, resume=not no_resume, dry_run=dry_run, mapping_path=mapping_db)
    for table, info in result["tables"].items():
        counts = ", ".join(f"{rule} {n}" for rule, n in sorted(info["counts"].items())) or "nothing"
        click.echo(f"import: {table}: {counts}")
    if dry_run:
        click.echo("import: dry run, nothing was written (to_write: documents that would be created, "
                   "or inserted-or-patched for tables written by mutation)")
    if result["rejected"]:
        click.echo(f"import: {result['rejected']} document(s) rejected; see {folder.path('import')}/*.rejects.jsonl")
