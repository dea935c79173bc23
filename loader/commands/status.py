"""`perm-migrate status`: the steps of a run (whichever commands ran them) and whether a process runs it."""

from __future__ import annotations

from pathlib import Path

import click

from loader.commands._run_options import run_options
from loader.run_folder import RunFolder, describe_holder
from loader.run_state import RUNNING, RunState


@click.command("status")
@run_options
def command(run_id: str | None, runs_dir: Path | None) -> None:
    """Steps done, timings and counts of the run (default: the latest run), and whether a process runs it."""
    folder = RunFolder.open(run_id or RunFolder.latest_id(runs_dir), runs_dir)
    state = RunState.load(folder)
    holder = folder.lock_holder()
    click.echo(f"run {folder.run_id} ({folder.root})")
    if holder is not None:
        click.echo(f"in progress: {describe_holder(holder)}")
    for line in state.summary_lines(alive=holder is not None):
        click.echo(f"  {line}")
    next_step = state.first_incomplete()
    if next_step is None:
        click.echo("complete")
    elif holder is None:
        if state.status(next_step) == RUNNING:
            click.echo(f"interrupted: no process runs it; {next_step} was running when its process ended")
        click.echo(f"next step: {next_step} (perm-migrate run --resume {folder.run_id})")
