"""`perm-migrate rollback --run-id RUN_ID`: restore the target tables to their pre-run backup."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from loader.backup import (
    created_by_run, delete_created, delete_created_plan, load_backup, restore_backup, restore_plan,
)
from loader.commands._run_options import run_options
from loader.commands._target import target_options
from loader.errors import ConfigError
from loader.pipeline import Pipeline


def confirm_or_refuse(question: str, yes: bool) -> None:
    """Ask on a TTY; without a TTY only `--yes` proceeds. Declining aborts (exit 1)."""
    if yes:
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise ConfigError("refusing to run without a terminal to confirm on; pass --yes to proceed")
    click.confirm(question, abort=True)


@click.command("rollback")
@run_options
@click.option("--mode", type=click.Choice(["restore", "delete-created"]), default="restore", show_default=True,
              help="restore: replace the tables by the pre-run backup. delete-created: delete only the "
                   "documents the run created (keeps v2 sign-ups made since).")
@click.option("--mapping-db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Durable mapping table for --mode delete-created (default: the one the run's import recorded).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (required without a terminal).")
@target_options
def command(run_id: str | None, runs_dir: Path | None, mode: str, mapping_db: Path | None, yes: bool,
            url: str | None, admin_key: str | None) -> None:
    """Undo a run (--run-id, default: the latest) on the target.

    \b
    --mode restore (default): import runs/<run_id>/backup/pre_run.zip (a snapshot export taken
    before the first write) in `replace` mode: atomic, original _ids and _creationTimes kept.
    Anything written to these tables after the backup (including v2 sign-ups) is removed.
    --mode delete-created: delete only the documents the run created (through the companion
    module); legacy ids patched onto pre-existing profiles stay.
    Before asking, it shows per table how many documents will be deleted, kept and restored.
    A demo run is rolled back on its own emulator (runs/<run_id>/emulator), started for it.
    """
    options = {"mapping_db": str(mapping_db) if mapping_db else None}
    with Pipeline.for_command(run_id, runs_dir, url=url, admin_key=admin_key, command_options=options) as pipeline:
        folder = pipeline.folder
        backup = load_backup(folder)  # checked once (sha256); the plan and the rollback share it
        gateway = pipeline.gateway()
        if mode == "restore":
            _show_plan(f"Rollback of run {folder.run_id} on {gateway.target.url}: replace the tables by the backup",
                       restore_plan(folder, gateway, backup))
            confirm_or_refuse("Proceed with this rollback?", yes)
            result = restore_backup(folder, gateway, backup)
            restored = ", ".join(f"{table} ({count} documents)" for table, count in result["restored"].items())
            click.echo(f"rollback done: {restored} restored (import {result['import_id']})")
        else:
            created = created_by_run(folder, gateway, pipeline.mapping(), backup)  # the plan deletes these
            _show_plan(f"Rollback of run {folder.run_id} on {gateway.target.url}: delete the documents the run "
                       "created (legacy ids patched onto pre-existing profiles stay)",
                       delete_created_plan(gateway, created))
            confirm_or_refuse("Proceed with this rollback?", yes)
            result = {"deleted": delete_created(folder, gateway, created)}
            click.echo(f"rollback done: deleted {', '.join(f'{t} {n}' for t, n in result['deleted'].items())}")
        folder.record_step("rollback", {"mode": mode, **result})


def _show_plan(title: str, plan: dict[str, dict[str, int]]) -> None:
    """Per table: how many documents will be deleted, kept and restored."""
    click.echo(f"{title}:")
    for table, counts in plan.items():
        click.echo(f"  {table}: delete {counts['delete']}, keep {counts['keep']}, restore {counts['restore']}")
