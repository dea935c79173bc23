"""`perm-migrate rollback RUN_ID`: restore the target tables to their pre-run backup."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from loader.backup import created_by_run, delete_created, load_backup, restore_backup
from loader.convex.gateway import ConvexGateway, resolve_target
from loader.errors import ConfigError
from loader.mapping_table import MappingTable
from loader.run_folder import RunFolder


def confirm_or_refuse(question: str, yes: bool) -> None:
    """Ask on a TTY; without a TTY only `--yes` proceeds. Declining aborts (exit 1)."""
    if yes:
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise ConfigError("refusing to run without a terminal to confirm on; pass --yes to proceed")
    click.confirm(question, abort=True)


@click.command("rollback")
@click.argument("run_id")
@click.option("--mode", type=click.Choice(["restore", "delete-created"]), default="restore", show_default=True,
              help="restore: replace the tables by the pre-run backup. delete-created: delete only the "
                   "documents the run created (keeps v2 sign-ups made since).")
@click.option("--mapping-db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Durable mapping table for --mode delete-created (default: the one the run's import recorded).")
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where run folders live (default: PERM_RUNS_DIR or ./runs).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (required without a terminal).")
@click.option("--url", default=None, help="Convex deployment URL (default: CONVEX_SELF_HOSTED_URL or CONVEX_URL).")
@click.option("--admin-key", default=None,
              help="Convex admin/deploy key (default: CONVEX_SELF_HOSTED_ADMIN_KEY or CONVEX_DEPLOY_KEY).")
def command(run_id: str, mode: str, mapping_db: Path | None, runs_dir: Path | None, yes: bool, url: str | None,
            admin_key: str | None) -> None:
    """Undo RUN_ID on the target.

    \b
    --mode restore (default): import runs/<run_id>/backup/pre_run.zip (a snapshot export taken
    before the first write) in `replace` mode: atomic, original _ids and _creationTimes kept.
    Anything written to these tables after the backup (including v2 sign-ups) is removed.
    --mode delete-created: delete only the documents the run created (through the companion
    module); legacy ids patched onto pre-existing profiles stay.
    """
    folder = RunFolder.open(run_id, runs_dir)
    info = load_backup(folder)
    target = resolve_target(url, admin_key)
    if mode == "restore":
        summary = ", ".join(f"{table} ({count} documents)" for table, count in info["counts"].items())
        confirm_or_refuse(f"Replace {summary} on {target.url} with the backup of run {folder.run_id}?", yes)
        with ConvexGateway(target) as gateway:
            result = restore_backup(folder, gateway)
        click.echo(f"rollback done: {summary} restored (import {result['import_id']})")
    else:
        with ConvexGateway(target) as gateway, MappingTable.for_run(folder, mapping_db) as mapping:
            created = created_by_run(folder, gateway, mapping)
            summary = ", ".join(f"{table} {len(ids)}" for table, ids in created.items())
            confirm_or_refuse(f"Delete the documents run {folder.run_id} created on {target.url} ({summary})?", yes)
            result = {"deleted": delete_created(folder, gateway, mapping)}
        click.echo(f"rollback done: deleted {', '.join(f'{t} {n}' for t, n in result['deleted'].items())}")
    folder.record_step("rollback", {"mode": mode, **result})
