"""`perm-migrate rollback RUN_ID`: restore the target tables to their pre-run backup."""

from __future__ import annotations

import sys

import click

from loader.backup import load_backup, restore_backup
from loader.convex.gateway import ConvexGateway, resolve_target
from loader.errors import ConfigError
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
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (required without a terminal).")
@click.option("--url", default=None, help="Convex deployment URL (default: CONVEX_SELF_HOSTED_URL or CONVEX_URL).")
@click.option("--admin-key", default=None,
              help="Convex admin/deploy key (default: CONVEX_SELF_HOSTED_ADMIN_KEY or CONVEX_DEPLOY_KEY).")
def command(run_id: str, yes: bool, url: str | None, admin_key: str | None) -> None:
    """Replace the tables RUN_ID wrote by their content before the run.

    \b
    Uses runs/<run_id>/backup/pre_run.zip (a snapshot export taken before the first write) and
    imports it in `replace` mode: atomic per import, original _ids and _creationTimes kept.
    Anything written to these tables after the backup (including v2 sign-ups) is removed.
    """
    folder = RunFolder.open(run_id)
    info = load_backup(folder)
    target = resolve_target(url, admin_key)
    summary = ", ".join(f"{table} ({count} documents)" for table, count in info["counts"].items())
    confirm_or_refuse(f"Replace {summary} on {target.url} with the backup of run {folder.run_id}?", yes)
    with ConvexGateway(target) as gateway:
        result = restore_backup(folder, gateway)
    folder.record_step("rollback", result)
    click.echo(f"rollback done: {summary} restored (import {result['import_id']})")
