"""`perm-migrate rollback RUN_ID`: restore the target tables to their pre-run backup."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from loader.backup import (
    created_by_run, delete_created, delete_created_plan, load_backup, restore_backup, restore_plan,
)
from loader.commands._target import run_target
from loader.convex.gateway import ConvexGateway
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
    Before asking, it shows per table how many documents will be deleted, kept and restored.
    A demo run is rolled back on its own emulator (runs/<run_id>/emulator), started for it.
    """
    folder = RunFolder.open(run_id, runs_dir)
    with folder.locked(), run_target(folder, url, admin_key) as target, ConvexGateway(target) as gateway:
        load_backup(folder)
        if mode == "restore":
            _show_plan(f"Rollback of run {folder.run_id} on {target.url}: replace the tables by the backup",
                       restore_plan(folder, gateway))
            confirm_or_refuse("Proceed with this rollback?", yes)
            result = restore_backup(folder, gateway)
            restored = ", ".join(f"{table} ({count} documents)" for table, count in result["restored"].items())
            click.echo(f"rollback done: {restored} restored (import {result['import_id']})")
        else:
            with MappingTable.for_run(folder, mapping_db) as mapping:
                _show_plan(f"Rollback of run {folder.run_id} on {target.url}: delete the documents the run created "
                           "(legacy ids patched onto pre-existing profiles stay)",
                           delete_created_plan(gateway, created_by_run(folder, gateway, mapping)))
                confirm_or_refuse("Proceed with this rollback?", yes)
                result = {"deleted": delete_created(folder, gateway, mapping)}
            click.echo(f"rollback done: deleted {', '.join(f'{t} {n}' for t, n in result['deleted'].items())}")
        folder.record_step("rollback", {"mode": mode, **result})


def _show_plan(title: str, plan: dict[str, dict[str, int]]) -> None:
    """Per table: how many documents will be deleted, kept and restored."""
    click.echo(f"{title}:")
    for table, counts in plan.items():
        click.echo(f"  {table}: delete {counts['delete']}, keep {counts['keep']}, restore {counts['restore']}")
